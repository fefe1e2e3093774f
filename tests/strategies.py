"""Hypothesis strategies that draw specs of every schedule, and the steps to evaluate them at.

Float hyperparameters are drawn float32-representable, so that float32 comparisons measure the
schedule's arithmetic, not the rounding of its inputs. `LEAVES` and `COMBINATORS` hold one
strategy per registered family; `FAMILIES` is both.
"""

from __future__ import annotations

import itertools
from typing import Any

import hypothesis.strategies as st
import numpy as np
from hypothesis import assume

from tests import reference
from tests.reference import Spec
from tests.specs import children, extent, steps_for, whole


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


# `total_steps`, `pct_start` and `three_phase` of a one-cycle run whose phases all last. A
# filter, not an assume: a failed draw is drawn again instead of rejecting the whole example,
# which matters where one example draws several cases (the batched evaluation-mode test).
one_cycle_layout = st.tuples(st.integers(3, 200), f32(0.02, 0.98), st.booleans()).filter(
    lambda layout: one_cycle_valid(*layout)
)


@st.composite
def one_cycle_spec(draw: st.DrawFn) -> Spec:
    total_steps, pct_start, three_phase = draw(one_cycle_layout)
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
    total_steps, pct_start, three_phase = draw(one_cycle_layout)
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


# ----------------------------------- leaves: warmups, one-cycle layouts, function schedules, cycles

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


@st.composite
def linear_onecycle_spec(draw: st.DrawFn) -> Spec:
    total = draw(st.integers(3, 200))
    pct_start, pct_final = draw(
        st.tuples(PCT, PCT)
        .map(sorted)
        .filter(
            lambda p: whole(p[0] * total) < whole(p[1] * total) < total  # drawn again if not
        )
    )
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
    assume(pct_start < 1 and whole(pct_start * total) < total)
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
    steps = tuple(draw(st.lists(LENGTH0, min_size=len(pieces), max_size=len(pieces)).filter(any)))
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
