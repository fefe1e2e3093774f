"""Time to a target test accuracy: single runs of a few schedules on the whole training set.

    python -m examples.compare.time_to_accuracy --data-dir /usr/share/datasets/fashion-mnist

Each entry of --runs (`family:epochs`) is one run, alone (not vmapped), of the CNN with
SGD-momentum 0.9 at batch 128 whose schedule spans `epochs` epochs; the test set is evaluated
--evals-per-epoch times an epoch and the run stops at the first evaluation at or above
--target. Time to target is training wall time only: compilation and evaluation are
excluded and reported apart. Writes table.md, results.json and accuracy_vs_time.png into
--out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

DEFAULT_RUNS = "one_cycle:2,warmup_cosine:2,exponential:2,constant:2"


def _runs(text: str) -> list[tuple[str, int]]:
    from examples.compare.study import FAMILIES

    runs = []
    for item in text.split(","):
        family, _, epochs = item.strip().partition(":")
        if family not in FAMILIES or not epochs.isdigit() or int(epochs) < 1:
            raise argparse.ArgumentTypeError(
                f"{item!r} is not family:epochs with a family of {', '.join(FAMILIES)}"
            )
        runs.append((family, int(epochs)))
    return runs


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m examples.compare.time_to_accuracy", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--dataset", default="fashion_mnist", choices=("fashion_mnist", "mnist"))
    parser.add_argument("--data-dir", default=None, help="folder of the four IDX files")
    parser.add_argument("--out", default="results/time_to_accuracy")
    parser.add_argument("--runs", type=_runs, default=_runs(DEFAULT_RUNS),
                        help=f"family:epochs,... (default {DEFAULT_RUNS})")  # fmt: skip
    parser.add_argument("--lr", type=float, default=0.1, help="peak learning rate")
    parser.add_argument("--target", type=float, default=0.9, help="target test accuracy")
    parser.add_argument("--evals-per-epoch", type=int, default=4)
    parser.add_argument("--train-examples", type=int, default=0, help="0: all")
    parser.add_argument("--test-examples", type=int, default=0, help="0: all")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--model", default="cnn", choices=("cnn", "mlp"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--conv", default="auto", choices=("auto", "matmul", "native"))
    parser.add_argument(
        "--replot", action="store_true", help="train nothing: redraw from --out/results.json"
    )
    return parser.parse_args(argv)


def run(args: argparse.Namespace, log: Any = print) -> dict[str, Any]:
    """Trains every run of `args.runs`; returns what results.json holds."""
    import jax

    from examples.compare import study, sweep
    from examples.mnist import cpu_tuning, data

    # Before JAX starts its backends (see keep_freed_memory); the sweep's default CPU tuning.
    cpu_tuning.keep_freed_memory()
    start = time.perf_counter()
    dataset = data.load(args.dataset, args.data_dir)
    device_data = sweep.put_data(
        dataset, train_examples=args.train_examples, test_examples=args.test_examples,
        eval_batch_size=500,
    )  # fmt: skip
    num_train = device_data.train_images.shape[0]
    steps_per_epoch = num_train // args.batch_size
    log(
        f"{args.model} on {args.dataset}: {num_train} train / {device_data.num_test} test "
        f"images, target {args.target:.1%}; {study.machine()}; JAX {jax.__version__}"
    )
    results = []
    for family, epochs in args.runs:
        schedule, momentum, plateau = study.make_schedule(family, args.lr, epochs * steps_per_epoch)
        config = sweep.SweepConfig(
            model=args.model, epochs=epochs, batch_size=args.batch_size,
            evals_per_epoch=args.evals_per_epoch, conv=args.conv, stop_at_accuracy=args.target,
        )  # fmt: skip
        momentum = 0.9 if momentum is None else momentum
        one = sweep.Run(family, "sgd", schedule, args.seed, args.lr, momentum, plateau)
        log(f"{family}, {epochs} epochs:")
        (result,) = sweep.train_group([one], device_data, config, log=log)
        hit = _first_at(result.evals, args.target)
        results.append({
            "family": family, "budget_epochs": epochs, "peak_lr": args.lr,
            "schedule": schedule.to_config(), "compile_seconds": result.compile_seconds,
            "seconds_to_target": None if hit is None else hit["train_seconds"],
            "epochs_to_target": None if hit is None else hit["epoch"],
            "best_accuracy": max(e["test_accuracy"] for e in result.evals),
            "evals": result.evals,
        })  # fmt: skip
    return {
        "args": vars(args),
        "machine": study.machine(),
        "jax_version": jax.__version__,
        "num_train": num_train,
        "num_test": device_data.num_test,
        "steps_per_epoch": steps_per_epoch,
        "wall_seconds": time.perf_counter() - start,
        "command": "python -m examples.compare.time_to_accuracy " + " ".join(sys.argv[1:]),
        "runs": results,
    }


def _first_at(evals: list[dict[str, float]], target: float) -> dict[str, float] | None:
    return next((e for e in evals if e["test_accuracy"] >= target), None)


def table(report: dict[str, Any], lower_targets: Sequence[float] = (0.85, 0.88)) -> str:
    """The markdown table: time and epochs to the target, and to each of `lower_targets`.

    The lower targets are read from the same runs' evaluations (a run stops at the target,
    so only targets below it can be read off).
    """
    args = report["args"]
    targets = [t for t in lower_targets if t < args["target"]] + [args["target"]]
    header = " | ".join(f"s to {t:.0%} (epochs)" for t in targets)
    lines = [
        f"**Time to {args['target']:.0%} test accuracy**, {args['dataset']}, {args['model']}, "
        f"{report['num_train']:,} training images, {report['num_test']:,} test images "
        f"evaluated {args['evals_per_epoch']}x per epoch; SGD momentum 0.9, batch "
        f"{args['batch_size']}, peak LR {args['lr']}, seed {args['seed']}, one run at a time. "
        f"{report['machine']}, JAX {report['jax_version']}; "
        f"{report['wall_seconds'] / 60:.1f} min wall in all.",
        "",
        "Seconds are training wall time only (compilation and evaluation excluded); a run "
        "stops at its first evaluation at or above the target.",
        "",
        f"| schedule | budget (epochs) | {header} | best test accuracy % | compile (s) |",
        "|---|---:|" + "---:|" * len(targets) + "---:|---:|",
    ]
    for r in report["runs"]:
        cells = []
        for target in targets:
            hit = _first_at(r["evals"], target)
            cells.append(
                "not reached" if hit is None else f"{hit['train_seconds']:.0f} ({hit['epoch']:.2f})"
            )
        lines.append(
            f"| {r['family']} | {r['budget_epochs']} | {' | '.join(cells)} "
            f"| {100 * r['best_accuracy']:.2f} | {r['compile_seconds']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: str) -> None:
    """Test accuracy against training seconds, one line per run, the target dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(8, 5), dpi=90)
    for r in report["runs"]:
        ax.plot([e["train_seconds"] for e in r["evals"]],
                [e["test_accuracy"] for e in r["evals"]], marker="o", markersize=3,
                label=f"{r['family']} ({r['budget_epochs']} epochs)")  # fmt: skip
    ax.axhline(report["args"]["target"], color="gray", linestyle="--", linewidth=1)
    ax.set_xlabel("training wall time (s, compile and evaluation excluded)")
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)
    ax.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.replot:
        with open(os.path.join(args.out, "results.json")) as f:
            report = json.load(f)
        write_outputs(report, args.out, results=False)
        print(table(report))
        return 0
    from examples.mnist import data

    try:
        report = run(args, log=lambda message: print(message, flush=True))
    except data.DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    write_outputs(report, args.out)
    print(table(report))
    return 0


def write_outputs(report: dict[str, Any], out: str, results: bool = True) -> None:
    """Writes table.md, accuracy_vs_time.png and (if `results`) results.json into `out`."""
    os.makedirs(out, exist_ok=True)
    if results:
        with open(os.path.join(out, "results.json"), "w") as f:
            json.dump(report, f, indent=1)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(table(report))
    plot(report, os.path.join(out, "accuracy_vs_time.png"))


if __name__ == "__main__":
    sys.exit(main())
