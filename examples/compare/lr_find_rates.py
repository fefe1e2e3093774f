"""lr_find's suggesters against the study's best constant rate: train at each suggestion.

    python -m examples.compare.lr_find_rates --data-dir /usr/share/datasets/fashion-mnist

Suggesters that land on the same rate train once (`candidates`); examples/compare/README.md
says what it trains and writes.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from examples import experiment, flags
from examples.compare import group, recipes
from examples.compare.report import markdown_table
from examples.mnist.report import count

PROG = "python -m examples.compare.lr_find_rates"
OPTIMIZERS = ("sgd", "adam")
REFERENCE = "study's best constant"


@dataclasses.dataclass(frozen=True)
class RatesConfig:
    """Everything the measurement depends on; each field is a flag.

    Attributes:
      out: where table.md, results.json and config.json go.
      epochs: the epoch budget of every run.
      seeds: seeds 0 .. seeds-1 for every rate.
      momentum: SGD's momentum.
      lr_find_steps: updates of the lr_find range test.
      sgd_reference: the study's best constant rate for SGD-momentum.
      adam_reference: the study's best constant rate for Adam.
    """

    data: experiment.DataConfig = dataclasses.field(
        default_factory=lambda: experiment.DataConfig(
            train_examples=20000, validation_examples=5000, test_examples=5000
        )
    )
    group: group.GroupConfig = dataclasses.field(default_factory=group.GroupConfig)
    out: str = "results/lr_find_rates"
    epochs: int = flags.option(5, at_least=1)
    seeds: int = flags.option(3, at_least=1)
    momentum: float = 0.9
    lr_find_steps: int = flags.option(100, at_least=1)
    sgd_reference: float = 0.05
    adam_reference: float = 1e-3

    def __post_init__(self) -> None:
        flags.check(self)
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


def run(
    config: RatesConfig, log: Callable[[str], None], save: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """lr_find and the training runs; returns what results.json holds."""
    device_data = config.data.put()
    results = experiment.header(config, PROG, device_data)
    steps = config.epochs * (results["num_train"] // config.group.batch_size)
    results.update(steps=steps, lr_find={})
    runs = []
    for optimizer in OPTIMIZERS:
        _, found = recipes.suggest_learning_rate(
            optimizer, device_data, config.group, config.momentum, config.lr_find_steps
        )
        rates = candidates(found.suggestions, config.reference(optimizer))
        results["lr_find"][optimizer] = dict(suggestions=found.suggestions,
                                             rates=list(rates.items()))  # fmt: skip
        log(f"lr_find ({optimizer}):\n{found.table(config.reference(optimizer))}")
        seeds = range(config.seeds)
        for rate in rates:
            runs += recipes.runs("constant", optimizer, rate, steps, seeds, config.momentum)
    log(count(len(runs), "run"))

    def records(done: list[group.RunResult]) -> dict[str, Any]:
        return {**results, "runs": [_record(r) for r in done]}

    done = group.train_all(runs, device_data, config.group, config.epochs, log,
                           lambda done: save(records(done)))  # fmt: skip
    return records(done)


def _record(result: group.RunResult) -> dict[str, Any]:
    run = result.run
    return dict(optimizer=run.optimizer, learning_rate=run.learning_rate, seed=run.seed,
                diverged=result.diverged, test_accuracy=result.final["test_accuracy"])  # fmt: skip


def table(report: dict[str, Any]) -> str:
    """The Markdown table: per optimizer and rate, who chose it, its log10 distance to the
    reference, and the test accuracy (mean +- std over seeds); the suggester whose rate
    trains best is in bold."""
    rows = []
    config = report["config"]
    for optimizer, found in report["lr_find"].items():
        reference = config[f"{optimizer}_reference"]
        scored = []
        for rate, names in found["rates"]:
            runs = [
                r
                for r in report["runs"]
                if (r["optimizer"], r["learning_rate"]) == (optimizer, rate)
            ]
            accuracy = 100 * np.array([r["test_accuracy"] for r in runs])
            scored.append((rate, names, accuracy.mean(), accuracy.std()))
        best = max((s for s in scored if s[1] != [REFERENCE]), key=lambda s: s[2], default=None)
        for rate, names, mean, std in scored:
            cell = f"{mean:.2f} +- {std:.2f}"
            if best is not None and rate == best[0]:
                cell = f"**{cell}**"
            distance = f"{abs(math.log10(rate / reference)):.2f}"
            rows.append([optimizer, ", ".join(names), f"{rate:.3g}", distance, cell])
        chosen = {name for _, names in found["rates"] for name in names}
        rows += [[optimizer, name, "no suggestion", "-", "-"] for name in found["suggestions"]
                 if name not in chosen]  # fmt: skip
    header = ["optimizer", "chosen by", "learning rate", "log10 distance to best constant"]
    return "\n".join(markdown_table([*header, "test accuracy %"], rows, "llrrr"))


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the measurement and writes its outputs; returns the exit status."""
    return experiment.main(RatesConfig, argv, run, table, prog=PROG, doc=__doc__)


if __name__ == "__main__":
    sys.exit(main())
