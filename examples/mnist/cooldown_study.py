"""Cooldown branches against separate warmup-stable-decay runs: accuracy and updates spent.

    python -m examples.mnist.cooldown_study --data-dir /usr/share/datasets/fashion-mnist

For each seed and each run length in `--lengths-epochs`, trains one warmup-stable-decay run
of that length (a `--warmup-steps` linear warmup, the peak `--learning-rate`, a 1-sqrt
cooldown over the last `--cooldown-fraction` of the run); and one stable run (the same warmup,
then constant) with a cooldown branched off its checkpoint at the start of each length's
cooldown (`examples/mnist/cooldown.py`). Both go through the trainer
(`train.train_and_evaluate`), in this process, on the data loaded once. Prints a Markdown
table of the test accuracies side by side and the updates each approach spent, and writes it
with every run's figures to `--out/{table.md,results.json}`; the runs' work dirs go to
`--out/runs/`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from examples import flags, outputs
from examples.mnist import configs


@dataclasses.dataclass(frozen=True)
class CooldownStudyConfig:
    """Everything the comparison depends on; each field is a command-line flag.

    Attributes:
      dataset: "fashion_mnist" or "mnist".
      data_dir: a folder of the four IDX files (or a tensorflow-datasets data dir).
      out: where table.md, results.json and the runs' work dirs go.
      model: "cnn", "mlp" or "linear".
      optimizer: the trainer's optimizer.
      learning_rate: the peak learning rate of every run.
      train_examples: the first this many training images (0: all).
      test_examples: the first this many test images (0: all).
      batch_size: examples per update.
      lengths_epochs: the run lengths compared, in epochs, comma-separated.
      cooldown_fraction: the share of each run spent cooling down (rounded to whole updates).
      warmup_steps: the linear warmup at the start of every run.
      seeds: seeds 0 .. seeds-1.
    """

    dataset: str = "fashion_mnist"
    data_dir: str | None = None
    out: str = "results/cooldown_study"
    model: str = "mlp"
    optimizer: str = "sgd"
    learning_rate: float = 0.05
    train_examples: int = 20000
    test_examples: int = 0
    batch_size: int = 128
    lengths_epochs: tuple[int, ...] = (3, 6, 9)
    cooldown_fraction: float = 0.2
    warmup_steps: int = 50
    seeds: int = 3

    def __post_init__(self) -> None:
        if not self.lengths_epochs or min(self.lengths_epochs) < 1:
            raise ValueError(f"--lengths-epochs must be 1 or more, got {self.lengths_epochs}")
        if not 0 < self.cooldown_fraction < 1:
            raise ValueError(f"--cooldown-fraction must be in (0, 1), got {self.cooldown_fraction}")
        if self.seeds < 1:
            raise ValueError(f"--seeds must be at least 1, got {self.seeds}")


def plan(config: CooldownStudyConfig, steps_per_epoch: int) -> list[dict[str, int]]:
    """Per length: its epochs, updates, cooldown updates and the step the cooldown starts."""
    lengths = []
    for epochs in sorted(set(config.lengths_epochs)):
        total = epochs * steps_per_epoch
        decay = max(1, round(config.cooldown_fraction * total))
        if total - decay <= config.warmup_steps:
            raise ValueError(f"a {epochs}-epoch run cools down before its warmup ends")
        lengths.append({"epochs": epochs, "steps": total, "decay": decay, "start": total - decay})
    return lengths


def _base(config: CooldownStudyConfig, seed: int, **fields: Any) -> configs.Config:
    return configs.Config(
        dataset=config.dataset,
        data_dir=config.data_dir,
        max_train_examples=config.train_examples,
        max_test_examples=config.test_examples,
        model=config.model,
        optimizer=config.optimizer,
        learning_rate=config.learning_rate,
        batch_size=config.batch_size,
        seed=seed,
        checkpoint_every_steps=0,
        keep_checkpoints=1,
        progress=False,
        plot=False,
        **fields,
    )


def _train(run: configs.Config, dataset: Any) -> dict[str, Any]:
    from examples.mnist import train

    start = time.perf_counter()
    summary = train.train_and_evaluate(run, dataset)
    return {
        "workdir": run.workdir,
        "test_accuracy": summary["test_accuracy"],
        "updates": summary["step"] - run.cooldown_at,
        "seconds": time.perf_counter() - start,
    }


def run_seed(
    config: CooldownStudyConfig, seed: int, lengths: list[dict[str, int]], dataset: Any
) -> dict[str, Any]:
    """The separate runs, the stable run and its branches of one seed."""
    root = os.path.join(config.out, "runs", f"seed{seed}")
    warmup = {"init_value": 0.0, "warmup_steps": config.warmup_steps}
    separate = []
    for length in lengths:
        wsd = {**warmup, "decay_steps": length["decay"], "decay_shape": "1-sqrt"}
        run = _base(
            config,
            seed,
            workdir=os.path.join(root, f"wsd_{length['epochs']}"),
            epochs=length["epochs"],
            schedule="warmup_stable_decay",
            schedule_args=json.dumps(wsd),
        )
        separate.append(_train(run, dataset))
    steps_per_epoch = lengths[0]["steps"] // lengths[0]["epochs"]
    stable = _base(
        config,
        seed,
        workdir=os.path.join(root, "stable"),
        epochs=-(-max(length["start"] for length in lengths) // steps_per_epoch),
        schedule="warmup_constant",
        schedule_args=json.dumps(warmup),
        keep_checkpoint_steps=tuple(length["start"] for length in lengths),
    )
    stable_result = _train(stable, dataset)
    branches = [
        _train(
            dataclasses.replace(
                stable,
                workdir=os.path.join(root, f"branch_{length['epochs']}"),
                cooldown_from=stable.workdir,
                cooldown_at=length["start"],
                cooldown_steps=length["decay"],
                cooldown_shape="1-sqrt",
            ),
            dataset,
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
            f"| {length['epochs']} epochs ({length['steps']} updates) | {length['decay']} "
            f"updates from step {length['start']} | {theirs.mean():.2f} +- {theirs.std():.2f} "
            f"| {ours.mean():.2f} +- {ours.std():.2f} | {np.abs(ours - theirs).max():.2f} |"
        )
    separate = sum(r["updates"] for r in seeds[0]["separate"])
    stable = seeds[0]["stable"]["updates"]
    branched = stable + sum(r["updates"] for r in seeds[0]["branches"])
    seconds = [
        np.median([sum(r["seconds"] for r in runs(s)) for s in seeds])
        for runs in (
            lambda s: s["separate"],
            lambda s: [s["stable"], *s["branches"]],
        )
    ]
    rows.append(
        f"| **updates spent per seed** | | {separate} ({seconds[0]:.0f} s) | {branched} = "
        f"{stable} stable + {branched - stable} in cooldowns ({seconds[1]:.0f} s) | |"
    )
    return "\n".join(rows)


def run(config: CooldownStudyConfig) -> dict[str, Any]:
    """Every seed's runs; returns what results.json holds."""
    import jax

    from examples.mnist import data

    start = time.perf_counter()
    shutil.rmtree(os.path.join(config.out, "runs"), ignore_errors=True)
    dataset = data.load(
        config.dataset, config.data_dir, False, config.train_examples, config.test_examples
    )
    lengths = plan(config, len(dataset.train_images) // config.batch_size)
    seeds = [run_seed(config, seed, lengths, dataset) for seed in range(config.seeds)]
    return {
        "config": dataclasses.asdict(config),
        "command": "python -m examples.mnist.cooldown_study " + " ".join(sys.argv[1:]),
        "jax_version": jax.__version__,
        "num_train": len(dataset.train_images),
        "num_test": len(dataset.test_images),
        "lengths": lengths,
        "seeds": seeds,
        "wall_seconds": time.perf_counter() - start,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the comparison and writes its outputs; returns the exit status."""
    config, namespace = flags.parse(
        CooldownStudyConfig,
        argv,
        prog="python -m examples.mnist.cooldown_study",
        description=__doc__.split("\n\n")[0],
        choices=configs.CHOICES,
        extra=flags.add_replot,
    )
    if namespace.replot:
        report = outputs.read_results(config.out)
    else:
        from examples.mnist import cooldown, data, train

        try:
            report = run(config)
        except (ValueError, data.DataError, train.TrainingError, cooldown.BranchError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        outputs.write_results(config.out, report)
    text = table(report)
    outputs.write_table(config.out, text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
