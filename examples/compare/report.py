"""The study's and time to accuracy's tables and figures, from their results.json alone.

Plain Python, NumPy and matplotlib: no JAX.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

# What each schedule recipe of `recipes.build` gives, in the order of the table's rows.
DESCRIPTIONS = {
    "constant": "constant",
    "step_decay": "step_decay: x0.3 every third of the run",
    "multistep_decay": "multistep_decay: x0.1 at 50% and 75%",
    "exponential_decay": "exponential_decay: to 1% at the end",
    "cosine_decay": "cosine_decay to 0",
    "warmup_cosine_decay": "warmup_cosine_decay: warmup 10% + cosine",
    "cosine_restarts": "cosine_restarts (SGDR, t_mul=2, 3 cycles)",
    "cyclic": "cyclic triangular2 (LR/10 to LR, 4 cycles)",
    "one_cycle": "one_cycle + cycled momentum 0.95-0.85",
    "warmup_stable_decay": "warmup_stable_decay: warmup 5%, 1-sqrt cooldown 20%",
    "inverse_sqrt": "inverse_sqrt, warmup 10%",
    "reduce_on_plateau": "reduce_on_plateau (val loss, x0.3, patience 0)",
    "warmup": "warmup 5%, then constant",
}
LR_FIND_DESCRIPTION = "constant at lr_find's valley"
CHANCE = 0.2  # a final test accuracy below this on 10 balanced classes: the run is broken


def markdown_table(
    header: Sequence[str], rows: Iterable[Sequence[str]], align: str = ""
) -> list[str]:
    """The lines of a Markdown table; `align` holds an "r" for each right-aligned column."""
    rule = "".join("---:|" if a == "r" else "---|" for a in align.ljust(len(header), "l"))
    return [f"| {' | '.join(header)} |", "|" + rule, *(f"| {' | '.join(row)} |" for row in rows)]


def describe(run: dict[str, Any]) -> str:
    """The schedule column of a run."""
    if run["from_lr_find"]:
        return LR_FIND_DESCRIPTION
    return DESCRIPTIONS.get(run["recipe"], run["recipe"])


def failed(run: dict[str, Any]) -> bool:
    """Diverged (a non-finite training loss) or stuck near chance at the end."""
    return bool(run["diverged"] or run["evals"][-1]["test_accuracy"] < CHANCE)


def _std(values: Any) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def _header(study: dict[str, Any]) -> list[str]:
    config = study["config"]
    # A group is one (optimizer, size, compile time): lr_find rows share the constant group.
    groups = {(r["optimizer"], r["group_size"], r["compile_seconds"]) for r in study["runs"]}
    compile_total = sum(seconds for _, _, seconds in groups)
    return [
        f"**{config['dataset']}, {config['model']}**: {study['num_train']:,} training images "
        f"({study['num_validation']:,} more held out as validation for reduce-on-plateau), "
        f"{config['epochs']} epochs x {study['steps_per_epoch']} updates at batch "
        f"{config['batch_size']}; test accuracy on {study['num_test']:,} test images after the "
        "last epoch (schedule-free runs at their averaged weights), final train loss the mean "
        "over the last epoch's updates; mean +- std over "
        f"seeds 0..{config['seeds'] - 1}. SGD momentum {config['momentum']}. "
        f"{study['machine']}, JAX {study['jax_version']}; whole study "
        f"{study['wall_seconds'] / 60:.1f} min wall ({compile_total:.0f} s of it compiling).",
        "",
        "`train s/run`: training wall time of the run's group divided by its number of runs "
        "(evaluation and compilation excluded). `failed`: seeds whose training loss became "
        f"NaN/inf or whose final test accuracy is below {CHANCE:.0%} (stuck at chance). The best "
        "mean per optimizer is in bold.",
        "",
    ]


def table(study: dict[str, Any]) -> str:
    """The Markdown table, one row per configuration (optimizer, recipe, learning rate) with
    statistics over seeds, the best mean per optimizer in bold; the budget in its header."""
    configurations: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for run in study["runs"]:
        key = (run["optimizer"], run["recipe"], run["learning_rate"], run["from_lr_find"])
        configurations.setdefault(key, []).append(run)
    rows: list[tuple[float, list[str]]] = []
    best: dict[str, float] = {}
    for (optimizer, _, learning_rate, _), runs in configurations.items():
        accuracy = np.array([r["evals"][-1]["test_accuracy"] for r in runs])
        loss = np.array([r["evals"][-1]["train_loss"] for r in runs])
        seconds = np.mean([r["evals"][-1]["train_seconds"] / r["group_size"] for r in runs])
        best[optimizer] = max(best.get(optimizer, -1.0), accuracy.mean())
        rows.append((accuracy.mean(), [optimizer, describe(runs[0]), f"{learning_rate:.3g}",
                     f"{100 * accuracy.mean():.2f} +- {100 * _std(accuracy):.2f}",
                     f"{np.mean(loss):.4f} +- {_std(loss):.4f}",
                     f"{sum(failed(r) for r in runs)}/{len(runs)}", f"{seconds:.1f}"]))  # fmt: skip
    cells = [[*c[:3], f"**{c[3]}**" if mean == best[c[0]] else c[3], *c[4:]] for mean, c in rows]
    header = ["optimizer", "schedule", "base LR", "test accuracy %", "final train loss"]
    table = markdown_table([*header, "failed", "train s/run"], cells, "llrrrrr")
    return "\n".join(_header(study) + table) + "\n"


def _label(run: dict[str, Any]) -> str:
    return f"{run['optimizer']} {run['learning_rate']:.3g}"


def _colors(study: dict[str, Any]) -> dict[str, Any]:
    import matplotlib  # here, as in `_pyplot`

    runs = study["runs"]
    labels = list(dict.fromkeys(_label(r) for r in runs if not r["from_lr_find"]))
    labels += list(dict.fromkeys(_label(r) for r in runs if r["from_lr_find"]))
    palette = [matplotlib.colormaps[name](i) for name in ("tab10", "Dark2") for i in range(8)]
    return {label: palette[i % len(palette)] for i, label in enumerate(labels)}


def _pyplot() -> Any:
    import matplotlib  # here: 1.5 s to import, and lr_find_rates and the recipes draw nothing

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, figure: Any, path: str, xlabel: str, ylabel: str) -> None:
    figure.supxlabel(xlabel)
    figure.supylabel(ylabel)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _panels(
    study: dict[str, Any], path: str, draw: Any, labels: tuple[str, str], **legend: Any
) -> None:
    """One panel per schedule, four to a row (AdaGrad and RMSprop join the constant one), each
    filled by `draw(ax, runs, colors)`, one color per optimizer and base LR in every panel."""
    panels: dict[str, list[dict[str, Any]]] = {}
    for run in study["runs"]:
        panels.setdefault(describe(run), []).append(run)
    colors, plt, count = _colors(study), _pyplot(), len(panels)
    columns, rows = min(4, count), math.ceil(count / min(4, count))
    figure, axes = plt.subplots(
        rows, columns, figsize=(4 * columns, 3 * rows), dpi=70, squeeze=False
    )
    for ax in axes.flat[count:]:
        ax.axis("off")
    for ax, (title, runs) in zip(axes.flat, panels.items(), strict=False):
        draw(ax, runs, colors)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7, **legend)
        ax.grid(alpha=0.3)
    _save(plt, figure, path, *labels)


def plot_lr_curves(study: dict[str, Any], path: str) -> None:
    """The learning rate against the update, one panel per schedule, first seed of each."""

    def draw(ax: Any, runs: list[dict[str, Any]], colors: dict[str, Any]) -> None:
        for run in runs:
            if run["seed"] == 0:
                ax.plot(run["lr_steps"], run["lrs"], label=_label(run), color=colors[_label(run)])
        ax.set_yscale("log")

    _panels(study, path, draw, ("update", "learning rate (log)"))


def plot_accuracy(study: dict[str, Any], path: str) -> None:
    """Test accuracy per epoch, one panel per schedule: the mean over the seeds that trained,
    a +-1 std band, and in the legend how many seeds failed (diverged or stuck at chance)."""
    finals = [run["evals"][-1]["test_accuracy"] for run in study["runs"] if not failed(run)]
    low = max(0.0, float(np.percentile(finals, 5)) - 0.1) if finals else 0.0
    top = min(1.0, max(finals) + 0.02) if finals else 1.0

    def draw(ax: Any, runs: list[dict[str, Any]], colors: dict[str, Any]) -> None:
        by_label: dict[str, list[dict[str, Any]]] = {}
        for run in runs:
            by_label.setdefault(_label(run), []).append(run)
        for label, group in by_label.items():
            trained = [r for r in group if not failed(r)]
            dead = len(group) - len(trained)
            legend = f"{label} ({dead} failed)" if dead else label
            if not trained:
                ax.plot([], [], color=colors[label], label=legend)
                continue
            epochs = [e["epoch"] for e in trained[0]["evals"]]
            accuracy = np.array([[e["test_accuracy"] for e in r["evals"]] for r in trained])
            mean, std = accuracy.mean(0), accuracy.std(0, ddof=1 if len(trained) > 1 else 0)
            ax.plot(epochs, mean, marker="o", markersize=3, label=legend, color=colors[label])
            ax.fill_between(epochs, mean - std, mean + std, color=colors[label], alpha=0.2)
        ax.set_ylim(low, top)

    labels = ("epoch", "test accuracy (mean +- std over the seeds that trained)")
    _panels(study, path, draw, labels, loc="lower right")


def study_figures(study: dict[str, Any], out: str) -> None:
    plot_lr_curves(study, os.path.join(out, "lr_curves.png"))
    plot_accuracy(study, os.path.join(out, "accuracy.png"))


def first_at(evals: list[dict[str, float]], target: float) -> dict[str, float] | None:
    """The first evaluation at or above `target` test accuracy, or None."""
    return next((e for e in evals if e["test_accuracy"] >= target), None)


def time_table(report: dict[str, Any], lower_targets: Sequence[float] = (0.85, 0.88)) -> str:
    """The markdown table of time to accuracy: seconds and epochs to the target, and to each
    of `lower_targets` (read from the same runs, which stop at the target)."""
    config = report["config"]
    targets = [t for t in lower_targets if t < config["target"]] + [config["target"]]
    lines = [
        f"**Time to {config['target']:.0%} test accuracy**, {config['dataset']}, "
        f"{config['model']}, {report['num_train']:,} training images, {report['num_test']:,} "
        f"test images evaluated {config['evals_per_epoch']}x per epoch; SGD momentum 0.9, "
        f"batch {config['batch_size']}, peak learning rate {config['learning_rate']}, seed "
        f"{config['seed']}, one run at a time. {report['machine']}, JAX "
        f"{report['jax_version']}; {report['wall_seconds'] / 60:.1f} min wall in all.",
        "",
        "Seconds are training wall time only (compilation and evaluation excluded); a run "
        "stops at its first evaluation at or above the target.",
        "",
    ]
    rows = []
    for r in report["runs"]:
        hits = [first_at(r["evals"], target) for target in targets]
        reached = [f"{h['train_seconds']:.0f} ({h['epoch']:.2f})" if h else "not reached"
                   for h in hits]  # fmt: skip
        rows.append([r["recipe"], str(r["budget_epochs"]), *reached,
                     f"{100 * r['best_accuracy']:.2f}", f"{r['compile_seconds']:.1f}"])  # fmt: skip
    header = ["schedule", "budget (epochs)", *(f"s to {t:.0%} (epochs)" for t in targets)]
    header += ["best test accuracy %", "compile (s)"]
    return "\n".join(lines + markdown_table(header, rows, "lr" + "r" * (len(targets) + 2))) + "\n"


def time_figures(report: dict[str, Any], out: str) -> None:
    """accuracy_vs_time.png: test accuracy against training seconds, one line per run, the
    target dashed."""
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(4, 3), dpi=70)
    figure.set_size_inches(8, 5)  # then 90 dpi: saved at 560 x 350 pixels all the same
    figure.set_dpi(90)
    for r in report["runs"]:
        seconds = [e["train_seconds"] for e in r["evals"]]
        accuracy = [e["test_accuracy"] for e in r["evals"]]
        label = f"{r['recipe']} ({r['budget_epochs']} epochs)"
        ax.plot(seconds, accuracy, marker="o", markersize=3, label=label)
    ax.axhline(report["config"]["target"], color="gray", linestyle="--", linewidth=1)
    ax.grid(alpha=0.3)
    ax.legend()
    xlabel = "training wall time (s, compile and evaluation excluded)"
    _save(plt, figure, os.path.join(out, "accuracy_vs_time.png"), xlabel, "test accuracy")
