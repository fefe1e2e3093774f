"""The accelerator suite: the trainer's step, the vmapped sweep and time to accuracy on one device.

    python -m benchmarks.accelerator --out results/accelerator --mnist-dir data/mnist

Four parts (`PARTS`, in the order they run; `--parts` picks some), each written into
results.json and table.md as it measures; benchmarks/accelerator/README.md says what each
measures and how to run the suite on the device machine.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
import traceback
from collections.abc import Sequence
from typing import Any

import jax

from benchmarks import cli, timing, torch_peer, trainer_step, vmap_sweep
from benchmarks.accelerator import tables
from examples import experiment, flags
from examples.compare import group, recipes, time_to_accuracy
from examples.mnist import cpu_tuning, data

# The parts in the order they run whatever the order of --parts: the sweep first, so that
# the device's running peak memory (JAX cannot reset it) is its groups' own.
PARTS = ("sweep", "step", "accuracy", "torch_compile")


@dataclasses.dataclass(frozen=True)
class SuiteConfig:
    """What the suite measures; each field is a command-line flag.

    Attributes:
      out: the folder for results.json and table.md (rewritten after every measurement).
      mnist_dir: a folder of the real MNIST's four IDX files (`benchmarks.accelerator.prepare`).
      parts: the parts to run, comma-separated (they run in the order sweep, step, accuracy,
        torch_compile).
      model: "cnn" or "linear", for every part.
      batch_sizes: the step's batch sizes, comma-separated.
      steps: updates per timing of the step.
      repeats: timings per figure (medians are reported).
      torch: time PyTorch eager on the same device.
      torch_compile_seconds: how long each torch.compile try may go without an answer.
      matmul_size: the side of the float32 matrix product of the roofline.
      ks: the sweep's group sizes, comma-separated.
      sweep_steps: updates per run per timing of the sweep.
      sweep_train: synthetic training images of the sweep.
      recipes: time to accuracy's schedule recipes, comma-separated (one run each).
      target: the test accuracy to reach.
      epochs: each time-to-accuracy run's budget: its schedule spans this many epochs.
      evals_per_epoch: test evaluations per epoch.
      train_examples: time to accuracy's training images (0: all).
      test_examples: time to accuracy's test images (0: all).
    """

    out: str = "results/accelerator"
    mnist_dir: str = "data/mnist"
    parts: tuple[str, ...] = flags.option(PARTS, choices=PARTS)
    model: str = flags.option("cnn", choices=("cnn", "linear"))
    batch_sizes: tuple[int, ...] = flags.option((128, 1024), at_least=1)
    steps: int = flags.option(50, at_least=1)
    repeats: int = flags.option(5, at_least=1)
    torch: bool = True
    torch_compile_seconds: float = flags.option(90.0, at_least=0)
    matmul_size: int = flags.option(2048, at_least=1)
    ks: tuple[int, ...] = flags.option((1, 8, 32, 128), at_least=1)
    sweep_steps: int = flags.option(20, at_least=1)
    sweep_train: int = flags.option(4096, at_least=1)
    recipes: tuple[str, ...] = flags.option(
        ("one_cycle", "warmup_cosine_decay", "exponential_decay"), choices=recipes.RECIPES
    )
    target: float = 0.99
    epochs: int = flags.option(5, at_least=1)
    evals_per_epoch: int = flags.option(4, at_least=1)
    train_examples: int = flags.option(0, at_least=0)
    test_examples: int = flags.option(0, at_least=0)

    def __post_init__(self) -> None:
        flags.check(self)
        if self.sweep_steps * 128 > self.sweep_train:
            raise ValueError("--sweep-steps times 128 must fit in --sweep-train (one epoch)")


PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "tiny": (
        "every part at toy sizes on the linear model (seconds on a CPU; the suite's test)",
        {
            "parts": ("sweep", "step", "accuracy"),
            "model": "linear",
            "batch_sizes": (16,),
            "steps": 3,
            "repeats": 2,
            "matmul_size": 128,
            "ks": (1, 2),
            "sweep_steps": 2,
            "sweep_train": 512,
            "target": 0.5,
            "epochs": 1,
            "evals_per_epoch": 2,
            "train_examples": 512,
            "test_examples": 256,
        },
    ),
}


class Results:
    """What the suite measured so far; `save` rewrites results.json and table.md."""

    def __init__(self, out: str, header: dict[str, Any]) -> None:
        self.out, self.start = out, time.perf_counter()
        self.data: dict[str, Any] = dict(header)
        self.save()

    def put(self, part: str, value: Any) -> Any:
        """Records `value` (usually a dict filled in later) as part `part`, and saves."""
        self.data[part] = value
        self.save()
        return value

    def save(self) -> None:
        self.data["seconds"] = time.perf_counter() - self.start
        experiment.write(self.out, "results.json", json.dumps(self.data, indent=1, default=str))
        experiment.write(self.out, "table.md", tables.render(self.data))


def environment(argv: Sequence[str]) -> dict[str, Any]:
    """The command, the date, the device, its count and the versions of what is measured."""
    command = "python -m benchmarks.accelerator " + " ".join(argv)
    return {"command": command, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())} | (
        timing.environment()
    )


def torch_device() -> str:
    """The torch device on the one JAX uses: "cuda" beside a GPU, else "cpu"."""
    return "cuda" if jax.default_backend() == "gpu" else "cpu"


def _median_seconds(side: timing.Side, config: SuiteConfig) -> float:
    return timing.median(side, config.steps, config.repeats, warmup_steps=min(config.steps, 3))


def _torch_step(
    config: SuiteConfig, batch_size: int, compile: bool, timeout: float | None
) -> dict[str, Any]:
    """The PyTorch step at `batch_size` on the same device, eager or `torch.compile`d."""
    tiny = config.model == "linear"
    side = torch_peer.TorchSide(tiny, batch_size, True, torch_device(), compile)
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
    """The trainer's step (its compile time, rate and roofline) against PyTorch eager, at
    each batch size."""
    rows: list[dict[str, Any]] = []
    fields = {"model": config.model, "matmul_size": config.matmul_size}
    part = results.put("step", fields | {"steps": config.steps, "repeats": config.repeats})
    part["rows"] = rows  # before the matmul, so that its figure waits in the table as n/a
    part["matmul_gflops"] = timing.matmul_gflops(config.matmul_size)
    for batch_size in config.batch_sizes:
        step = trainer_step.TrainerStep(config.model, batch_size, cpu_tuning=True)
        seconds = _median_seconds(step.side, config)
        row = {"batch_size": batch_size, "jax_compile_seconds": step.compile_seconds}
        row |= {"jax_images_per_s": batch_size / seconds}
        rows.append(row | step.roofline(seconds, part["matmul_gflops"]))
        results.save()
        if not config.torch or torch_peer.version() is None:
            continue
        try:  # a PyTorch that cannot use the device must not cost the JAX rows
            eager = _torch_step(config, batch_size, compile=False, timeout=300)
        except (RuntimeError, TimeoutError, OSError, ValueError) as e:
            rows[-1]["torch_eager_error"] = f"{type(e).__name__}: {e}"
        else:
            rows[-1]["torch_eager_images_per_s"] = eager["images_per_s"]
            rows[-1]["torch_device"], rows[-1]["torch_threads"] = eager["device"], eager["threads"]
            rows[-1]["jax_over_torch_eager"] = rows[-1]["jax_images_per_s"] / eager["images_per_s"]
        results.save()


def torch_compile_part(config: SuiteConfig, results: Results) -> None:
    """The PyTorch step under `torch.compile` at each batch size, each try time-limited."""
    rows: list[dict[str, Any]] = []
    results.put("torch_compile", {"limit_seconds": config.torch_compile_seconds, "rows": rows})
    if torch_peer.version() is None:
        raise RuntimeError("torch is not installed")
    for batch_size in config.batch_sizes:
        rows.append({"batch_size": batch_size})
        try:
            timed = _torch_step(config, batch_size, True, config.torch_compile_seconds)
            rows[-1] |= {key: timed[key] for key in ("images_per_s", "compile_seconds")}
        except (TimeoutError, RuntimeError) as e:
            rows[-1]["error"] = str(e)
        results.save()


def sweep_part(config: SuiteConfig, results: Results) -> None:
    """K runs as one vmapped group against K runs one after another, at each K in ascending
    order, so that the device's running peak after a group's first steps is that group's
    (what the smaller Ks left is freed; the resident data set is counted)."""
    rows: list[dict[str, Any]] = []
    results.put("sweep", {"steps": config.sweep_steps, "repeats": config.repeats, "rows": rows})
    device_data = vmap_sweep.synthetic_data(config.sweep_train)
    base = group.GroupConfig(model=config.model)
    for k in sorted(config.ks):
        runs = vmap_sweep.make_runs(k, 10 * config.sweep_steps * config.repeats)
        grouped = {"group": dataclasses.replace(base, vmap_size=k)}
        found = vmap_sweep.compare(
            device_data, runs, grouped, {"sequential": base}, config.sweep_steps, config.repeats
        )
        row = {"k": k, "group_compile_seconds": found["compile_seconds"]["group"]}
        row |= {"peak_memory_mb": found["peak_memory_mb"], "speedup": found["ratios"]["group"]}
        row |= {f"{name}_seconds": found["medians"][name] for name in ("group", "sequential")}
        rows.append(row | {"group_images_per_s": found["images_per_s"]["group"]})
        results.save()


def accuracy_part(config: SuiteConfig, results: Results) -> None:
    """Time to `config.target` test accuracy on MNIST, one run per recipe."""
    rows: list[dict[str, Any]] = []
    results.put("accuracy", {"target": config.target, "epochs": config.epochs, "rows": rows})
    for recipe in config.recipes:
        time_config = flags.build(
            time_to_accuracy.TimeConfig,
            {
                "dataset": "mnist",
                "data_dir": config.mnist_dir,
                "out": os.path.join(config.out, "time_to_accuracy"),
                "runs": (f"{recipe}:{config.epochs}",),
                **{key: getattr(config, key) for key in ("target", "evals_per_epoch", "model")},
                **{key: getattr(config, key) for key in ("train_examples", "test_examples")},
            },
        )
        (run,) = time_to_accuracy.run(time_config, print, lambda _: None)["runs"]
        keys = ("seconds_to_target", "epochs_to_target", "best_accuracy", "compile_seconds")
        row = {"recipe": recipe, "learning_rate": time_config.learning_rate}
        row |= {key: run[key] for key in keys}
        row |= {"train_seconds": run["evals"][-1]["train_seconds"]}
        rows.append(row | {"epochs_trained": run["evals"][-1]["epoch"], "evals": run["evals"]})
        results.save()


def run_parts(config: SuiteConfig, results: Results) -> bool:
    """Runs every part of `config.parts` in order; whether all of them finished."""
    ok = True
    for name, part in zip(
        PARTS, (sweep_part, step_part, accuracy_part, torch_compile_part), strict=True
    ):
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


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the suite (`python -m benchmarks.accelerator`, the only place that sets up the
    process); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    config, _ = cli.parse(SuiteConfig, argv, "benchmarks.accelerator", __doc__, presets=PRESETS)
    try:
        mnist_ready = data.is_idx_folder(config.mnist_dir)
    except data.DataError:  # a folder that is missing or unreadable
        mnist_ready = False
    if "accuracy" in config.parts and not mnist_ready:
        print(
            f"error: {config.mnist_dir} holds no MNIST IDX files; prepare them with "
            "python -m benchmarks.accelerator.prepare, or pass --mnist-dir",
            file=sys.stderr,
        )
        return 1
    # Before JAX starts its backends: the CPU tuning's glibc setting, and on a GPU no
    # preallocation, so that the PyTorch process has memory and the peak figures mean what
    # the programs used.
    cpu_tuning.keep_freed_memory()
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    results = Results(config.out, environment(argv))
    print(f"writing {config.out}/results.json and table.md", flush=True)
    timing.show({key: results.data[key] for key in ("device_count", "device_kind", "jax")})
    ok = run_parts(config, results)
    print(tables.render(results.data))
    return 0 if ok else 1
