"""K runs in one group against the same K runs trained one after another.

    python -m benchmarks.vmap_sweep                 # K=8, CNN, batch 128, then memory vs K

The sides (`_sides`) are the study's own `examples.compare.group.RunGroup`s; benchmarks/README.md
says what each is and what the report holds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

import jax
import numpy as np

from benchmarks import cli, timing
from benchmarks.trainer_step import random_images
from examples import flags
from examples.compare import group, recipes
from examples.mnist import core, cpu_tuning, data

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclasses.dataclass(frozen=True)
class SweepBenchmarkConfig:
    """What the benchmark runs; each field is a command-line flag.

    Attributes:
      k: runs per group.
      steps: updates per run per timing.
      repeats: alternating timings of every side (their median is reported).
      batch_size: images per update.
      model: "cnn", "mlp" or "linear".
      conv: the vmapped side's convolutions ("auto", "matmul", "native").
      num_train: synthetic training images.
      memory_ks: the K of the memory measurements, comma-separated.
      memory: measure peak memory against K.
      json: also write the results to this file.
    """

    k: int = 8
    steps: int = 10
    repeats: int = 3
    batch_size: int = 128
    model: str = flags.option("cnn", choices=("cnn", "mlp", "linear"))
    conv: str = flags.option("auto", choices=("auto", "matmul", "native"))
    num_train: int = 4096
    memory_ks: tuple[int, ...] = (1, 2, 4, 8, 16)
    memory: bool = True
    json: str | None = None


def synthetic_data(num_train: int) -> Any:
    """Random uint8 images: the cost of an update does not depend on the pixel values."""
    images, labels = random_images(num_train)
    dataset = data.Dataset(images, labels, images[:256], labels[:256])
    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    return core.put_data(dataset, device, eval_batch_size=256)


def make_runs(k: int, total_steps: int) -> list[Any]:
    """K one-cycle runs of SGD at peak rates from 0.01 to 0.3, seeds 0 .. K-1."""
    peaks = np.geomspace(0.01, 0.3, k) if k > 1 else [0.1]
    return [
        run
        for seed, peak in enumerate(peaks)
        for run in recipes.runs("one_cycle", "sgd", float(peak), total_steps, [seed])
    ]


class Side:
    """Groups of runs ready to step, one after another."""

    def __init__(self, runs_per_group: list[list[Any]], device_data: Any, config: Any) -> None:
        self.groups = [group.RunGroup(runs, device_data, config) for runs in runs_per_group]
        self.orders = [g.orders(0) for g in self.groups]
        self.compile_seconds = self.groups[0].compile_seconds

    def run(self, steps: int) -> float:
        """Seconds for `steps` updates of every group, one group after another (a
        `benchmarks.timing` side)."""
        start = time.perf_counter()
        for g, orders in zip(self.groups, self.orders, strict=True):
            jax.block_until_ready(g.train_steps(orders, 0, steps))
        return time.perf_counter() - start


def _sides(config: SweepBenchmarkConfig) -> tuple[dict[str, Side], list[str]]:
    """The grouped and the sequential sides, and the names of the grouped ones."""
    device_data = synthetic_data(config.num_train)
    runs = make_runs(config.k, 10 * config.steps * config.repeats)
    if config.steps * config.batch_size > config.num_train:
        raise ValueError("--steps times --batch-size must fit in --num-train (one epoch)")
    base = group.GroupConfig(model=config.model, batch_size=config.batch_size)
    vmapped = dataclasses.replace(base, conv=config.conv, vmap_size=config.k)
    sides = {"vmapped": Side([runs], device_data, vmapped)}
    if group.resolve_vmap_size(base.vmap_size, config.k) != config.k:
        sides["group_default"] = Side([runs], device_data, base)
    grouped = list(sides)
    for conv in ("matmul", "native"):
        sides[f"sequential_{conv}"] = Side(
            [[run] for run in runs], device_data, dataclasses.replace(base, conv=conv)
        )
    return sides, grouped


def peak_memory(k: int, side: str, config: SweepBenchmarkConfig) -> dict[str, Any]:
    """Trains a group of `k` runs for a few steps; the peak memory that took (in-process).

    `side` is "vmapped" (one vmap over the group) or "group_default"."""
    cpu_tuning.keep_freed_memory()  # before JAX's backends start, as the study does
    device_data = synthetic_data(config.num_train)
    group_config = group.GroupConfig(model=config.model, batch_size=config.batch_size)
    if side == "vmapped":
        group_config = dataclasses.replace(group_config, conv=config.conv, vmap_size=k)
    jax.block_until_ready(device_data)
    before_mb = _host_peak_mb()
    one = Side([make_runs(k, 1000)], device_data, group_config)
    one.run(3)
    result: dict[str, Any] = {
        "k": k,
        "side": side,
        "vmap_size": one.groups[0].vmap_size,
        "device": jax.devices()[0].device_kind,
    }
    if (device_peak := device_peak_mb()) is not None:
        result["device_peak_mb"] = device_peak
    peak_mb = _host_peak_mb()
    result["host_peak_rss_mb"] = peak_mb
    result["host_rss_increase_mb"] = peak_mb - before_mb
    return result


def device_peak_mb() -> float | None:
    """The device's peak bytes in use so far, in MB; None where JAX does not expose it."""
    peak = (jax.devices()[0].memory_stats() or {}).get("peak_bytes_in_use")
    return None if peak is None else peak / 2**20


def _host_peak_mb() -> float:
    """The peak resident set of this process in MB.

    Linux carries `ru_maxrss` across fork and exec: a child started by a parent holding 1.3 GB
    reports at least 1.3 GB. The VmHWM line of /proc/self/status belongs to the new address
    space, so it is read where it exists.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _memory_rows(config: SweepBenchmarkConfig, grouped: list[str]) -> list[dict[str, Any]]:
    """Peak memory of each grouped side at each K, each in a fresh process."""
    env = {**os.environ, "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    rows = []
    for side in grouped:
        for k in config.memory_ks:
            flags_of_child = ["--memory-child", str(k), "--memory-side", side]
            flags_of_child += ["--model", config.model, "--batch-size", str(config.batch_size)]
            flags_of_child += ["--conv", config.conv, "--num-train", str(config.num_train)]
            child = subprocess.run(
                [sys.executable, "-m", "benchmarks.vmap_sweep", *flags_of_child],
                capture_output=True,
                text=True,
                env=env,
                check=True,
                cwd=_REPO,
            )
            row = json.loads(child.stdout.strip().splitlines()[-1])
            rows.append(row)
            device_peak = row.get("device_peak_mb")
            device = f", device peak {device_peak:.0f} MB" if device_peak else ""
            print(
                f"{side:>13} K={k:3d}: host peak RSS {row['host_peak_rss_mb']:7.0f} MB "
                f"(+{row['host_rss_increase_mb']:.0f} MB for the group){device}"
            )
    return rows


def _add_child_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--memory-side", default="vmapped", help=argparse.SUPPRESS)


def time_sides(config: SweepBenchmarkConfig) -> dict[str, Any]:
    """Times every side in alternation; medians, ratios and compile times."""
    sides, grouped = _sides(config)
    runs = {name: side.run for name, side in sides.items()}
    # Warm-up: a step each, the first call allocates its buffers. Figures per `steps` updates.
    per_step = timing.in_turns(runs, config.steps, config.repeats, warmup_steps=1)
    times = {name: [t * config.steps for t in values] for name, values in per_step.items()}
    medians = timing.medians(times)
    sequential = [name for name in sides if name not in grouped]
    best = min(sequential, key=lambda n: medians[n])
    device = jax.devices()[0]
    return {
        "device": device.device_kind,
        "platform": device.platform,
        "jax_version": jax.__version__,
        "load_average": os.getloadavg(),
        "times": times,
        "medians": medians,
        "ratios": {name: medians[best] / medians[name] for name in grouped},
        "baseline": best,
        "grouped": grouped,
        "compile_seconds": {name: side.compile_seconds for name, side in sides.items()},
    }


def main(argv: list[str] | None = None) -> int:
    config, namespace = cli.parse(
        SweepBenchmarkConfig, argv, "benchmarks.vmap_sweep", __doc__, extra=_add_child_flags
    )
    if namespace.memory_child is not None:
        print(json.dumps(peak_memory(namespace.memory_child, namespace.memory_side, config)))
        return 0
    cpu_tuning.keep_freed_memory()  # before JAX's backends start, as the study does
    print(
        f"{config.model}, batch {config.batch_size}, K={config.k}, {config.steps} updates per "
        f"run, {config.repeats} alternating repeats, load {timing.load():.2f}"
    )
    results = time_sides(config)
    images = config.k * config.steps * config.batch_size
    compile_seconds = results["compile_seconds"].items()
    print("compile (s): " + ", ".join(f"{k} {v:.1f}" for k, v in compile_seconds))
    for name, seconds in results["medians"].items():
        all_times = ", ".join(f"{t:.2f}" for t in results["times"][name])
        print(
            f"{name:>18}: {seconds:7.2f} s for {config.k} x {config.steps} updates "
            f"({images / seconds:6.0f} images/s; all: {all_times})"
        )
    for name, ratio in results["ratios"].items():
        baseline = results["baseline"]
        print(f"speed-up of {name} over the faster sequential ({baseline}): {ratio:.2f}x")
    results["memory"] = _memory_rows(config, results["grouped"]) if config.memory else []
    results["config"] = dataclasses.asdict(config)
    timing.write_json(config.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
