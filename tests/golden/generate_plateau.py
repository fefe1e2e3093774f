"""Writes plateau.json: torch `ReduceLROnPlateau` learning rates over many metric sequences.

Run with an interpreter that has torch (it is not needed at test time):

    /tmp/golden/bin/python tests/golden/generate_plateau.py

Each case records the settings (in jaxsched's names), the metrics and the learning rate after
each `scheduler.step(metric)`. Metrics are float32-representable so that jaxsched, which works
in float32, sees the same numbers; none sits within float32 rounding of the threshold. NaN
and +inf (-inf in "max" mode) are included: torch counts them as not an improvement, as
jaxsched does. An infinity in the improving direction is left out, on purpose: there torch
stores it as the best metric and jaxsched does not (see `jaxsched.reduce_on_plateau`).
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
import torch

SEQUENCE_LENGTH = 40


def torch_values(settings: dict, metrics: list[float]) -> list[float]:
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=settings["init_value"])
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer,
        mode=settings["mode"],
        factor=settings["factor"],
        patience=settings["patience"],
        threshold=settings["threshold"],
        threshold_mode=settings["threshold_mode"],
        cooldown=settings["cooldown"],
        min_lr=settings["min_value"],
        eps=settings["eps"],
    )
    values = []
    for metric in metrics:
        optimizer.step()
        scheduler.step(metric)
        values.append(float(optimizer.param_groups[0]["lr"]))
    return values


def as_float32(values: np.ndarray) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float32)]


def sequences(rng: np.random.Generator, mode: str) -> dict[str, list[float]]:
    n = SEQUENCE_LENGTH
    sign = 1.0 if mode == "min" else -1.0
    noise = rng.normal(size=n)
    decreasing = 2.0 * np.exp(-np.arange(n) / 8.0)
    worse = math.inf * sign
    with_bad = sign * decreasing + 0.05 * noise
    with_bad[[5, 17, 18]] = [math.nan, worse, math.nan]
    return {
        "noisy_decrease": as_float32(sign * decreasing + 0.05 * noise),
        "noisy_decrease_negative": as_float32(sign * decreasing - 5.0 + 0.05 * noise),
        "stalling": as_float32(sign * np.maximum(decreasing, 0.6) + 0.01 * noise),
        "flat": as_float32(np.full(n, 0.5 * sign)),
        "flat_negative": as_float32(np.full(n, -1.5)),
        "flat_zero": as_float32(np.zeros(n)),
        "random_walk": as_float32(np.cumsum(0.1 * noise)),
        "tiny_improvements": as_float32(sign * (1.0 - 3e-5 * np.arange(n))),
        "alternating": as_float32(sign * (1.0 + 0.2 * (np.arange(n) % 2) - 0.01 * np.arange(n))),
        "with_nan_and_inf": [float(v) for v in with_bad.astype(np.float32)],
        "all_nan": [math.nan] * 12,
    }


def main() -> None:
    rng = np.random.default_rng(20240601)
    base = dict(
        init_value=1.0,
        factor=0.1,
        patience=10,
        threshold=1e-4,
        threshold_mode="rel",
        mode="min",
        cooldown=0,
        min_value=0.0,
        eps=1e-8,
    )
    variants = [
        {},
        {"patience": 0},
        {"patience": 2, "factor": 0.5},
        {"patience": 3, "factor": 0.5, "cooldown": 2},
        {"patience": 1, "factor": 0.5, "cooldown": 4, "threshold": 0.0},
        {"patience": 2, "threshold_mode": "abs", "threshold": 0.05},
        {"patience": 2, "threshold_mode": "abs", "threshold": 0.0, "factor": 0.3},
        {"patience": 1, "threshold": 0.01, "factor": 0.5, "min_value": 0.1},
        {"patience": 0, "factor": 0.5, "init_value": 1e-7, "eps": 1e-8},
        {"patience": 0, "factor": 0.0},
        {"patience": 2, "factor": 0.5, "init_value": 0.03, "min_value": 0.004, "cooldown": 1},
    ]
    cases = []
    for mode in ("min", "max"):
        for variant in variants:
            settings = {**base, **variant, "mode": mode}
            for name, metrics in sequences(rng, mode).items():
                cases.append(
                    {
                        "sequence": name,
                        "settings": settings,
                        "metrics": metrics,
                        "values": torch_values(settings, metrics),
                    }
                )
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plateau.json")
    with open(path, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, indent=None)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {path}")


if __name__ == "__main__":
    main()
