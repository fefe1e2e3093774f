"""Time to a target test accuracy: single runs of a few schedules on the whole training set.

    python -m examples.compare.time_to_accuracy --data-dir /usr/share/datasets/fashion-mnist

Each entry of --runs (`recipe:epochs`) is one run alone, stopped at the first evaluation at or
above --target; examples/compare/README.md says what it trains, times and writes.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from typing import Any

from examples import experiment
from examples.compare import group, recipes, report
from examples.mnist.report import count

PROG = "python -m examples.compare.time_to_accuracy"


@dataclasses.dataclass(frozen=True)
class TimeConfig:
    """What time to accuracy runs; each field is a flag.

    Attributes:
      out: where table.md, results.json, config.json and accuracy_vs_time.png go.
      runs: recipe:epochs pairs, comma-separated: each one run whose schedule spans that
        many epochs.
      learning_rate: the peak learning rate of every run.
      target: the test accuracy to reach.
      seed: the runs' seed.
    """

    data: experiment.DataConfig = dataclasses.field(
        default_factory=lambda: experiment.DataConfig(eval_batch_size=500)
    )
    group: group.GroupConfig = dataclasses.field(
        default_factory=lambda: group.GroupConfig(evals_per_epoch=4)
    )
    out: str = "results/time_to_accuracy"
    runs: tuple[str, ...] = (
        "one_cycle:2",
        "warmup_cosine_decay:2",
        "exponential_decay:2",
        "constant:2",
    )
    learning_rate: float = 0.1
    target: float = 0.9
    seed: int = 0

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


def _train_one(
    config: TimeConfig, recipe: str, epochs: int, data: Any, log: Callable[[str], None]
) -> dict[str, Any]:
    """Trains the run `recipe:epochs` alone until the target; its results.json entry."""
    steps_per_epoch = data.train_images.shape[0] // config.group.batch_size
    total_steps = epochs * steps_per_epoch
    (run,) = recipes.runs(recipe, "sgd", config.learning_rate, total_steps, [config.seed], 0.9)
    log(f"{recipe}, {count(epochs, 'epoch')}:")
    (result,) = group.RunGroup([run], data, config.group).train(epochs, log, config.target)
    hit = report.first_at(result.evals, config.target) or {}
    return dict(recipe=recipe, budget_epochs=epochs, schedule=run.schedule.to_config(),
                compile_seconds=result.compile_seconds,
                seconds_to_target=hit.get("train_seconds"), epochs_to_target=hit.get("epoch"),
                best_accuracy=max(e["test_accuracy"] for e in result.evals),
                evals=result.evals)  # fmt: skip


def run(
    config: TimeConfig, log: Callable[[str], None], save: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """Trains every run of `config.runs`, handing `save` the results after each; returns
    what results.json holds."""
    device_data = config.data.put()
    results = experiment.header(config, PROG, device_data)
    results["steps_per_epoch"] = results["num_train"] // config.group.batch_size
    log(f"{config.group.model} on {config.data.dataset}: {results['num_train']} train / "
        f"{results['num_test']} test images, target {config.target:.1%}; "
        f"{results['machine']}; JAX {results['jax_version']}")  # fmt: skip
    results["runs"] = []
    for recipe, epochs in config.budgets():
        results["runs"].append(_train_one(config, recipe, epochs, device_data, log))
        save(results)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Runs time to accuracy and writes its outputs; returns the exit status."""
    return experiment.main(TimeConfig, argv, run, report.time_table,
                           figures=report.time_figures, prog=PROG, doc=__doc__)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
