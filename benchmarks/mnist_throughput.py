"""Throughput of the MNIST trainer's update step, side by side with PyTorch eager and
`torch.compile`.

    python -m benchmarks.mnist_throughput --torch --data-dir /usr/share/datasets/fashion-mnist

benchmarks/README.md says what it reports and how.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import tempfile
from typing import Any

import jax

from benchmarks import cli, roofline, timing, torch_peer
from benchmarks.trainer_step import TrainerStep, random_images
from examples.mnist import configs, cpu_tuning, data, train


@dataclasses.dataclass(frozen=True)
class BenchmarkConfig:
    """What the benchmark measures; each field is a command-line flag.

    Attributes:
      batch_size: images per update.
      steps: updates per timing.
      repeats: timings per figure (their median is reported).
      devices: devices to use (0: all).
      data_dir: an IDX folder for the epoch (default: random images).
      torch: also time PyTorch eager and `torch.compile`.
      torch_compile: with `--torch`, time the `torch.compile`d step too.
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
    torch_compile: bool = True
    target_accuracy: float = 0.0
    max_epochs: int = 5
    cpu_tuning: bool = True
    json: str | None = None


# Each peer runs in its own process and gets the machine after a pause (`timing.in_turns`).
_SETTLE_SECONDS = 0.3
# How long the torch.compile worker may go without an answer (compiling takes 20-60 s here).
_TORCH_COMPILE_TIMEOUT = 900.0


def _epoch(config: BenchmarkConfig, dataset: data.Dataset, epochs: int) -> list[dict[str, Any]]:
    """The epoch records of a run of the trainer on `dataset` (a fresh work dir)."""
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
    images, labels = random_images(70000)
    synthetic = data.Dataset(images[:60000], labels[:60000], images[60000:], labels[60000:])
    return synthetic, "random images (pass --data-dir for real data)"


def _torch_workers(
    config: BenchmarkConfig, tuned: bool, results: dict[str, Any]
) -> dict[str, torch_peer.TorchWorker]:
    """The PyTorch sides by name, each in its own process: eager (with the JAX process's
    glibc setting and, when tuned, with glibc's defaults), its linear model, and compiled
    (a compiler that fails or hangs costs only its own row: its error goes to `results`)."""
    sides = {
        "torch_step": torch_peer.TorchSide(False, config.batch_size, tuned),
        "torch_tiny_step": torch_peer.TorchSide(True, config.batch_size, tuned),
    }
    if tuned:
        sides["torch_default_malloc_step"] = torch_peer.TorchSide(False, config.batch_size)
    workers = {name: torch_peer.TorchWorker(side) for name, side in sides.items()}
    if config.torch_compile:
        side = torch_peer.TorchSide(False, config.batch_size, tuned, compile=True)
        try:
            worker = torch_peer.TorchWorker(side, _TORCH_COMPILE_TIMEOUT)
        except (TimeoutError, RuntimeError) as e:
            results["torch_compile_error"] = f"{type(e).__name__}: {e}"
        else:
            workers["torch_compile_step"] = worker
            results["torch_compile_seconds"] = worker.compile_seconds
    return workers


def _time_in_turns(
    config: BenchmarkConfig, sides: dict[str, timing.Side], batch_size: int
) -> dict[str, float]:
    """Medians per side: images/s and microseconds a step, timed in turns."""
    steps = {name: config.steps * (10 if "tiny" in name else 1) for name in sides}
    seconds = timing.medians(
        timing.in_turns(sides, steps, config.repeats, settle_seconds=_SETTLE_SECONDS)
    )
    results = {}
    for name, median in seconds.items():
        results[f"{name}_images_per_s"] = batch_size / median
        results[f"{name}_microseconds"] = median * 1e6
    return results


def _time_to_target(config: BenchmarkConfig, dataset: data.Dataset) -> dict[str, Any] | None:
    """Training seconds (evaluation excluded) until the test accuracy reaches the target."""
    elapsed = 0.0
    for record in _epoch(config, dataset, config.max_epochs):
        elapsed += record["seconds"]
        if record["test_accuracy"] >= config.target_accuracy:
            return {"epoch": record["epoch"], "seconds": elapsed}
    return None


# The PyTorch CNN sides: (side, the key of JAX's ratio to it, its label in the table).
_TORCH_PEERS = (
    ("torch_step", "jax_over_torch", "eager step, CNN{glibc} ({threads} threads)"),
    (
        "torch_default_malloc_step",
        "jax_over_torch_default_malloc",
        "eager step, CNN, glibc's defaults",
    ),
    ("torch_compile_step", "jax_over_torch_compile", "torch.compile step, CNN{glibc}"),
)


def _torch_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    """The printed table's PyTorch rows."""
    glibc = ", same glibc setting" if results["cpu_tuning"] else ""
    rows = []
    for side, ratio, label in _TORCH_PEERS:
        if ratio in results:
            label = label.format(glibc=glibc, threads=results["torch_threads"])
            value = f"{results[f'{side}_images_per_s']:.0f} images/s (JAX is {results[ratio]:.2f}x)"
            rows.append((f"PyTorch {results['torch']} {label}", value))
    if "torch_compile_seconds" in results:
        rows.append(("PyTorch torch.compile, compile", f"{results['torch_compile_seconds']:.1f} s"))
    tiny = results["torch_tiny_step_microseconds"]
    return [*rows, ("PyTorch eager dispatch, linear model", f"{tiny:.0f} us/step")]


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
        rows += _torch_rows(results)
    if "torch_compile_error" in results:
        rows.append(("PyTorch torch.compile step", f"failed: {results['torch_compile_error']}"))
    return rows


def _ratios(results: dict[str, Any]) -> None:
    for side, ratio, _ in _TORCH_PEERS:
        if f"{side}_images_per_s" in results:
            rate = results[f"{side}_images_per_s"]
            results[ratio] = results["jax_step_images_per_s"] / rate


def _header(config: BenchmarkConfig, tuned: bool) -> dict[str, Any]:
    devices = jax.devices()[: config.devices or None]
    print(
        f"JAX {jax.__version__} on {len(devices)} x {devices[0].device_kind}, "
        f"batch {config.batch_size}, medians of {config.repeats} x {config.steps} steps, "
        f"load {timing.load():.2f}",
        flush=True,
    )
    return {
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


def _time_steps(config: BenchmarkConfig, tuned: bool, results: dict[str, Any]) -> TrainerStep:
    """Times every step side in turns into `results`; returns the trainer's CNN step."""
    cnn = TrainerStep("cnn", config.batch_size, cpu_tuning=tuned, devices=config.devices)
    # The linear model is tuned as the trainer tunes it: XLA's default options.
    tiny = TrainerStep("linear", config.batch_size, cpu_tuning=tuned, devices=config.devices)
    sides = {"jax_step": cnn.side, "jax_tiny_step": tiny.side}
    if tuned:  # the same step compiled with XLA's default options, in this same process
        default = TrainerStep("cnn", config.batch_size, cpu_tuning=False, devices=config.devices)
        sides["jax_default_options_step"] = default.side
    workers: dict[str, torch_peer.TorchWorker] = {}
    if config.torch and torch_peer.version() is not None:
        workers = _torch_workers(config, tuned, results)
    sides.update({name: worker.time_steps for name, worker in workers.items()})
    results["compile_seconds"] = cnn.compile_seconds
    results.update(_time_in_turns(config, sides, config.batch_size))
    for worker in workers.values():
        results["torch"], results["torch_threads"] = torch_peer.version(), worker.threads
        worker.close()
    seconds = config.batch_size / results["jax_step_images_per_s"]
    results["matmul_gflops"] = roofline.matmul_gflops()
    results.update(cnn.roofline(seconds, results["matmul_gflops"]))
    return cnn


def measure(config: BenchmarkConfig, glibc_tuned: bool) -> dict[str, Any]:
    """Runs every measurement; returns the figures. `glibc_tuned`: whether the process
    keeps freed memory (`cpu_tuning.keep_freed_memory`, called before JAX started)."""
    tuned = glibc_tuned and jax.devices()[0].platform == "cpu"
    results = _header(config, tuned)
    if config.torch and torch_peer.version() is None:
        print("torch is not installed: skipping the PyTorch peers (pip install torch)")
    cnn = _time_steps(config, tuned, results)
    dataset, results["epoch_data"] = _load_or_make_data(config.data_dir)
    results["epoch_images_per_s"] = _epoch(config, dataset, 1)[0]["images_per_s"]
    # A bare-step timing right after the epoch, so both see about the same load.
    after = timing.median(cnn.side, config.steps, config.repeats, warmup_steps=0)
    results["jax_step_after_epoch_images_per_s"] = config.batch_size / after
    bare = (results["jax_step_images_per_s"] + results["jax_step_after_epoch_images_per_s"]) / 2
    results["epoch_vs_bare_step"] = results["epoch_images_per_s"] / bare
    _ratios(results)
    if config.target_accuracy:
        results["time_to_target"] = _time_to_target(config, dataset)
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Runs the benchmark, prints a table and returns the figures."""
    config, _ = cli.parse(BenchmarkConfig, argv, "benchmarks.mnist_throughput", __doc__)
    # The glibc half of the tuning goes first, before JAX's backends start (see
    # keep_freed_memory); the XLA options only apply on CPU.
    results = measure(config, config.cpu_tuning and cpu_tuning.keep_freed_memory())
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
    timing.write_json(config.json, results)
    return results


if __name__ == "__main__":
    main()
