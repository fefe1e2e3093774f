"""Throughput of the MNIST trainer's update step, side by side with PyTorch eager.

    python benchmarks/mnist_throughput.py --torch --data-dir /usr/share/datasets/fashion-mnist

Reports, for the CNN at one batch size on whatever JAX finds (CPU, GPU or TPU):
  - compile time of the jitted update step, apart from everything else;
  - bare-step throughput: the trainer's jitted update step called in a loop, medians of
    `--repeats` timings of `--steps` steps each;
  - epoch throughput: a whole epoch of `train.train_and_evaluate`, data order, metric
    fetching and metrics.jsonl included (evaluation excluded), next to the bare step;
  - per-step dispatch overhead: the same step for a tiny linear model, microseconds a step;
  - with `--torch`: the same model, batch and optimizer in PyTorch eager, timed in turns with
    the JAX step so that both see the same machine load (skipped, with a message, if torch is
    not installed);
  - on CPU, with the trainer's CPU tuning (examples/mnist/cpu_tuning.py; `--no-cpu-tuning` turns
    it off): the JAX step is also timed as compiled with XLA's default options, and PyTorch
    both with the same glibc setting as the JAX process and without it;
  - with `--target-accuracy`: wall time until the test accuracy first reaches it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from examples.mnist import configs, cpu_tuning, data, models, train


def _time_steps(step: Callable[[], Any], steps: int) -> float:
    """Seconds for `steps` calls of `step`, waiting for the last result."""
    start = time.perf_counter()
    for _ in range(steps):
        result = step()
    jax.block_until_ready(result)
    return time.perf_counter() - start


class JaxStep:
    """The trainer's jitted update step on a fixed, device-resident batch."""

    def __init__(
        self,
        model: nn.Module,
        batch_size: int,
        num_devices: int,
        compiler_options: dict[str, str] | None = None,
    ) -> None:
        config = configs.Config(optimizer="sgd", momentum=0.9)
        self.mesh = train.make_mesh(num_devices)
        replicated = jax.sharding.NamedSharding(self.mesh, jax.sharding.PartitionSpec())
        optimizer = train.make_optimizer(config, train.build_schedule("constant", {}, 0.01, 1))
        params = jax.jit(
            lambda key: model.init(key, jnp.zeros((1, 28, 28, 1)))["params"],
            out_shardings=replicated,
        )(jax.random.PRNGKey(0))
        self.state = (params, jax.jit(optimizer.init, out_shardings=replicated)(params))
        rng = np.random.default_rng(0)
        self.inputs = (
            train.put_replicated(
                rng.integers(0, 256, (batch_size, 28, 28, 1), np.uint8), self.mesh
            ),
            train.put_replicated(rng.integers(0, 10, batch_size).astype(np.int32), self.mesh),
            train.put_replicated(np.arange(batch_size, dtype=np.int32), self.mesh),
        )
        start = time.perf_counter()
        self.step_fn = (
            train.make_train_step(model, optimizer, batch_size, self.mesh, compiler_options)
            .lower(*self.state, *self.inputs, 0)
            .compile()
        )
        self.compile_seconds = time.perf_counter() - start

    def __call__(self) -> Any:
        params, opt_state, metrics = self.step_fn(*self.state, *self.inputs, 0)
        self.state = (params, opt_state)
        return metrics["loss"]


# Idle thread pools (XLA's Eigen pool, torch's OpenMP) spin for a while after their last task;
# each peer runs in its own process and gets the machine after a pause, so none of them pays
# for another's spinning threads.
_SETTLE_SECONDS = 0.3


def _torch_version() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    return str(torch.__version__)


def _torch_worker(tiny: bool, batch_size: int, keep_freed_memory: bool) -> None:
    """Serves timings of a PyTorch eager step: reads a step count a line, writes seconds."""
    if keep_freed_memory:  # before torch starts its threads, as the JAX side does
        cpu_tuning.keep_freed_memory()
    import torch

    layers: list[Any]
    if tiny:
        layers = [torch.nn.Flatten(), torch.nn.Linear(784, 10)]
    else:
        layers = [
            torch.nn.Conv2d(1, 32, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.AvgPool2d(2),
            torch.nn.Conv2d(32, 64, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.AvgPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(3136, 256),
            torch.nn.ReLU(),
            torch.nn.Linear(256, 10),
        ]
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (batch_size, 1, 28, 28), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (batch_size,), generator=generator)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(images.float() / 255.0), labels)
        loss.backward()
        optimizer.step()

    print(torch.get_num_threads(), flush=True)
    for line in sys.stdin:
        start = time.perf_counter()
        for _ in range(int(line)):
            step()
        print(time.perf_counter() - start, flush=True)


class TorchWorker:
    """A PyTorch eager step (the same model, loss and SGD with momentum) in a subprocess."""

    def __init__(self, tiny: bool, batch_size: int, keep_freed_memory: bool) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--torch-worker",
                "tiny" if tiny else "cnn",
                "--batch-size",
                str(batch_size),
                "--cpu-tuning" if keep_freed_memory else "--no-cpu-tuning",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.threads = int(self._read())

    def _read(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the PyTorch worker died; run it alone to see why")
        return line

    def time_steps(self, steps: int) -> float:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{steps}\n")
        self.process.stdin.flush()
        return float(self._read())

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


class _Tiny(nn.Module):
    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return nn.Dense(10)(x.reshape(x.shape[0], -1))


def _median_rate(seconds: list[float], items: int) -> float:
    return items / statistics.median(seconds)


def _epoch(args: argparse.Namespace, dataset: data.Dataset, **overrides: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as workdir:
        config = configs.Config(
            model="cnn",
            batch_size=args.batch_size,
            workdir=workdir,
            progress=False,
            plot=False,
            checkpoint_every_steps=0,
            num_devices=args.devices,
            dataset="fashion_mnist" if args.data_dir else "mnist",
            cpu_tuning=args.cpu_tuning,
            **overrides,
        )
        summary = train.train_and_evaluate(config, dataset)
        with open(os.path.join(workdir, "metrics.jsonl")) as f:
            epochs = [r for line in f if (r := json.loads(line))["kind"] == "epoch"]
    summary.pop("params")
    return {"summary": summary, "epochs": epochs}


def _load_or_make_data(data_dir: str | None) -> tuple[data.Dataset, str]:
    if data_dir:
        return data.load("fashion_mnist", data_dir), data_dir
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (70000, 28, 28, 1), np.uint8)
    labels = rng.integers(0, 10, 70000).astype(np.int32)
    synthetic = data.Dataset(images[:60000], labels[:60000], images[60000:], labels[60000:])
    return synthetic, "random images (pass --data-dir for real data)"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Runs the benchmark, prints a table and returns the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=40, help="steps per timing")
    parser.add_argument("--repeats", type=int, default=7, help="timings per figure (median)")
    parser.add_argument("--devices", type=int, default=0, help="devices to use (0: all)")
    parser.add_argument("--data-dir", help="IDX folder for the epoch; default random images")
    parser.add_argument("--torch", action="store_true", help="also time PyTorch eager")
    parser.add_argument(
        "--target-accuracy",
        type=float,
        default=0.0,
        help="also time training until this test accuracy (0: skip)",
    )
    parser.add_argument(
        "--max-epochs", type=int, default=5, help="epochs allowed to reach --target-accuracy"
    )
    parser.add_argument(
        "--cpu-tuning",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="use the trainer's CPU tuning (examples/mnist/cpu_tuning.py)",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--torch-worker", choices=("cnn", "tiny"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.torch_worker:
        _torch_worker(args.torch_worker == "tiny", args.batch_size, args.cpu_tuning)
        return {}

    # The glibc half of the tuning goes first, before JAX's backends start (see
    # keep_freed_memory); the XLA options below only apply on CPU.
    glibc_tuned = args.cpu_tuning and cpu_tuning.keep_freed_memory()
    devices = jax.devices()[: args.devices or None]
    results: dict[str, Any] = {
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "device_kind": devices[0].device_kind,
        "devices": len(devices),
        "host_cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "batch_size": args.batch_size,
    }
    print(
        f"JAX {jax.__version__} on {len(devices)} x {devices[0].device_kind} "
        f"({jax.default_backend()}), {os.cpu_count()} host CPUs, batch {args.batch_size}, "
        f"medians of {args.repeats} x {args.steps} steps",
        flush=True,
    )

    torch_version = _torch_version() if args.torch else None
    if args.torch and torch_version is None:
        print(
            "torch is not installed: skipping the PyTorch eager peer (pip install torch to compare)"
        )

    platform_name = devices[0].platform
    tuned = glibc_tuned and platform_name == "cpu"
    results["cpu_tuning"] = tuned
    options = cpu_tuning.compiler_options(platform_name, "cnn") if tuned else {}
    cnn = JaxStep(models.create("cnn"), args.batch_size, args.devices, options)
    # The tiny linear model is tuned as the trainer tunes its MLP: XLA's default options.
    tiny = JaxStep(_Tiny(), args.batch_size, args.devices)
    results["compile_seconds"] = cnn.compile_seconds
    peers: dict[str, Callable[[int], float]] = {
        "jax_step": lambda steps: _time_steps(cnn, steps),
        "jax_tiny_step": lambda steps: _time_steps(tiny, steps),
    }
    if tuned:  # the same step compiled with XLA's default options, in this same process
        default_cnn = JaxStep(models.create("cnn"), args.batch_size, args.devices)
        peers["jax_default_options_step"] = lambda steps: _time_steps(default_cnn, steps)
    workers = []
    if torch_version is not None:
        results["torch"] = torch_version
        torch_peers = [("torch_step", False, tuned), ("torch_tiny_step", True, tuned)]
        if tuned:
            torch_peers.append(("torch_default_malloc_step", False, False))
        for name, tiny_model, keep_freed in torch_peers:
            worker = TorchWorker(tiny_model, args.batch_size, keep_freed)
            workers.append(worker)
            peers[name] = worker.time_steps
    for time_steps in peers.values():  # warm-up: first calls allocate and fill caches
        time_steps(3)
    timings: dict[str, list[float]] = {name: [] for name in peers}
    for _ in range(args.repeats):  # in turns, so that all see the same machine load
        for name, time_steps in peers.items():
            time.sleep(_SETTLE_SECONDS)
            steps = args.steps * (10 if "tiny" in name else 1)
            timings[name].append(time_steps(steps) / steps)
    for worker in workers:
        results["torch_threads"] = worker.threads
        worker.close()
    for name, seconds in timings.items():
        results[f"{name}_images_per_s"] = _median_rate(seconds, args.batch_size)
        results[f"{name}_microseconds"] = statistics.median(seconds) * 1e6

    dataset, source = _load_or_make_data(args.data_dir)
    epoch = _epoch(args, dataset, epochs=1)
    results["epoch_data"] = source
    results["epoch_images_per_s"] = epoch["epochs"][0]["images_per_s"]
    # A bare-step timing right after the epoch, so both see about the same load.
    after = [_time_steps(cnn, args.steps) / args.steps for _ in range(args.repeats)]
    results["jax_step_after_epoch_images_per_s"] = _median_rate(after, args.batch_size)
    bare = statistics.mean(
        [results["jax_step_images_per_s"], results["jax_step_after_epoch_images_per_s"]]
    )
    results["epoch_vs_bare_step"] = results["epoch_images_per_s"] / bare

    tuning = " (CPU tuning)" if tuned else ""
    rows = [
        ("compile the CNN train step", f"{results['compile_seconds']:.2f} s"),
        (f"JAX bare step, CNN{tuning}", f"{results['jax_step_images_per_s']:.0f} images/s"),
        (
            "JAX whole epoch, data and logging",
            f"{results['epoch_images_per_s']:.0f} images/s "
            f"({results['epoch_vs_bare_step']:.1%} of bare step)",
        ),
        ("JAX dispatch, tiny model", f"{results['jax_tiny_step_microseconds']:.0f} us/step"),
    ]
    if tuned:
        rows.insert(
            2,
            (
                "JAX bare step, CNN, XLA's default options",
                f"{results['jax_default_options_step_images_per_s']:.0f} images/s",
            ),
        )
    if torch_version is not None:
        ratio = results["jax_step_images_per_s"] / results["torch_step_images_per_s"]
        results["jax_over_torch"] = ratio
        same_glibc = ", same glibc setting" if tuned else ""
        rows += [
            (
                f"PyTorch {torch_version} eager step, CNN{same_glibc} "
                f"({results['torch_threads']} threads)",
                f"{results['torch_step_images_per_s']:.0f} images/s (JAX is {ratio:.2f}x)",
            ),
            (
                "PyTorch eager dispatch, tiny model",
                f"{results['torch_tiny_step_microseconds']:.0f} us/step",
            ),
        ]
        if tuned:
            default_torch = results["torch_default_malloc_step_images_per_s"]
            default_ratio = results["jax_step_images_per_s"] / default_torch
            results["jax_over_torch_default_malloc"] = default_ratio
            rows.append(
                (
                    "PyTorch eager step, CNN, glibc's defaults",
                    f"{default_torch:.0f} images/s (JAX is {default_ratio:.2f}x)",
                )
            )

    if args.target_accuracy:
        run = _epoch(args, dataset, epochs=args.max_epochs)
        elapsed, reached = 0.0, None
        for record in run["epochs"]:
            elapsed += record["seconds"]
            if record["test_accuracy"] >= args.target_accuracy:
                reached = (record["epoch"], elapsed)
                break
        results["time_to_target"] = reached and {"epoch": reached[0], "seconds": reached[1]}
        rows.append(
            (
                f"train to {args.target_accuracy:.1%} test accuracy",
                f"{reached[1]:.1f} s (epoch {reached[0]}, evaluation excluded)"
                if reached
                else f"not reached in {args.max_epochs} epochs",
            )
        )

    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
