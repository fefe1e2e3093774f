"""lr_find's suggesters against the study's best constant rate: train at each suggestion.

    python -m examples.compare.lr_find_rates --data-dir /usr/share/datasets/fashion-mnist

For SGD-momentum and Adam, runs `jaxsched.lr_find` once on the model as seed 0 initialises
it (as the study does), then trains the model at a constant learning rate equal to each of
its suggestions ("valley", "slide", "steep", "minimum") and at the study's best constant rate
(`--sgd-reference`, `--adam-reference`), every rate with `--seeds` seeds, on the study's data
split and through its `RunGroup` (`examples/compare/group.py`). Suggesters that land on the
same rate train once. Prints a Markdown table and writes it, with every run's final metrics,
to `--out/{table.md,results.json}`.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from examples import flags, outputs
from examples.compare import group, recipes
from examples.mnist import configs

OPTIMIZERS = ("sgd", "adam")
REFERENCE = "study's best constant"


@dataclasses.dataclass(frozen=True)
class RatesConfig:
    """Everything the measurement depends on; each field is a command-line flag.

    Attributes:
      dataset: "fashion_mnist" or "mnist".
      data_dir: a folder of the four IDX files (or a tensorflow-datasets data dir).
      out: where table.md and results.json go.
      model: "cnn", "mlp" or "linear".
      train_examples: training images used (the study's split: the validation set is held
        out after them).
      validation_examples: the last this many training images, held out (unused here; kept
        so that the training images are the study's).
      test_examples: the first this many test images are the test set.
      epochs: the epoch budget of every run.
      batch_size: examples per update.
      seeds: seeds 0 .. seeds-1 for every rate.
      momentum: SGD's momentum.
      lr_find_steps: updates of the lr_find range test.
      sgd_reference: the study's best constant rate for SGD-momentum.
      adam_reference: the study's best constant rate for Adam.
    """

    dataset: str = "fashion_mnist"
    data_dir: str | None = None
    out: str = "results/lr_find_rates"
    model: str = "cnn"
    train_examples: int = 20000
    validation_examples: int = 5000
    test_examples: int = 5000
    epochs: int = 5
    batch_size: int = 128
    seeds: int = 3
    momentum: float = 0.9
    lr_find_steps: int = 100
    sgd_reference: float = 0.05
    adam_reference: float = 1e-3

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "seeds", "lr_find_steps"):
            value = getattr(self, name)
            if value < 1:
                raise ValueError(f"{flags.flag(name)} must be at least 1, got {value}")
        for name in ("sgd_reference", "adam_reference"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{flags.flag(name)} must be positive, got {value}")

    def reference(self, optimizer: str) -> float:
        return float(getattr(self, f"{optimizer}_reference"))


def candidates(suggestions: dict[str, float], reference: float) -> dict[float, list[str]]:
    """The rates to train, each with the names that chose it: the reference and every finite
    positive suggestion, equal rates (to 3 significant digits) merged."""
    rates: dict[float, list[str]] = {reference: [REFERENCE]}
    for name, rate in suggestions.items():
        if not (math.isfinite(rate) and rate > 0):
            continue
        match = next((r for r in rates if f"{r:.3g}" == f"{rate:.3g}"), rate)
        rates.setdefault(match, []).append(name)
    return rates


def _runs(config: RatesConfig, optimizer: str, rates: Sequence[float], steps: int) -> list[Any]:
    momentum = config.momentum if optimizer == "sgd" else None
    return [
        group.Run(optimizer, recipes.build("constant", rate, steps).schedule, seed, rate,
                  "constant", momentum)
        for rate in rates
        for seed in range(config.seeds)
    ]  # fmt: skip


def run(config: RatesConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    """lr_find and the training runs; returns what results.json holds."""
    from examples.mnist import cpu_tuning, data

    cpu_tuning.keep_freed_memory()  # before JAX starts its backends
    import jax

    from examples.mnist import core

    start = time.perf_counter()
    device_data = core.put_data(
        data.load(config.dataset, config.data_dir),
        jax.sharding.SingleDeviceSharding(jax.devices()[0]),
        eval_batch_size=250,
        train_examples=config.train_examples,
        validation_examples=config.validation_examples,
        test_examples=config.test_examples,
    )
    steps = config.epochs * (device_data.train_images.shape[0] // config.batch_size)
    group_config = group.GroupConfig(config.model, config.epochs, config.batch_size)
    found: dict[str, Any] = {}
    runs = []
    for optimizer in OPTIMIZERS:
        _, result = group.suggest_learning_rate(
            optimizer,
            device_data,
            group_config,
            num_steps=config.lr_find_steps,
            momentum=config.momentum if optimizer == "sgd" else None,
        )
        rates = candidates(result.suggestions, config.reference(optimizer))
        found[optimizer] = {"suggestions": result.suggestions, "rates": list(rates.items())}
        log(f"lr_find ({optimizer}):\n{result.table(config.reference(optimizer))}")
        runs += _runs(config, optimizer, list(rates), steps)
    log(f"{len(runs)} runs")
    results = group.train_all(runs, device_data, group_config, log=log)
    return {
        "config": dataclasses.asdict(config),
        "machine": group.machine(),
        "jax_version": jax.__version__,
        "command": "python -m examples.compare.lr_find_rates " + " ".join(sys.argv[1:]),
        "steps": steps,
        "wall_seconds": time.perf_counter() - start,
        "lr_find": found,
        "runs": [
            {
                "optimizer": r.run.optimizer,
                "learning_rate": r.run.learning_rate,
                "seed": r.run.seed,
                "diverged": r.diverged,
                "test_accuracy": r.final["test_accuracy"],
            }
            for r in results
        ],
    }


def table(report: dict[str, Any]) -> str:
    """The Markdown table: per optimizer and rate, who chose it, its log10 distance to the
    reference, and the test accuracy (mean +- std over seeds); the suggester whose rate
    trains best is in bold."""
    rows = [
        "| optimizer | chosen by | learning rate | log10 distance to best constant "
        "| test accuracy % |",
        "|---|---|---:|---:|---:|",
    ]
    config = report["config"]
    for optimizer, found in report["lr_find"].items():
        reference = config[f"{optimizer}_reference"]
        scored = []
        for rate, names in found["rates"]:
            accuracy = np.array(
                [
                    r["test_accuracy"]
                    for r in report["runs"]
                    if r["optimizer"] == optimizer and r["learning_rate"] == rate
                ]
            )
            scored.append((rate, names, 100 * accuracy.mean(), 100 * accuracy.std()))
        best = max((s for s in scored if s[1] != [REFERENCE]), key=lambda s: s[2], default=None)
        for rate, names, mean, std in scored:
            cell = f"{mean:.2f} +- {std:.2f}"
            if best is not None and rate == best[0]:
                cell = f"**{cell}**"
            distance = abs(math.log10(rate / reference))
            rows.append(
                f"| {optimizer} | {', '.join(names)} | {rate:.3g} | {distance:.2f} | {cell} |"
            )
        chosen = {name for _, names in found["rates"] for name in names}
        rows += [
            f"| {optimizer} | {name} | no suggestion | - | - |"
            for name in found["suggestions"]
            if name not in chosen
        ]
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the measurement and writes its outputs; returns the exit status."""
    config, namespace = flags.parse(
        RatesConfig,
        argv,
        prog="python -m examples.compare.lr_find_rates",
        description=__doc__.split("\n\n")[0],
        choices={"dataset": configs.DATASETS, "model": configs.MODELS},
        extra=flags.add_replot,
    )
    if namespace.replot:
        report = outputs.read_results(config.out)
    else:
        from examples.mnist import data

        try:
            report = run(config, log=lambda message: print(message, flush=True))
        except data.DataError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        outputs.write_results(config.out, report)
    text = table(report)
    outputs.write_table(config.out, text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
