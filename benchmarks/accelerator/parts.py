"""The suite's parts, in the order they run (`PARTS`): each fills its entry of the results as
it measures, saving after each row.

Every part calls the builders the product uses: the trainer's `train.setup` (through
`benchmarks.trainer_step.TrainerStep`), the study's `RunGroup` (through
`benchmarks.vmap_sweep.Side`) and `examples.compare.time_to_accuracy.run`; the PyTorch side is
`benchmarks.torch_peer`'s worker.
"""

from __future__ import annotations

import dataclasses
import os
import time
import traceback
from collections.abc import Callable
from typing import Any

import jax

from benchmarks import roofline, timing, torch_peer, vmap_sweep
from benchmarks.accelerator import suite
from benchmarks.accelerator.suite import Results, SuiteConfig
from benchmarks.trainer_step import TrainerStep
from examples import flags
from examples.compare import group, time_to_accuracy


def torch_device() -> str:
    """The torch device on the one JAX uses: "cuda" beside a GPU, else "cpu"."""
    return "cuda" if jax.default_backend() == "gpu" else "cpu"


def _median_seconds(side: timing.Side, config: SuiteConfig) -> float:
    return timing.median(side, config.steps, config.repeats, warmup_steps=min(config.steps, 3))


def _jax_step(config: SuiteConfig, batch_size: int, matmul_gflops: float) -> dict[str, Any]:
    """The trainer's compiled step at `batch_size`: compile time, rate, GFLOP/s."""
    step = TrainerStep(config.model, batch_size, cpu_tuning=True)
    seconds = _median_seconds(step.side, config)
    return {
        "batch_size": batch_size,
        "jax_compile_seconds": step.compile_seconds,
        "jax_images_per_s": batch_size / seconds,
        **step.roofline(seconds, matmul_gflops),
    }


def _torch_step(
    config: SuiteConfig, batch_size: int, compile: bool, timeout: float | None
) -> dict[str, Any]:
    """The PyTorch step at `batch_size` on the same device, eager or `torch.compile`d."""
    side = torch_peer.TorchSide(
        tiny=config.model == "linear",
        batch_size=batch_size,
        keep_freed_memory=True,
        device=torch_device(),
        compile=compile,
    )
    worker = torch_peer.TorchWorker(side, timeout=timeout)
    try:
        seconds = _median_seconds(worker.time_steps, config)
    finally:
        worker.close()
    return {
        "images_per_s": batch_size / seconds,
        "compile_seconds": worker.compile_seconds,
        "threads": worker.threads,
        "device": side.device,
    }


def step_part(config: SuiteConfig, results: Results) -> None:
    """The trainer's step against PyTorch eager, and the roofline, at each batch size."""
    rows: list[dict[str, Any]] = []
    part = results.put("step", {"model": config.model, "rows": rows})
    part["matmul_size"] = config.matmul_size
    part["matmul_gflops"] = roofline.matmul_gflops(config.matmul_size)
    part["steps"], part["repeats"] = config.steps, config.repeats
    for batch_size in config.batch_sizes:
        row = _jax_step(config, batch_size, part["matmul_gflops"])
        rows.append(row)
        results.save()
        if config.torch and torch_peer.version() is not None:
            try:  # a PyTorch that cannot use the device must not cost the JAX rows
                eager = _torch_step(config, batch_size, compile=False, timeout=300)
            except (RuntimeError, TimeoutError, OSError, ValueError) as e:
                row["torch_eager_error"] = f"{type(e).__name__}: {e}"
                results.save()
                continue
            row["torch_eager_images_per_s"] = eager["images_per_s"]
            row["torch_device"], row["torch_threads"] = eager["device"], eager["threads"]
            row["jax_over_torch_eager"] = row["jax_images_per_s"] / eager["images_per_s"]
            results.save()


def torch_compile_part(config: SuiteConfig, results: Results) -> None:
    """The PyTorch step under `torch.compile` at each batch size, each try time-limited."""
    rows: list[dict[str, Any]] = []
    results.put("torch_compile", {"limit_seconds": config.torch_compile_seconds, "rows": rows})
    if torch_peer.version() is None:
        raise RuntimeError("torch is not installed")
    for batch_size in config.batch_sizes:
        row: dict[str, Any] = {"batch_size": batch_size}
        rows.append(row)
        try:
            timed = _torch_step(config, batch_size, True, config.torch_compile_seconds)
            row["images_per_s"] = timed["images_per_s"]
            row["compile_seconds"] = timed["compile_seconds"]
        except (TimeoutError, RuntimeError) as e:
            row["error"] = str(e)
        results.save()


def _sweep_row(config: SuiteConfig, data: Any, k: int) -> dict[str, Any]:
    """K runs as one vmapped group against K runs one after another."""
    runs = vmap_sweep.make_runs(k, 10 * config.sweep_steps * config.repeats)
    base = group.GroupConfig(model=config.model)
    grouped = vmap_sweep.Side([runs], data, dataclasses.replace(base, vmap_size=k))
    grouped.run(1)  # the first call allocates
    row: dict[str, Any] = {
        "k": k,
        "group_compile_seconds": grouped.compile_seconds,
        "peak_memory_mb": vmap_sweep.device_peak_mb(),
    }
    sequential = vmap_sweep.Side([[run] for run in runs], data, base)
    sides = {"group": grouped.run, "sequential": sequential.run}
    steps = config.sweep_steps
    seconds = timing.medians(timing.in_turns(sides, steps, config.repeats, warmup_steps=1))
    group_seconds, sequential_seconds = seconds["group"] * steps, seconds["sequential"] * steps
    row.update(
        group_seconds=group_seconds,
        sequential_seconds=sequential_seconds,
        speedup=sequential_seconds / group_seconds,
        group_images_per_s=k * config.sweep_steps * base.batch_size / group_seconds,
    )
    return row


def sweep_part(config: SuiteConfig, results: Results) -> None:
    """The vmapped sweep at each K. It is the suite's first part and its groups run in
    ascending K, so the device's running peak after a group's first steps is that group's
    (what the smaller Ks left is freed; the resident data set is counted)."""
    rows: list[dict[str, Any]] = []
    results.put("sweep", {"steps": config.sweep_steps, "repeats": config.repeats, "rows": rows})
    data = vmap_sweep.synthetic_data(config.sweep_train)
    for k in sorted(config.ks):
        rows.append(_sweep_row(config, data, k))
        results.save()


def accuracy_part(config: SuiteConfig, results: Results) -> None:
    """Time to `config.target` test accuracy on MNIST, one run per recipe."""
    rows: list[dict[str, Any]] = []
    results.put("accuracy", {"target": config.target, "epochs": config.epochs, "rows": rows})
    for recipe in config.recipes:
        flag_values = {
            "dataset": "mnist",
            "data_dir": config.mnist_dir,
            "out": os.path.join(config.out, "time_to_accuracy"),
            "runs": (f"{recipe}:{config.epochs}",),
            "target": config.target,
            "evals_per_epoch": config.evals_per_epoch,
            "train_examples": config.train_examples,
            "test_examples": config.test_examples,
            "model": config.model,
        }
        time_config = flags.build(time_to_accuracy.TimeConfig, flag_values)
        (run,) = time_to_accuracy.run(time_config, print, lambda _: None)["runs"]
        final = run["evals"][-1]
        rows.append(
            {
                "recipe": recipe,
                "learning_rate": time_config.learning_rate,
                "seconds_to_target": run["seconds_to_target"],
                "epochs_to_target": run["epochs_to_target"],
                "best_accuracy": run["best_accuracy"],
                "compile_seconds": run["compile_seconds"],
                "train_seconds": final["train_seconds"],
                "epochs_trained": final["epoch"],
                "evals": run["evals"],
            }
        )
        results.save()


# The parts by name, in the order they run whatever the order of --parts: the sweep first,
# so that the device's running peak memory (JAX cannot reset it) is its groups' own.
PARTS: dict[str, Callable[[SuiteConfig, Results], None]] = dict(
    zip(suite.PARTS, (sweep_part, step_part, accuracy_part, torch_compile_part), strict=True)
)


def run_parts(config: SuiteConfig, results: Results) -> bool:
    """Runs every part of `config.parts` in order; whether all of them finished."""
    ok = True
    for name, part in PARTS.items():
        if name not in config.parts:
            continue
        print(f"== {name}", flush=True)
        start = time.perf_counter()
        try:
            part(config, results)
        except Exception as e:  # one broken part must not cost the others
            traceback.print_exc()
            results.data.setdefault(name, {})["error"] = f"{type(e).__name__}: {e}"
            ok = False
        results.data.setdefault(name, {})["part_seconds"] = time.perf_counter() - start
        results.save()
    return ok
