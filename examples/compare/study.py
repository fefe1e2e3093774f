"""Schedules compared: one model, one data budget, many schedules, seeds and learning rates.

    python -m examples.compare.study --data-dir /usr/share/datasets/fashion-mnist

Trains the CNN on Fashion-MNIST (or MNIST) with SGD-momentum under every schedule recipe
(`examples/compare/recipes.py`) at a moderate and a high base learning rate, Adam under a few
of them, the learning rates that `jaxsched.lr_find` suggests, AdaGrad and RMSprop at a
constant rate, and the schedule-free baselines of optax.contrib (SGD at SGD's rates, AdamW at
Adam's, after a 5% warmup); every configuration with several seeds. Runs of one structure
train together (`examples.compare.group`). Writes into --out:

  table.md         mean +- std over seeds of the final test accuracy and train loss, time
  results.json     every run: settings, per-evaluation metrics, learning-rate curve
  lr_curves.png    the learning rate of every configuration (first seed)
  accuracy.png     test accuracy per epoch, mean and +-1 std band across the seeds that trained

The default budget is sized for a 2-core CPU; `--full` is the whole training set and more
epochs for a GPU, `--smoke` a seconds-long check.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import jaxsched
from examples import flags, outputs
from examples.compare import group, recipes, report
from examples.mnist import configs

SGD_RECIPES = tuple(r for r in recipes.RECIPES if r != "warmup")


@dataclasses.dataclass(frozen=True)
class StudyConfig:
    """Everything the study depends on; each field is a command-line flag.

    Attributes:
      dataset: "fashion_mnist" or "mnist".
      data_dir: a folder of the four IDX files (or a tensorflow-datasets data dir).
      out: where table.md, results.json and the PNGs go.
      model: "cnn", "mlp" or "linear".
      train_examples: training images used (0: all that the validation set leaves).
      validation_examples: the last this many training images, held out as the validation
        set that reduce-on-plateau watches (the test set is never used for decisions).
      test_examples: the first this many test images are the test set (0: all).
      epochs: the epoch budget of every run.
      batch_size: examples per update.
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
      conv: how the CNN computes its convolutions ("auto", "matmul", "native").
      max_group_size: at most this many runs per group (0: all runs of a structure).
      vmap_size: runs per call of the vmapped step (0: one on CPU, the whole group
        elsewhere).
      eval_batch_size: test images per evaluation chunk; all runs of a part see a chunk at
        once, so the activations scale with this times `vmap_size`.
    """

    dataset: str = "fashion_mnist"
    data_dir: str | None = None
    out: str = "results/study"
    model: str = "cnn"
    train_examples: int = 6000
    validation_examples: int = 5000
    test_examples: int = 5000
    epochs: int = 3
    batch_size: int = 128
    seeds: int = 3
    sgd_learning_rates: tuple[float, ...] = (0.05, 0.3)
    adam_learning_rates: tuple[float, ...] = (1e-3,)
    adagrad_learning_rates: tuple[float, ...] = (0.01,)
    rmsprop_learning_rates: tuple[float, ...] = (1e-3,)
    sgd_recipes: tuple[str, ...] = SGD_RECIPES
    adam_recipes: tuple[str, ...] = ("constant", "warmup_cosine_decay", "one_cycle")
    schedule_free: bool = True
    momentum: float = 0.9
    lr_find_steps: int = 100
    conv: str = "auto"
    max_group_size: int = 0
    vmap_size: int = 0
    eval_batch_size: int = 250

    def __post_init__(self) -> None:
        for name in ("sgd_recipes", "adam_recipes"):
            unknown = [r for r in getattr(self, name) if r not in recipes.RECIPES]
            if unknown:
                known = ", ".join(recipes.RECIPES)
                raise ValueError(f"{flags.flag(name)}: {', '.join(unknown)} not among {known}")
        if self.seeds < 1 or self.epochs < 1:
            raise ValueError("--seeds and --epochs must be at least 1")


CHOICES = {"dataset": configs.DATASETS, "model": configs.MODELS, "conv": group.CONVS}
PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "full": (
        "all training data, 10 epochs, more Adam recipes and rates (for a GPU)",
        {
            "train_examples": 0,
            "test_examples": 0,
            "epochs": 10,
            "adam_learning_rates": (1e-3, 1e-2),
            "adagrad_learning_rates": (0.01, 0.1),
            "rmsprop_learning_rates": (1e-3, 1e-2),
            "adam_recipes": SGD_RECIPES,
        },
    ),
    "smoke": (
        "an MLP on a few hundred images, 2 epochs, 2 seeds: a check that everything runs",
        {
            "model": "mlp",
            "train_examples": 512,
            "validation_examples": 256,
            "test_examples": 500,
            "epochs": 2,
            "seeds": 2,
            "lr_find_steps": 20,
        },
    ),
}


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
    runs = []
    for optimizer, recipe, learning_rate, from_lr_find in plan(config, found):
        scheduled = recipes.build(recipe, learning_rate, total_steps)
        momentum: float | jaxsched.Schedule | None = scheduled.momentum
        if momentum is None and optimizer == "sgd":
            momentum = config.momentum
        runs += [
            group.Run(
                optimizer,
                scheduled.schedule,
                seed,
                learning_rate,
                recipe,
                momentum,
                scheduled.plateau,
                from_lr_find,
            )
            for seed in range(config.seeds)
        ]
    return runs


def _subsample(values: Any, points: int = 200) -> list[float]:
    import numpy as np

    values = np.asarray(values, np.float64)
    if values.size <= points:
        return values.tolist()
    index = np.unique(np.linspace(0, values.size - 1, points).round().astype(int))
    return values[index].tolist()


def _find_learning_rates(
    config: StudyConfig, data: Any, group_config: Any, log: Callable[[str], None]
) -> tuple[dict[str, float], dict[str, Any]]:
    """lr_find's "valley" for SGD and Adam, where they train under any recipe."""

    found: dict[str, float] = {}
    info: dict[str, Any] = {}
    for optimizer, chosen in (("sgd", config.sgd_recipes), ("adam", config.adam_recipes)):
        if not (config.lr_find_steps and chosen):
            continue
        learning_rate, result = group.suggest_learning_rate(
            optimizer,
            data,
            group_config,
            num_steps=config.lr_find_steps,
            momentum=config.momentum if optimizer == "sgd" else None,
        )
        found[optimizer] = learning_rate
        info[optimizer] = {
            "suggestions": result.suggestions,
            "diverged": result.diverged,
            "steps": len(result.lrs),
        }
        log(f"lr_find ({optimizer}): valley {learning_rate:.3g}, {result.suggestions}")
    return found, info


def run_record(result: Any) -> dict[str, Any]:
    run = result.run
    return {
        "optimizer": run.optimizer,
        "recipe": run.recipe,
        "learning_rate": run.learning_rate,
        "from_lr_find": run.from_lr_find,
        "seed": run.seed,
        "diverged": result.diverged,
        "group_size": result.group_size,
        "compile_seconds": result.compile_seconds,
        "schedule": run.schedule.to_config(),
        "evals": result.evals,
        "lr_steps": _subsample(range(len(result.lrs))),
        "lrs": _subsample(result.lrs),
    }


def _load(config: StudyConfig) -> Any:
    """The study's splits on the first device (`core.put_data`)."""
    import jax

    from examples.mnist import core, data

    return core.put_data(
        data.load(config.dataset, config.data_dir),
        jax.sharding.SingleDeviceSharding(jax.devices()[0]),
        eval_batch_size=config.eval_batch_size,
        train_examples=config.train_examples,
        validation_examples=config.validation_examples,
        test_examples=config.test_examples,
    )


def run_study(
    config: StudyConfig,
    log: Callable[[str], None] = print,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Runs the study and returns what results.json holds (without writing anything).

    `on_progress`, if given, gets the same record after every group, with the runs trained
    so far and `"partial": True`.
    """
    from examples.mnist import cpu_tuning

    # Before JAX starts its backends (see keep_freed_memory); the groups' default CPU tuning.
    cpu_tuning.keep_freed_memory()
    import jax

    start = time.perf_counter()
    device_data = _load(config)
    num_train = device_data.train_images.shape[0]
    steps_per_epoch = num_train // config.batch_size
    group_config = group.GroupConfig(
        model=config.model,
        epochs=config.epochs,
        batch_size=config.batch_size,
        conv=config.conv,
        max_group_size=config.max_group_size,
        vmap_size=config.vmap_size,
    )
    log(
        f"{config.model} on {config.dataset}: {num_train} train / {device_data.num_val} "
        f"validation / {device_data.num_test} test images, {config.epochs} epochs of "
        f"{steps_per_epoch} updates; {group.machine()}; JAX {jax.__version__}"
    )
    found, lr_find_info = _find_learning_rates(config, device_data, group_config, log)
    runs = build_runs(config, config.epochs * steps_per_epoch, found)
    log(f"{len(runs)} runs in {len(group.group_by_structure(runs, config.max_group_size))} groups")
    header = {
        "config": dataclasses.asdict(config),
        "machine": group.machine(),
        "jax_version": jax.__version__,
        "backend": jax.default_backend(),
        "command": "python -m examples.compare.study " + " ".join(sys.argv[1:]),
        "num_train": num_train,
        "num_validation": device_data.num_val,
        "num_test": device_data.num_test,
        "steps_per_epoch": steps_per_epoch,
        "lr_find": lr_find_info,
    }

    def record(results: list[group.RunResult]) -> dict[str, Any]:
        records = [run_record(r) for r in results]
        return {**header, "wall_seconds": time.perf_counter() - start, "runs": records}

    def progress(results: list[group.RunResult]) -> None:
        if on_progress is not None:
            on_progress({**record(results), "partial": True})

    return record(group.train_all(runs, device_data, group_config, log, progress))


def parse(argv: Sequence[str] | None = None) -> tuple[StudyConfig, bool]:
    """The config (a preset, then the flags given over it) and whether to only replot."""
    config, namespace = flags.parse(
        StudyConfig,
        argv,
        prog="python -m examples.compare.study",
        description=__doc__.split("\n\n")[0],
        choices=CHOICES,
        presets=PRESETS,
        extra=flags.add_replot,
    )
    return config, namespace.replot


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the study and writes its outputs; returns the exit status."""
    config, replot = parse(argv)
    if replot:
        study = outputs.read_results(config.out)
        report.write_study(study, config.out, results=False)
        print(report.table(study))
        return 0
    from examples.mnist import data

    def save_partial(study: dict[str, Any]) -> None:  # a cut-off run keeps its groups
        outputs.write_results(config.out, study, indent=None)

    try:
        study = run_study(config, lambda message: print(message, flush=True), save_partial)
    except data.DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    report.write_study(study, config.out)
    print(report.table(study))
    print(
        f"wrote {config.out}/table.md, results.json, lr_curves.png, accuracy.png in "
        f"{study['wall_seconds']:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
