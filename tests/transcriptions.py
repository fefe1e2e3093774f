"""NumPy transcriptions (float64) of peers' schedule code that several test modules compare
jaxsched with: optax's join and linear and cosine pieces as levanter calls them, and levanter's
`lr_scheduler`. Each keeps the peer's integer conversions; its source is named in its docstring.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def join(pieces: list, boundaries: list, t: np.ndarray) -> np.ndarray:
    """optax.join_schedules: piece i from boundaries[i - 1] on, counted from there."""
    out = pieces[0](t)
    for boundary, piece in zip(boundaries, pieces[1:], strict=False):
        out = np.where(t >= boundary, piece(t - boundary), out)
    return out


def linear(init: float, end: float, steps: float):
    def fn(t):
        if steps <= 0:  # optax logs and returns a constant
            return np.full_like(t, init, dtype=np.float64)
        return init + (end - init) * np.clip(t / steps, 0.0, 1.0)

    return fn


def cosine(init: float, steps: float, alpha: float):
    def fn(t):
        p = np.minimum(t, steps) / steps
        return init * ((1 - alpha) * 0.5 * (1 + np.cos(math.pi * p)) + alpha)

    return fn


def convert_frac_or_steps(x: float, n: int) -> int:
    if x <= 1.0:
        return int(x * n)
    return int(x)


def levanter_schedule(
    learning_rate: float,
    num_train_steps: int,
    *,
    min_lr_ratio: float = 0.1,
    warmup: float = 0.01,
    decay: float | None = None,
    rewarmup: float = 0.0,
    cycles: int | list[int] | None = None,
    lr_schedule: str = "cosine",
):
    """levanter `OptimizerConfig.lr_scheduler` (src/levanter/optim/config.py): cycle points
    from `cycles`, per cycle a linear (re)warmup from the previous end, a stable phase and a
    cosine or linear decay to `min_lr_ratio * learning_rate`, joined with optax semantics."""
    if isinstance(cycles, int):
        points = [int(num_train_steps / cycles * (i + 1)) for i in range(cycles - 1)]
    elif isinstance(cycles, list):
        points = list(cycles)
    else:
        points = []
    points.insert(0, 0)
    if points[-1] != num_train_steps:
        points.append(num_train_steps)
    min_lr = learning_rate * min_lr_ratio
    pieces, boundaries, previous_end = [], [], 0.0
    for k, (start, end) in enumerate(itertools.pairwise(points)):
        cycle_steps = end - start
        warm = convert_frac_or_steps(warmup if k == 0 else rewarmup, cycle_steps)
        if warm != 0:
            pieces.append(linear(previous_end, learning_rate, warm))
            boundaries.append(start + warm)
        decay_steps = (
            convert_frac_or_steps(decay, cycle_steps) if decay is not None else cycle_steps - warm
        )
        stable = cycle_steps - warm - decay_steps
        if stable != 0:
            pieces.append(lambda t: np.full_like(t, learning_rate, dtype=np.float64))
            boundaries.append(start + warm + stable)
        if lr_schedule == "cosine":
            piece = cosine(learning_rate, decay_steps, min_lr_ratio)
        else:
            piece = linear(learning_rate, min_lr, decay_steps)
        previous_end = float(piece(np.asarray(float(decay_steps))))
        pieces.append(piece)
        boundaries.append(end)
    return lambda t: join(pieces, boundaries, np.asarray(t, np.float64)), points
