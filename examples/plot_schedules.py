"""Prints and plots a few jaxsched schedules over one run of 1,000 steps.

python -m examples.plot_schedules [--steps 1000] [--out out/schedules.png]
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

import jaxsched
from examples import flags


def catalogue(total_steps: int) -> dict[str, jaxsched.Schedule]:
    """A tour of the catalogue, every schedule peaking at 0.1 over `total_steps`."""
    peak = 0.1
    return {
        "step_decay": jaxsched.step_decay(peak, step_size=total_steps // 3, decay_rate=0.3),
        "exponential_decay": jaxsched.exponential_decay(peak, 0.01 ** (1 / total_steps)),
        "warmup_cosine_decay": jaxsched.warmup_cosine_decay(
            0.0, peak, total_steps // 10, total_steps
        ),
        "cosine_restarts": jaxsched.cosine_restarts(peak, total_steps // 7, t_mul=2.0),
        "cyclic (triangular2)": jaxsched.cyclic(
            peak / 10, peak, total_steps // 8, mode="triangular2"
        ),
        "one_cycle": jaxsched.one_cycle(peak, total_steps),
        "warmup_stable_decay (1-sqrt)": jaxsched.warmup_stable_decay(
            peak, total_steps, total_steps // 20, total_steps // 5, decay_shape="1-sqrt"
        ),
        "inverse_sqrt": jaxsched.inverse_sqrt(peak, total_steps // 20),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = flags.ArgumentParser(prog="python -m examples.plot_schedules", description=__doc__)
    parser.add_argument("--steps", type=int, default=1000, help="the run's length in steps")
    parser.add_argument("--out", default="out/schedules.png", help="the PNG to write")
    args = parser.parse_args(argv)

    schedules = catalogue(args.steps)
    at = np.linspace(0, args.steps - 1, 6).astype(int)
    print(f"{'schedule':30s}" + "".join(f"{f'step {s}':>12s}" for s in at))
    for name, schedule in schedules.items():
        print(f"{name:30s}" + "".join(f"{v:12.5f}" for v in np.asarray(schedule(at))))
    jaxsched.plot(schedules, args.steps, args.out, title="jaxsched schedules")
    print(f"plot: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
