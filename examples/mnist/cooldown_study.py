"""Cooldown branches against separate warmup-stable-decay runs: accuracy and updates spent.

    python -m examples.mnist.cooldown_study --data-dir /usr/share/datasets/fashion-mnist

Per seed and run length in `--lengths-epochs`: one warmup-stable-decay run (a `--warmup-steps`
warmup, the peak `--learning-rate`, a 1-sqrt cooldown over the last `--cooldown-fraction`);
and one stable run (same warmup, then constant) with a cooldown branched off its checkpoint
at each length's cooldown start (`examples/mnist/cooldown.py`), all through the trainer on
data loaded once. Writes the Markdown table of test accuracies and updates spent, with every
run's figures, to `--out/{table.md,results.json}`, the runs' work dirs to `--out/runs/`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from examples import experiment, flags
from examples.mnist import configs, data, train
from examples.mnist.report import count

PROG = "python -m examples.mnist.cooldown_study"


@dataclasses.dataclass(frozen=True)
class CooldownStudyConfig:
    """Everything the comparison depends on; each field is a command-line flag.

    Attributes:
      data: the images (a validation set is held out and unused).
      out: where table.md, results.json, config.json and the runs' work dirs go.
      model: "cnn", "mlp" or "linear".
      optimizer: the trainer's optimizer.
      learning_rate: the peak learning rate of every run.
      batch_size: examples per update.
      lengths_epochs: the run lengths compared, in epochs, comma-separated.
      cooldown_fraction: the share of each run spent cooling down (rounded to whole updates).
      warmup_steps: the linear warmup at the start of every run.
      seeds: seeds 0 .. seeds-1.
    """

    data: experiment.DataConfig = dataclasses.field(
        default_factory=lambda: experiment.DataConfig(train_examples=20000)
    )
    out: str = "results/cooldown_study"
    model: str = flags.option("mlp", choices=configs.MODELS)
    optimizer: str = flags.option("sgd", choices=configs.OPTIMIZERS)
    learning_rate: float = 0.05
    batch_size: int = flags.option(128, at_least=1)
    lengths_epochs: tuple[int, ...] = flags.option((3, 6, 9), at_least=1)
    cooldown_fraction: float = 0.2
    warmup_steps: int = flags.option(50, at_least=0)
    seeds: int = flags.option(3, at_least=1)

    def __post_init__(self) -> None:
        flags.check(self)
        if not self.lengths_epochs:
            raise ValueError("--lengths-epochs needs at least one length")
        if not 0 < self.cooldown_fraction < 1:
            raise ValueError(f"--cooldown-fraction must be in (0, 1), got {self.cooldown_fraction}")


def plan(config: CooldownStudyConfig, steps_per_epoch: int) -> list[dict[str, int]]:
    """Per length: its epochs, updates, cooldown updates and the step the cooldown starts."""
    lengths = []
    for epochs in sorted(set(config.lengths_epochs)):
        total = epochs * steps_per_epoch
        decay = max(1, round(config.cooldown_fraction * total))
        if total - decay <= config.warmup_steps:
            raise train.TrainingError(
                f"a {epochs}-epoch run cools down before its warmup ends; pass fewer "
                "--warmup-steps or a larger --cooldown-fraction"
            )
        lengths.append({"epochs": epochs, "steps": total, "decay": decay, "start": total - decay})
    return lengths


def _train(config: CooldownStudyConfig, dataset: data.Dataset, **fields: Any) -> dict[str, Any]:
    """Trains one run of the trainer on `dataset`; its figures."""
    d = config.data
    run = configs.Config(
        dataset=d.dataset,
        data_dir=d.data_dir,
        max_train_examples=d.train_examples,
        max_test_examples=d.test_examples,
        eval_batch_size=d.eval_batch_size,
        **{k: getattr(config, k) for k in ("model", "optimizer", "learning_rate", "batch_size")},
        checkpoint_every_steps=0,
        keep_checkpoints=1,
        progress=False,
        plot=False,
        **fields,
    )
    start = time.perf_counter()
    summary = train.train_and_evaluate(run, dataset)
    return {
        "workdir": run.workdir,
        "test_accuracy": summary["test_accuracy"],
        "updates": summary["step"] - run.cooldown_at,
        "seconds": time.perf_counter() - start,
    }


def run_seed(
    config: CooldownStudyConfig, seed: int, lengths: list[dict[str, int]], dataset: data.Dataset
) -> dict[str, Any]:
    """The separate runs, the stable run and its branches of one seed."""
    root = os.path.join(config.out, "runs", f"seed{seed}")
    warmup = {"init_value": 0.0, "warmup_steps": config.warmup_steps}
    separate = [
        _train(
            config,
            dataset,
            seed=seed,
            workdir=os.path.join(root, f"wsd_{length['epochs']}"),
            epochs=length["epochs"],
            schedule="warmup_stable_decay",
            schedule_args=json.dumps(
                {**warmup, "decay_steps": length["decay"], "decay_shape": "1-sqrt"}
            ),
        )
        for length in lengths
    ]
    steps_per_epoch = lengths[0]["steps"] // lengths[0]["epochs"]
    stable = dict(
        seed=seed,
        epochs=-(-max(length["start"] for length in lengths) // steps_per_epoch),
        schedule="warmup_constant",
        schedule_args=json.dumps(warmup),
        keep_checkpoint_steps=tuple(length["start"] for length in lengths),
    )
    stable_dir = os.path.join(root, "stable")
    stable_result = _train(config, dataset, workdir=stable_dir, **stable)
    branches = [
        _train(
            config,
            dataset,
            workdir=os.path.join(root, f"branch_{length['epochs']}"),
            cooldown_from=stable_dir,
            cooldown_at=length["start"],
            cooldown_steps=length["decay"],
            **stable,
        )
        for length in lengths
    ]
    return {"seed": seed, "separate": separate, "stable": stable_result, "branches": branches}


def table(report: dict[str, Any]) -> str:
    """Test accuracy per length, separate runs against branches, and the updates spent."""
    seeds = report["seeds"]
    rows = [
        "| run length | cooldown | separate WSD runs: test accuracy % | branches off one stable "
        "run: test accuracy % | largest difference (points) |",
        "|---|---|---:|---:|---:|",
    ]
    for i, length in enumerate(report["lengths"]):
        ours = 100 * np.array([s["branches"][i]["test_accuracy"] for s in seeds])
        theirs = 100 * np.array([s["separate"][i]["test_accuracy"] for s in seeds])
        rows.append(
            f"| {count(length['epochs'], 'epoch')} ({length['steps']} updates) | {length['decay']} "
            f"updates from step {length['start']} | {theirs.mean():.2f} +- {theirs.std():.2f} "
            f"| {ours.mean():.2f} +- {ours.std():.2f} | {np.abs(ours - theirs).max():.2f} |"
        )
    separate = sum(r["updates"] for r in seeds[0]["separate"])
    stable = seeds[0]["stable"]["updates"]
    branched = stable + sum(r["updates"] for r in seeds[0]["branches"])
    seconds = [
        np.median([sum(r["seconds"] for r in runs(s)) for s in seeds])
        for runs in (lambda s: s["separate"], lambda s: [s["stable"], *s["branches"]])
    ]
    rows.append(
        f"| **updates spent per seed** | | {separate} ({seconds[0]:.0f} s) | {branched} = "
        f"{stable} stable + {branched - stable} in cooldowns ({seconds[1]:.0f} s) | |"
    )
    return "\n".join(rows)


def run(
    config: CooldownStudyConfig,
    log: Callable[[str], None],
    save: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    """Every seed's runs, handing `save` the results after each seed; what results.json holds."""
    shutil.rmtree(os.path.join(config.out, "runs"), ignore_errors=True)
    dataset = config.data.load()
    results = experiment.header(config, PROG)
    results.update(num_train=len(dataset.train_images), num_test=len(dataset.test_images))
    results["lengths"] = plan(config, len(dataset.train_images) // config.batch_size)
    results["seeds"] = []
    for seed in range(config.seeds):
        results["seeds"].append(run_seed(config, seed, results["lengths"], dataset))
        save(results)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the comparison and writes its outputs; returns the exit status."""
    return experiment.main(CooldownStudyConfig, argv, run, table, prog=PROG, doc=__doc__)


if __name__ == "__main__":
    sys.exit(main())
