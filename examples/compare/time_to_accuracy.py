"""Time to a target test accuracy: single runs of a few schedules on the whole training set.

    python -m examples.compare.time_to_accuracy --data-dir /usr/share/datasets/fashion-mnist

Each entry of --runs (`recipe:epochs`, recipes from `examples/compare/recipes.py`) is one run,
alone, of the CNN with SGD-momentum 0.9 at batch 128 whose schedule spans `epochs` epochs; the
test set is evaluated --evals-per-epoch times an epoch and the run stops at the first
evaluation at or above --target. Time to target is training wall time only: compilation and
evaluation are excluded and reported apart. Writes table.md, results.json and
accuracy_vs_time.png into --out.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from examples import flags, outputs
from examples.compare import group, recipes, report
from examples.mnist import configs


@dataclasses.dataclass(frozen=True)
class TimeConfig:
    """What time to accuracy runs; each field is a command-line flag.

    Attributes:
      dataset: "fashion_mnist" or "mnist".
      data_dir: a folder of the four IDX files (or a tensorflow-datasets data dir).
      out: where table.md, results.json and accuracy_vs_time.png go.
      runs: recipe:epochs pairs, comma-separated: each one run whose schedule spans that
        many epochs.
      learning_rate: the peak learning rate of every run.
      target: the test accuracy to reach.
      evals_per_epoch: test evaluations per epoch.
      train_examples: training images used (0: all).
      test_examples: test images used (0: all).
      batch_size: examples per update.
      model: "cnn", "mlp" or "linear".
      seed: the runs' seed.
      conv: how the CNN computes its convolutions ("auto", "matmul", "native").
    """

    dataset: str = "fashion_mnist"
    data_dir: str | None = None
    out: str = "results/time_to_accuracy"
    runs: tuple[str, ...] = (
        "one_cycle:2",
        "warmup_cosine_decay:2",
        "exponential_decay:2",
        "constant:2",
    )
    learning_rate: float = 0.1
    target: float = 0.9
    evals_per_epoch: int = 4
    train_examples: int = 0
    test_examples: int = 0
    batch_size: int = 128
    model: str = "cnn"
    seed: int = 0
    conv: str = "auto"

    def __post_init__(self) -> None:
        self.budgets()

    def budgets(self) -> list[tuple[str, int]]:
        """`runs` as (recipe, epochs) pairs; raises ValueError on a malformed entry."""
        budgets = []
        for item in self.runs:
            recipe, _, epochs = item.partition(":")
            if recipe not in recipes.RECIPES or not epochs.isdigit() or int(epochs) < 1:
                raise ValueError(
                    f"--runs: {item!r} is not recipe:epochs with a recipe of "
                    f"{', '.join(recipes.RECIPES)}"
                )
            budgets.append((recipe, int(epochs)))
        return budgets


CHOICES = {"dataset": configs.DATASETS, "model": configs.MODELS, "conv": group.CONVS}


def _train_one(
    config: TimeConfig, recipe: str, epochs: int, data: Any, log: Callable[[str], None]
) -> dict[str, Any]:
    """Trains the run `recipe:epochs` alone until the target; its results.json entry."""

    steps_per_epoch = data.train_images.shape[0] // config.batch_size
    scheduled = recipes.build(recipe, config.learning_rate, epochs * steps_per_epoch)
    momentum = 0.9 if scheduled.momentum is None else scheduled.momentum
    run = group.Run(
        "sgd",
        scheduled.schedule,
        config.seed,
        config.learning_rate,
        recipe,
        momentum,
        scheduled.plateau,
    )
    group_config = group.GroupConfig(
        model=config.model,
        epochs=epochs,
        batch_size=config.batch_size,
        evals_per_epoch=config.evals_per_epoch,
        conv=config.conv,
        stop_at_accuracy=config.target,
    )
    log(f"{recipe}, {epochs} epochs:")
    (result,) = group.RunGroup([run], data, group_config).train(log)
    hit = report.first_at(result.evals, config.target)
    return {
        "recipe": recipe,
        "budget_epochs": epochs,
        "schedule": run.schedule.to_config(),
        "compile_seconds": result.compile_seconds,
        "seconds_to_target": None if hit is None else hit["train_seconds"],
        "epochs_to_target": None if hit is None else hit["epoch"],
        "best_accuracy": max(e["test_accuracy"] for e in result.evals),
        "evals": result.evals,
    }


def run(config: TimeConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Trains every run of `config.runs`; returns what results.json holds."""
    from examples.mnist import cpu_tuning, data

    # Before JAX starts its backends (see keep_freed_memory); the groups' default CPU tuning.
    cpu_tuning.keep_freed_memory()
    import jax

    from examples.compare.group import machine
    from examples.mnist import core

    start = time.perf_counter()
    device_data = core.put_data(
        data.load(config.dataset, config.data_dir),
        jax.sharding.SingleDeviceSharding(jax.devices()[0]),
        eval_batch_size=500,
        train_examples=config.train_examples,
        test_examples=config.test_examples,
    )
    log(
        f"{config.model} on {config.dataset}: {device_data.train_images.shape[0]} train / "
        f"{device_data.num_test} test images, target {config.target:.1%}; {machine()}; "
        f"JAX {jax.__version__}"
    )
    results = [
        _train_one(config, recipe, epochs, device_data, log) for recipe, epochs in config.budgets()
    ]
    return {
        "config": dataclasses.asdict(config),
        "machine": machine(),
        "jax_version": jax.__version__,
        "num_train": device_data.train_images.shape[0],
        "num_test": device_data.num_test,
        "steps_per_epoch": device_data.train_images.shape[0] // config.batch_size,
        "wall_seconds": time.perf_counter() - start,
        "command": "python -m examples.compare.time_to_accuracy " + " ".join(sys.argv[1:]),
        "runs": results,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Runs time to accuracy and writes its outputs; returns the exit status."""
    config, namespace = flags.parse(
        TimeConfig,
        argv,
        prog="python -m examples.compare.time_to_accuracy",
        description=__doc__.split("\n\n")[0],
        choices=CHOICES,
        extra=flags.add_replot,
    )
    if namespace.replot:
        results = outputs.read_results(config.out)
        report.write_time(results, config.out, results=False)
        print(report.time_table(results))
        return 0
    from examples.mnist import data

    try:
        results = run(config, log=lambda message: print(message, flush=True))
    except data.DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    report.write_time(results, config.out)
    print(report.time_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
