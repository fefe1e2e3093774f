"""Specs, `(name, kwargs)` with nested specs for the combinators: building a spec's schedule,
its key steps and horizon, the steps to evaluate it at, and comparing values with the float64
NumPy oracle in `reference.py`.

Schedules go through the module-level jitted `evaluate`, which takes the schedule as an
argument (structure-equal schedules share one compile), and steps are always padded to
`N_STEPS` so that the step shape never triggers a new compile.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import pytest

import jaxsched
from tests import reference
from tests.reference import Spec, is_spec

N_STEPS = 256
F32_WINDOW = 2.0**-17  # relative step window within which float32 may resolve a jump
F64_WINDOW = 2.0**-40
WINDOW_POINTS = np.linspace(-1.0, 1.0, 33)
RTOL, ATOL = 1e-5, 1e-6  # float32 tolerances; ATOL is relative to the scale of the values


def _make_schedule(name: str, kwargs: dict[str, Any]) -> jaxsched.Schedule:
    if name == "product":
        return jaxsched.product(*kwargs["schedules"])
    return getattr(jaxsched, name)(**kwargs)


def build(spec: Spec) -> jaxsched.Schedule:
    """The jaxsched schedule for a spec; the reference is `reference.build(spec)`."""
    return reference.build(spec, _make_schedule)


@jax.jit
def evaluate(schedule: jaxsched.Schedule, steps: jax.Array) -> jax.Array:
    return schedule(steps)


def whole(x: float) -> float:
    """The whole step a fraction of a run lands on, as the schedules round it."""
    return reference._int(x)


def children(spec: Spec) -> list[Spec]:
    out = []
    for value in spec[1].values():
        if is_spec(value):
            out.append(value)
        elif isinstance(value, tuple) and value and all(is_spec(v) for v in value):
            out.extend(value)
    return out


def fraction_starts(total_steps: Any, fractions: tuple[float, ...]) -> list[float]:
    return [float(np.round(total_steps * c)) for c in np.cumsum(fractions)[:-1]]


def restart_start(first: float, t_mul: float, cycle: int) -> float:
    if t_mul == 1:
        return first * cycle
    return first * (t_mul**cycle - 1) / (t_mul - 1)


def horizon(spec: Spec) -> float | None:
    """The step from which a schedule holds its final value for ever (None: never)."""
    name, kw = spec
    if name == "constant":
        return 0.0
    if name in ("linear", "polynomial_ramp"):
        return kw["transition_begin"] + kw["transition_steps"]
    if name == "polynomial_decay":
        return None if kw["cycle"] else kw["transition_begin"] + kw["decay_steps"]
    if name == "multistep_decay":
        return float(max(kw["milestones"], default=0))
    if name == "piecewise_constant":
        return float(max(kw["boundaries"], default=0))
    if name in ("cosine_decay", "warmup_cosine_decay", "tanh_decay"):
        return kw["decay_steps"]
    if name == "warmup_stable_decay":
        return kw["total_steps"]
    if name in ("one_cycle", "one_cycle_momentum"):
        return kw["total_steps"] - 1
    if name == "cosine_restarts":
        if kw["cycle_limit"] is None:
            return None
        return restart_start(kw["first_decay_steps"], kw["t_mul"], kw["cycle_limit"])
    if name in ("warmup_constant", "constant_factor"):
        return kw.get("warmup_steps", kw.get("transition_steps"))
    if name in ("piecewise_interpolate", "piecewise_constant_scales"):
        return float(max(kw["boundaries"], default=0))
    if name in ("linear_onecycle", "cosine_onecycle"):
        return float(math.floor(kw["transition_steps"]))
    if name == "multiplicative":
        return float(kw["max_steps"])
    if name == "swa":
        return kw["anneal_steps"]
    if name == "warmup_stable_decay_cycles":
        return float(kw["cycle_ends"][-1])
    if name == "cooldown":
        return kw["start_step"] + kw["decay_steps"]
    if name == "noise":
        inner = horizon(kw["schedule"])
        if kw["noise_end"] is None or inner is None:
            return None
        return max(inner, kw["noise_end"])
    if name == "advance":
        inner = horizon(kw["schedule"])
        return None if inner is None else max(inner - kw["steps"], 0.0)
    if name == "join":
        last = horizon(kw["schedules"][-1])
        start = kw["boundaries"][-1] if kw["boundaries"] else 0
        return None if last is None else start + last
    if name == "by_fraction":
        last = horizon(kw["schedules"][-1])
        starts = fraction_starts(kw["total_steps"], kw["fractions"]) or [0.0]
        return None if last is None else starts[-1] + last
    if name == "warmup":
        inner = horizon(kw["schedule"])
        if inner is None:
            return None
        return kw["warmup_steps"] + inner if kw["prefix"] else max(kw["warmup_steps"], inner)
    if name in ("product", "scale", "clip"):
        inner = [horizon(c) for c in children(spec)]
        return None if None in inner else max(inner)  # type: ignore[type-var]
    return None  # step / exponential / inverse decays approach a limit; cyclic never stops


_STEP_KEYS = (
    "transition_steps",
    "transition_begin",
    "decay_steps",
    "step_size",
    "warmup_steps",
    "total_steps",
    "first_decay_steps",
    "step_size_up",
    "step_size_down",
    "timescale",
    "start_step",
    "anneal_steps",
    "noise_start",
    "noise_end",
    "step_offset",
    "max_steps",
    "min_step",
)


def key_steps(spec: Spec) -> set[float]:
    """Steps where something happens (phase ends, boundaries), with the child offsets."""
    name, kw = spec
    points: set[float] = {0.0}
    for key in _STEP_KEYS:
        if kw.get(key) is not None and not isinstance(kw[key], tuple):
            points.add(float(kw[key]))
    for key in ("milestones", "boundaries"):
        points.update(float(b) for b in kw.get(key, ()))
    if name in ("linear", "polynomial_ramp"):
        points.add(float(kw["transition_begin"] + kw["transition_steps"]))
    if name == "warmup_stable_decay":
        points.add(float(kw["total_steps"] - kw["decay_steps"]))
    if name in ("one_cycle", "one_cycle_momentum"):
        t, p = kw["total_steps"], kw["pct_start"]
        points.update({p * t - 1, 2 * p * t - 2, t - 1.0})
    if name == "cosine_restarts":
        points.update(restart_start(kw["first_decay_steps"], kw["t_mul"], i) for i in range(6))
    if name == "inverse_sqrt":
        points.add(float(kw["step_offset"] + kw["warmup_steps"]))
    if name == "linear_onecycle":
        t = kw["transition_steps"]
        points.update({whole(kw["pct_start"] * t), whole(kw["pct_final"] * t)})
    if name == "cosine_onecycle":
        points.add(whole(kw["pct_start"] * kw["transition_steps"]))
    if name == "warmup_stable_decay_cycles":
        starts = (0, *kw["cycle_ends"])
        points.update(float(e) for e in starts)
        for k, (a, b) in enumerate(itertools.pairwise(starts)):
            rewarmup = kw["rewarmup_steps"]
            if k == 0:
                warm = kw["warmup_steps"]
            else:
                warm = rewarmup[k - 1] if isinstance(rewarmup, tuple) else rewarmup
            decay = kw["decay_steps"]
            decay = decay[k] if isinstance(decay, tuple) else decay
            points.add(float(a + warm))
            if decay is not None:
                points.add(float(b - decay))
    if name == "cooldown":
        points.add(float(kw["start_step"] + kw["decay_steps"]))
    if name == "cyclic":
        up = kw["step_size_up"]
        down = up if kw["step_size_down"] is None else kw["step_size_down"]
        points.update({up, up + down, 2 * up + down, 2 * (up + down)})
    if name == "alternate":
        ends = np.cumsum(kw["steps"])
        points.update(float(k * ends[-1] + e) for k in range(3) for e in (0.0, *ends))
    if name == "advance":
        points.add(float(kw["min_step"] - kw["steps"]))
    offsets: list[float] = []
    if name == "join":
        offsets = [0.0, *map(float, kw["boundaries"])]
    elif name == "by_fraction":
        offsets = [0.0, *fraction_starts(kw["total_steps"], kw["fractions"])]
    elif name == "warmup":
        offsets = [float(kw["warmup_steps"]) if kw["prefix"] else 0.0]
    elif name == "advance":
        offsets = [-float(kw["steps"])]
    elif children(spec):
        offsets = [0.0] * len(children(spec))
    for offset, child in zip(offsets, children(spec), strict=True):
        points.update(offset + p for p in key_steps(child))
    return {p for p in points if p >= 0}


def extent(spec: Spec) -> float:
    return max(max(key_steps(spec)), 1.0)


def padded(values: list[float]) -> np.ndarray:
    """Float32 steps, padded (by repeating) or cut to exactly N_STEPS."""
    steps = np.asarray(values, dtype=np.float32)
    return np.resize(steps, N_STEPS)


def through_padded(schedule: Callable[[np.ndarray], Any], steps: np.ndarray) -> np.ndarray:
    """`schedule` at `steps` (at most N_STEPS of them), evaluated at them repeated to N_STEPS
    and cut back: eager arrays of one shape share JAX's compiled operations, where each new
    length compiles every operation anew."""
    assert len(steps) <= N_STEPS, len(steps)
    return np.asarray(schedule(np.resize(steps, N_STEPS)))[: len(steps)]


def steps_for(spec: Spec, extra: list[float]) -> np.ndarray:
    """Step 0, the key steps with their neighbours, a dense start, and `extra`, as float32."""
    keys = sorted(key_steps(spec))
    near = [k + d for k in keys for d in (-1.0, -0.5, 0.0, 0.5, 1.0) if k + d >= 0]
    dense = list(np.linspace(0.0, 2.5 * extent(spec) + 3, 64))
    return padded(sorted(set(near))[: N_STEPS // 2] + extra + dense)


def reference_band(spec: Spec, steps: np.ndarray, window: float = F32_WINDOW) -> np.ndarray:
    """The reference at `steps` (row 0), then across a relative `window` either side of each
    step (33 rows), in float64: one call of the reference for all of them."""
    t = np.asarray(steps, dtype=np.float64)
    delta = window * np.maximum(np.abs(t), 1.0)
    shifted = np.maximum(t + np.multiply.outer(WINDOW_POINTS, delta), 0.0)
    values = reference.build(spec)(np.concatenate([t.ravel(), shifted.ravel()]))
    return np.reshape(values, (len(WINDOW_POINTS) + 1, *t.shape))


def assert_matches_reference(
    got: Any,
    spec: Spec,
    steps: np.ndarray,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    window: float = F32_WINDOW,
    band: np.ndarray | None = None,
) -> None:
    """`got` equals the reference at each step, up to rounding and a tiny step window.

    The reference is also evaluated across a relative `window` either side of each step (at
    33 points, so that a steep start after a jump inside the window is seen, not only its
    ends): within it float32 may resolve a jump (a restart, a staircase) either way, and a
    steep slope moves the value. `atol` is relative to the scale of the schedule's values.
    `band` is `reference_band(spec, steps, window)` where the caller already has it (several
    evaluations of one schedule at the same steps).
    """
    around = reference_band(spec, steps, window) if band is None else band
    got = np.asarray(got, dtype=np.float64)
    t = np.asarray(steps, dtype=np.float64)
    at = around[0]
    scale = reference.build(spec).scale
    with np.errstate(invalid="ignore"):
        tol = rtol * np.abs(at) + atol * max(scale, 1e-30)
        # float32 overflows to infinity where the float64 reference passes its largest finite.
        overflow = np.isinf(got) & (np.abs(at) > np.finfo(np.float32).max) & (got * at > 0)
        ok = (
            (got == at)
            | overflow
            | ((got >= np.min(around, axis=0) - tol) & (got <= np.max(around, axis=0) + tol))
        )
    if not np.all(ok):
        bad = np.flatnonzero(~ok)[:5]
        rows = [f"step={t[i]!r}: got {got[i]!r}, reference {at[i]!r}" for i in bad]
        pytest.fail(f"{build(spec)!r} differs from the reference:\n" + "\n".join(rows))
