"""An independent float64 NumPy oracle for every jaxsched schedule.

Written from the docstrings (and the torch / keras / optax definitions they cite), not from
jaxsched's code, so that a shared misreading shows up as a test failure. Each constructor here
takes the same arguments as its jaxsched namesake and returns a `Ref`: a callable from a float64
step array to a float64 value array, plus `scale`, the magnitude of the values the schedule is
built from (the unit for absolute tolerances).

`build(spec)` turns a spec `(name, kwargs)` into a `Ref`; a kwarg that is itself a spec (or a
tuple of specs) is built first, which is how the combinators are described.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

Spec = tuple[str, dict[str, Any]]


class Ref:
    """A reference schedule: `ref(steps) -> float64 values`, and the scale of its values."""

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray], scale: float) -> None:
        self._fn = fn
        self.scale = float(scale)

    def __call__(self, step: Any) -> np.ndarray:
        t = np.asarray(step, dtype=np.float64)
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            return np.asarray(self._fn(t), dtype=np.float64) + np.zeros_like(t)


def _mag(*values: Any) -> float:
    return max([abs(float(v)) for v in values if v is not None] + [0.0])


def _decay_left(shape: str, p: np.ndarray) -> np.ndarray:
    """Share of a cooldown still left at progress p in [0, 1] (1 at p=0, 0 at p=1)."""
    if shape == "linear":
        return 1.0 - p
    if shape == "cosine":
        return 0.5 * (1.0 + np.cos(math.pi * p))
    if shape == "1-sqrt":
        return 1.0 - np.sqrt(p)
    raise KeyError(shape)


def _warmup_done(shape: str, p: np.ndarray) -> np.ndarray:
    """Share of a warmup done at progress p: the cooldown shape run backwards."""
    return _decay_left(shape, 1.0 - p)


def _cos_half(start: Any, end: Any, p: np.ndarray, exponent: Any = 1.0) -> np.ndarray:
    return end + (start - end) * (0.5 * (1.0 + np.cos(math.pi * p))) ** exponent


# ----------------------------------------------------------------------------- schedules


def constant(value: float) -> Ref:
    return Ref(lambda t: np.full_like(t, value), _mag(value))


def linear(init_value, end_value, transition_steps, transition_begin=0) -> Ref:
    def fn(t):
        p = np.clip((t - transition_begin) / transition_steps, 0.0, 1.0)
        return init_value + (end_value - init_value) * p

    return Ref(fn, _mag(init_value, end_value))


def polynomial_decay(
    init_value, end_value, decay_steps, power=1.0, transition_begin=0, cycle=False
) -> Ref:
    def fn(t):
        count = np.maximum(t - transition_begin, 0.0)
        if cycle:
            # keras: the horizon is the next multiple of decay_steps (decay_steps at count 0)
            horizon = decay_steps * np.maximum(np.ceil(count / decay_steps), 1.0)
            p = count / horizon
        else:
            p = np.minimum(count, decay_steps) / decay_steps
        return (init_value - end_value) * (1.0 - p) ** power + end_value

    return Ref(fn, _mag(init_value, end_value))


def step_decay(init_value, step_size, decay_rate=0.1) -> Ref:
    def fn(t):
        # 0 ** 0 is 1: the first block keeps init_value even with decay_rate=0
        return init_value * np.power(float(decay_rate), np.floor(t / step_size))

    return Ref(fn, _mag(init_value))


def multistep_decay(init_value, milestones, decay_rate=0.1) -> Ref:
    def fn(t):
        passed = sum((t >= m).astype(np.float64) for m in milestones) + np.zeros_like(t)
        return init_value * np.power(float(decay_rate), passed)

    return Ref(fn, _mag(init_value))


def piecewise_constant(boundaries, values) -> Ref:
    def fn(t):
        index = sum((t >= b).astype(np.int64) for b in boundaries) + np.zeros(t.shape, np.int64)
        return np.asarray(values, dtype=np.float64)[index]

    return Ref(fn, _mag(*values))


def exponential_decay(
    init_value, decay_rate, transition_steps=1, staircase=False, transition_begin=0, end_value=None
) -> Ref:
    def fn(t):
        exponent = np.maximum(t - transition_begin, 0.0) / transition_steps
        if staircase:
            exponent = np.floor(exponent)
        if init_value == 0:
            value = np.zeros_like(t)  # 0 * rate ** x is 0 for every x, however large
        else:
            value = init_value * np.power(float(decay_rate), exponent)
        if end_value is not None:
            # as optax: a floor when decaying, a ceiling otherwise
            value = np.maximum(value, end_value) if decay_rate < 1 else np.minimum(value, end_value)
        return value

    return Ref(fn, _mag(init_value, end_value))


def inverse_time_decay(init_value, decay_rate, decay_steps, staircase=False) -> Ref:
    def fn(t):
        p = t / decay_steps
        if staircase:
            p = np.floor(p)
        return init_value / (1.0 + decay_rate * p)

    return Ref(fn, _mag(init_value))


def inverse_sqrt(peak_value, warmup_steps, timescale=None) -> Ref:
    if timescale is None:
        timescale = warmup_steps if warmup_steps > 0 else 10_000

    def fn(t):
        ramp = peak_value * t / (warmup_steps if warmup_steps > 0 else 1.0)
        decay = peak_value * np.sqrt(timescale / (np.maximum(t - warmup_steps, 0.0) + timescale))
        return np.where(t < warmup_steps, ramp, decay)

    return Ref(fn, _mag(peak_value))


def cosine_decay(init_value, decay_steps, end_value=0.0, exponent=1.0) -> Ref:
    def fn(t):
        return _cos_half(init_value, end_value, np.minimum(t, decay_steps) / decay_steps, exponent)

    return Ref(fn, _mag(init_value, end_value))


def warmup_cosine_decay(
    init_value, peak_value, warmup_steps, decay_steps, end_value=0.0, exponent=1.0
) -> Ref:
    def fn(t):
        ramp = init_value + (peak_value - init_value) * t / max(warmup_steps, 1e-300)
        p = np.clip((t - warmup_steps) / (decay_steps - warmup_steps), 0.0, 1.0)
        return np.where(t < warmup_steps, ramp, _cos_half(peak_value, end_value, p, exponent))

    return Ref(fn, _mag(init_value, peak_value, end_value))


def warmup_stable_decay(
    peak_value,
    total_steps,
    warmup_steps,
    decay_steps,
    init_value=0.0,
    end_value=0.0,
    warmup_shape="linear",
    decay_shape="linear",
) -> Ref:
    decay_start = total_steps - decay_steps

    def fn(t):
        out = np.full_like(t, float(end_value))
        cool = (t >= decay_start) & (t < total_steps)
        if decay_steps > 0:
            left = _decay_left(decay_shape, np.clip((t - decay_start) / decay_steps, 0, 1))
            out = np.where(cool, end_value + (peak_value - end_value) * left, out)
        out = np.where((t >= warmup_steps) & (t < decay_start), peak_value, out)
        if warmup_steps > 0:
            done = _warmup_done(warmup_shape, np.clip(t / warmup_steps, 0, 1))
            out = np.where(t < warmup_steps, init_value + (peak_value - init_value) * done, out)
        return out

    return Ref(fn, _mag(peak_value, init_value, end_value))


def _restart_cycle(t: float, first: float, t_mul: float) -> tuple[float, float, float]:
    """(cycle index, cycle start, cycle length) of a scalar step in SGDR, exactly."""

    def start(i: float) -> float:
        if t_mul == 1:
            return first * i
        return first * (t_mul**i - 1.0) / (t_mul - 1.0)

    if t_mul == 1:
        i = math.floor(t / first)
    else:
        i = math.floor(math.log1p(t * (t_mul - 1.0) / first) / math.log(t_mul))
    i = max(i, 0)
    while start(i + 1) <= t:
        i += 1
    while i > 0 and start(i) > t:
        i -= 1
    return float(i), start(i), first * t_mul**i


def cosine_restarts(
    init_value, first_decay_steps, t_mul=1.0, m_mul=1.0, end_value=0.0, cycle_limit=None
) -> Ref:
    def one(t: float) -> float:
        i, begin, length = _restart_cycle(t, first_decay_steps, t_mul)
        if cycle_limit is not None and i >= cycle_limit:
            return float(end_value)
        peak = end_value + (init_value - end_value) * np.power(np.float64(m_mul), i)
        return float(_cos_half(peak, end_value, (t - begin) / length))

    def fn(t):
        return np.vectorize(one, otypes=[np.float64])(t)

    return Ref(fn, _mag(init_value, end_value))


def cyclic(
    base_value, max_value, step_size_up, step_size_down=None, mode="triangular", gamma=1.0
) -> Ref:
    up = step_size_up
    down = step_size_up if step_size_down is None else step_size_down
    total = up + down

    def fn(t):
        # torch CyclicLR: cycle = floor(1 + t / total), x = 1 + t / total - cycle
        completed = np.floor(t / total)
        position = np.mod(t, total)
        height = np.where(position <= up, position / up, (total - position) / down)
        if mode == "triangular":
            amplitude = np.ones_like(t)
        elif mode == "triangular2":
            amplitude = 0.5**completed
        else:
            amplitude = np.power(float(gamma), t)
        # height 0 at a cycle start gives base_value whatever the amplitude
        scaled = np.where(height == 0, 0.0, height * amplitude)
        return base_value + (max_value - base_value) * scaled

    return Ref(fn, _mag(base_value, max_value))


def _one_cycle_phases(total_steps, pct_start, three_phase, points, anneal_strategy) -> Callable:
    # torch OneCycleLR: phase i covers steps (end[i-1], end[i]] and anneals points[i] -> [i+1]
    if three_phase:
        ends = [
            float(pct_start * total_steps) - 1,
            float(2 * pct_start * total_steps) - 2,
            total_steps - 1,
        ]
    else:
        ends = [float(pct_start * total_steps) - 1, total_steps - 1]

    def anneal(start, end, p):
        if anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (np.cos(math.pi * p) + 1.0)
        return (end - start) * p + start

    def fn(t):
        out = np.full_like(t, float(points[-1]))  # held past the last phase
        begin = 0.0
        done = np.zeros(t.shape, bool)
        for i, end in enumerate(ends):
            here = ~done & (t <= end)
            p = np.clip((t - begin) / (end - begin), 0.0, 1.0)
            out = np.where(here, anneal(points[i], points[i + 1], p), out)
            done |= here
            begin = end
        return out

    return fn


def one_cycle(
    peak_value,
    total_steps,
    pct_start=0.3,
    div_factor=25.0,
    final_div_factor=1e4,
    anneal_strategy="cos",
    three_phase=False,
) -> Ref:
    initial = peak_value / div_factor
    low = initial / final_div_factor
    points = (initial, peak_value, initial, low) if three_phase else (initial, peak_value, low)
    fn = _one_cycle_phases(total_steps, pct_start, three_phase, points, anneal_strategy)
    return Ref(fn, _mag(peak_value))


def one_cycle_momentum(
    total_steps,
    base_momentum=0.85,
    max_momentum=0.95,
    pct_start=0.3,
    anneal_strategy="cos",
    three_phase=False,
) -> Ref:
    hi, lo = max_momentum, base_momentum
    points = (hi, lo, hi, hi) if three_phase else (hi, lo, hi)
    fn = _one_cycle_phases(total_steps, pct_start, three_phase, points, anneal_strategy)
    return Ref(fn, _mag(hi, lo))


def tanh_decay(init_value, end_value, decay_steps, lower=-7.0, upper=3.0) -> Ref:
    def fn(t):
        p = t / decay_steps
        curve = end_value + 0.5 * (init_value - end_value) * (
            1.0 - np.tanh(lower + (upper - lower) * p)
        )
        return np.where(t < decay_steps, curve, end_value)

    return Ref(fn, _mag(init_value, end_value))


# ----------------------------------------------------------------------------- combinators


def _switch(t: np.ndarray, pieces: list[Ref], starts: list[float]) -> np.ndarray:
    out = pieces[0](t)
    for start, piece in zip(starts, pieces[1:], strict=True):
        out = np.where(t >= start, piece(np.maximum(t - start, 0.0)), out)
    return out


def join(schedules, boundaries) -> Ref:
    pieces = list(schedules)
    return Ref(lambda t: _switch(t, pieces, list(boundaries)), max(p.scale for p in pieces))


def by_fraction(total_steps, fractions, schedules) -> Ref:
    pieces = list(schedules)
    cumulative = np.cumsum(np.asarray(fractions, dtype=np.float64))[:-1]
    starts = [float(np.round(total_steps * c)) for c in cumulative]  # round half to even
    return Ref(lambda t: _switch(t, pieces, starts), max(p.scale for p in pieces))


def warmup(schedule, warmup_steps, init_value=0.0, shape="linear") -> Ref:
    def fn(t):
        after = schedule(np.maximum(t - warmup_steps, 0.0))
        if warmup_steps == 0:
            return after
        target = schedule(np.zeros_like(t))
        ramp = init_value + (target - init_value) * _warmup_done(
            shape, np.clip(t / warmup_steps, 0, 1)
        )
        return np.where(t < warmup_steps, ramp, after)

    return Ref(fn, max(schedule.scale, _mag(init_value)))


def product(*schedules) -> Ref:
    def fn(t):
        out = np.ones_like(t)
        for s in schedules:
            out = out * s(t)
        return out

    return Ref(fn, math.prod(max(s.scale, 1e-30) for s in schedules))


def scale(schedule, factor) -> Ref:
    return Ref(lambda t: factor * schedule(t), abs(factor) * schedule.scale)


def clip(schedule, min_value=None, max_value=None) -> Ref:
    def fn(t):
        out = schedule(t)
        if min_value is not None:
            out = np.maximum(out, min_value)
        if max_value is not None:
            out = np.minimum(out, max_value)
        return out

    return Ref(fn, max(schedule.scale, _mag(min_value, max_value)))


BUILDERS: dict[str, Callable[..., Ref]] = {
    f.__name__: f
    for f in (
        constant,
        linear,
        polynomial_decay,
        step_decay,
        multistep_decay,
        piecewise_constant,
        exponential_decay,
        inverse_time_decay,
        inverse_sqrt,
        cosine_decay,
        warmup_cosine_decay,
        warmup_stable_decay,
        cosine_restarts,
        cyclic,
        one_cycle,
        one_cycle_momentum,
        tanh_decay,
        join,
        by_fraction,
        warmup,
        product,
        scale,
        clip,
    )
}


def is_spec(value: Any) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], dict)
    )


def _make_reference(name: str, kwargs: dict[str, Any]) -> Ref:
    if name == "product":
        return product(*kwargs["schedules"])
    return BUILDERS[name](**kwargs)


def build(spec: Spec, make: Callable[[str, dict[str, Any]], Any] = _make_reference) -> Any:
    """What `make` builds for a spec `(name, kwargs)`, nested specs first.

    By default the reference; `product` takes `{"schedules": (...)}`.
    """
    name, kwargs = spec
    built = {}
    for key, value in kwargs.items():
        if is_spec(value):
            built[key] = build(value, make)
        elif isinstance(value, tuple) and value and all(is_spec(v) for v in value):
            built[key] = tuple(build(v, make) for v in value)
        else:
            built[key] = value
    return make(name, built)
