"""Trains a Flax NNX model on MNIST or Fashion-MNIST with a jaxsched learning-rate schedule.

    python -m examples.mnist.main --dataset fashion_mnist \
        --data-dir /usr/share/datasets/fashion-mnist --epochs 2 --schedule one_cycle

Writes config.json, metrics.jsonl, curves.png and checkpoints/ into --workdir and prints the
test accuracy.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
import warnings
from collections.abc import Collection
from typing import Any

from examples import flags
from examples.mnist import configs


def parse(argv: list[str] | None = None) -> tuple[configs.Config, Collection[str]]:
    """The `Config` of the command line and the names of the flags given there or in
    `--config`; exits with a one-line error if they are bad."""
    config, namespace = flags.parse(
        configs.Config,
        argv,
        prog="python -m examples.mnist.main",
        description=__doc__,
        epilog=(
            "schedules: --schedule takes any jaxsched.get name; --schedule-args its other "
            """arguments as JSON, e.g. --schedule warmup_cosine_decay --schedule-args """
            """'{"init_value": 0.0, "warmup_steps": 100}' (decay_steps is the run length """
            "and peak_value --learning-rate unless given)"
        ),
    )
    return config, namespace.given


def _warning_line(message: Warning | str, *args: Any, **kwargs: Any) -> str:
    return f"warning: {message}\n"


def _summary(config: configs.Config, summary: dict[str, Any], seconds: float) -> str:
    written = "metrics and curves" if config.plot else "metrics"
    return (
        f"test accuracy {summary['test_accuracy']:.4f} (test loss {summary['test_loss']:.4f}) "
        f"after {summary['step']} steps in {seconds:.0f} s; {written} in "
        f"{os.path.abspath(config.workdir)}"
    )


def main(argv: list[str] | None = None) -> int:
    """Runs the trainer; returns the process exit status (128 + the signal after Ctrl-C or
    SIGTERM, as shells report it: 130, 143)."""
    config, given = parse(argv)
    try:
        config, taken, source = configs.take_unset(config, given)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    # Imported after parsing: --help and flag errors answer in 0.08 s instead of 1.7 s
    # (BUILD_NOTES.md, "The examples' house").
    import jax

    from examples.mnist import cpu_tuning, train

    if config.cpu_tuning:  # before JAX starts its backends (see keep_freed_memory)
        cpu_tuning.keep_freed_memory()
    if taken and jax.process_index() == 0:
        print(f"took {flags.render(taken)}" + (f" from {source}" if source else ""), flush=True)
    # tfds (through absl) and orbax log what the trainer's one-line errors already say.
    logging.getLogger("absl").setLevel(logging.CRITICAL)
    warnings.formatwarning = _warning_line
    start = time.perf_counter()
    try:
        if config.distributed:
            train.initialize(config)
        summary = train.train_and_evaluate(config)
    except train.ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # the file system's answer: a folder where a file goes, a full disk
        print(f"error: {e}; check --workdir and --data-dir", file=sys.stderr)
        return 1
    except train.RunInterruptedError as e:
        print(
            f"interrupted ({signal.Signals(e.signum).name}): stopped at step {e.step} and "
            f"wrote its checkpoint; continue with --workdir {config.workdir} --resume",
            file=sys.stderr,
        )
        return 128 + e.signum
    except KeyboardInterrupt:
        print("interrupted before training started; nothing written", file=sys.stderr)
        return 130
    if jax.process_index() == 0:
        print(_summary(config, summary, time.perf_counter() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
