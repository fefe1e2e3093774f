"""Throughput of the MNIST trainer's update step, side by side with PyTorch eager.

    python -m benchmarks.mnist_throughput --torch --data-dir /usr/share/datasets/fashion-mnist

Reports, for the CNN at one batch size on whatever JAX finds (CPU, GPU or TPU):
  - compile time of the trainer's update step, apart from everything else;
  - bare-step throughput: the trainer's own compiled step (`train.setup`) called in a loop
    on one device-resident batch, medians of `--repeats` timings of `--steps` steps each;
  - epoch throughput: a whole epoch of `train.train_and_evaluate`, data order, metric
    fetching and metrics.jsonl included (evaluation excluded), next to the bare step;
  - per-step dispatch overhead: the same step for the linear model, microseconds a step;
  - with `--torch`: the same model, batch and optimizer in PyTorch eager, timed in turns with
    the JAX step so that both see the same machine load (skipped, with a message, if torch is
    not installed);
  - on CPU, with the trainer's CPU tuning (examples/mnist/cpu_tuning.py; `--no-cpu-tuning`
    turns it off): the JAX step is also timed as compiled with XLA's default options, and
    PyTorch both with the same glibc setting as the JAX process and without it;
  - with `--target-accuracy`: wall time until the test accuracy first reaches it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks import roofline
from examples import flags
from examples.mnist import configs, cpu_tuning, data

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclasses.dataclass(frozen=True)
class BenchmarkConfig:
    """What the benchmark measures; each field is a command-line flag.

    Attributes:
      batch_size: images per update.
      steps: updates per timing.
      repeats: timings per figure (their median is reported).
      devices: devices to use (0: all).
      data_dir: an IDX folder for the epoch (default: random images).
      torch: also time PyTorch eager.
      target_accuracy: also time training until this test accuracy (0: skip).
      max_epochs: epochs allowed to reach `target_accuracy`.
      cpu_tuning: use the trainer's CPU tuning (examples/mnist/cpu_tuning.py).
      json: also write the figures to this file.
    """

    batch_size: int = 128
    steps: int = 40
    repeats: int = 7
    devices: int = 0
    data_dir: str | None = None
    torch: bool = False
    target_accuracy: float = 0.0
    max_epochs: int = 5
    cpu_tuning: bool = True
    json: str | None = None


def time_steps(step: Callable[[], Any], steps: int) -> float:
    """Seconds for `steps` calls of `step`, waiting for the last result."""
    import jax

    start = time.perf_counter()
    for _ in range(steps):
        result = step()
    jax.block_until_ready(result)
    return time.perf_counter() - start


class TrainerStep:
    """The trainer's compiled update step on one fixed, device-resident batch."""

    def __init__(self, model: str, config: BenchmarkConfig, cpu_tuning: bool) -> None:
        import jax.numpy as jnp

        from examples.mnist import train

        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (config.batch_size, 28, 28, 1), np.uint8)
        labels = rng.integers(0, 10, config.batch_size).astype(np.int32)
        run_config = configs.Config(
            model=model,
            batch_size=config.batch_size,
            optimizer="sgd",
            momentum=0.9,
            schedule="constant",
            learning_rate=0.01,
            num_devices=config.devices,
            cpu_tuning=cpu_tuning,
        )
        self.trainer = train.setup(run_config, data.Dataset(images, labels, images, labels))
        self.state = train.create_state(self.trainer).state
        self.order = jnp.arange(config.batch_size, dtype=jnp.int32)
        self.compile_seconds = self.trainer.compile_seconds

    def __call__(self) -> Any:
        trainer = self.trainer
        self.state, metrics = trainer.train_step(
            self.state,
            trainer.hyperparams,
            trainer.data.train_images,
            trainer.data.train_labels,
            self.order,
            0,
        )
        return metrics["loss"]


# Idle thread pools (XLA's Eigen pool, torch's OpenMP) spin for a while after their last task;
# each peer runs in its own process and gets the machine after a pause, so none of them pays
# for another's spinning threads.
_SETTLE_SECONDS = 0.3


def torch_version() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    return str(torch.__version__)


def _torch_model(torch: Any, tiny: bool) -> Any:
    """The example CNN (or the linear model) in PyTorch, NCHW as PyTorch lays images out."""
    if tiny:
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    return torch.nn.Sequential(
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
    )


@dataclasses.dataclass(frozen=True)
class TorchSide:
    """Which PyTorch step a worker serves.

    Attributes:
      tiny: the linear model instead of the CNN.
      batch_size: images per update.
      keep_freed_memory: glibc keeps freed memory, as in the tuned JAX process.
      device: a torch device ("cpu", "cuda").
      compile: `torch.compile` the model (its first step, which compiles, is timed apart).
    """

    tiny: bool
    batch_size: int
    keep_freed_memory: bool
    device: str = "cpu"
    compile: bool = False

    def flags(self) -> list[str]:
        return [
            "--torch-worker",
            "tiny" if self.tiny else "cnn",
            "--batch-size",
            str(self.batch_size),
            "--cpu-tuning" if self.keep_freed_memory else "--no-cpu-tuning",
            "--torch-device",
            self.device,
            *(["--torch-compile"] if self.compile else []),
        ]


def _torch_worker(side: TorchSide) -> None:
    """Serves timings of a PyTorch step: first a JSON line (threads, compile seconds), then
    reads a step count a line and writes the seconds those steps took."""
    if side.keep_freed_memory:  # before torch starts its threads, as the JAX side does
        cpu_tuning.keep_freed_memory()
    import torch

    model = _torch_model(torch, side.tiny).to(side.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    generator = torch.Generator().manual_seed(0)
    shape = (side.batch_size, 1, 28, 28)
    images = torch.randint(0, 256, shape, dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (side.batch_size,), generator=generator)
    images, labels = images.to(side.device), labels.to(side.device)
    forward = torch.compile(model) if side.compile else model

    def sync() -> None:
        if side.device.startswith("cuda"):
            torch.cuda.synchronize()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(forward(images.float() / 255.0), labels)
        loss.backward()
        optimizer.step()

    compile_seconds = None
    if side.compile:  # torch.compile compiles on the first call
        start = time.perf_counter()
        step()
        sync()
        compile_seconds = time.perf_counter() - start
    header = {"threads": torch.get_num_threads(), "compile_seconds": compile_seconds}
    print(json.dumps(header), flush=True)
    for line in sys.stdin:
        start = time.perf_counter()
        for _ in range(int(line)):
            step()
        sync()
        print(time.perf_counter() - start, flush=True)


class TorchWorker:
    """A PyTorch step (the same model, loss and SGD with momentum) in a subprocess.

    Args:
      side: which step.
      timeout: seconds to wait for any answer of the worker (its start, torch.compile, a
        timing) before killing it and raising TimeoutError; None waits for ever.
    """

    def __init__(self, side: TorchSide, timeout: float | None = None) -> None:
        self.timeout = timeout
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.mnist_throughput", *side.flags()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=_REPO,
        )
        header = json.loads(self._read())
        self.threads: int = header["threads"]
        self.compile_seconds: float | None = header["compile_seconds"]

    def _read(self) -> str:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], self.timeout)
        if not ready:
            self._stop()
            raise TimeoutError(f"the PyTorch worker did not answer in {self.timeout} s")
        line = self.process.stdout.readline()
        if not line:
            self._stop()
            raise RuntimeError("the PyTorch worker died; run it alone to see why")
        return line

    def _stop(self) -> None:
        self.process.kill()
        self.process.communicate()  # reaps it and closes the pipes

    def time_steps(self, steps: int) -> float:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{steps}\n")
        self.process.stdin.flush()
        return float(self._read())

    def close(self) -> None:
        if self.process.poll() is not None:  # stopped already
            return
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)
        assert self.process.stdout is not None
        self.process.stdout.close()


def _median_rate(seconds: list[float], items: int) -> float:
    return items / statistics.median(seconds)


def _epoch(config: BenchmarkConfig, dataset: data.Dataset, epochs: int) -> list[dict[str, Any]]:
    """The epoch records of a run of the trainer on `dataset` (a fresh work dir)."""
    from examples.mnist import train

    with tempfile.TemporaryDirectory() as workdir:
        run_config = configs.Config(
            model="cnn",
            batch_size=config.batch_size,
            epochs=epochs,
            workdir=workdir,
            progress=False,
            plot=False,
            checkpoint_every_steps=0,
            num_devices=config.devices,
            dataset="fashion_mnist" if config.data_dir else "mnist",
            cpu_tuning=config.cpu_tuning,
        )
        train.train_and_evaluate(run_config, dataset)
        with open(os.path.join(workdir, "metrics.jsonl")) as f:
            return [r for line in f if (r := json.loads(line))["kind"] == "epoch"]


def _load_or_make_data(data_dir: str | None) -> tuple[data.Dataset, str]:
    if data_dir:
        return data.load("fashion_mnist", data_dir), data_dir
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (70000, 28, 28, 1), np.uint8)
    labels = rng.integers(0, 10, 70000).astype(np.int32)
    synthetic = data.Dataset(images[:60000], labels[:60000], images[60000:], labels[60000:])
    return synthetic, "random images (pass --data-dir for real data)"


def _peers(config: BenchmarkConfig, tuned: bool) -> tuple[dict[str, Any], list[TorchWorker]]:
    """Every side to time in turns, by name: `steps -> seconds`."""
    cnn = TrainerStep("cnn", config, tuned)
    # The linear model is tuned as the trainer tunes it: XLA's default options.
    tiny = TrainerStep("linear", config, tuned)
    peers: dict[str, Any] = {
        "jax_step": lambda steps: time_steps(cnn, steps),
        "jax_tiny_step": lambda steps: time_steps(tiny, steps),
        "_cnn": cnn,
    }
    if tuned:  # the same step compiled with XLA's default options, in this same process
        default_cnn = TrainerStep("cnn", config, cpu_tuning=False)
        peers["jax_default_options_step"] = lambda steps: time_steps(default_cnn, steps)
    workers = []
    if config.torch and torch_version() is not None:
        torch_peers = [("torch_step", False, tuned), ("torch_tiny_step", True, tuned)]
        if tuned:
            torch_peers.append(("torch_default_malloc_step", False, False))
        for name, tiny_model, keep_freed in torch_peers:
            worker = TorchWorker(TorchSide(tiny_model, config.batch_size, keep_freed))
            workers.append(worker)
            peers[name] = worker.time_steps
    return peers, workers


def _time_in_turns(config: BenchmarkConfig, peers: dict[str, Any]) -> dict[str, float]:
    """Medians per peer: images/s and microseconds a step, timed in turns."""
    timed = {name: peer for name, peer in peers.items() if not name.startswith("_")}
    for time_steps in timed.values():  # warm-up: first calls allocate and fill caches
        time_steps(3)
    timings: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(config.repeats):  # in turns, so that all see the same machine load
        for name, time_steps in timed.items():
            time.sleep(_SETTLE_SECONDS)
            steps = config.steps * (10 if "tiny" in name else 1)
            timings[name].append(time_steps(steps) / steps)
    results = {}
    for name, seconds in timings.items():
        results[f"{name}_images_per_s"] = _median_rate(seconds, config.batch_size)
        results[f"{name}_microseconds"] = statistics.median(seconds) * 1e6
    return results


def _time_to_target(config: BenchmarkConfig, dataset: data.Dataset) -> dict[str, Any] | None:
    """Training seconds (evaluation excluded) until the test accuracy reaches the target."""
    elapsed = 0.0
    for record in _epoch(config, dataset, config.max_epochs):
        elapsed += record["seconds"]
        if record["test_accuracy"] >= config.target_accuracy:
            return {"epoch": record["epoch"], "seconds": elapsed}
    return None


def _rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    """The printed table."""
    tuning = " (CPU tuning)" if results["cpu_tuning"] else ""
    rows = [
        ("compile the CNN train step", f"{results['compile_seconds']:.2f} s"),
        (f"JAX bare step, CNN{tuning}", f"{results['jax_step_images_per_s']:.0f} images/s"),
        (
            "JAX whole epoch, data and logging",
            f"{results['epoch_images_per_s']:.0f} images/s "
            f"({results['epoch_vs_bare_step']:.1%} of bare step)",
        ),
        ("JAX dispatch, linear model", f"{results['jax_tiny_step_microseconds']:.0f} us/step"),
        (
            "CNN step GFLOP/s (XLA's count) vs f32 2048^2 matmul",
            f"{results['step_gflops']:.0f} vs {results['matmul_gflops']:.0f} GFLOP/s "
            f"({results['step_share_of_matmul']:.0%}; {results['step_gflop']:.2f} GFLOP a step)",
        ),
    ]
    if "jax_default_options_step_images_per_s" in results:
        default = results["jax_default_options_step_images_per_s"]
        rows.insert(2, ("JAX bare step, CNN, XLA's default options", f"{default:.0f} images/s"))
    if "torch" in results:
        same_glibc = ", same glibc setting" if results["cpu_tuning"] else ""
        rows.append(
            (
                f"PyTorch {results['torch']} eager step, CNN{same_glibc} "
                f"({results['torch_threads']} threads)",
                f"{results['torch_step_images_per_s']:.0f} images/s "
                f"(JAX is {results['jax_over_torch']:.2f}x)",
            )
        )
        tiny = results["torch_tiny_step_microseconds"]
        rows.append(("PyTorch eager dispatch, linear model", f"{tiny:.0f} us/step"))
    if "jax_over_torch_default_malloc" in results:
        rows.append(
            (
                "PyTorch eager step, CNN, glibc's defaults",
                f"{results['torch_default_malloc_step_images_per_s']:.0f} images/s "
                f"(JAX is {results['jax_over_torch_default_malloc']:.2f}x)",
            )
        )
    return rows


def _ratios(results: dict[str, Any]) -> None:
    if "torch_step_images_per_s" in results:
        results["jax_over_torch"] = (
            results["jax_step_images_per_s"] / results["torch_step_images_per_s"]
        )
    if "torch_default_malloc_step_images_per_s" in results:
        results["jax_over_torch_default_malloc"] = (
            results["jax_step_images_per_s"] / results["torch_default_malloc_step_images_per_s"]
        )


def roofline_figures(
    compiled: Any, images_per_s: float, config: BenchmarkConfig
) -> dict[str, float]:
    """The step's achieved GFLOP/s (XLA's FLOP count of the compiled step times its rate)
    next to the float32 2048x2048 matrix product's, timed now (`benchmarks/roofline.py`)."""
    step_flops = roofline.compiled_flops(compiled)
    step_gflops = step_flops * images_per_s / config.batch_size / 1e9
    matmul = roofline.matmul_gflops()
    return {
        "step_gflop": step_flops / 1e9,
        "step_gflops": step_gflops,
        "matmul_gflops": matmul,
        "step_share_of_matmul": step_gflops / matmul,
    }


def _add_worker_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--torch-worker", choices=("cnn", "tiny"), help=argparse.SUPPRESS)
    parser.add_argument("--torch-device", default="cpu", help=argparse.SUPPRESS)
    parser.add_argument("--torch-compile", action="store_true", help=argparse.SUPPRESS)


def measure(config: BenchmarkConfig) -> dict[str, Any]:
    """Runs every measurement; returns the figures."""
    # The glibc half of the tuning goes first, before JAX's backends start (see
    # keep_freed_memory); the XLA options only apply on CPU.
    glibc_tuned = config.cpu_tuning and cpu_tuning.keep_freed_memory()
    import jax

    devices = jax.devices()[: config.devices or None]
    tuned = bool(glibc_tuned) and devices[0].platform == "cpu"
    results: dict[str, Any] = {
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "device_kind": devices[0].device_kind,
        "devices": len(devices),
        "host_cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "load_average": os.getloadavg(),
        "batch_size": config.batch_size,
        "cpu_tuning": tuned,
    }
    print(
        f"JAX {jax.__version__} on {len(devices)} x {devices[0].device_kind}, "
        f"batch {config.batch_size}, medians of {config.repeats} x {config.steps} steps, "
        f"load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    if config.torch and torch_version() is None:
        print("torch is not installed: skipping the PyTorch eager peer (pip install torch)")
    peers, workers = _peers(config, tuned)
    cnn = peers["_cnn"]
    results["compile_seconds"] = cnn.compile_seconds
    results.update(_time_in_turns(config, peers))
    results.update(
        roofline_figures(cnn.trainer.train_step, results["jax_step_images_per_s"], config)
    )
    for worker in workers:
        results["torch"], results["torch_threads"] = torch_version(), worker.threads
        worker.close()
    dataset, results["epoch_data"] = _load_or_make_data(config.data_dir)
    results["epoch_images_per_s"] = _epoch(config, dataset, 1)[0]["images_per_s"]
    # A bare-step timing right after the epoch, so both see about the same load.
    after = [time_steps(cnn, config.steps) / config.steps for _ in range(config.repeats)]
    results["jax_step_after_epoch_images_per_s"] = _median_rate(after, config.batch_size)
    bare = (results["jax_step_images_per_s"] + results["jax_step_after_epoch_images_per_s"]) / 2
    results["epoch_vs_bare_step"] = results["epoch_images_per_s"] / bare
    _ratios(results)
    if config.target_accuracy:
        results["time_to_target"] = _time_to_target(config, dataset)
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Runs the benchmark, prints a table and returns the figures."""
    config, namespace = flags.parse(
        BenchmarkConfig,
        argv,
        prog="python -m benchmarks.mnist_throughput",
        description=__doc__.split("\n\n")[0],
        extra=_add_worker_flag,
    )
    if namespace.torch_worker:
        side = TorchSide(
            namespace.torch_worker == "tiny",
            config.batch_size,
            config.cpu_tuning,
            namespace.torch_device,
            namespace.torch_compile,
        )
        _torch_worker(side)
        return {}
    results = measure(config)
    rows = _rows(results)
    if config.target_accuracy:
        reached = results["time_to_target"]
        label = f"train to {config.target_accuracy:.1%} test accuracy"
        if reached:
            epoch = reached["epoch"]
            rows.append((label, f"{reached['seconds']:.1f} s (epoch {epoch}, evaluation excluded)"))
        else:
            rows.append((label, f"not reached in {config.max_epochs} epochs"))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")
    if config.json:
        with open(config.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
