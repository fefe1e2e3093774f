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

import functools
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
    init_value, end_value, decay_steps, power=1.0, transition_begin=0, cycle=False, k_decay=1.0
) -> Ref:
    def fn(t):
        count = np.maximum(t - transition_begin, 0.0)
        if cycle:
            # keras: the horizon is the next multiple of decay_steps (decay_steps at count 0)
            horizon = decay_steps * np.maximum(np.ceil(count / decay_steps), 1.0)
            p = count / horizon
        else:
            p = np.minimum(count, decay_steps) / decay_steps
        # timm's k-decay: 1 - t**k / T**k
        return (init_value - end_value) * (1.0 - p**k_decay) ** power + end_value

    return Ref(fn, _mag(init_value, end_value))


def polynomial_ramp(init_value, end_value, transition_steps, power=1.0, transition_begin=0) -> Ref:
    def fn(t):
        p = np.clip((t - transition_begin) / transition_steps, 0.0, 1.0)
        return init_value + (end_value - init_value) * p**power

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


def inverse_sqrt(peak_value, warmup_steps, timescale=None, shift=0.0, step_offset=0.0) -> Ref:
    # transformers' timescale default; big_vision's rsqrt with its `shift`; t5x's step_offset
    if timescale is None:
        timescale = warmup_steps if warmup_steps > 0 else 10_000

    def fn(t):
        t = np.maximum(t - step_offset, 0.0)
        in_warmup = peak_value / np.sqrt(1 + shift / timescale) * t / max(warmup_steps, 1e-300)
        decay = peak_value / np.sqrt(1 + (t + shift - warmup_steps) / timescale)
        return np.where(t < warmup_steps, in_warmup, decay)

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
    init_value,
    first_decay_steps,
    t_mul=1.0,
    m_mul=1.0,
    end_value=0.0,
    cycle_limit=None,
    cycle_decay=1.0,
    k_decay=1.0,
) -> Ref:
    def one(t: float) -> float:
        i, begin, length = _restart_cycle(t, first_decay_steps, t_mul)
        if cycle_limit is not None and i >= cycle_limit:
            return float(end_value)
        # keras scales the amplitude above end_value (m_mul), timm the peak (cycle_decay)
        top = init_value * np.power(np.float64(cycle_decay), i)
        peak = end_value + (top - end_value) * np.power(np.float64(m_mul), i)
        # timm: cos(pi * t_curr ** k / t_i ** k)
        return float(_cos_half(peak, end_value, ((t - begin) / length) ** k_decay))

    def fn(t):
        return np.vectorize(one, otypes=[np.float64])(t)

    return Ref(fn, _mag(init_value, end_value))


def cyclic(
    base_value,
    max_value,
    step_size_up,
    step_size_down=None,
    mode="triangular",
    gamma=1.0,
    scale_fn=None,
    scale_mode="cycle",
) -> Ref:
    up = step_size_up
    down = step_size_up if step_size_down is None else step_size_down
    total = up + down

    def fn(t):
        # torch CyclicLR: cycle = floor(1 + t / total), x = 1 + t / total - cycle
        completed = np.floor(t / total)
        position = np.mod(t, total)
        height = np.where(position <= up, position / up, (total - position) / down)
        if scale_fn is not None:
            argument = completed + 1.0 if scale_mode == "cycle" else t
            amplitude = np.asarray(scale_fn(argument), np.float64) + np.zeros_like(t)
        elif mode == "triangular":
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


# -------------------------- warmups, one-cycle layouts, function schedules, cycles, cooldown, noise


def warmup_constant(init_value, peak_value, warmup_steps) -> Ref:
    def fn(t):
        if warmup_steps == 0:
            return np.full_like(t, float(peak_value))
        return init_value + (peak_value - init_value) * np.clip(t / warmup_steps, 0.0, 1.0)

    return Ref(fn, _mag(init_value, peak_value))


def warmup_exponential_decay(
    init_value,
    peak_value,
    warmup_steps,
    transition_steps,
    decay_rate,
    transition_begin=0,
    staircase=False,
    end_value=None,
) -> Ref:
    # optax: join_schedules([linear_schedule, exponential_decay(peak, ...)], [warmup_steps])
    decay = exponential_decay(
        peak_value, decay_rate, transition_steps, staircase, transition_begin, end_value
    )

    def fn(t):
        ramp = init_value + (peak_value - init_value) * t / max(warmup_steps, 1e-300)
        return np.where(t < warmup_steps, ramp, decay(np.maximum(t - warmup_steps, 0.0)))

    return Ref(fn, _mag(init_value, peak_value, end_value))


def _optax_interpolate(kind, init_value, boundaries, scales):
    """optax.piecewise_interpolate_schedule, transcribed: `bounds = (0, *sorted boundaries)`,
    values the running products, interval sizes at least 1, the last value held."""
    bounds = np.asarray([0.0, *boundaries], np.float64)
    values = np.cumprod(np.asarray([init_value, *scales], np.float64))

    def interp(start, end, pct):
        if kind == "linear":
            return (end - start) * pct + start
        return end + (start - end) / 2.0 * (np.cos(math.pi * pct) + 1)

    def fn(t):
        out = np.where(bounds[-1] <= t, values[-1], 0.0)
        for i in range(len(bounds) - 1):
            size = max(bounds[i + 1] - bounds[i], 1.0)
            inside = (bounds[i] <= t) & (t < bounds[i + 1])
            out = np.where(inside, interp(values[i], values[i + 1], (t - bounds[i]) / size), out)
        return out

    return fn, values


def piecewise_interpolate(init_value, boundaries, scales=None, interpolate_type="linear") -> Ref:
    if scales is None:
        boundaries, scales = zip(*sorted(boundaries.items()), strict=True)
    fn, values = _optax_interpolate(interpolate_type, init_value, boundaries, scales)
    return Ref(fn, _mag(*values))


def _int(x: float) -> float:
    """optax's int() of pct * steps, except that a product within 16 float32 ulps of a whole
    number counts as that number (as the docstring says)."""
    whole = round(x)
    if abs(x - whole) <= 16 * 2.0**-23 * max(abs(x), 1):
        return float(whole)
    return float(math.floor(x))


def linear_onecycle(
    transition_steps,
    peak_value,
    pct_start=0.3,
    pct_final=0.85,
    div_factor=25.0,
    final_div_factor=1e4,
) -> Ref:
    boundaries = (
        _int(pct_start * transition_steps),
        _int(pct_final * transition_steps),
        transition_steps,
    )
    scales = (div_factor, 1.0 / div_factor, 1.0 / final_div_factor)
    fn, _ = _optax_interpolate("linear", peak_value / div_factor, boundaries, scales)
    return Ref(fn, _mag(peak_value))


def cosine_onecycle(
    transition_steps, peak_value, pct_start=0.3, div_factor=25.0, final_div_factor=1e4
) -> Ref:
    boundaries = (_int(pct_start * transition_steps), math.floor(transition_steps))
    scales = (div_factor, 1.0 / (div_factor * final_div_factor))
    fn, _ = _optax_interpolate("cosine", peak_value / div_factor, boundaries, scales)
    return Ref(fn, _mag(peak_value))


def piecewise_constant_scales(init_value, boundaries, scales=None) -> Ref:
    if scales is None:
        boundaries, scales = zip(*boundaries.items(), strict=True)

    def fn(t):
        # optax: v = v * indicator + (1 - indicator) * scale * v, indicator = (t < b)
        out = np.full_like(t, float(init_value))
        for b, scale in zip(boundaries, scales, strict=True):
            out = np.where(t >= b, out * scale, out)
        return out

    return Ref(fn, _mag(init_value))


def constant_factor(value, factor=1.0 / 3, transition_steps=5) -> Ref:
    # torch ConstantLR's closed form: base * (factor + (t >= total_iters) * (1 - factor))
    return Ref(lambda t: value * np.where(t >= transition_steps, 1.0, factor), _mag(value))


def lambda_schedule(fn, init_value=1.0, params=None) -> Ref:
    params = params or {}
    return Ref(lambda t: init_value * fn(t, **params), _mag(init_value))


def multiplicative(fn, max_steps, init_value=1.0, params=None) -> Ref:
    params = params or {}
    # torch MultiplicativeLR: lr_t = lr_{t-1} * f(t) for t >= 1
    table = np.cumprod(
        [1.0, *(float(fn(np.float64(k), **params)) for k in range(1, max_steps + 1))]
    )

    def fn_(t):
        return init_value * table[np.clip(np.floor(t), 0, max_steps).astype(np.int64)]

    return Ref(fn_, _mag(init_value) * max(1.0, float(np.max(np.abs(table)))))


def swa(init_value, swa_value, anneal_steps=10, anneal_strategy="cos") -> Ref:
    # torch SWALR from an optimizer at init_value: swa * a(t) + init * (1 - a(t))
    def fn(t):
        p = np.clip(t / anneal_steps, 0.0, 1.0) if anneal_steps > 0 else np.ones_like(t)
        alpha = (1 - np.cos(math.pi * p)) / 2 if anneal_strategy == "cos" else p
        return swa_value * alpha + init_value * (1 - alpha)

    return Ref(fn, _mag(init_value, swa_value))


def warmup_stable_decay_cycles(
    peak_value,
    cycle_ends,
    warmup_steps,
    decay_steps=None,
    rewarmup_steps=0,
    init_value=0.0,
    end_value=0.0,
    warmup_shape="linear",
    decay_shape="linear",
) -> Ref:
    n = len(cycle_ends)
    rewarmups = (
        list(rewarmup_steps) if isinstance(rewarmup_steps, tuple) else [rewarmup_steps] * (n - 1)
    )
    decays = decay_steps if isinstance(decay_steps, tuple) else [decay_steps] * n

    def one(t: float) -> float:
        start = 0.0
        for k, end in enumerate(cycle_ends):
            if t < end:
                length = end - start
                warm = warmup_steps if k == 0 else rewarmups[k - 1]
                decay = length - warm if decays[k] is None else decays[k]
                local = t - start
                begin = init_value if k == 0 else end_value
                if local < warm:
                    done = _warmup_done(warmup_shape, np.float64(local / warm))
                    return float(begin + (peak_value - begin) * done)
                if local < length - decay:
                    return float(peak_value)
                left = _decay_left(decay_shape, np.float64((local - length + decay) / decay))
                return float(end_value + (peak_value - end_value) * left)
            start = end
        return float(end_value)

    return Ref(np.vectorize(one, otypes=[np.float64]), _mag(peak_value, init_value, end_value))


def cooldown(schedule, start_step, decay_steps, shape="1-sqrt", end_value=0.0) -> Ref:
    def fn(t):
        branch = schedule(np.full_like(t, float(start_step)))
        if decay_steps == 0:
            decayed = np.full_like(t, float(end_value))
        else:
            left = _decay_left(shape, np.clip((t - start_step) / decay_steps, 0.0, 1.0))
            decayed = end_value + (branch - end_value) * left
        return np.where(t < start_step, schedule(np.minimum(t, start_step)), decayed)

    return Ref(fn, max(schedule.scale, _mag(end_value)))


@functools.cache
def _noise_draws(noise_type: str) -> Callable[..., Any]:
    import jax

    def one(seed, high, low, pct, std):
        key = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), high), low)
        if noise_type == "normal":
            return std * jax.random.truncated_normal(key, -pct / std, pct / std)
        return pct * jax.random.uniform(key, minval=-1.0, maxval=1.0)

    return jax.jit(jax.vmap(one, in_axes=(None, 0, 0, None, None)))


def noise(
    schedule,
    noise_start=0,
    noise_end=None,
    noise_pct=0.67,
    noise_std=1.0,
    noise_type="normal",
    seed=42,
) -> Ref:
    # The draw is the documented one: JAX's PRNG, key(seed) folded with the step (high and
    # low halves of 2**31), a truncated normal or a uniform; the rest is float64 here.
    def draws(t: np.ndarray) -> np.ndarray:
        whole = np.clip(np.floor(t), 0.0, 2.0**62).ravel()  # steps from 2**62 share a draw
        high, low = np.divmod(whole, 2.0**31)
        got = _noise_draws(noise_type)(
            seed, high.astype(np.uint32), low.astype(np.uint32), noise_pct, noise_std
        )
        return np.asarray(got, np.float64).reshape(t.shape)

    def fn(t):
        value = schedule(t)
        inside = t >= noise_start
        if noise_end is not None:
            inside &= t < noise_end
        return np.where(inside, value * (1.0 + draws(t)), value)

    return Ref(fn, schedule.scale * (1.0 + noise_pct))


# Functions of the step for lambda_schedule, multiplicative and cyclic's scale_fn. They use
# only arithmetic, so the same function runs on NumPy (here) and JAX arrays (the schedule),
# and they live in an importable module, so their schedules have configs.


def inverse_power(step, rate, power):
    return (1.0 + rate * step) ** -power


def shrinking_factor(step, rate):
    return 1.0 / (1.0 + rate / (1.0 + step))


def geometric(step):
    return 0.95**step


def ninety_percent(step):
    return 0.9 + 0.0 * step


def halving(cycle):
    return 0.5 ** (cycle - 1.0)


def damped(step):
    return 1.0 / (1.0 + 0.01 * step)


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


def warmup(
    schedule, warmup_steps, init_value=0.0, shape="linear", prefix=True, continuous=False
) -> Ref:
    def fn(t):
        after = schedule(np.maximum(t - warmup_steps, 0.0) if prefix else t)
        if warmup_steps == 0:
            return after
        # timm's TanhLRScheduler (warmup_prefix=False) ramps to its value at warmup_t
        target = schedule(np.full_like(t, 0.0 if prefix or not continuous else warmup_steps))
        ramp = init_value + (target - init_value) * _warmup_done(
            shape, np.clip(t / warmup_steps, 0, 1)
        )
        return np.where(t < warmup_steps, ramp, after)

    return Ref(fn, max(schedule.scale, _mag(init_value)))


def alternate(schedules, steps) -> Ref:
    """praxis CycleSchedule: the piece holding `t mod sum(steps)`, given the absolute step."""
    ends = np.cumsum(np.asarray(steps, dtype=np.float64))

    def fn(t):
        position = np.mod(t, ends[-1])
        index = np.searchsorted(ends, position, side="right")  # pieces ending at or before
        out = np.zeros_like(t)
        for i, schedule in enumerate(schedules):
            out = np.where(index == i, schedule(t), out)
        return out

    return Ref(fn, max(s.scale for s in schedules))


def advance(schedule, steps=0.0, min_step=0.0) -> Ref:
    return Ref(lambda t: schedule(np.maximum(t + steps, min_step)), schedule.scale)


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
        polynomial_ramp,
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
        warmup_constant,
        warmup_exponential_decay,
        piecewise_interpolate,
        linear_onecycle,
        cosine_onecycle,
        piecewise_constant_scales,
        constant_factor,
        lambda_schedule,
        multiplicative,
        swa,
        warmup_stable_decay_cycles,
        cooldown,
        noise,
        join,
        by_fraction,
        warmup,
        alternate,
        advance,
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
