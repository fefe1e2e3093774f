"""Property-based tests: every schedule against the float64 NumPy oracle in `reference.py`.

Schedules are described by specs, `(name, kwargs)`, with nested specs for the combinators, so
that one hypothesis draw builds both the jaxsched schedule and its reference. Float
hyperparameters are drawn float32-representable, so the float32 comparisons measure the
schedule's arithmetic, not the rounding of its inputs.

Compiles dominate the run time: schedules go through a few module-level jitted functions that
take the schedule as an argument (structure-equal schedules share one compile), and steps are
always padded to `N_STEPS` so that the step shape never triggers a new compile.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from typing import Any

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, example, given, settings

import jaxsched
from tests import reference
from tests.reference import Spec, is_spec
from tests.x64 import enable_x64

N_STEPS = 256
F32_WINDOW = 2.0**-17  # relative step window within which float32 may resolve a jump
F64_WINDOW = 2.0**-40
WINDOW_POINTS = np.linspace(-1.0, 1.0, 33)
RTOL, ATOL = 1e-5, 1e-6  # float32 tolerances; ATOL is relative to the scale of the values
HUGE_STEPS: tuple[Any, ...] = (
    2**31 + 5,
    2**40,
    np.int64(2**40),
    np.array([2**31 + 5, 2**40, 2**62], dtype=np.int64),
    np.array([2**63 + 5, 2**64 - 1], dtype=np.uint64),
    1e15,
    np.float64(1e15),
    np.array([1e15, 1e18], dtype=np.float32),
)


# ----------------------------------------------------------------------------- helpers


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
        points.update({_whole(kw["pct_start"] * t), _whole(kw["pct_final"] * t)})
    if name == "cosine_onecycle":
        points.add(_whole(kw["pct_start"] * kw["transition_steps"]))
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


def steps_for(spec: Spec, extra: list[float]) -> np.ndarray:
    """Step 0, the key steps with their neighbours, a dense start, and `extra`, as float32."""
    keys = sorted(key_steps(spec))
    near = [k + d for k in keys for d in (-1.0, -0.5, 0.0, 0.5, 1.0) if k + d >= 0]
    dense = list(np.linspace(0.0, 2.5 * extent(spec) + 3, 64))
    return padded(sorted(set(near))[: N_STEPS // 2] + extra + dense)


def assert_matches_reference(
    got: Any,
    spec: Spec,
    steps: np.ndarray,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    window: float = F32_WINDOW,
) -> None:
    """`got` equals the reference at each step, up to rounding and a tiny step window.

    The reference is also evaluated across a relative `window` either side of each step (at
    33 points, so that a steep start after a jump inside the window is seen, not only its
    ends): within it float32 may resolve a jump (a restart, a staircase) either way, and a
    steep slope moves the value. `atol` is relative to the scale of the schedule's values.
    """
    ref = reference.build(spec)
    got = np.asarray(got, dtype=np.float64)
    t = np.asarray(steps, dtype=np.float64)
    delta = window * np.maximum(np.abs(t), 1.0)
    at = ref(t)
    around = np.stack([at, *(ref(np.maximum(t + x * delta, 0.0)) for x in WINDOW_POINTS)])
    with np.errstate(invalid="ignore"):
        tol = rtol * np.abs(at) + atol * max(ref.scale, 1e-30)
        ok = (got == at) | (
            (got >= np.min(around, axis=0) - tol) & (got <= np.max(around, axis=0) + tol)
        )
    if not np.all(ok):
        bad = np.flatnonzero(~ok)[:5]
        rows = [f"step={t[i]!r}: got {got[i]!r}, reference {at[i]!r}" for i in bad]
        pytest.fail(f"{build(spec)!r} differs from the reference:\n" + "\n".join(rows))


def test_the_window_holds_the_steep_start_of_a_restart_float32_lands_on() -> None:
    # float32's step 8.0828905 lies 3.7e-9 below this restart; float32 arithmetic lands on
    # the restart (0.0), whose k_decay=0.5 start rises to 5e-5 within the window's end.
    spec = ("cosine_restarts", dict(init_value=0.0, first_decay_steps=1, t_mul=1.2421875,
            m_mul=1.0, end_value=1.0, cycle_limit=None, k_decay=0.5))  # fmt: skip
    steps = np.asarray([8.0828905], np.float32)
    got = np.asarray(build(spec)(steps))
    assert got[0] == 0.0 and reference.build(spec)(steps.astype(np.float64))[0] == 1.0
    assert_matches_reference(got, spec, steps)
    with pytest.raises(pytest.fail.Exception):
        assert_matches_reference(np.asarray([1.5]), spec, steps)


# ----------------------------------------------------------------------------- strategies


def f32(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Floats in [lo, hi] that float32 represents exactly (the bounds rounded inwards)."""
    low, high = np.float32(lo), np.float32(hi)
    if low < lo:
        low = np.nextafter(low, np.float32(np.inf))
    if high > hi:
        high = np.nextafter(high, np.float32(-np.inf))
    return st.floats(float(low), float(high), width=32, allow_nan=False, allow_infinity=False)


VALUE = f32(-4.0, 4.0)
POSITIVE = f32(1e-3, 4.0)
LENGTH = st.integers(1, 40)
LENGTH0 = st.integers(0, 40)
SHAPE = st.sampled_from(("linear", "cosine", "1-sqrt"))
BOOL = st.booleans()
RATE = f32(0.0, 1.5)
EXP_RATE = f32(0.05, 2.0)
MAYBE_VALUE = st.none() | VALUE
M_MUL = f32(0.0, 1.0)
CYCLE_LIMIT = st.none() | st.integers(1, 4)
GAMMA = f32(0.9, 1.0)
STRATEGY = st.sampled_from(("cos", "linear"))


def spec_of(name: str, **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Spec]:
    return st.tuples(st.just(name), st.fixed_dictionaries(fields))


def constant_spec() -> st.SearchStrategy[Spec]:
    return spec_of("constant", value=VALUE)


def linear_spec(init=VALUE, end=VALUE) -> st.SearchStrategy[Spec]:
    return spec_of(
        "linear",
        init_value=init,
        end_value=end,
        transition_steps=LENGTH,
        transition_begin=LENGTH0,
    )


def polynomial_spec(cycle=BOOL, init=VALUE, end=VALUE) -> st.SearchStrategy[Spec]:
    return spec_of(
        "polynomial_decay",
        init_value=init,
        end_value=end,
        decay_steps=LENGTH,
        power=f32(0.25, 4.0),
        transition_begin=LENGTH0,
        cycle=cycle,
        k_decay=st.just(1.0) | f32(0.5, 3.0),
    )


def polynomial_ramp_spec() -> st.SearchStrategy[Spec]:
    return spec_of(
        "polynomial_ramp",
        init_value=VALUE,
        end_value=VALUE,
        transition_steps=LENGTH,
        power=f32(0.25, 4.0),
        transition_begin=LENGTH0,
    )


def step_decay_spec(init=VALUE, rate=RATE) -> st.SearchStrategy[Spec]:
    return spec_of("step_decay", init_value=init, step_size=LENGTH, decay_rate=rate)


def multistep_spec(init=VALUE, rate=RATE) -> st.SearchStrategy[Spec]:
    return spec_of(
        "multistep_decay",
        init_value=init,
        # no milestones at all is pinned by its own test
        milestones=st.lists(LENGTH0, min_size=1, max_size=4).map(tuple),
        decay_rate=rate,
    )


@st.composite
def piecewise_spec(draw: st.DrawFn) -> Spec:
    boundaries = tuple(sorted(draw(st.sets(LENGTH0, max_size=4))))
    values = tuple(
        draw(st.lists(VALUE, min_size=len(boundaries) + 1, max_size=len(boundaries) + 1))
    )
    return ("piecewise_constant", {"boundaries": boundaries, "values": values})


def exponential_spec(init=VALUE, rate=EXP_RATE, end=MAYBE_VALUE) -> st.SearchStrategy[Spec]:
    return spec_of(
        "exponential_decay",
        init_value=init,
        decay_rate=rate,
        transition_steps=LENGTH,
        staircase=st.booleans(),
        transition_begin=LENGTH0,
        end_value=end,
    )


def inverse_time_spec(init=VALUE) -> st.SearchStrategy[Spec]:
    return spec_of(
        "inverse_time_decay",
        init_value=init,
        decay_rate=f32(0.0, 3.0),
        decay_steps=LENGTH,
        staircase=st.booleans(),
    )


def inverse_sqrt_spec(peak=VALUE) -> st.SearchStrategy[Spec]:
    return spec_of(
        "inverse_sqrt",
        peak_value=peak,
        warmup_steps=LENGTH0,
        timescale=st.none() | LENGTH,
        shift=st.just(0) | LENGTH0,
        step_offset=st.just(0) | LENGTH0,
    )


def cosine_spec(init=VALUE, end=VALUE) -> st.SearchStrategy[Spec]:
    return spec_of(
        "cosine_decay",
        init_value=init,
        decay_steps=LENGTH,
        end_value=end,
        exponent=f32(0.5, 3.0),
    )


@st.composite
def warmup_cosine_spec(draw: st.DrawFn, peak=VALUE) -> Spec:
    warmup_steps = draw(LENGTH0)
    return (
        "warmup_cosine_decay",
        {
            "init_value": draw(VALUE),
            "peak_value": draw(peak),
            "warmup_steps": warmup_steps,
            "decay_steps": warmup_steps + draw(LENGTH),
            "end_value": draw(VALUE),
            "exponent": draw(f32(0.5, 3.0)),
        },
    )


@st.composite
def wsd_spec(draw: st.DrawFn) -> Spec:
    warmup_steps, decay_steps = draw(LENGTH0), draw(LENGTH0)
    total_steps = max(warmup_steps + decay_steps + draw(LENGTH0), 1)
    return (
        "warmup_stable_decay",
        {
            "peak_value": draw(VALUE),
            "total_steps": total_steps,
            "warmup_steps": warmup_steps,
            "decay_steps": decay_steps,
            "init_value": draw(VALUE),
            "end_value": draw(VALUE),
            "warmup_shape": draw(SHAPE),
            "decay_shape": draw(SHAPE),
        },
    )


T_MUL = st.sampled_from((1.0, 1.5, 2.0, 3.0, 4.0, 5.0)) | f32(1.125, 5.0)


def restarts_spec(
    init=VALUE, end=VALUE, m_mul=M_MUL, cycle_limit=CYCLE_LIMIT, cycle_decay=M_MUL
) -> st.SearchStrategy[Spec]:
    return spec_of(
        "cosine_restarts",
        init_value=init,
        first_decay_steps=LENGTH,
        t_mul=T_MUL,
        m_mul=m_mul,
        end_value=end,
        cycle_limit=cycle_limit,
        cycle_decay=st.just(1.0) | cycle_decay,
        k_decay=st.just(1.0) | f32(0.5, 3.0),
    )


def cyclic_spec(base=VALUE, top=VALUE, gamma=GAMMA) -> st.SearchStrategy[Spec]:
    return spec_of(
        "cyclic",
        base_value=base,
        max_value=top,
        step_size_up=LENGTH,
        step_size_down=st.none() | LENGTH,
        mode=st.sampled_from(("triangular", "triangular2", "exp_range")),
        gamma=gamma,
        scale_fn=st.sampled_from((None, None, reference.halving, reference.damped)),
        scale_mode=st.sampled_from(("cycle", "iterations")),
    )


def one_cycle_valid(total_steps: int, pct_start: float, three_phase: bool) -> bool:
    """All phases at least a small margin long (the constructor checks in float32)."""
    first = pct_start * total_steps - 1
    ends = (
        [first, 2 * pct_start * total_steps - 2, total_steps - 1]
        if three_phase
        else [
            first,
            total_steps - 1,
        ]
    )
    lengths = [ends[0]] + [b - a for a, b in itertools.pairwise(ends)]
    return min(lengths) > 1e-3


@st.composite
def one_cycle_spec(draw: st.DrawFn) -> Spec:
    total_steps, pct_start, three_phase = (
        draw(st.integers(3, 200)),
        draw(f32(0.02, 0.98)),
        draw(st.booleans()),
    )
    assume(one_cycle_valid(total_steps, pct_start, three_phase))
    return (
        "one_cycle",
        {
            "peak_value": draw(POSITIVE),
            "total_steps": total_steps,
            "pct_start": pct_start,
            "div_factor": draw(f32(1.0, 50.0)),
            "final_div_factor": draw(f32(1.0, 1e4)),
            "anneal_strategy": draw(STRATEGY),
            "three_phase": three_phase,
        },
    )


@st.composite
def one_cycle_momentum_spec(draw: st.DrawFn) -> Spec:
    total_steps, pct_start, three_phase = (
        draw(st.integers(3, 200)),
        draw(f32(0.02, 0.98)),
        draw(st.booleans()),
    )
    assume(one_cycle_valid(total_steps, pct_start, three_phase))
    return (
        "one_cycle_momentum",
        {
            "total_steps": total_steps,
            "base_momentum": draw(f32(0.5, 0.9)),
            "max_momentum": draw(f32(0.9, 0.99)),
            "pct_start": pct_start,
            "anneal_strategy": draw(STRATEGY),
            "three_phase": three_phase,
        },
    )


@st.composite
def tanh_spec(draw: st.DrawFn, init=VALUE, end=VALUE) -> Spec:
    lower = draw(f32(-8.0, 0.0))
    upper = float(np.float32(lower + draw(f32(0.5, 10.0))))
    return (
        "tanh_decay",
        {
            "init_value": draw(init),
            "end_value": draw(end),
            "decay_steps": draw(LENGTH),
            "lower": lower,
            "upper": upper,
        },
    )


# ----------------------------------------------------------------------------- issue 13 leaves

# Shares of a run: "nice" ones, whose products with a step count land on whole steps (in
# exact arithmetic; float32 misses them by an ulp), and any float32.
PCT = st.sampled_from((0.1, 0.2, 0.25, 0.3, 0.35, 0.5, 0.7, 0.85, 0.9)) | f32(0.0, 1.0)


def warmup_constant_spec() -> st.SearchStrategy[Spec]:
    return spec_of("warmup_constant", init_value=VALUE, peak_value=VALUE, warmup_steps=LENGTH0)


def warmup_exponential_spec() -> st.SearchStrategy[Spec]:
    return spec_of(
        "warmup_exponential_decay",
        init_value=VALUE,
        peak_value=VALUE,
        warmup_steps=LENGTH0,
        transition_steps=LENGTH,
        decay_rate=f32(0.05, 1.0),
        transition_begin=LENGTH0,
        staircase=BOOL,
        end_value=MAYBE_VALUE,
    )


@st.composite
def boundaries_and_scales(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[float, ...]]:
    boundaries = tuple(sorted(draw(st.sets(LENGTH0, max_size=4))))
    scales = tuple(
        draw(st.lists(f32(0.0, 2.0), min_size=len(boundaries), max_size=len(boundaries)))
    )
    return boundaries, scales


@st.composite
def piecewise_interpolate_spec(draw: st.DrawFn) -> Spec:
    boundaries, scales = draw(boundaries_and_scales())
    return (
        "piecewise_interpolate",
        {
            "init_value": draw(VALUE),
            "boundaries": boundaries,
            "scales": scales,
            "interpolate_type": draw(st.sampled_from(("linear", "cosine"))),
        },
    )


@st.composite
def piecewise_scales_spec(draw: st.DrawFn) -> Spec:
    # unsorted and repeated boundaries are allowed: each scale applies from its boundary on
    boundaries = tuple(draw(st.lists(LENGTH0, max_size=4)))
    scales = tuple(
        draw(st.lists(f32(0.0, 2.0), min_size=len(boundaries), max_size=len(boundaries)))
    )
    return (
        "piecewise_constant_scales",
        {"init_value": draw(VALUE), "boundaries": boundaries, "scales": scales},
    )


def _whole(x: float) -> float:
    return reference._int(x)


@st.composite
def linear_onecycle_spec(draw: st.DrawFn) -> Spec:
    total = draw(st.integers(3, 200))
    pct_start, pct_final = draw(PCT), draw(PCT)
    a, b = _whole(pct_start * total), _whole(pct_final * total)
    assume(a < b < total)
    return (
        "linear_onecycle",
        {
            "transition_steps": total,
            "peak_value": draw(POSITIVE),
            "pct_start": pct_start,
            "pct_final": pct_final,
            "div_factor": draw(f32(1.0, 50.0)),
            "final_div_factor": draw(f32(1.0, 1e4)),
        },
    )


@st.composite
def cosine_onecycle_spec(draw: st.DrawFn) -> Spec:
    total, pct_start = draw(st.integers(1, 200)), draw(PCT)
    assume(pct_start < 1 and _whole(pct_start * total) < total)
    return (
        "cosine_onecycle",
        {
            "transition_steps": total,
            "peak_value": draw(POSITIVE),
            "pct_start": pct_start,
            "div_factor": draw(f32(1.0, 50.0)),
            "final_div_factor": draw(f32(1.0, 1e4)),
        },
    )


def constant_factor_spec() -> st.SearchStrategy[Spec]:
    return spec_of("constant_factor", value=VALUE, factor=f32(0.0, 1.0), transition_steps=LENGTH0)


def lambda_spec() -> st.SearchStrategy[Spec]:
    params = st.fixed_dictionaries({"rate": f32(0.0, 1.0), "power": f32(0.25, 2.0)})
    return spec_of(
        "lambda_schedule", fn=st.just(reference.inverse_power), init_value=VALUE, params=params
    )


def multiplicative_spec() -> st.SearchStrategy[Spec]:
    return spec_of(
        "multiplicative",
        fn=st.just(reference.shrinking_factor),
        max_steps=st.sampled_from((0, 1, 7, 40)),
        init_value=VALUE,
        params=st.fixed_dictionaries({"rate": f32(0.0, 1.0)}),
    )


def swa_spec() -> st.SearchStrategy[Spec]:
    return spec_of(
        "swa",
        init_value=VALUE,
        swa_value=VALUE,
        anneal_steps=LENGTH0,
        anneal_strategy=STRATEGY,
    )


@st.composite
def wsd_cycles_spec(draw: st.DrawFn) -> Spec:
    lengths = draw(st.lists(st.integers(1, 30), min_size=1, max_size=4))
    warmups = [draw(st.integers(0, n)) for n in lengths]
    decays = [draw(st.integers(0, n - w)) for n, w in zip(lengths, warmups, strict=True)]
    if draw(BOOL):  # one number per cycle
        rewarmup: Any = tuple(warmups[1:])
        decay: Any = tuple(decays)
    else:  # one number for every cycle: the smallest fits them all
        rewarmup = min(warmups[1:], default=draw(LENGTH0))
        decay = min(decays)
    return (
        "warmup_stable_decay_cycles",
        {
            "peak_value": draw(VALUE),
            "cycle_ends": tuple(int(x) for x in np.cumsum(lengths)),
            "warmup_steps": warmups[0],
            "decay_steps": draw(st.none() | st.just(decay)),
            "rewarmup_steps": rewarmup,
            "init_value": draw(VALUE),
            "end_value": draw(VALUE),
            "warmup_shape": draw(SHAPE),
            "decay_shape": draw(SHAPE),
        },
    )


LEAVES: dict[str, st.SearchStrategy[Spec]] = {
    "constant": constant_spec(),
    "linear": linear_spec(),
    "polynomial_decay": polynomial_spec(),
    "step_decay": step_decay_spec(),
    "multistep_decay": multistep_spec(),
    "piecewise_constant": piecewise_spec(),
    "exponential_decay": exponential_spec(),
    "inverse_time_decay": inverse_time_spec(),
    "inverse_sqrt": inverse_sqrt_spec(),
    "cosine_decay": cosine_spec(),
    "warmup_cosine_decay": warmup_cosine_spec(),
    "warmup_stable_decay": wsd_spec(),
    "cosine_restarts": restarts_spec(),
    "cyclic": cyclic_spec(),
    "one_cycle": one_cycle_spec(),
    "one_cycle_momentum": one_cycle_momentum_spec(),
    "tanh_decay": tanh_spec(),
    "warmup_constant": warmup_constant_spec(),
    "warmup_exponential_decay": warmup_exponential_spec(),
    "piecewise_interpolate": piecewise_interpolate_spec(),
    "piecewise_constant_scales": piecewise_scales_spec(),
    "linear_onecycle": linear_onecycle_spec(),
    "cosine_onecycle": cosine_onecycle_spec(),
    "constant_factor": constant_factor_spec(),
    "lambda_schedule": lambda_spec(),
    "multiplicative": multiplicative_spec(),
    "swa": swa_spec(),
    "warmup_stable_decay_cycles": wsd_cycles_spec(),
    "polynomial_ramp": polynomial_ramp_spec(),
}
ANY_LEAF = st.one_of(*LEAVES.values())
# Few structures (few compiles) for the pieces inside combinators.
PIECE = st.one_of(
    constant_spec(), linear_spec(), cosine_spec(), exponential_spec(end=st.none()), wsd_spec()
)


@st.composite
def join_spec(draw: st.DrawFn, piece=PIECE) -> Spec:
    pieces = tuple(draw(st.lists(piece, min_size=1, max_size=3)))
    boundaries = tuple(
        sorted(draw(st.sets(LENGTH0, min_size=len(pieces) - 1, max_size=len(pieces) - 1)))
    )
    return ("join", {"schedules": pieces, "boundaries": boundaries})


@st.composite
def by_fraction_spec(draw: st.DrawFn) -> Spec:
    pieces = tuple(draw(st.lists(PIECE, min_size=1, max_size=3)))
    weights = draw(st.lists(st.integers(1, 9), min_size=len(pieces), max_size=len(pieces)))
    fractions = tuple(w / sum(weights) for w in weights)
    total_steps = draw(st.integers(1, 120))
    return (
        "by_fraction",
        {"total_steps": total_steps, "fractions": fractions, "schedules": pieces},
    )


def warmup_spec(piece=PIECE, init=VALUE, shape=SHAPE, prefix=BOOL) -> st.SearchStrategy[Spec]:
    return spec_of(
        "warmup",
        schedule=piece,
        warmup_steps=LENGTH0,
        init_value=init,
        shape=shape,
        prefix=prefix,
        continuous=BOOL,
    )


@st.composite
def alternate_spec(draw: st.DrawFn, piece=PIECE) -> Spec:
    pieces = tuple(draw(st.lists(piece, min_size=1, max_size=3)))
    steps = tuple(draw(st.lists(LENGTH0, min_size=len(pieces), max_size=len(pieces))))
    assume(sum(steps) > 0)
    return ("alternate", {"schedules": pieces, "steps": steps})


def advance_spec(piece=PIECE) -> st.SearchStrategy[Spec]:
    return spec_of(
        "advance",
        schedule=piece,
        steps=st.integers(-20, 20) | f32(-20.0, 20.0),
        min_step=st.just(0) | LENGTH0,
    )


def cooldown_spec(piece=PIECE) -> st.SearchStrategy[Spec]:
    return spec_of(
        "cooldown",
        schedule=piece,
        start_step=LENGTH0,
        decay_steps=LENGTH0,
        shape=SHAPE,
        end_value=VALUE,
    )


@st.composite
def noise_spec(draw: st.DrawFn, piece=PIECE) -> Spec:
    start = draw(LENGTH0)
    end = draw(st.none() | st.integers(start, start + 40))
    return (
        "noise",
        {
            "schedule": draw(piece),
            "noise_start": start,
            "noise_end": end,
            "noise_pct": draw(f32(0.01, 0.9)),
            "noise_std": draw(f32(0.1, 2.0)),
            "noise_type": draw(st.sampled_from(("normal", "uniform"))),
            "seed": draw(st.integers(0, 2**24 - 1)),
        },
    )


def product_spec() -> st.SearchStrategy[Spec]:
    return spec_of("product", schedules=st.lists(PIECE, min_size=1, max_size=3).map(tuple))


def scale_spec() -> st.SearchStrategy[Spec]:
    return spec_of("scale", schedule=ANY_LEAF, factor=VALUE)


@st.composite
def clip_spec(draw: st.DrawFn) -> Spec:
    low, high = draw(st.none() | VALUE), draw(st.none() | VALUE)
    if low is not None and high is not None and high < low:
        low, high = high, low
    return ("clip", {"schedule": draw(ANY_LEAF), "min_value": low, "max_value": high})


COMBINATORS: dict[str, st.SearchStrategy[Spec]] = {
    "join": join_spec(),
    "by_fraction": by_fraction_spec(),
    "warmup": warmup_spec(),
    "product": product_spec(),
    "scale": scale_spec(),
    "clip": clip_spec(),
    "cooldown": cooldown_spec(),
    "noise": noise_spec(),
    "alternate": alternate_spec(),
    "advance": advance_spec(),
}
FAMILIES = {**LEAVES, **COMBINATORS}
ANY_SPEC = st.one_of(*FAMILIES.values())
# Two levels of nesting, for the config round trip.
NESTED = st.one_of(join_spec(piece=warmup_spec(piece=ANY_LEAF)), warmup_spec(piece=join_spec()))


@st.composite
def spec_and_steps(draw: st.DrawFn, specs: st.SearchStrategy[Spec]) -> tuple[Spec, np.ndarray]:
    spec = draw(specs)
    top = 3 * extent(spec) + 10
    extra = draw(st.lists(st.integers(0, int(top)), max_size=40)) + draw(
        st.lists(f32(0.0, top), max_size=24)
    )
    return spec, steps_for(spec, [float(x) for x in extra])


def grows_from_zero(spec: Spec) -> bool:
    name, kw = spec
    if name in ("step_decay", "exponential_decay") and kw["decay_rate"] > 1:
        return kw["init_value"] == 0
    return any(grows_from_zero(c) for c in children(spec))


def is_cyclic(spec: Spec) -> bool:
    """Cyclic, or too fast-varying for float32 steps to resolve at 1e15."""
    name, kw = spec
    if name in ("cyclic", "alternate") or (name == "polynomial_decay" and kw["cycle"]):
        return True
    if name == "cosine_restarts" and kw["cycle_limit"] is None:
        return True
    return any(is_cyclic(c) for c in children(spec))


# ----------------------------------------------------------------------------- values


EAGER_STEPS = 16  # steps evaluated one Python number at a time (each call dispatches)


def evaluation_modes(schedule: jaxsched.Schedule, steps: np.ndarray) -> dict[str, np.ndarray]:
    """The schedule's values at `steps` in each way users evaluate it.

    "eager" takes one Python number at a time (ints for whole steps) and covers only the
    first `EAGER_STEPS` steps, the ones around the schedule's key steps; the other modes cover
    them all. Under "jit closed over" the schedule's numbers are compile-time constants, which
    XLA folds and rewrites (a division becomes a multiplication by a rounded reciprocal).
    """
    eager = [schedule(int(t) if float(t).is_integer() else float(t)) for t in steps[:EAGER_STEPS]]
    return {
        "eager": np.asarray(eager),
        "eager on arrays": np.asarray(schedule(steps)),
        "jit closed over": np.asarray(jax.jit(schedule)(steps)),
        "jit argument": np.asarray(evaluate(schedule, steps)),
    }


def assert_modes_agree(
    schedule: jaxsched.Schedule, spec: Spec, steps: np.ndarray
) -> dict[str, np.ndarray]:
    """Every mode matches the reference, and at whole steps the modes agree with each other.

    The reference comparison forgives a jump within a tiny window of a step; the modes may not
    disagree about which side of a jump a whole step is on.
    """
    values = evaluation_modes(schedule, steps)
    scale = max(reference.build(spec).scale, 1e-30)
    whole = np.asarray(steps, np.float64) == np.round(steps)
    base = values["jit argument"]
    for mode, got in values.items():
        assert got.dtype == np.float32, mode
        assert got.shape == steps[: len(got)].shape, mode
        assert_matches_reference(got, spec, steps[: len(got)])
        at = whole[: len(got)]
        np.testing.assert_allclose(
            got[at], base[: len(got)][at], rtol=RTOL, atol=ATOL * scale, err_msg=mode
        )
    return values


# Examples per family: each compiles anew under "jit closed over". The families added with
# issue 13 run fewer, and the largest programs (a random draw per step, several cycles)
# fewer still, to keep the suite's time in bounds.
EXAMPLES = {
    **dict.fromkeys(
        [
            "warmup_constant",
            "warmup_exponential_decay",
            "piecewise_interpolate",
            "piecewise_constant_scales",
            "linear_onecycle",
            "cosine_onecycle",
            "constant_factor",
            "lambda_schedule",
            "multiplicative",
            "swa",
            "cooldown",
            "polynomial_ramp",
            "alternate",
            "advance",
        ],
        15,
    ),
    "noise": 6,
    "warmup_stable_decay_cycles": 10,
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_evaluation_mode_matches_the_float64_reference(family: str) -> None:
    @settings(max_examples=EXAMPLES.get(family, 25), deadline=None)
    @given(spec_and_steps(FAMILIES[family]))
    def check(case: tuple[Spec, np.ndarray]) -> None:
        spec, steps = case
        assert_modes_agree(build(spec), spec, steps)

    check()


# Restarts at whole steps that a rounded reciprocal of `t_mul - 1` used to move under jit.
@pytest.mark.parametrize("t_mul", [3.0, 4.0, 5.0, 6.0, 7.0, 1.5, 1.25])
@pytest.mark.parametrize("first_decay_steps", [1, 3, 10])
def test_cosine_restarts_restart_on_the_same_whole_step_in_every_mode(
    t_mul: float, first_decay_steps: int
) -> None:
    spec: Spec = (
        "cosine_restarts",
        {
            "init_value": 0.05,
            "first_decay_steps": first_decay_steps,
            "t_mul": t_mul,
            "m_mul": 1.0,
            "end_value": 0.0,
            "cycle_limit": None,
        },
    )
    starts = [restart_start(first_decay_steps, t_mul, i) for i in range(8)]
    whole = [s for s in starts if float(s).is_integer() and s < 2**20]
    steps = padded(sorted({*whole, *(s - 1 for s in whole if s >= 1)}))
    values = assert_modes_agree(build(spec), spec, steps)
    for mode, got in values.items():
        restarted = np.isin(steps[: len(got)], whole)
        np.testing.assert_array_equal(got[restarted], np.float32(0.05), err_msg=mode)


X64_FAMILIES = (
    "linear",
    "polynomial_decay",
    "exponential_decay",
    "cosine_decay",
    "warmup_cosine_decay",
    "warmup_stable_decay",
    "cosine_restarts",
    "cyclic",
    "one_cycle",
    "tanh_decay",
    "join",
    "warmup",
)


@settings(max_examples=40, deadline=None)
@given(spec_and_steps(st.one_of(*(FAMILIES[f] for f in X64_FAMILIES))))
def test_x64_matches_float64_reference_tightly(case: tuple[Spec, np.ndarray]) -> None:
    spec, steps = case
    with enable_x64():
        schedule = build(spec)
        got = evaluate(schedule, steps.astype(np.float64))
        assert got.dtype == jnp.float64
        got = np.asarray(got)
    assert_matches_reference(got, spec, steps, rtol=1e-9, atol=1e-12, window=F64_WINDOW)


@settings(max_examples=40, deadline=None)
@given(ANY_SPEC, st.lists(st.integers(0, 10**6), max_size=8))
def test_never_nan_on_valid_input(spec: Spec, more: list[int]) -> None:
    assume(not grows_from_zero(spec))  # pinned by its own test
    steps = padded([*sorted(key_steps(spec)), *more, 2**31 + 5, 2.0**40, 1e15, 1e18])
    got = np.asarray(evaluate(build(spec), steps))
    nan = np.unique(steps[np.isnan(got)])
    assert nan.size == 0, f"NaN from {build(spec)!r} at steps {nan}"
    finite = np.abs(reference.build(spec)(steps)) < 1e37
    inf = np.unique(steps[finite & ~np.isfinite(got)])
    assert inf.size == 0, f"{build(spec)!r} overflows at steps {inf}"


# Growing schedules, which overflow float32 eventually: infinity is right there, NaN is not.
@settings(max_examples=30, deadline=None)
@given(
    st.one_of(
        # init_value=0 (0 * inf) is pinned by its own test
        exponential_spec(init=f32(0.125, 4.0), rate=f32(1.01, 4.0)),
        step_decay_spec(init=f32(0.125, 4.0), rate=f32(1.01, 4.0)),
        cyclic_spec(gamma=f32(1.0, 1.5)),
        restarts_spec(m_mul=f32(1.0, 3.0)),
    )
)
# 0 * inf: a cycle start (height 0) of a grown exp_range, a flat (init == end) grown restart
@example(
    (
        "cyclic",
        {
            "base_value": 0.0,
            "max_value": 1.0,
            "step_size_up": 1,
            "step_size_down": None,
            "mode": "exp_range",
            "gamma": 1.25,
        },
    )
)
@example(
    (
        "cosine_restarts",
        {
            "init_value": 1.0,
            "first_decay_steps": 2,
            "t_mul": 1.0,
            "m_mul": 2.0,
            "end_value": 1.0,
            "cycle_limit": None,
        },
    )
)
def test_growing_schedules_overflow_to_inf_never_nan(spec: Spec) -> None:
    steps = padded([0.0, 1.0, 2.0, 6.0, 12.0, 60.0, 2**20, 2**31 + 5, 2.0**40, 1e15, 1e18])
    got = np.asarray(evaluate(build(spec), steps))
    nan = np.unique(steps[np.isnan(got)])
    assert nan.size == 0, f"NaN from {build(spec)!r} at steps {nan}"


@pytest.mark.parametrize(
    "schedule",
    [
        jaxsched.exponential_decay(0.0, decay_rate=2.0),
        jaxsched.exponential_decay(0.0, decay_rate=2.0, end_value=0.5),
        jaxsched.step_decay(0.0, step_size=1, decay_rate=2.0),
    ],
    ids=repr,
)
def test_growing_decay_from_zero_stays_zero_at_huge_steps(schedule) -> None:
    steps = np.asarray([0.0, 10.0, 1e3, 1e6, 2.0**40, 1e15], np.float32)
    np.testing.assert_array_equal(evaluate(schedule, steps), np.zeros_like(steps))


def test_multistep_without_milestones_is_constant_with_the_step_shape() -> None:
    schedule = jaxsched.multistep_decay(0.5, milestones=())
    steps = np.arange(6)
    for got in (schedule(steps), evaluate(schedule, steps.astype(np.float32))):
        assert got.shape == steps.shape
        np.testing.assert_array_equal(got, np.full(6, 0.5, np.float32))


# ----------------------------------------------------------------------------- shape


def assert_non_increasing(values: np.ndarray, scale: float) -> None:
    rises = np.diff(values)
    assert np.all(rises <= 1e-6 * max(scale, 1e-30)), f"rises by {rises.max()}"


def assert_within(values: np.ndarray, low: float, high: float, scale: float) -> None:
    slack = 1e-6 * max(scale, 1e-30)
    assert values.min() >= low - slack, (values.min(), low)
    assert values.max() <= high + slack, (values.max(), high)


NON_NEGATIVE = f32(0.0, 4.0)


@st.composite
def monotone_decay(draw: st.DrawFn) -> tuple[Spec, float, float]:
    """A decay that promises to be non-increasing, with its lowest and highest values."""
    high, low = sorted([draw(NON_NEGATIVE), draw(NON_NEGATIVE)], reverse=True)
    which = draw(st.integers(0, 7))
    rate = f32(0.0, 1.0)
    if which == 0:
        return draw(linear_spec(st.just(high), st.just(low))), low, high
    if which == 1:
        return draw(polynomial_spec(st.just(False), st.just(high), st.just(low))), low, high
    if which == 2:
        return draw(cosine_spec(st.just(high), st.just(low))), low, high
    if which == 3:
        return draw(tanh_spec(st.just(high), st.just(low))), low, high
    if which == 4:
        return draw(step_decay_spec(st.just(high), rate)), 0.0, high
    if which == 5:
        return draw(multistep_spec(st.just(high), rate)), 0.0, high
    if which == 6:
        spec = draw(exponential_spec(st.just(high), f32(0.05, 1.0), st.none() | st.just(low)))
        return spec, 0.0 if spec[1]["end_value"] is None else low, high
    return draw(inverse_time_spec(st.just(high))), 0.0, high


@settings(max_examples=60, deadline=None)
@given(monotone_decay())
def test_decays_are_non_increasing_and_within_their_values(case) -> None:
    spec, low, high = case
    steps = np.sort(steps_for(spec, []))
    values = np.asarray(evaluate(build(spec), steps))
    assert_non_increasing(values, high)
    assert_within(values, low, high, high)


@settings(max_examples=30, deadline=None)
@given(restarts_spec(init=f32(1.0, 4.0), end=f32(-1.0, 1.0), cycle_decay=st.just(1.0)))
def test_cosine_restarts_stays_within_end_and_init_when_m_mul_at_most_one(spec: Spec) -> None:
    kw = spec[1]
    steps = steps_for(spec, [])
    values = np.asarray(evaluate(build(spec), steps))
    assert_within(values, kw["end_value"], kw["init_value"], 4.0)


@settings(max_examples=30, deadline=None)
@given(cyclic_spec(base=f32(-1.0, 1.0), top=f32(1.0, 4.0)))
def test_cyclic_stays_within_base_and_max(spec: Spec) -> None:
    steps = padded([*steps_for(spec, []), 1e5 + 0.5, 2**31 + 5, 1e15])
    values = np.asarray(evaluate(build(spec), steps))
    assert_within(values, spec[1]["base_value"], spec[1]["max_value"], 4.0)


@settings(max_examples=30, deadline=None)
@given(one_cycle_spec())
def test_one_cycle_stays_within_its_minimum_and_peak(spec: Spec) -> None:
    kw = spec[1]
    low = kw["peak_value"] / kw["div_factor"] / kw["final_div_factor"]
    steps = padded([*steps_for(spec, []), 2**31 + 5, 1e15])
    values = np.asarray(evaluate(build(spec), steps))
    assert_within(values, low, kw["peak_value"], kw["peak_value"])


@settings(max_examples=30, deadline=None)
@given(one_cycle_momentum_spec())
def test_one_cycle_momentum_stays_within_base_and_max_momentum(spec: Spec) -> None:
    kw = spec[1]
    values = np.asarray(evaluate(build(spec), steps_for(spec, [])))
    assert_within(values, kw["base_momentum"], kw["max_momentum"], 1.0)


@st.composite
def warmup_case(draw: st.DrawFn) -> tuple[Spec, float]:
    """A schedule with a warmup that must not decrease, and its warmup length."""
    low, high = sorted([draw(VALUE), draw(VALUE)])
    which = draw(st.integers(0, 4))
    if which == 0:
        # prefix=False hands over to the schedule at its step warmup_steps, which may be lower
        spec = draw(warmup_spec(cosine_spec(st.just(high)), st.just(low), prefix=st.just(True)))
        return spec, spec[1]["warmup_steps"]
    if which == 1:
        spec = draw(wsd_spec())
        kw = dict(spec[1], init_value=low, peak_value=high)
        warmup = kw["warmup_steps"]
        if warmup >= kw["total_steps"]:  # no stable phase, no cooldown: end_value at warmup_steps
            warmup = float(np.nextafter(np.float32(warmup), np.float32(0)))
        return (spec[0], kw), warmup
    if which == 2:
        spec = draw(warmup_cosine_spec())
        kw = dict(spec[1], init_value=low, peak_value=high)
        return (spec[0], kw), kw["warmup_steps"]
    if which == 3:
        spec = draw(inverse_sqrt_spec(peak=NON_NEGATIVE))
        return spec, spec[1]["warmup_steps"]
    spec = draw(one_cycle_spec())
    return spec, spec[1]["pct_start"] * spec[1]["total_steps"] - 1


@settings(max_examples=50, deadline=None)
@given(warmup_case())
def test_warmups_are_non_decreasing(case: tuple[Spec, float]) -> None:
    spec, length = case
    steps = padded(list(np.linspace(0.0, length, N_STEPS)))
    values = np.asarray(evaluate(build(spec), steps))
    assert_non_increasing(-values, reference.build(spec).scale)


# ----------------------------------------------------------------------------- horizon


HOLDING = st.one_of(*FAMILIES.values()).filter(lambda s: horizon(s) is not None)


@settings(max_examples=50, deadline=None)
@given(HOLDING)
def test_holds_final_value_exactly_after_horizon(spec: Spec) -> None:
    end = math.ceil(horizon(spec))  # type: ignore[arg-type]
    steps = padded([end + k for k in (0, 1, 2, 10, 1000, 10**6, 2**31 + 5, 10**12, 1e15)])
    values = np.asarray(evaluate(build(spec), steps))
    np.testing.assert_array_equal(values, np.full_like(values, values[0]))
    assert_matches_reference(values[:1], spec, steps[:1])


@settings(max_examples=30, deadline=None)
@given(ANY_SPEC.filter(lambda s: not is_cyclic(s)))
def test_huge_steps_of_any_type_are_finite_and_held(spec: Spec) -> None:
    schedule = build(spec)
    end = horizon(spec)
    held = None if end is None else np.asarray(schedule(math.ceil(end)))
    for step in HUGE_STEPS:
        got = np.asarray(schedule(step))
        assert got.shape == np.shape(step)
        assert not np.any(np.isnan(got)), (step, got)
        t = np.asarray(step, dtype=np.float64)
        if held is not None:
            np.testing.assert_array_equal(got, np.broadcast_to(held, got.shape), err_msg=str(step))
        else:
            with np.errstate(over="ignore"):
                finite = np.abs(reference.build(spec)(t)) < 1e37
            assert np.all(np.isfinite(got[finite])), (step, got)
            assert_matches_reference(got[finite], spec, np.asarray(t, np.float32)[finite])


# ----------------------------------------------------------------------------- joins


def near(boundary: float) -> tuple[float, float]:
    """Float steps just before (by a relative 1e-5) and at a positive `boundary`."""
    return boundary * (1 - 1e-5), boundary


@settings(max_examples=30, deadline=None)
@given(warmup_spec(piece=ANY_LEAF, prefix=st.just(True)), f32(1.0, 40.0))
def test_warmup_meets_its_schedule_at_the_end_of_warmup(spec: Spec, warmup_steps: float) -> None:
    spec = (spec[0], dict(spec[1], warmup_steps=warmup_steps))
    inner = build(spec[1]["schedule"])
    before, at = evaluate(build(spec), jnp.asarray(near(warmup_steps), jnp.float32))
    scale = reference.build(spec).scale
    start = float(evaluate(inner, jnp.zeros((), jnp.float32)))
    assert abs(float(before) - start) <= 0.01 * scale + 1e-6
    assert abs(float(at) - start) <= RTOL * abs(start) + ATOL * scale


@settings(max_examples=30, deadline=None)
@given(warmup_cosine_spec())
def test_warmup_cosine_decay_is_continuous_at_the_end_of_warmup(spec: Spec) -> None:
    kw = spec[1]
    assume(kw["warmup_steps"] > 0)
    before, at = evaluate(build(spec), jnp.asarray(near(kw["warmup_steps"]), jnp.float32))
    scale = reference.build(spec).scale
    assert abs(float(before) - kw["peak_value"]) <= 0.01 * scale + 1e-6
    assert abs(float(at) - kw["peak_value"]) <= 1e-6 * scale


@settings(max_examples=40, deadline=None)
@given(wsd_spec())
def test_warmup_stable_decay_is_continuous_at_phase_ends(spec: Spec) -> None:
    kw = spec[1]
    peak, end = kw["peak_value"], kw["end_value"]
    decay_start = kw["total_steps"] - kw["decay_steps"]
    schedule = build(spec)
    scale = reference.build(spec).scale
    tol = 0.01 * scale + 1e-6  # 1-sqrt is steep (not Lipschitz) at its ends
    # XLA on CPU flushes subnormal float32 results to 0: a subnormal peak may read as 0.
    exact = 1e-6 * scale + float(np.finfo(np.float32).tiny)
    # (a warmup that takes the whole run ends at total_steps, where end_value holds)
    if 0 < kw["warmup_steps"] < kw["total_steps"]:
        before, at = evaluate(schedule, jnp.asarray(near(kw["warmup_steps"]), jnp.float32))
        assert abs(float(before) - peak) <= tol and abs(float(at) - peak) <= exact
    if kw["decay_steps"] > 0:
        before, at = evaluate(schedule, jnp.asarray(near(decay_start), jnp.float32))
        assert abs(float(before) - peak) <= tol and abs(float(at) - peak) <= exact
        before, at = evaluate(schedule, jnp.asarray(near(kw["total_steps"]), jnp.float32))
        assert abs(float(before) - end) <= tol and float(at) == end


@settings(max_examples=40, deadline=None)
@given(st.one_of(one_cycle_spec(), one_cycle_momentum_spec()))
def test_one_cycle_is_continuous_at_phase_ends(spec: Spec) -> None:
    kw = spec[1]
    total, pct = kw["total_steps"], kw["pct_start"]
    ends = [pct * total - 1, total - 1.0]
    if kw["three_phase"]:
        ends.insert(1, 2 * pct * total - 2)
    schedule = build(spec)
    scale = reference.build(spec).scale
    shortest = min(b - a for a, b in itertools.pairwise([0.0, *ends]))
    for end in ends:
        eps = 1e-3 * min(1.0, shortest)
        got = np.asarray(evaluate(schedule, jnp.asarray([end - eps, end, end + eps], jnp.float32)))
        assert np.ptp(got) <= 0.01 * scale, (end, got)
        assert_matches_reference(got[1:2], spec, np.asarray([end], np.float32))


# ----------------------------------------------------------------------------- step types


STEP_VALUES = (0, 1, 7, 50, 1234)


def step_forms() -> list[tuple[str, Callable[[jaxsched.Schedule], np.ndarray]]]:
    as_int = np.asarray(STEP_VALUES)

    def each(convert: Callable[[int], Any]) -> Callable[[jaxsched.Schedule], np.ndarray]:
        return lambda s: np.stack([np.asarray(s(convert(v))) for v in STEP_VALUES])

    def traced(dtype: Any) -> Callable[[jaxsched.Schedule], np.ndarray]:
        return lambda s: np.asarray(jax.jit(lambda s, t: s(t))(s, jnp.asarray(as_int, dtype)))

    return [
        ("python int", each(int)),
        ("python float", each(float)),
        ("numpy int32 scalar", each(np.int32)),
        ("numpy int64 scalar", each(np.int64)),
        ("numpy float32 scalar", each(np.float32)),
        ("numpy float64 scalar", each(np.float64)),
        ("numpy int32 array", lambda s: np.asarray(s(as_int.astype(np.int32)))),
        ("numpy int64 array", lambda s: np.asarray(s(as_int.astype(np.int64)))),
        ("numpy uint64 array", lambda s: np.asarray(s(as_int.astype(np.uint64)))),
        ("numpy float32 array", lambda s: np.asarray(s(as_int.astype(np.float32)))),
        ("numpy float64 array", lambda s: np.asarray(s(as_int.astype(np.float64)))),
        ("jax int32 scalar", each(jnp.int32)),
        ("jax float32 scalar", each(jnp.float32)),
        ("jax int32 array", lambda s: np.asarray(s(jnp.asarray(as_int, jnp.int32)))),
        ("jax float32 array", lambda s: np.asarray(s(jnp.asarray(as_int, jnp.float32)))),
        ("traced int32", traced(jnp.int32)),
        ("traced float32", traced(jnp.float32)),
    ]


@settings(max_examples=10, deadline=None)
@given(ANY_SPEC)
def test_every_step_type_gives_the_same_values(spec: Spec) -> None:
    schedule = build(spec)
    expected = np.asarray(schedule(np.asarray(STEP_VALUES, np.float64)))
    assert expected.dtype == np.float32
    scale = max(reference.build(spec).scale, 1e-30)
    for label, form in step_forms():
        got = form(schedule)
        assert got.dtype == np.float32, label
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL * scale, err_msg=label)


def test_step_shape_is_kept() -> None:
    schedule = jaxsched.warmup(jaxsched.cosine_decay(1.0, 100), warmup_steps=10)
    for shape in ((), (3,), (2, 3), (2, 1, 4)):
        steps = np.arange(math.prod(shape)).reshape(shape)
        assert schedule(steps).shape == shape
        assert evaluate(schedule, steps.astype(np.float32)).shape == shape


# ----------------------------------------------------------------------------- tracing


SAME_STRUCTURE: dict[str, list[jaxsched.Schedule]] = {
    "cosine_decay": [
        jaxsched.cosine_decay(1, 100),
        jaxsched.cosine_decay(0.5, 300, end_value=1),
        jaxsched.cosine_decay(init_value=2, decay_steps=7, end_value=0.25, exponent=2),
    ],
    "warmup_cosine_decay": [
        jaxsched.warmup_cosine_decay(0, 1, 10, 100),
        jaxsched.warmup_cosine_decay(0.5, 0.25, 0, 7, end_value=1),
    ],
    "warmup_stable_decay": [
        jaxsched.warmup_stable_decay(1, 100, 10, 20),
        jaxsched.warmup_stable_decay(0.5, 7, 0, 0, init_value=1, end_value=2),
    ],
    "one_cycle": [
        jaxsched.one_cycle(1, 100),
        jaxsched.one_cycle(0.5, 70, pct_start=0.5, div_factor=10, final_div_factor=3),
    ],
    "cyclic": [jaxsched.cyclic(0, 1, 5), jaxsched.cyclic(0.5, 2, 3, mode="triangular")],
    "exponential_decay": [
        jaxsched.exponential_decay(1, 0.5),
        jaxsched.exponential_decay(0.25, 2, 3, transition_begin=4),
    ],
    "piecewise_constant": [
        jaxsched.piecewise_constant((2, 4), (1, 0.5, 0.25)),
        jaxsched.piecewise_constant((7, 90), (3.0, 2, 1)),
    ],
    "join": [
        jaxsched.join((jaxsched.linear(0, 1, 5), jaxsched.cosine_decay(1, 50)), (5,)),
        jaxsched.join((jaxsched.linear(0.5, 2, 9), jaxsched.cosine_decay(2, 3)), (11,)),
    ],
    "warmup": [
        jaxsched.warmup(jaxsched.constant(1), 10),
        jaxsched.warmup(jaxsched.constant(0.5), 3, init_value=1),
    ],
    "by_fraction": [
        jaxsched.by_fraction(100, (0.5, 0.5), (jaxsched.constant(1), jaxsched.constant(2))),
        jaxsched.by_fraction(9, (0.25, 0.75), (jaxsched.constant(0.5), jaxsched.constant(0))),
    ],
    "clip": [
        jaxsched.clip(jaxsched.exponential_decay(1, 0.5), 0.1, 1),
        jaxsched.clip(jaxsched.exponential_decay(2, 0.25), 0, 0.5),
    ],
}


@pytest.mark.parametrize("family", sorted(SAME_STRUCTURE))
def test_changing_numbers_does_not_retrace(family: str) -> None:
    traces = 0

    @jax.jit
    def f(schedule: jaxsched.Schedule, step: jax.Array) -> jax.Array:
        nonlocal traces
        traces += 1
        return schedule(step)

    steps = jnp.arange(8.0)
    for schedule in SAME_STRUCTURE[family]:
        np.testing.assert_allclose(f(schedule, steps), schedule(steps), rtol=RTOL, atol=ATOL)
    assert traces == 1


@settings(max_examples=10, deadline=None)
@given(ANY_SPEC, st.data())
def test_vmap_over_stacked_schedules_equals_each(spec: Spec, data: st.DataObject) -> None:
    # the same structure with other numbers: redraw, keeping those whose treedef matches
    specs = [spec]
    for _ in range(3):
        other = data.draw(FAMILIES[spec[0]])
        if jax.tree.structure(build(other)) == jax.tree.structure(build(spec)):
            specs.append(other)
    schedules = [build(s) for s in specs]
    steps = jnp.asarray(steps_for(spec, [])[:64])
    got = np.asarray(jax.vmap(lambda s: s(steps))(jaxsched.stack(schedules)))
    scale = max(max(reference.build(s).scale for s in specs), 1e-30)
    for row, schedule in zip(got, schedules, strict=True):
        np.testing.assert_allclose(row, evaluate(schedule, steps), rtol=RTOL, atol=ATOL * scale)


def test_vmap_over_traced_warmup_steps_and_peak_value() -> None:
    steps = jnp.arange(0, 1100, 7, dtype=jnp.float32)
    warmups = jnp.asarray([0, 1, 10, 250, 999])
    got = jax.vmap(lambda w: jaxsched.warmup_cosine_decay(0.0, 1.0, w, 1000)(steps))(warmups)
    for row, w in zip(got, warmups.tolist(), strict=True):
        np.testing.assert_allclose(
            row, evaluate(jaxsched.warmup_cosine_decay(0.0, 1.0, w, 1000), steps), RTOL, ATOL
        )
        assert_matches_reference(
            row,
            (
                "warmup_cosine_decay",
                {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": w, "decay_steps": 1000},
            ),
            np.asarray(steps),
        )
    peaks = jnp.asarray([0.0, 1e-4, 0.5, 3.0])
    makers = {
        "warmup_cosine_decay": lambda p: jaxsched.warmup_cosine_decay(0.0, p, 100, 1000),
        "one_cycle": lambda p: jaxsched.one_cycle(p, 1000),
        "warmup_stable_decay": lambda p: jaxsched.warmup_stable_decay(p, 1000, 100, 200),
        "inverse_sqrt": lambda p: jaxsched.inverse_sqrt(p, 100),
        "scaled warmup": lambda p: jaxsched.warmup(jaxsched.cosine_decay(p, 900), 100),
    }
    for label, make in makers.items():
        got = jax.vmap(lambda p, make=make: make(p)(steps))(peaks)
        for row, p in zip(got, peaks.tolist(), strict=True):
            want = evaluate(make(p), steps)
            np.testing.assert_allclose(row, want, rtol=RTOL, atol=ATOL, err_msg=label)


# ----------------------------------------------------------------------------- config


@settings(max_examples=60, deadline=None)
@given(st.one_of(ANY_SPEC, NESTED))
def test_config_round_trips_through_json(spec: Spec) -> None:
    schedule = build(spec)
    config = schedule.to_config()
    again = jaxsched.from_config(json.loads(json.dumps(config)))
    assert again == schedule
    assert type(again) is type(schedule)
    assert again.to_config() == config
    assert jax.tree.structure(again) == jax.tree.structure(schedule)
    steps = steps_for(spec, [])
    np.testing.assert_array_equal(evaluate(again, steps), evaluate(schedule, steps))


# ----------------------------------------------------------------------------- validation


C = jaxsched.constant
# (id, build(x), a bad x, the parameter the message must name). x may be traced.
NUMERIC_BAD: list[tuple[str, Callable[[Any], Any], float, str]] = [
    ("constant value nan", lambda x: jaxsched.constant(x), math.nan, "value"),
    ("linear init inf", lambda x: jaxsched.linear(x, 0.0, 10), math.inf, "init_value"),
    ("linear zero length", lambda x: jaxsched.linear(1.0, 0.0, x), 0, "transition_steps"),
    ("linear negative length", lambda x: jaxsched.linear(1.0, 0.0, x), -3, "transition_steps"),
    ("linear negative begin", lambda x: jaxsched.linear(1.0, 0.0, 5, x), -1, "transition_begin"),
    ("poly zero decay", lambda x: jaxsched.polynomial_decay(1.0, 0.0, x), 0, "decay_steps"),
    ("poly zero power", lambda x: jaxsched.polynomial_decay(1.0, 0.0, 9, x), 0.0, "power"),
    ("poly negative power", lambda x: jaxsched.polynomial_decay(1.0, 0.0, 9, x), -1.0, "power"),
    (
        "poly negative begin",
        lambda x: jaxsched.polynomial_decay(1.0, 0.0, 9, transition_begin=x),
        -2,
        "transition_begin",
    ),
    ("step zero size", lambda x: jaxsched.step_decay(1.0, x), 0, "step_size"),
    ("step negative rate", lambda x: jaxsched.step_decay(1.0, 3, x), -0.5, "decay_rate"),
    ("multistep negative", lambda x: jaxsched.multistep_decay(1.0, (5, x)), -1, "milestones"),
    ("multistep rate", lambda x: jaxsched.multistep_decay(1.0, (5,), x), -0.1, "decay_rate"),
    (
        "piecewise decreasing",
        lambda x: jaxsched.piecewise_constant((5, x), (1.0, 0.5, 0.1)),
        3,
        "boundaries",
    ),
    (
        "piecewise repeated",
        lambda x: jaxsched.piecewise_constant((5, x), (1.0, 0.5, 0.1)),
        5,
        "boundaries",
    ),
    (
        "piecewise negative",
        lambda x: jaxsched.piecewise_constant((x, 5), (1.0, 0.5, 0.1)),
        -1,
        "boundaries",
    ),
    ("piecewise nan", lambda x: jaxsched.piecewise_constant((5,), (1.0, x)), math.nan, "values"),
    ("exp zero rate", lambda x: jaxsched.exponential_decay(1.0, x), 0.0, "decay_rate"),
    ("exp negative rate", lambda x: jaxsched.exponential_decay(1.0, x), -0.5, "decay_rate"),
    ("exp zero steps", lambda x: jaxsched.exponential_decay(1.0, 0.5, x), 0, "transition_steps"),
    (
        "exp negative begin",
        lambda x: jaxsched.exponential_decay(1.0, 0.5, transition_begin=x),
        -1,
        "transition_begin",
    ),
    (
        "exp end nan",
        lambda x: jaxsched.exponential_decay(1.0, 0.5, end_value=x),
        math.nan,
        "end_value",
    ),
    ("inverse time rate", lambda x: jaxsched.inverse_time_decay(1.0, x, 10), -1.0, "decay_rate"),
    ("inverse time steps", lambda x: jaxsched.inverse_time_decay(1.0, 1.0, x), 0, "decay_steps"),
    ("inverse sqrt warmup", lambda x: jaxsched.inverse_sqrt(1.0, x), -1, "warmup_steps"),
    ("inverse sqrt timescale", lambda x: jaxsched.inverse_sqrt(1.0, 5, x), 0, "timescale"),
    ("cosine zero decay", lambda x: jaxsched.cosine_decay(1.0, x), 0, "decay_steps"),
    ("cosine negative decay", lambda x: jaxsched.cosine_decay(1.0, x), -5, "decay_steps"),
    ("cosine exponent", lambda x: jaxsched.cosine_decay(1.0, 10, exponent=x), 0.0, "exponent"),
    (
        "wcd negative warmup",
        lambda x: jaxsched.warmup_cosine_decay(0.0, 1.0, x, 10),
        -1,
        "warmup_steps",
    ),
    ("wcd zero decay", lambda x: jaxsched.warmup_cosine_decay(0.0, 1.0, 0, x), 0, "decay_steps"),
    (
        "wcd decay equal to warmup",
        lambda x: jaxsched.warmup_cosine_decay(0.0, 1.0, 10, x),
        10,
        "decay_steps",
    ),
    (
        "wcd decay shorter than warmup",
        lambda x: jaxsched.warmup_cosine_decay(0.0, 1.0, 10, x),
        5,
        "decay_steps",
    ),
    (
        "wcd exponent",
        lambda x: jaxsched.warmup_cosine_decay(0.0, 1.0, 1, 10, exponent=x),
        -1.0,
        "exponent",
    ),
    ("wsd zero total", lambda x: jaxsched.warmup_stable_decay(1.0, x, 0, 0), 0, "total_steps"),
    (
        "wsd negative warmup",
        lambda x: jaxsched.warmup_stable_decay(1.0, 10, x, 0),
        -1,
        "warmup_steps",
    ),
    (
        "wsd negative decay",
        lambda x: jaxsched.warmup_stable_decay(1.0, 10, 0, x),
        -1,
        "decay_steps",
    ),
    (
        "wsd total too short",
        lambda x: jaxsched.warmup_stable_decay(1.0, x, 6, 6),
        10,
        "total_steps",
    ),
    ("restarts first", lambda x: jaxsched.cosine_restarts(1.0, x), 0, "first_decay_steps"),
    ("restarts t_mul", lambda x: jaxsched.cosine_restarts(1.0, 10, t_mul=x), 0.5, "t_mul"),
    ("restarts m_mul", lambda x: jaxsched.cosine_restarts(1.0, 10, m_mul=x), -0.1, "m_mul"),
    (
        "restarts cycle_limit",
        lambda x: jaxsched.cosine_restarts(1.0, 10, cycle_limit=x),
        0,
        "cycle_limit",
    ),
    ("cyclic up", lambda x: jaxsched.cyclic(0.0, 1.0, x), 0, "step_size_up"),
    ("cyclic down", lambda x: jaxsched.cyclic(0.0, 1.0, 5, x), -1, "step_size_down"),
    ("cyclic gamma", lambda x: jaxsched.cyclic(0.0, 1.0, 5, gamma=x), 0.0, "gamma"),
    ("one_cycle total", lambda x: jaxsched.one_cycle(1.0, x), 0, "total_steps"),
    ("one_cycle pct 0", lambda x: jaxsched.one_cycle(1.0, 100, x), 0.0, "pct_start"),
    ("one_cycle pct 1", lambda x: jaxsched.one_cycle(1.0, 100, x), 1.0, "pct_start"),
    ("one_cycle pct 1.5", lambda x: jaxsched.one_cycle(1.0, 100, x), 1.5, "pct_start"),
    ("one_cycle empty first", lambda x: jaxsched.one_cycle(1.0, 10, x), 0.05, "pct_start"),
    (
        "one_cycle empty third",
        lambda x: jaxsched.one_cycle(1.0, 10, x, three_phase=True),
        0.6,
        "pct_start",
    ),
    ("one_cycle div", lambda x: jaxsched.one_cycle(1.0, 100, div_factor=x), 0.0, "div_factor"),
    (
        "one_cycle final div",
        lambda x: jaxsched.one_cycle(1.0, 100, final_div_factor=x),
        -1.0,
        "final_div_factor",
    ),
    ("momentum total", lambda x: jaxsched.one_cycle_momentum(x), -10, "total_steps"),
    ("momentum pct", lambda x: jaxsched.one_cycle_momentum(100, pct_start=x), 1.0, "pct_start"),
    ("tanh decay", lambda x: jaxsched.tanh_decay(1.0, 0.0, x), 0, "decay_steps"),
    ("tanh upper = lower", lambda x: jaxsched.tanh_decay(1.0, 0.0, 9, upper=x), -7.0, "upper"),
    ("tanh upper < lower", lambda x: jaxsched.tanh_decay(1.0, 0.0, 9, upper=x), -8.0, "upper"),
    ("join decreasing", lambda x: jaxsched.join((C(1.0), C(2.0), C(3.0)), (5, x)), 2, "boundaries"),
    ("join negative", lambda x: jaxsched.join((C(1.0), C(2.0)), (x,)), -1, "boundaries"),
    (
        "by_fraction total",
        lambda x: jaxsched.by_fraction(x, (0.5, 0.5), (C(1.0), C(2.0))),
        0,
        "total_steps",
    ),
    (
        "by_fraction sum",
        lambda x: jaxsched.by_fraction(10, (0.5, x), (C(1.0), C(2.0))),
        0.6,
        "fractions",
    ),
    (
        "by_fraction negative",
        lambda x: jaxsched.by_fraction(10, (1.5, x), (C(1.0), C(2.0))),
        -0.5,
        "fractions",
    ),
    ("warmup negative", lambda x: jaxsched.warmup(C(1.0), x), -1, "warmup_steps"),
    ("warmup init nan", lambda x: jaxsched.warmup(C(1.0), 5, x), math.nan, "init_value"),
    ("scale nan", lambda x: jaxsched.scale(C(1.0), x), math.nan, "factor"),
    ("clip max < min", lambda x: jaxsched.clip(C(1.0), 0.5, x), 0.1, "max_value"),
    ("clip min nan", lambda x: jaxsched.clip(C(1.0), x), math.nan, "min_value"),
    ("poly k_decay", lambda x: jaxsched.polynomial_decay(1.0, 0.0, 9, k_decay=x), 0.0, "k_decay"),
    ("ramp zero steps", lambda x: jaxsched.polynomial_ramp(0.0, 1.0, x), 0, "transition_steps"),
    ("ramp power", lambda x: jaxsched.polynomial_ramp(0.0, 1.0, 5, power=x), -1.0, "power"),
    ("ramp end inf", lambda x: jaxsched.polynomial_ramp(0.0, x, 5), math.inf, "end_value"),
    ("alternate negative", lambda x: jaxsched.alternate((C(1.0), C(2.0)), (3, x)), -1, "steps"),
    ("alternate period", lambda x: jaxsched.alternate((C(1.0), C(2.0)), (0, x)), 0, "steps"),
    ("advance nan", lambda x: jaxsched.advance(C(1.0), x), math.nan, "steps"),
    ("advance min_step", lambda x: jaxsched.advance(C(1.0), 1, x), -1, "min_step"),
    ("momentum nan", lambda x: jaxsched.one_cycle_momentum(9, x), math.nan, "base_momentum"),
]

STRUCTURAL_BAD: list[tuple[str, Callable[[], Any], str]] = [
    (
        "wsd warmup shape",
        lambda: jaxsched.warmup_stable_decay(1.0, 9, 1, 1, warmup_shape="exp"),
        "warmup_shape",
    ),
    (
        "wsd decay shape",
        lambda: jaxsched.warmup_stable_decay(1.0, 9, 1, 1, decay_shape="step"),
        "decay_shape",
    ),
    ("cyclic mode", lambda: jaxsched.cyclic(0.0, 1.0, 5, mode="sine"), "mode"),
    (
        "one_cycle strategy",
        lambda: jaxsched.one_cycle(1.0, 100, anneal_strategy="poly"),
        "anneal_strategy",
    ),
    (
        "momentum strategy",
        lambda: jaxsched.one_cycle_momentum(100, anneal_strategy="exp"),
        "anneal_strategy",
    ),
    ("warmup shape", lambda: jaxsched.warmup(C(1.0), 5, shape="quadratic"), "shape"),
    ("warmup continuous", lambda: jaxsched.warmup(C(1.0), 5, continuous="yes"), "continuous"),
    ("alternate lengths", lambda: jaxsched.alternate((C(1.0), C(2.0)), (3,)), "steps"),
    ("alternate non-schedule", lambda: jaxsched.alternate((0.1, C(2.0)), (1, 1)), "schedules"),
    ("advance non-schedule", lambda: jaxsched.advance(0.1, 1), "schedule"),
    ("piecewise lengths", lambda: jaxsched.piecewise_constant((1, 2), (1.0, 2.0)), "values"),
    ("join lengths", lambda: jaxsched.join((C(1.0), C(2.0)), (1, 2)), "boundaries"),
    ("join non-schedule", lambda: jaxsched.join((0.1, C(2.0)), (1,)), "schedules"),
    ("join empty", lambda: jaxsched.join((), ()), "schedules"),
    ("warmup non-schedule", lambda: jaxsched.warmup(0.1, 5), "schedule"),
    ("by_fraction lengths", lambda: jaxsched.by_fraction(10, (0.5, 0.5), (C(1.0),)), "fractions"),
    ("milestones not a sequence", lambda: jaxsched.multistep_decay(1.0, "abc"), "milestones"),
    ("product of numbers", lambda: jaxsched.product(0.1), "schedules"),
    (
        "stack of two families",
        lambda: jaxsched.stack([C(1.0), jaxsched.cosine_decay(1.0, 5)]),
        "schedules",
    ),
    (
        "stack of two modes",
        lambda: jaxsched.stack(
            [jaxsched.cyclic(0.0, 1.0, 5), jaxsched.cyclic(0.0, 1.0, 5, mode="triangular2")]
        ),
        "schedules",
    ),
    ("stack of nothing", lambda: jaxsched.stack([]), "schedules"),
    ("constant of None", lambda: jaxsched.constant(None), "value"),
    ("cosine of None", lambda: jaxsched.cosine_decay(None, 10), "init_value"),
    ("registry unknown", lambda: jaxsched.get("cosine_annealing", init_value=1.0), "name"),
    ("registry bad kwargs", lambda: jaxsched.get("cosine_decay", init_value=1.0), "decay_steps"),
    (
        "registry invalid",
        lambda: jaxsched.get("cosine_decay", init_value=1.0, decay_steps=0),
        "decay_steps",
    ),
    (
        "hf horizon",
        lambda: jaxsched.get("cosine", peak_value=1.0, num_warmup_steps=10, num_training_steps=5),
        "num_training_steps",
    ),
    (
        "hf cycles",
        lambda: jaxsched.get("cosine", peak_value=1.0, num_training_steps=50, num_cycles=2),
        "num_cycles",
    ),
    (
        "hf lr_end",
        lambda: jaxsched.get("polynomial", peak_value=1.0, num_training_steps=50, lr_end=2.0),
        "lr_end",
    ),
    (
        "hf min_lr both",
        lambda: jaxsched.get(
            "cosine_with_min_lr", peak_value=1.0, num_training_steps=50, min_lr=0.1, min_lr_rate=0.1
        ),
        "min_lr",
    ),
    (
        "hf wsd horizon",
        lambda: jaxsched.get(
            "warmup_stable_decay", peak_value=1.0, num_warmup_steps=1, num_decay_steps=2
        ),
        "num_training_steps",
    ),
    ("config unknown name", lambda: jaxsched.from_config({"name": "nope"}), "name"),
    ("config without name", lambda: jaxsched.from_config({"init_value": 1.0}), "name"),
    ("config not a dict", lambda: jaxsched.from_config([1, 2]), "config"),
    (
        "config missing argument",
        lambda: jaxsched.from_config({"name": "cosine_decay", "init_value": 1.0}),
        "decay_steps",
    ),
    (
        "config unknown argument",
        lambda: jaxsched.from_config({"name": "constant", "value": 1.0, "bogus": 2}),
        "bogus",
    ),
    (
        "config invalid value",
        lambda: jaxsched.from_config(
            {"name": "cosine_decay", "init_value": 1.0, "decay_steps": -1}
        ),
        "decay_steps",
    ),
    (
        "config invalid nested",
        lambda: jaxsched.from_config(
            {"name": "warmup", "schedule": {"name": "constant", "value": 1.0}, "warmup_steps": -1}
        ),
        "warmup_steps",
    ),
]


@pytest.mark.parametrize(
    ("make", "bad", "name"), [c[1:] for c in NUMERIC_BAD], ids=[c[0] for c in NUMERIC_BAD]
)
def test_invalid_concrete_value_raises_value_error_naming_it(make, bad, name) -> None:
    with pytest.raises(ValueError, match=name):
        make(bad)


@pytest.mark.parametrize(
    ("make", "name"), [c[1:] for c in STRUCTURAL_BAD], ids=[c[0] for c in STRUCTURAL_BAD]
)
def test_invalid_structure_raises_value_error_naming_it(make, name) -> None:
    with pytest.raises(ValueError, match=name):
        make()


@pytest.mark.parametrize(
    ("make", "bad", "name"), [c[1:] for c in NUMERIC_BAD], ids=[c[0] for c in NUMERIC_BAD]
)
def test_traced_value_is_not_checked_inside_jit(make, bad, name) -> None:
    del name
    value = jax.jit(lambda x: make(x)(jnp.arange(4.0)))(jnp.asarray(bad, jnp.float32))
    assert value.shape == (4,)


@pytest.mark.parametrize(
    ("make", "bad", "name"), [c[1:] for c in NUMERIC_BAD], ids=[c[0] for c in NUMERIC_BAD]
)
def test_concrete_value_is_still_checked_when_built_inside_jit(make, bad, name) -> None:
    with pytest.raises(ValueError, match=name):
        jax.jit(lambda t: make(bad)(t))(jnp.arange(4.0))


@pytest.mark.parametrize("family", sorted(SAME_STRUCTURE))
def test_valid_schedule_can_be_built_inside_jit(family: str) -> None:
    schedule = SAME_STRUCTURE[family][0]
    config = schedule.to_config()
    steps = jnp.arange(0.0, 200.0, 3.0)
    got = jax.jit(lambda t: jaxsched.from_config(config)(t))(steps)
    np.testing.assert_allclose(got, schedule(steps), rtol=RTOL, atol=ATOL)


def test_huge_integer_hyperparameters_do_not_overflow() -> None:
    big = 2**31 + 5
    cases = [
        jaxsched.linear(0.0, 1.0, transition_steps=2 * big, transition_begin=big),
        jaxsched.cosine_decay(1.0, decay_steps=2 * big),
        jaxsched.warmup_stable_decay(1.0, total_steps=4 * big, warmup_steps=big, decay_steps=big),
        jaxsched.join((C(1.0), C(0.5)), boundaries=(big,)),
    ]
    steps = np.asarray([0, big, 2 * big, 3 * big, 10 * big], dtype=np.int64)
    for schedule in cases:
        eager = np.asarray(schedule(steps))
        assert np.all(np.isfinite(eager)), schedule
        np.testing.assert_allclose(evaluate(schedule, steps.astype(np.float32)), eager, 1e-6)
