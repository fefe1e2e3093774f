"""K runs in one compiled update against the same K runs trained one after another.

    python benchmarks/vmap_sweep.py                 # K=8, CNN, batch 128, then memory vs K

Every side trains the CNN of `examples/mnist` with SGD-momentum under K different schedules
(one-cycle at K peak learning rates: one structure group) on a device-resident synthetic
training set, `--steps` updates per run:

  - vmapped: the K runs as one group of `examples.compare.sweep` under one `jax.vmap`
    (`vmap_size=K`), one update call per step; on CPU its convolutions are matrix products
    (`sweep.resolve_conv`);
  - sweep default: the K runs as one group with the sweep's default `vmap_size`
    (`sweep.resolve_vmap_size`): on CPU the group's one compiled update vmaps one run at a
    time, with native convolutions. On accelerators this is the vmapped side and is not
    timed twice;
  - sequential: K groups of one run each, trained one after another with the same code (the
    compiled update is shared), once with convolutions as matrix products ("matmul") and
    once with `lax.conv` ("native", the trainer's path).

On CPU every side gets the sweep's CPU tuning (glibc keeps freed memory; native convolutions
are compiled with `examples/mnist/cpu_tuning.py`'s options).

The sides alternate `--repeats` times so that all see the same machine load; the report gives
medians, each grouped side's speed-up over the faster sequential variant, and the compile
times apart. Then, unless `--no-memory`, each grouped side at each K of `--memory-ks` runs
in a fresh subprocess that reports its peak memory: `peak_bytes_in_use` of the device
where JAX exposes it (GPU, TPU), else the process's peak resident set minus the peak before
the group was built.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jaxsched
from examples.compare import sweep
from examples.mnist import cpu_tuning, data


def synthetic_data(num_train: int) -> sweep.DeviceData:
    """Random uint8 images: the cost of an update does not depend on the pixel values."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (num_train, 28, 28, 1), np.uint8)
    labels = rng.integers(0, 10, num_train).astype(np.int32)
    dataset = data.Dataset(images, labels, images[:256], labels[:256])
    return sweep.put_data(dataset, eval_batch_size=256)


def make_runs(k: int, total_steps: int) -> list[sweep.Run]:
    peaks = np.geomspace(0.01, 0.3, k) if k > 1 else [0.1]
    return [
        sweep.Run(
            "one_cycle",
            "sgd",
            jaxsched.one_cycle(float(peak), total_steps),
            seed,
            float(peak),
            momentum=jaxsched.one_cycle_momentum(total_steps),
        )
        for seed, peak in enumerate(peaks)
    ]


class Group:
    """A group of runs ready to step: its state, its compiled update and the data order."""

    def __init__(self, runs: list[sweep.Run], device_data: sweep.DeviceData, config: Any) -> None:
        self.data = device_data
        self.batch_size = config.batch_size
        self.hyperparams, params, opt_state, data_keys = sweep.init_group(runs, config)
        count = device_data.train_images.shape[0]
        self.orders = sweep.compiled("permutations", data_keys, 0, count=count)[0](data_keys, 0)
        self.state = (params, opt_state)
        self.vmap_size = sweep.resolve_vmap_size(config.vmap_size, len(runs))
        conv = sweep.resolve_conv(config.conv, self.vmap_size)
        self.step_fn, self.compile_seconds = sweep.compiled(
            "train_step", params, opt_state, self.hyperparams, device_data.train_images,
            device_data.train_labels, self.orders, np.int32(0), model=config.model,
            optimizer="sgd", batch_size=config.batch_size, conv=conv, vmap_size=self.vmap_size,
            compiler_options=sweep.step_compiler_options(config, conv),
        )  # fmt: skip
        self.steps_per_epoch = count // config.batch_size

    def run(self, steps: int) -> Any:
        params, opt_state = self.state
        for i in range(steps):
            offset = np.int32((i % self.steps_per_epoch) * self.batch_size)
            params, opt_state, loss, _ = self.step_fn(
                params, opt_state, self.hyperparams, self.data.train_images,
                self.data.train_labels, self.orders, offset,
            )  # fmt: skip
        self.state = (params, opt_state)
        return loss


def timed(groups: list[Group], steps: int) -> float:
    """Seconds for `steps` updates of each group, one group after another."""
    start = time.perf_counter()
    for group in groups:
        jax.block_until_ready(group.run(steps))
    return time.perf_counter() - start


def peak_memory(k: int, side: str, args: argparse.Namespace) -> dict[str, Any]:
    """Trains a group of `k` runs for a few steps; the peak memory that took (in-process).

    `side` is "vmapped" (one vmap over the group) or "sweep_default" (the sweep's default
    runs per vmap)."""
    cpu_tuning.keep_freed_memory()  # before JAX's backends start, as the study does
    device_data = synthetic_data(args.num_train)
    config = sweep.SweepConfig(model=args.model, batch_size=args.batch_size)
    if side == "vmapped":
        config = dataclasses.replace(config, conv=args.conv, vmap_size=k)
    jax.block_until_ready(device_data)
    before_mb = _host_peak_mb()
    group = Group(make_runs(k, 1000), device_data, config)
    jax.block_until_ready(group.run(3))
    stats = jax.devices()[0].memory_stats() or {}
    result = {"k": k, "side": side, "vmap_size": group.vmap_size,
              "device": jax.devices()[0].device_kind}  # fmt: skip
    if "peak_bytes_in_use" in stats:
        result["device_peak_mb"] = stats["peak_bytes_in_use"] / 2**20
    peak_mb = _host_peak_mb()
    result["host_peak_rss_mb"] = peak_mb
    result["host_rss_increase_mb"] = peak_mb - before_mb
    return result


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10, help="updates per run per timing")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--model", default="cnn", choices=("cnn", "mlp"))
    parser.add_argument("--conv", default="auto", choices=("auto", "matmul", "native"),
                        help="the vmapped side's convolutions")  # fmt: skip
    parser.add_argument("--num-train", type=int, default=4096)
    parser.add_argument("--memory-ks", default="1,2,4,8,16")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--memory-side", default="vmapped", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child is not None:
        print(json.dumps(peak_memory(args.memory_child, args.memory_side, args)))
        return 0

    cpu_tuning.keep_freed_memory()  # before JAX's backends start, as the study does
    device = jax.devices()[0]
    print(f"device: {device.platform} / {device.device_kind} x {len(jax.devices())}; "
          f"JAX {jax.__version__}; {args.model}, batch {args.batch_size}, K={args.k}, "
          f"{args.steps} updates per run, {args.repeats} alternating repeats")  # fmt: skip
    device_data = synthetic_data(args.num_train)
    runs = make_runs(args.k, 10 * args.steps * args.repeats)
    base = sweep.SweepConfig(model=args.model, batch_size=args.batch_size)
    vmapped_config = dataclasses.replace(base, conv=args.conv, vmap_size=args.k)
    grouped = {"vmapped": [Group(runs, device_data, vmapped_config)]}
    if sweep.resolve_vmap_size(base.vmap_size, args.k) != args.k:
        grouped["sweep_default"] = [Group(runs, device_data, base)]
    sequential = {
        f"sequential_{conv}": [
            Group([run], device_data, dataclasses.replace(base, conv=conv)) for run in runs
        ]
        for conv in ("matmul", "native")
    }
    sides = {**grouped, **sequential}
    compile_seconds = {name: groups[0].compile_seconds for name, groups in sides.items()}
    # A warm-up step everywhere: the first call of an executable allocates its buffers.
    for groups in sides.values():
        timed(groups, 1)
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(args.repeats):
        for name, groups in sides.items():
            times[name].append(timed(groups, args.steps))
    medians = {name: statistics.median(values) for name, values in times.items()}
    images = args.k * args.steps * args.batch_size
    best = min(sequential, key=lambda n: medians[n])
    ratios = {name: medians[best] / medians[name] for name in grouped}
    print("compile (s): " + ", ".join(f"{k} {v:.1f}" for k, v in compile_seconds.items()))
    for name, seconds in medians.items():
        print(f"{name:>18}: {seconds:7.2f} s for {args.k} x {args.steps} updates "
              f"({images / seconds:6.0f} images/s; all: {', '.join(f'{t:.2f}' for t in times[name])})")  # fmt: skip  # noqa: E501
    for name, ratio in ratios.items():
        print(f"speed-up of {name} over the faster sequential ({best}): {ratio:.2f}x")

    memory = []
    if not args.no_memory:
        env = {**os.environ, "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
        for side in grouped:
            for k in (int(x) for x in args.memory_ks.split(",")):
                child = subprocess.run(
                    [sys.executable, os.path.abspath(__file__), "--memory-child", str(k),
                     "--memory-side", side, "--model", args.model,
                     "--batch-size", str(args.batch_size), "--conv", args.conv,
                     "--num-train", str(args.num_train)],
                    capture_output=True, text=True, env=env, check=True,
                )  # fmt: skip
                memory.append(json.loads(child.stdout.strip().splitlines()[-1]))
                row = memory[-1]
                device_peak = row.get("device_peak_mb")
                print(f"{side:>13} K={k:3d}: host peak RSS {row['host_peak_rss_mb']:7.0f} MB "
                      f"(+{row['host_rss_increase_mb']:.0f} MB for the group)"
                      + (f", device peak {device_peak:.0f} MB" if device_peak else ""))  # fmt: skip
    if args.json:
        with open(args.json, "w") as f:
            json.dump({
                "device": device.device_kind, "platform": device.platform,
                "jax_version": jax.__version__, "args": vars(args), "times": times,
                "medians": medians, "ratios": ratios, "baseline": best,
                "compile_seconds": compile_seconds, "memory": memory,
            }, f, indent=1)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
