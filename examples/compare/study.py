"""Schedules compared: one model, one data budget, many schedules, seeds and learning rates.

    python -m examples.compare.study --data-dir /usr/share/datasets/fashion-mnist

`plan` lists the configurations, `build_runs` their runs (`examples/compare/recipes.py`),
which train in groups of one structure (`examples.compare.group`) in the harness of
`examples/experiment.py`; examples/compare/README.md says what the study trains and writes.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from examples import experiment, flags
from examples.compare import group, recipes, report
from examples.mnist import core
from examples.mnist.report import count

PROG = "python -m examples.compare.study"
SGD_RECIPES = tuple(r for r in recipes.RECIPES if r != "warmup")


@dataclasses.dataclass(frozen=True)
class StudyConfig:
    """Everything the study depends on; each field is a command-line flag.

    Attributes:
      out: where table.md, results.json, config.json and the PNGs go.
      epochs: the epoch budget of every run.
      seeds: seeds 0 .. seeds-1 for every configuration.
      sgd_learning_rates: SGD's base learning rates, comma-separated.
      adam_learning_rates: Adam's base learning rates.
      adagrad_learning_rates: AdaGrad's learning rates (constant).
      rmsprop_learning_rates: RMSprop's learning rates (constant).
      sgd_recipes: the schedule recipes for SGD with momentum, comma-separated.
      adam_recipes: the schedule recipes for Adam, comma-separated.
      schedule_free: add schedule-free SGD at the SGD rates and schedule-free AdamW at the
        Adam rates (a 5% warmup, then constant; evaluated at their averaged weights).
      momentum: SGD's momentum (one-cycle cycles it between 0.85 and 0.95 instead).
      lr_find_steps: updates of the lr_find range test (0 skips the lr_find rows).
    """

    data: experiment.DataConfig = dataclasses.field(
        default_factory=lambda: experiment.DataConfig(
            train_examples=6000, validation_examples=5000, test_examples=5000
        )
    )
    group: group.GroupConfig = dataclasses.field(default_factory=group.GroupConfig)
    out: str = "results/study"
    epochs: int = flags.option(3, at_least=1)
    seeds: int = flags.option(3, at_least=1)
    sgd_learning_rates: tuple[float, ...] = (0.05, 0.3)
    adam_learning_rates: tuple[float, ...] = (1e-3,)
    adagrad_learning_rates: tuple[float, ...] = (0.01,)
    rmsprop_learning_rates: tuple[float, ...] = (1e-3,)
    sgd_recipes: tuple[str, ...] = flags.option(SGD_RECIPES, choices=recipes.RECIPES)
    adam_recipes: tuple[str, ...] = flags.option(
        ("constant", "warmup_cosine_decay", "one_cycle"), choices=recipes.RECIPES
    )
    schedule_free: bool = True
    momentum: float = 0.9
    lr_find_steps: int = flags.option(100, at_least=0)

    def __post_init__(self) -> None:
        flags.check(self)


PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "full": (
        "all training data, 10 epochs, more Adam recipes and rates (for a GPU)",
        dict(train_examples=0, test_examples=0, epochs=10, adam_learning_rates=(1e-3, 1e-2),
             adagrad_learning_rates=(0.01, 0.1), rmsprop_learning_rates=(1e-3, 1e-2),
             adam_recipes=SGD_RECIPES),
    ),
    "smoke": (
        "an MLP on a few hundred images, 2 epochs, 2 seeds: a check that everything runs",
        dict(model="mlp", train_examples=512, validation_examples=256, test_examples=500,
             epochs=2, seeds=2, lr_find_steps=20),
    ),
}  # fmt: skip


def plan(config: StudyConfig, found: dict[str, float]) -> list[tuple[str, str, float, bool]]:
    """Every configuration: (optimizer, recipe, base learning rate, from lr_find)."""
    configurations: list[tuple[str, str, float, bool]] = []
    for optimizer, chosen, rates in (
        ("sgd", config.sgd_recipes, config.sgd_learning_rates),
        ("adam", config.adam_recipes, config.adam_learning_rates),
    ):
        configurations += [(optimizer, r, rate, False) for r in chosen for rate in rates]
        if optimizer in found:
            configurations.append((optimizer, "constant", found[optimizer], True))
    if config.schedule_free:
        for optimizer, rates in (
            ("schedule_free_sgd", config.sgd_learning_rates),
            ("schedule_free_adamw", config.adam_learning_rates),
        ):
            configurations += [(optimizer, "warmup", rate, False) for rate in rates]
    configurations += [("adagrad", "constant", r, False) for r in config.adagrad_learning_rates]
    configurations += [("rmsprop", "constant", r, False) for r in config.rmsprop_learning_rates]
    return configurations


def build_runs(config: StudyConfig, total_steps: int, found: dict[str, float]) -> list[group.Run]:
    """Every run of the study: each configuration of `plan` with every seed."""
    return [
        run
        for optimizer, recipe, rate, from_lr_find in plan(config, found)
        for run in recipes.runs(recipe, optimizer, rate, total_steps, range(config.seeds),
                                config.momentum, from_lr_find)
    ]  # fmt: skip


def _subsample(values: Any, points: int = 200) -> list[float]:
    values = np.asarray(values, np.float64)
    if values.size <= points:
        return values.tolist()
    index = np.unique(np.linspace(0, values.size - 1, points).round().astype(int))
    return values[index].tolist()


def _find_learning_rates(
    config: StudyConfig, data: core.DeviceData, log: Callable[[str], None]
) -> tuple[dict[str, float], dict[str, Any]]:
    """lr_find's "valley" for SGD and Adam, where they train under any recipe."""
    found: dict[str, float] = {}
    info: dict[str, Any] = {}
    for optimizer, chosen in (("sgd", config.sgd_recipes), ("adam", config.adam_recipes)):
        if not (config.lr_find_steps and chosen):
            continue
        learning_rate, result = recipes.suggest_learning_rate(
            optimizer, data, config.group, config.momentum, config.lr_find_steps
        )
        found[optimizer] = learning_rate
        info[optimizer] = dict(suggestions=result.suggestions, diverged=result.diverged,
                               steps=len(result.lrs))  # fmt: skip
        log(f"lr_find ({optimizer}): valley {learning_rate:.3g}, {result.suggestions}")
    return found, info


def run_record(result: group.RunResult) -> dict[str, Any]:
    run = result.run
    return dict(
        optimizer=run.optimizer, recipe=run.recipe, learning_rate=run.learning_rate,
        from_lr_find=run.from_lr_find, seed=run.seed, diverged=result.diverged,
        group_size=result.group_size, compile_seconds=result.compile_seconds,
        schedule=run.schedule.to_config(), evals=result.evals,
        lr_steps=_subsample(range(len(result.lrs))), lrs=_subsample(result.lrs),
    )  # fmt: skip


def run(
    config: StudyConfig, log: Callable[[str], None], save: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """Runs the study; returns what results.json holds, handing `save` the runs so far
    after every group."""
    device_data = config.data.put()
    results = experiment.header(config, PROG, device_data)
    steps_per_epoch = results["num_train"] // config.group.batch_size
    log(
        f"{config.group.model} on {config.data.dataset}: {results['num_train']} train / "
        f"{results['num_validation']} validation / {results['num_test']} test images, "
        f"{count(config.epochs, 'epoch')} of {count(steps_per_epoch, 'update')}; "
        f"{results['machine']}; JAX {results['jax_version']}"
    )
    found, results["lr_find"] = _find_learning_rates(config, device_data, log)
    results["steps_per_epoch"] = steps_per_epoch
    runs = build_runs(config, config.epochs * steps_per_epoch, found)
    groups = group.group_by_structure(runs, config.group.max_group_size)
    log(f"{count(len(runs), 'run')} in {count(len(groups), 'group')}")

    def on_group(done: list[group.RunResult]) -> None:  # a cut-off run keeps its groups
        save({**results, "runs": [run_record(r) for r in done]})

    done = group.train_all(runs, device_data, config.group, config.epochs, log, on_group)
    return {**results, "runs": [run_record(r) for r in done]}


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the study and writes its outputs; returns the exit status."""
    return experiment.main(StudyConfig, argv, run, report.table, figures=report.study_figures,
                           prog=PROG, doc=__doc__, presets=PRESETS)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
