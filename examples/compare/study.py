"""Schedules compared: one model, one data budget, many schedules, seeds and base LRs, vmapped.

    python -m examples.compare.study --data-dir /usr/share/datasets/fashion-mnist

Trains the default CNN on Fashion-MNIST (or MNIST) with SGD-momentum under every schedule
family at a moderate and a high base learning rate, Adam under a few of them, the learning
rate that `jaxsched.lr_find` suggests, and AdaGrad and RMSprop at a constant learning rate;
every configuration with several seeds. Runs of one structure train together in one
compiled update under `jax.vmap` (`examples.compare.sweep`). Writes into --out:

  table.md         mean +- std over seeds of the final test accuracy and train loss, time
  results.json     every run: settings, per-epoch metrics, learning-rate curve
  lr_curves.png    the learning rate of every configuration (first seed)
  accuracy.png     test accuracy per epoch, mean and +-1 std band across seeds

The default budget is sized for a 2-core CPU (about 30-45 minutes); `--full` is the whole
training set and more epochs for a GPU, `--smoke` a seconds-long check.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from typing import Any

FAMILIES = (
    "constant",
    "step",
    "multistep",
    "exponential",
    "cosine",
    "warmup_cosine",
    "cosine_restarts",
    "cyclic",
    "one_cycle",
    "wsd",
    "inverse_sqrt",
    "reduce_on_plateau",
)
LR_FIND = "lr_find"
DESCRIPTIONS = {
    "constant": "constant",
    "step": "step: x0.3 every third of the run",
    "multistep": "multistep: x0.1 at 50% and 75%",
    "exponential": "exponential: to 1% at the end",
    "cosine": "cosine to 0",
    "warmup_cosine": "warmup 10% + cosine",
    "cosine_restarts": "cosine restarts (SGDR, t_mul=2, 3 cycles)",
    "cyclic": "cyclic triangular2 (LR/10 to LR, 4 cycles)",
    "one_cycle": "one-cycle + cycled momentum 0.95-0.85",
    "wsd": "WSD: warmup 5%, 1-sqrt cooldown 20%",
    "inverse_sqrt": "inverse-sqrt, warmup 10%",
    "reduce_on_plateau": "reduce-on-plateau (val loss, x0.3, patience 0)",
    LR_FIND: "constant at lr_find's valley",
}

# Flags over the `StudyConfig` defaults (the CPU-sized study).
PRESETS: dict[str, dict[str, Any]] = {
    "full": {
        "train_examples": 0,
        "test_examples": 0,
        "epochs": 10,
        "adam_lrs": (1e-3, 1e-2),
        "adagrad_lrs": (0.01, 0.1),
        "rmsprop_lrs": (1e-3, 1e-2),
        "adam_families": FAMILIES,
    },
    "smoke": {
        "model": "mlp",
        "train_examples": 512,
        "validation_examples": 256,
        "test_examples": 500,
        "epochs": 2,
        "seeds": 2,
        "lr_find_steps": 20,
    },
}


@dataclasses.dataclass(frozen=True)
class StudyConfig:
    """Everything the study depends on; each field is a command-line flag.

    Attributes:
      dataset: "fashion_mnist" or "mnist".
      data_dir: a folder of the four IDX files (or a tensorflow-datasets data dir).
      out: where table.md, results.json and the PNGs go.
      model: "cnn" or "mlp".
      train_examples: training images used (0: all that the validation set leaves).
      validation_examples: the last this many training images, held out as the validation
        set that reduce-on-plateau watches (the test set is never used for decisions).
      test_examples: the first this many test images are the test set (0: all).
      epochs: the epoch budget of every run.
      batch_size: examples per update.
      seeds: seeds 0 .. seeds-1 for every configuration.
      sgd_lrs, adam_lrs, adagrad_lrs, rmsprop_lrs: base learning rates per optimizer.
      families: the schedule families for SGD with momentum.
      adam_families: the schedule families for Adam.
      momentum: SGD's momentum (one-cycle cycles it between 0.85 and 0.95 instead).
      lr_find_steps: updates of the lr_find range test (0 skips the lr_find rows).
      conv: how the vmapped CNN computes its convolutions ("auto", "matmul", "native").
      max_group_size: at most this many runs per compiled group (0: all runs of a structure).
      vmap_size: runs per `jax.vmap` inside a group (0: one on CPU, the whole group
        elsewhere; see `sweep.resolve_vmap_size`).
      eval_batch_size: test images per evaluation chunk; all runs of a group see a chunk at
        once, so the activations scale with this times the group size.
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
    sgd_lrs: tuple[float, ...] = (0.05, 0.3)
    adam_lrs: tuple[float, ...] = (1e-3,)
    adagrad_lrs: tuple[float, ...] = (0.01,)
    rmsprop_lrs: tuple[float, ...] = (1e-3,)
    families: tuple[str, ...] = FAMILIES
    adam_families: tuple[str, ...] = ("constant", "warmup_cosine", "one_cycle")
    momentum: float = 0.9
    lr_find_steps: int = 100
    conv: str = "auto"
    max_group_size: int = 0
    vmap_size: int = 0
    eval_batch_size: int = 250


def make_schedule(family: str, lr: float, total_steps: int) -> tuple[Any, Any, Any]:
    """(learning-rate schedule, momentum schedule or None, plateau or None) of a family.

    Every horizon is a share of `total_steps`, so a longer budget stretches the schedule.
    """
    import jaxsched

    t = total_steps
    momentum, plateau = None, None
    schedule: jaxsched.Schedule
    if family == "constant" or family == LR_FIND:
        schedule = jaxsched.constant(lr)
    elif family == "step":
        schedule = jaxsched.step_decay(lr, step_size=max(1, math.ceil(t / 3)), decay_rate=0.3)
    elif family == "multistep":
        schedule = jaxsched.multistep_decay(lr, milestones=(t // 2, 3 * t // 4), decay_rate=0.1)
    elif family == "exponential":
        schedule = jaxsched.exponential_decay(lr, decay_rate=0.01, transition_steps=t)
    elif family == "cosine":
        schedule = jaxsched.cosine_decay(lr, decay_steps=t)
    elif family == "warmup_cosine":
        schedule = jaxsched.warmup_cosine_decay(
            0.0, lr, warmup_steps=max(1, t // 10), decay_steps=t
        )
    elif family == "cosine_restarts":
        schedule = jaxsched.cosine_restarts(lr, first_decay_steps=max(1, t // 7), t_mul=2.0)
    elif family == "cyclic":
        schedule = jaxsched.cyclic(lr / 10, lr, step_size_up=max(1, t // 8), mode="triangular2")
    elif family == "one_cycle":
        schedule = jaxsched.one_cycle(lr, total_steps=t)
        momentum = jaxsched.one_cycle_momentum(total_steps=t)
    elif family == "wsd":
        schedule = jaxsched.warmup_stable_decay(
            peak_value=lr,
            total_steps=t,
            warmup_steps=max(1, t // 20),
            decay_steps=max(1, t // 5),
            decay_shape="1-sqrt",
        )
    elif family == "inverse_sqrt":
        schedule = jaxsched.inverse_sqrt(peak_value=lr, warmup_steps=max(1, t // 10))
    elif family == "reduce_on_plateau":
        schedule = jaxsched.constant(lr)
        plateau = jaxsched.reduce_on_plateau(factor=0.3, patience=0)
    else:
        raise ValueError(f"unknown schedule family {family!r}; known: {', '.join(FAMILIES)}")
    return schedule, momentum, plateau


def build_runs(config: StudyConfig, total_steps: int, found_lrs: dict[str, float]) -> list[Any]:
    """Every run of the study: optimizer x family x base LR x seed."""
    from examples.compare.sweep import Run

    plan: list[tuple[str, str, float]] = []
    for optimizer, families, lrs in (
        ("sgd", config.families, config.sgd_lrs),
        ("adam", config.adam_families, config.adam_lrs),
    ):
        plan += [(optimizer, family, lr) for family in families for lr in lrs]
        if optimizer in found_lrs:
            plan.append((optimizer, LR_FIND, found_lrs[optimizer]))
    plan += [("adagrad", "constant", lr) for lr in config.adagrad_lrs]
    plan += [("rmsprop", "constant", lr) for lr in config.rmsprop_lrs]
    runs = []
    for optimizer, family, lr in plan:
        schedule, momentum, plateau = make_schedule(family, lr, total_steps)
        if momentum is None and optimizer == "sgd":
            momentum = config.momentum
        for seed in range(config.seeds):
            runs.append(
                Run(family, optimizer, schedule, seed, lr, momentum=momentum, plateau=plateau)
            )
    return runs


def machine() -> str:
    """The CPU model and core count, or the accelerator, in words."""
    import jax

    device = jax.devices()[0]
    if device.platform != "cpu":
        return f"{len(jax.devices())} x {device.device_kind}"
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores (CPU backend)"


def _subsample(values: Any, points: int = 200) -> list[float]:
    import numpy as np

    values = np.asarray(values, np.float64)
    if values.size <= points:
        return values.tolist()
    index = np.unique(np.linspace(0, values.size - 1, points).round().astype(int))
    return values[index].tolist()


def run_study(config: StudyConfig, log: Any = print) -> dict[str, Any]:
    """Runs the study and returns what results.json holds (without writing anything)."""
    import jax

    from examples.compare import sweep
    from examples.mnist import cpu_tuning, data

    # Before JAX starts its backends (see keep_freed_memory); the sweep's default CPU tuning.
    cpu_tuning.keep_freed_memory()
    start = time.perf_counter()
    dataset = data.load(config.dataset, config.data_dir)
    device_data = sweep.put_data(
        dataset,
        train_examples=config.train_examples,
        validation_examples=config.validation_examples,
        test_examples=config.test_examples,
        eval_batch_size=config.eval_batch_size,
    )
    num_train = device_data.train_images.shape[0]
    steps_per_epoch = num_train // config.batch_size
    total_steps = config.epochs * steps_per_epoch
    sweep_config = sweep.SweepConfig(
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
        f"{steps_per_epoch} updates; {machine()}; JAX {jax.__version__}"
    )
    found: dict[str, float] = {}
    lr_find_info: dict[str, Any] = {}
    if config.lr_find_steps:
        for optimizer in ("sgd", "adam"):
            families = config.families if optimizer == "sgd" else config.adam_families
            if not families:
                continue
            lr, result = sweep.suggest_lr(
                optimizer,
                device_data,
                sweep_config,
                seed=0,
                num_steps=config.lr_find_steps,
                momentum=config.momentum if optimizer == "sgd" else None,
            )
            found[optimizer] = lr
            lr_find_info[optimizer] = {
                "suggestions": result.suggestions,
                "diverged": result.diverged,
                "steps": len(result.lrs),
            }
            log(f"lr_find ({optimizer}): valley {lr:.3g}, suggestions {result.suggestions}")
    runs = build_runs(config, total_steps, found)
    groups = sweep.group_by_structure(runs, config.max_group_size)
    log(f"{len(runs)} runs in {len(groups)} groups")
    results = sweep.train_all(runs, device_data, sweep_config, log=log)
    wall = time.perf_counter() - start
    return {
        "config": dataclasses.asdict(config),
        "machine": machine(),
        "jax_version": jax.__version__,
        "backend": jax.default_backend(),
        "command": "python -m examples.compare.study " + " ".join(sys.argv[1:]),
        "num_train": num_train,
        "num_validation": device_data.num_val,
        "num_test": device_data.num_test,
        "steps_per_epoch": steps_per_epoch,
        "wall_seconds": wall,
        "lr_find": lr_find_info,
        "runs": [
            {
                "family": r.run.family,
                "optimizer": r.run.optimizer,
                "base_lr": r.run.base_lr,
                "seed": r.run.seed,
                "diverged": r.diverged,
                "group_size": r.group_size,
                "compile_seconds": r.compile_seconds,
                "schedule": r.run.learning_rate.to_config(),
                "evals": r.evals,
                "lr_steps": _subsample(range(len(r.lrs))),
                "lrs": _subsample(r.lrs),
            }
            for r in results
        ],
    }


def summarise(study: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per configuration (optimizer, family, base LR): statistics over seeds."""
    import numpy as np

    rows: dict[tuple[str, str, float], list[dict[str, Any]]] = {}
    for run in study["runs"]:
        rows.setdefault((run["optimizer"], run["family"], run["base_lr"]), []).append(run)
    summary = []
    for (optimizer, family, lr), runs in rows.items():
        accuracy = np.array([r["evals"][-1]["test_accuracy"] for r in runs])
        loss = np.array([r["evals"][-1]["train_loss"] for r in runs])
        seconds = [r["evals"][-1]["train_seconds"] / r["group_size"] for r in runs]
        summary.append(
            {
                "optimizer": optimizer,
                "family": family,
                "base_lr": lr,
                "seeds": len(runs),
                "accuracy_mean": float(accuracy.mean()),
                "accuracy_std": _std(accuracy),
                "train_loss_mean": float(np.mean(loss)),
                "train_loss_std": _std(loss),
                "failed": sum(_failed(r) for r in runs),
                "seconds_per_run": float(np.mean(seconds)),
            }
        )
    return summary


CHANCE = 0.2  # a final test accuracy below this on 10 balanced classes: the run is broken


def _failed(run: dict[str, Any]) -> bool:
    """Diverged (a non-finite training loss) or stuck near chance at the end."""
    return bool(run["diverged"] or run["evals"][-1]["test_accuracy"] < CHANCE)


def _std(values: Any) -> float:
    import numpy as np

    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def table(study: dict[str, Any]) -> str:
    """The markdown table of `summarise`, with the budget and machine in its header."""
    config = study["config"]
    rows = summarise(study)
    # A group is one (optimizer, size, compile time): lr_find rows share the constant group.
    groups = {(r["optimizer"], r["group_size"], r["compile_seconds"]) for r in study["runs"]}
    compile_total = sum(seconds for _, _, seconds in groups)
    lines = [
        f"**{config['dataset']}, {config['model']}**: {study['num_train']:,} training images "
        f"({study['num_validation']:,} more held out as validation for reduce-on-plateau), "
        f"{config['epochs']} epochs x {study['steps_per_epoch']} updates at batch "
        f"{config['batch_size']}; test accuracy on {study['num_test']:,} test images after the "
        "last epoch, final train loss the mean over the last epoch's updates; mean +- std over "
        f"seeds 0..{config['seeds'] - 1}. SGD momentum "
        f"{config['momentum']}. {study['machine']}, JAX {study['jax_version']}; whole study "
        f"{study['wall_seconds'] / 60:.1f} min wall ({compile_total:.0f} s of it compiling).",
        "",
        "`train s/run`: training wall time of the run's group divided by its number of runs "
        "(evaluation and compilation excluded). `failed`: seeds whose training loss became "
        f"NaN/inf or whose final test accuracy is below {CHANCE:.0%} (stuck at chance). The best "
        "mean per optimizer is in bold.",
        "",
        "| optimizer | schedule | base LR | test accuracy % | final train loss | failed "
        "| train s/run |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    best: dict[str, float] = {}
    for row in rows:
        if row["optimizer"] not in best or row["accuracy_mean"] > best[row["optimizer"]]:
            best[row["optimizer"]] = row["accuracy_mean"]
    for row in rows:
        accuracy = f"{100 * row['accuracy_mean']:.2f} +- {100 * row['accuracy_std']:.2f}"
        if row["accuracy_mean"] == best[row["optimizer"]]:
            accuracy = f"**{accuracy}**"
        lines.append(
            f"| {row['optimizer']} | {DESCRIPTIONS.get(row['family'], row['family'])} "
            f"| {row['base_lr']:.3g} | {accuracy} "
            f"| {row['train_loss_mean']:.4f} +- {row['train_loss_std']:.4f} "
            f"| {row['failed']}/{row['seeds']} | {row['seconds_per_run']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def _label(run: dict[str, Any]) -> str:
    return f"{run['optimizer']} {run['base_lr']:.3g}"


def _colors(study: dict[str, Any]) -> dict[str, Any]:
    """One color per optimizer and base LR, the same in every panel."""
    import matplotlib

    labels = list(dict.fromkeys(_label(run) for run in study["runs"] if run["family"] != LR_FIND))
    labels += list(dict.fromkeys(_label(run) for run in study["runs"] if run["family"] == LR_FIND))
    palette = [matplotlib.colormaps[name](i) for name in ("tab10", "Dark2") for i in range(8)]
    return {label: palette[i % len(palette)] for i, label in enumerate(labels)}


def _panels(study: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Runs grouped into one panel per family; AdaGrad and RMSprop join the constant panel."""
    panels: dict[str, list[dict[str, Any]]] = {}
    for run in study["runs"]:
        panels.setdefault(run["family"], []).append(run)
    return list(panels.items())


def _grid(plt: Any, count: int) -> tuple[Any, Any]:
    """A figure with `count` panels, four to a row."""
    columns = 4
    rows = math.ceil(count / columns)
    return plt.subplots(rows, columns, figsize=(16, 3 * rows), dpi=70, squeeze=False)


def plot_lr_curves(study: dict[str, Any], path: str) -> None:
    """The learning rate against the update, one panel per family, first seed of each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = _panels(study)
    colors = _colors(study)
    figure, axes = _grid(plt, len(panels))
    for ax, (family, runs) in zip(axes.flat, panels, strict=False):
        for run in runs:
            if run["seed"] == 0:
                ax.plot(run["lr_steps"], run["lrs"], label=_label(run), color=colors[_label(run)])
        ax.set_yscale("log")
        ax.set_title(DESCRIPTIONS.get(family, family), fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    figure.supxlabel("update")
    figure.supylabel("learning rate (log)")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def plot_accuracy(study: dict[str, Any], path: str) -> None:
    """Test accuracy per epoch: mean over seeds, +-1 std band, one panel per family."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    panels = _panels(study)
    colors = _colors(study)
    figure, axes = _grid(plt, len(panels))
    finals = [run["evals"][-1]["test_accuracy"] for run in study["runs"] if not _failed(run)]
    low = max(0.0, float(np.percentile(finals, 5)) - 0.1) if finals else 0.0
    top = min(1.0, max(finals) + 0.02) if finals else 1.0
    for ax, (family, runs) in zip(axes.flat, panels, strict=False):
        by_label: dict[str, list[dict[str, Any]]] = {}
        for run in runs:
            by_label.setdefault(_label(run), []).append(run)
        for label, group in by_label.items():
            epochs = [e["epoch"] for e in group[0]["evals"]]
            accuracy = np.array([[e["test_accuracy"] for e in r["evals"]] for r in group])
            mean, std = accuracy.mean(0), accuracy.std(0, ddof=1 if len(group) > 1 else 0)
            color = colors[label]
            ax.plot(epochs, mean, marker="o", markersize=3, label=label, color=color)
            ax.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.2)
        ax.set_ylim(low, top)
        ax.set_title(DESCRIPTIONS.get(family, family), fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    figure.supxlabel("epoch")
    figure.supylabel("test accuracy (mean +- std over seeds)")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def write_outputs(study: dict[str, Any], out: str, results: bool = True) -> None:
    """Writes table.md, lr_curves.png, accuracy.png and (if `results`) results.json."""
    os.makedirs(out, exist_ok=True)
    if results:
        with open(os.path.join(out, "results.json"), "w") as f:
            json.dump(study, f)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(table(study))
    plot_lr_curves(study, os.path.join(out, "lr_curves.png"))
    plot_accuracy(study, os.path.join(out, "accuracy.png"))


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(",") if x.strip())


def _names(text: str) -> tuple[str, ...]:
    names = tuple(x.strip() for x in text.split(",") if x.strip())
    for name in names:
        if name not in FAMILIES:
            raise argparse.ArgumentTypeError(f"{name!r} is not one of {', '.join(FAMILIES)}")
    return names


def parse(argv: Sequence[str] | None = None) -> StudyConfig:
    """The flags: a preset (default, --full or --smoke), then any explicit flag over it."""
    args = vars(_parser().parse_args(argv))
    args.pop("replot")
    return _config(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m examples.compare.study", description=__doc__.split("\n\n")[0]
    )
    preset = parser.add_mutually_exclusive_group()
    preset.add_argument(
        "--full",
        action="store_true",
        help="all training data, 10 epochs, more Adam families and LRs (for a GPU)",
    )
    preset.add_argument(
        "--smoke",
        action="store_true",
        help="an MLP on a few hundred images, 2 epochs, 2 seeds: a check that everything runs",
    )
    parser.add_argument("--dataset", default="fashion_mnist", choices=("fashion_mnist", "mnist"))
    parser.add_argument("--data-dir", default=None, help="folder of the four IDX files")
    parser.add_argument("--out", default="results/study")
    parser.add_argument("--model", choices=("cnn", "mlp"))
    for name in (
        "train-examples",
        "validation-examples",
        "test-examples",
        "epochs",
        "batch-size",
        "seeds",
        "lr-find-steps",
        "eval-batch-size",
        "max-group-size",
        "vmap-size",
    ):
        parser.add_argument(f"--{name}", type=int)
    for name in ("sgd-lrs", "adam-lrs", "adagrad-lrs", "rmsprop-lrs"):
        parser.add_argument(f"--{name}", type=_floats, help="comma-separated")
    parser.add_argument("--families", type=_names, help="SGD families, comma-separated")
    parser.add_argument("--adam-families", type=_names, help="Adam families, comma-separated")
    parser.add_argument("--momentum", type=float)
    parser.add_argument("--conv", choices=("auto", "matmul", "native"))
    parser.add_argument(
        "--replot", action="store_true", help="train nothing: redraw from --out/results.json"
    )
    return parser


def _config(args: dict[str, Any]) -> StudyConfig:
    """The `StudyConfig` of parsed flags: the preset, then every flag that was given."""
    values: dict[str, Any] = {}
    for name in ("full", "smoke"):
        if args.pop(name):
            values.update(PRESETS[name])
    values.update({k: v for k, v in args.items() if v is not None})
    return StudyConfig(**values)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the study and writes its outputs; returns the exit status."""
    args = vars(_parser().parse_args(argv))
    replot = args.pop("replot")
    config = _config(args)
    if replot:
        with open(os.path.join(config.out, "results.json")) as f:
            study = json.load(f)
        write_outputs(study, config.out, results=False)
        print(table(study))
        return 0
    from examples.mnist import data

    try:
        study = run_study(config, log=lambda message: print(message, flush=True))
    except data.DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    write_outputs(study, config.out)
    print(table(study))
    print(
        f"wrote {config.out}/table.md, results.json, lr_curves.png, accuracy.png in "
        f"{study['wall_seconds']:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
