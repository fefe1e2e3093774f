"""Throughput of the MNIST trainer's update step, side by side with PyTorch eager and
`torch.compile`.

    python -m benchmarks.mnist_throughput --torch --data-dir /usr/share/datasets/fashion-mnist

benchmarks/README.md says what it reports and how.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from typing import Any

import jax

from benchmarks import cli, timing, torch_peer, trainer_step
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


def _epochs(config: BenchmarkConfig, dataset: data.Dataset, epochs: int) -> list[dict[str, Any]]:
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
            workers["torch_compile_step"] = torch_peer.TorchWorker(side, _TORCH_COMPILE_TIMEOUT)
            results["torch_compile_seconds"] = workers["torch_compile_step"].compile_seconds
        except (TimeoutError, RuntimeError) as e:
            results["torch_compile_error"] = f"{type(e).__name__}: {e}"
    return workers


def _time_steps(
    config: BenchmarkConfig, tuned: bool, results: dict[str, Any]
) -> trainer_step.TrainerStep:
    """Times every step side in turns into `results` (images/s and microseconds a step, and
    the CNN step's roofline); returns the trainer's CNN step."""
    step: dict[str, Any] = dict(batch_size=config.batch_size, devices=config.devices)
    cnn = trainer_step.TrainerStep("cnn", cpu_tuning=tuned, **step)
    # The linear model is tuned as the trainer tunes it: XLA's default options.
    sides = {"jax_step": cnn.side}
    sides["jax_tiny_step"] = trainer_step.TrainerStep("linear", cpu_tuning=tuned, **step).side
    if tuned:  # the same step compiled with XLA's default options, in this same process
        sides["jax_default_options_step"] = trainer_step.TrainerStep(
            "cnn", cpu_tuning=False, **step
        ).side
    workers: dict[str, torch_peer.TorchWorker] = {}
    if config.torch and torch_peer.version() is not None:
        workers = _torch_workers(config, tuned, results)
    sides.update({name: worker.time_steps for name, worker in workers.items()})
    results["compile_seconds"] = cnn.compile_seconds
    steps = {name: config.steps * (10 if "tiny" in name else 1) for name in sides}
    times = timing.in_turns(sides, steps, config.repeats, settle_seconds=_SETTLE_SECONDS)
    for name, median in timing.medians(times).items():
        results[f"{name}_images_per_s"] = config.batch_size / median
        results[f"{name}_microseconds"] = median * 1e6
    for worker in workers.values():
        results["torch_threads"] = worker.threads
        worker.close()
    results["matmul_gflops"] = timing.matmul_gflops()
    seconds = config.batch_size / results["jax_step_images_per_s"]
    results.update(cnn.roofline(seconds, results["matmul_gflops"]))
    return cnn


def measure(config: BenchmarkConfig, glibc_tuned: bool) -> dict[str, Any]:
    """Runs every measurement, printing the figures; returns them. `glibc_tuned`: whether the
    process keeps freed memory (`cpu_tuning.keep_freed_memory`, called before JAX started)."""
    tuned = glibc_tuned and jax.devices()[0].platform == "cpu"
    header = timing.environment()
    results = {**header, "batch_size": config.batch_size, "cpu_tuning": tuned}
    timing.show(results)
    if config.torch and torch_peer.version() is None:
        print("torch is not installed: skipping the PyTorch peers (pip install torch)")
    cnn = _time_steps(config, tuned, results)
    if config.data_dir:
        dataset, results["epoch_data"] = (
            data.load("fashion_mnist", config.data_dir),
            config.data_dir,
        )
    else:
        images, labels = timing.random_images(70000)
        dataset = data.Dataset(images[:60000], labels[:60000], images[60000:], labels[60000:])
        results["epoch_data"] = "random images (pass --data-dir for real data)"
    results["epoch_images_per_s"] = _epochs(config, dataset, 1)[0]["images_per_s"]
    # A bare-step timing right after the epoch, so both see about the same load.
    after = timing.median(cnn.side, config.steps, config.repeats, warmup_steps=0)
    results["jax_step_after_epoch_images_per_s"] = config.batch_size / after
    bare = (results["jax_step_images_per_s"] + results["jax_step_after_epoch_images_per_s"]) / 2
    results["epoch_vs_bare_step"] = results["epoch_images_per_s"] / bare
    for peer in ("torch", "torch_default_malloc", "torch_compile"):
        if f"{peer}_step_images_per_s" in results:
            rate = results[f"{peer}_step_images_per_s"]
            results[f"jax_over_{peer}"] = results["jax_step_images_per_s"] / rate
    if config.target_accuracy:  # training seconds (evaluation excluded) until the target
        results["time_to_target"] = f"not reached in {config.max_epochs} epochs"
        elapsed = 0.0
        for record in _epochs(config, dataset, config.max_epochs):
            elapsed += record["seconds"]
            if record["test_accuracy"] >= config.target_accuracy:
                results["time_to_target"] = {"epoch": record["epoch"], "seconds": elapsed}
                break
    timing.show({k: v for k, v in results.items() if k not in header})
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Runs the benchmark, prints the figures and returns them."""
    config, _ = cli.parse(BenchmarkConfig, argv, "benchmarks.mnist_throughput", __doc__)
    # The glibc half of the tuning goes first, before JAX's backends start (see
    # keep_freed_memory); the XLA options only apply on CPU.
    results = measure(config, config.cpu_tuning and cpu_tuning.keep_freed_memory())
    timing.write_json(config.json, results)
    return results


if __name__ == "__main__":
    main()
