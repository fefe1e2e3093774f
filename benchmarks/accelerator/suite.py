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
import platform
import time
from collections.abc import Sequence
from typing import Any

import jax

from benchmarks import cli
from benchmarks.accelerator import tables
from examples import experiment, flags
from examples.compare import recipes

# The parts' names in the order they run (`parts.PARTS` holds the parts themselves).
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
    parts: tuple[str, ...] = PARTS
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
    recipes: tuple[str, ...] = ("one_cycle", "warmup_cosine_decay", "exponential_decay")
    target: float = 0.99
    epochs: int = flags.option(5, at_least=1)
    evals_per_epoch: int = flags.option(4, at_least=1)
    train_examples: int = flags.option(0, at_least=0)
    test_examples: int = flags.option(0, at_least=0)

    def __post_init__(self) -> None:
        unknown = [part for part in self.parts if part not in PARTS]
        if unknown:
            raise ValueError(f"--parts: {', '.join(unknown)} not among {', '.join(PARTS)}")
        unknown = [recipe for recipe in self.recipes if recipe not in recipes.RECIPES]
        if unknown:
            raise ValueError(
                f"--recipes: {', '.join(unknown)} not among {', '.join(recipes.RECIPES)}"
            )
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
    """The device, its count, and the versions of what is measured."""
    device = jax.devices()[0]
    return {
        "command": "python -m benchmarks.accelerator " + " ".join(argv),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "device_kind": device.device_kind,
        "device_count": jax.device_count(),
        "platform": device.platform,
        "jax": jax.__version__,
        "jaxlib": cli.package_version("jaxlib"),
        "flax": cli.package_version("flax"),
        "optax": cli.package_version("optax"),
        "torch": cli.package_version("torch"),
        "python": platform.python_version(),
        "host_cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
