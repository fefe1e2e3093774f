"""Trains a Flax NNX model on MNIST or Fashion-MNIST with a jaxsched learning-rate schedule.

    python -m examples.mnist.main --dataset fashion_mnist \
        --data-dir /usr/share/datasets/fashion-mnist --epochs 2 --schedule one_cycle

Writes metrics.jsonl, curves.png and checkpoints/ into --workdir and prints the test accuracy.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
import warnings
from typing import Any

from examples import flags
from examples.mnist import configs


def parse(argv: list[str] | None = None) -> configs.Config:
    """Parses command-line flags into a `Config`; exits with a usage message if they are bad."""
    config, _ = flags.parse(
        configs.Config,
        argv,
        prog="python -m examples.mnist.main",
        description=__doc__.split("\n\n")[0],
        epilog=(
            "schedules: --schedule takes any jaxsched.get name; --schedule-args its other "
            """arguments as JSON, e.g. --schedule warmup_cosine_decay --schedule-args """
            """'{"init_value": 0.0, "warmup_steps": 100}' (decay_steps is the run length """
            "and peak_value --learning-rate unless given)"
        ),
        choices=configs.CHOICES,
    )
    return config


def _warning_line(message: Warning | str, *args: Any, **kwargs: Any) -> str:
    return f"warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    """Runs the trainer; returns the process exit status (128 + the signal after Ctrl-C or
    SIGTERM, as shells report it: 130, 143)."""
    config = parse(argv)
    # Imported after parsing so that --help and flag errors do not wait for JAX.
    import jax

    from examples.mnist import cooldown, data, train, workdir

    # tensorflow-datasets warns through absl about metadata it does not need here; errors
    # still show, and ours say what to do.
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.formatwarning = _warning_line
    start = time.perf_counter()
    try:
        if config.distributed:
            jax.distributed.initialize(
                config.coordinator_address,
                config.num_processes or None,
                config.process_id if config.num_processes else None,
            )
        summary = train.train_and_evaluate(config)
    except (data.DataError, train.TrainingError, workdir.WorkdirError, cooldown.BranchError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # the file system's answer: a folder where a file goes, a full disk
        print(f"error: {e}; check --workdir and --data-dir", file=sys.stderr)
        return 1
    except train.RunInterruptedError as e:
        print(
            f"interrupted ({signal.Signals(e.signum).name}): stopped at step {e.step} and "
            "wrote its checkpoint; continue with the same flags and --resume",
            file=sys.stderr,
        )
        return 128 + e.signum
    except KeyboardInterrupt:
        print("interrupted before training started; nothing written", file=sys.stderr)
        return 130
    if jax.process_index() == 0:
        print(
            f"test accuracy {summary['test_accuracy']:.4f} (test loss "
            f"{summary['test_loss']:.4f}) after {summary['step']} steps in "
            f"{time.perf_counter() - start:.0f} s; metrics and curves in "
            f"{os.path.abspath(config.workdir)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
