"""K runs in one group against the same K runs trained one after another.

    python -m benchmarks.vmap_sweep                 # K=8, CNN, batch 128, then memory vs K

The sides are the study's own `examples.compare.group.RunGroup`s; benchmarks/README.md says
what each is and what the report holds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import shlex
import subprocess
import sys
import time
from typing import Any

import jax
import numpy as np

from benchmarks import cli, timing
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
    """Random uint8 images on the device: the cost of an update does not depend on them."""
    images, labels = timing.random_images(num_train)
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
    """Groups of runs ready to step; `run` (a `benchmarks.timing` side) steps every group,
    one after another."""

    def __init__(self, runs_per_group: list[list[Any]], device_data: Any, config: Any) -> None:
        self.groups = [group.RunGroup(runs, device_data, config) for runs in runs_per_group]
        self.orders = [g.orders(0) for g in self.groups]
        self.compile_seconds = self.groups[0].compile_seconds

    def run(self, steps: int) -> float:
        start = time.perf_counter()
        for g, orders in zip(self.groups, self.orders, strict=True):
            jax.block_until_ready(g.train_steps(orders, 0, steps))
        return time.perf_counter() - start


def device_peak_mb() -> float | None:
    """The device's peak bytes in use so far, in MB; None where JAX does not expose it."""
    peak = (jax.devices()[0].memory_stats() or {}).get("peak_bytes_in_use")
    return None if peak is None else peak / 2**20


def _host_peak_mb() -> float:
    """This process's peak resident set in MB: /proc's VmHWM where it exists (Linux carries
    `ru_maxrss` across fork and exec, so a child would report its parent's peak)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_memory(k: int, side: str, config: SweepBenchmarkConfig) -> dict[str, Any]:
    """Peak memory of a few steps of a group of `k` runs (in this process, a fresh one);
    `side` is "vmapped" (one vmap over the group) or "group_default"."""
    cpu_tuning.keep_freed_memory()  # before JAX's backends start, as the study does
    device_data = jax.block_until_ready(synthetic_data(config.num_train))
    group_config = group.GroupConfig(model=config.model, batch_size=config.batch_size)
    if side == "vmapped":
        group_config = dataclasses.replace(group_config, conv=config.conv, vmap_size=k)
    before_mb = _host_peak_mb()
    one = Side([make_runs(k, 1000)], device_data, group_config)
    one.run(3)
    peak_mb = _host_peak_mb()
    result = {"k": k, "side": side, "vmap_size": one.groups[0].vmap_size}
    result |= {"device": jax.devices()[0].device_kind, "device_peak_mb": device_peak_mb()}
    return result | {"host_peak_rss_mb": peak_mb, "host_rss_increase_mb": peak_mb - before_mb}


def _memory_rows(config: SweepBenchmarkConfig, grouped: list[str]) -> list[dict[str, Any]]:
    """Peak memory of each grouped side at each K, each in a fresh process."""
    env = {**os.environ, "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    # What the child's `peak_memory` reads of the config.
    given = {key: getattr(config, key) for key in ("model", "batch_size", "conv", "num_train")}
    rows = []
    for side in grouped:
        for k in config.memory_ks:
            child = [
                "--memory-child",
                str(k),
                "--memory-side",
                side,
                *shlex.split(flags.render(given)),
            ]
            command = [sys.executable, "-m", "benchmarks.vmap_sweep", *child]
            done = subprocess.run(
                command, capture_output=True, text=True, env=env, check=True, cwd=_REPO
            )
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            timing.show(rows[-1])
    return rows


def compare(
    device_data: Any,
    runs: list[Any],
    grouped: dict[str, Any],
    sequential: dict[str, Any],
    steps: int,
    repeats: int,
) -> dict[str, Any]:
    """Times the runs as one group per config of `grouped` and as one group per run per
    config of `sequential`, in turns: seconds per `steps` updates, each grouped side's
    speed-up over the faster sequential one, compile times, and the device's peak memory
    after the grouped sides' first step (before the sequential ones are built)."""
    sides = {name: Side([runs], device_data, config) for name, config in grouped.items()}
    for side in sides.values():
        side.run(1)  # the first call allocates its buffers
    peak_memory_mb = device_peak_mb()
    for name, config in sequential.items():
        sides[name] = Side([[run] for run in runs], device_data, config)
    runners = {name: side.run for name, side in sides.items()}
    per_step = timing.in_turns(runners, steps, repeats, warmup_steps=1)
    times = {name: [t * steps for t in values] for name, values in per_step.items()}
    medians = timing.medians(times)
    best = min(sequential, key=lambda name: medians[name])
    images = len(runs) * steps * next(iter(grouped.values())).batch_size
    return {
        "times": times,
        "medians": medians,
        "images_per_s": {name: images / seconds for name, seconds in medians.items()},
        "ratios": {name: medians[best] / medians[name] for name in grouped},
        "baseline": best,
        "compile_seconds": {name: side.compile_seconds for name, side in sides.items()},
        "peak_memory_mb": peak_memory_mb,
    }


def time_sides(config: SweepBenchmarkConfig) -> dict[str, Any]:
    """`compare` of `vmapped` (and `group_default` where the default runs per vmap differ)
    against K groups of one run, with native or matmul convolutions."""
    if config.steps * config.batch_size > config.num_train:
        raise ValueError("--steps times --batch-size must fit in --num-train (one epoch)")
    runs = make_runs(config.k, 10 * config.steps * config.repeats)
    base = group.GroupConfig(model=config.model, batch_size=config.batch_size)
    grouped = {"vmapped": dataclasses.replace(base, conv=config.conv, vmap_size=config.k)}
    if group.resolve_vmap_size(base.vmap_size, config.k) != config.k:
        grouped["group_default"] = base
    sequential = {
        f"sequential_{c}": dataclasses.replace(base, conv=c) for c in ("matmul", "native")
    }
    data = synthetic_data(config.num_train)
    return compare(data, runs, grouped, sequential, config.steps, config.repeats) | {
        "grouped": list(grouped)
    }


def _add_child_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--memory-side", default="vmapped", help=argparse.SUPPRESS)


def main(argv: list[str] | None = None) -> int:
    config, namespace = cli.parse(
        SweepBenchmarkConfig, argv, "benchmarks.vmap_sweep", __doc__, extra=_add_child_flags
    )
    if namespace.memory_child is not None:
        print(json.dumps(peak_memory(namespace.memory_child, namespace.memory_side, config)))
        return 0
    cpu_tuning.keep_freed_memory()  # before JAX's backends start, as the study does
    results = {**timing.environment(), "config": dataclasses.asdict(config)}
    timing.show(results)
    results.update(time_sides(config))
    timing.show(
        {key: results[key] for key in ("times", "medians", "images_per_s", "ratios", "baseline")}
    )
    timing.show({"compile_seconds": results["compile_seconds"]})
    results["memory"] = _memory_rows(config, results["grouped"]) if config.memory else []
    timing.write_json(config.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
