"""Random configurations of the torch and timm schedulers against jaxsched, in float64.

The golden file pins chosen configurations; this script draws others and compares every step.
It needs the generators' virtualenv (torch, timm, jax, optax), run from the repository root:

    /tmp/golden/bin/python tests/golden/random_parity.py [trials]

It prints each mismatch and exits non-zero if there is one. Covered: torch `ConstantLR`,
`SWALR`, `CyclicLR` with a `scale_fn` in both `scale_mode`s, `LambdaLR`, `MultiplicativeLR`;
timm `CosineLRScheduler` with `cycle_mul` (fractional too), `cycle_decay`, `cycle_limit`,
`k_decay`, `lr_min` and a warmup with or without `warmup_prefix`.
"""

from __future__ import annotations

import random
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import _load_timm_scheduler

import jaxsched

STEPS = 120


def torch_values(make: Callable[[torch.optim.Optimizer], Any], lr: float) -> np.ndarray:
    """The learning rate each of the first STEPS updates uses."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr, momentum=0.9)
    scheduler = make(optimizer)
    values = []
    for _ in range(STEPS):
        values.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.asarray(values)


def timm_cosine_values(lr: float, kwargs: dict[str, Any]) -> np.ndarray:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = _load_timm_scheduler("cosine_lr", "CosineLRScheduler")(optimizer, **kwargs)
    values = []
    for t in range(STEPS):
        scheduler.step(t)
        values.append(optimizer.param_groups[0]["lr"])
    return np.asarray(values)


def trial(rng: random.Random, kind: int) -> tuple[str, np.ndarray, np.ndarray]:
    """(description, jaxsched values, reference values) of one random configuration."""
    lr = rng.choice([0.1, 0.5, 1.0])
    steps = np.arange(STEPS)
    sched = torch.optim.lr_scheduler
    if kind == 0:
        factor, total = max(rng.uniform(0, 1), 1e-3), rng.randint(1, 50)
        expected = torch_values(lambda o: sched.ConstantLR(o, factor, total), lr)
        return (
            f"ConstantLR({factor}, {total})",
            jaxsched.constant_factor(lr, factor, total)(steps),
            expected,
        )
    if kind == 1:
        swa, epochs, strategy = rng.uniform(0, 1), rng.randint(0, 30), rng.choice(["cos", "linear"])
        expected = torch_values(lambda o: torch.optim.swa_utils.SWALR(o, swa, epochs, strategy), lr)
        return (
            f"SWALR({swa}, {epochs}, {strategy})",
            jaxsched.swa(lr, swa, epochs, strategy)(steps),
            expected,
        )
    if kind == 2:
        up, down = rng.randint(1, 10), rng.choice([None, rng.randint(1, 10)])
        mode, gamma = rng.choice(["cycle", "iterations"]), rng.uniform(0.9, 1.0)

        def scale(x: Any) -> Any:
            return gamma**x

        expected = torch_values(
            lambda o: sched.CyclicLR(
                o, 0.01, 0.2, up, down, scale_fn=scale, scale_mode=mode, cycle_momentum=False
            ),
            0.01,
        )
        ours = jaxsched.cyclic(0.01, 0.2, up, down, scale_fn=scale, scale_mode=mode)
        return f"CyclicLR({up}, {down}, {mode}, gamma {gamma})", ours(steps), expected
    if kind == 3:
        a = rng.uniform(0, 0.2)
        expected = torch_values(lambda o: sched.LambdaLR(o, lambda t: 1 / (1 + a * t)), lr)
        ours = jaxsched.lambda_schedule(lambda t, a: 1 / (1 + a * t), lr, {"a": a})
        return f"LambdaLR(1 / (1 + {a} t))", ours(steps), expected
    if kind == 4:
        a = rng.uniform(0, 0.2)
        expected = torch_values(lambda o: sched.MultiplicativeLR(o, lambda t: 1 - a / (1 + t)), lr)
        ours = jaxsched.multiplicative(lambda t, a: 1 - a / (1 + t), STEPS, lr, {"a": a})
        return f"MultiplicativeLR(1 - {a} / (1 + t))", ours(steps), expected
    kwargs = {
        "t_initial": rng.randint(1, 30),
        "cycle_mul": rng.choice([1.0, 2.0, 1.5, 3.0, rng.uniform(1.0, 3.0)]),
        "cycle_decay": rng.uniform(0.3, 1.0),
        "cycle_limit": rng.randint(1, 5),
        "k_decay": rng.choice([1.0, 0.5, 2.0, rng.uniform(0.5, 3)]),
        "lr_min": rng.choice([0.0, 0.001]),
        "warmup_t": rng.choice([0, rng.randint(1, 10)]),
        "warmup_lr_init": rng.choice([0.0, 1e-4]),
        "warmup_prefix": rng.choice([True, False]),
    }
    restarts = jaxsched.cosine_restarts(
        lr,
        kwargs["t_initial"],
        t_mul=kwargs["cycle_mul"],
        end_value=kwargs["lr_min"],
        cycle_limit=kwargs["cycle_limit"],
        cycle_decay=kwargs["cycle_decay"],
        k_decay=kwargs["k_decay"],
    )
    ours = jaxsched.warmup(
        restarts, kwargs["warmup_t"], kwargs["warmup_lr_init"], prefix=kwargs["warmup_prefix"]
    )
    return f"CosineLRScheduler({kwargs})", ours(steps), timm_cosine_values(lr, kwargs)


def main(trials: int) -> int:
    jax.config.update("jax_enable_x64", True)
    warnings.simplefilter("ignore")
    rng = random.Random(0)
    mismatches = 0
    for i in range(trials):
        description, got, expected = trial(rng, i % 6)
        close = np.isclose(np.asarray(got), expected, rtol=1e-9, atol=1e-12)
        if not np.all(close):
            mismatches += 1
            first = int(np.flatnonzero(~close)[0])
            print(f"{description}: step {first}: {got[first]} != {expected[first]}")
    print(f"{trials} configurations, {mismatches} mismatches")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 600))
