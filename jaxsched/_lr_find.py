"""The learning-rate range test: train briefly with an exponentially growing learning rate."""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxsched._checks import check, check_computed, check_positive
from jaxsched._inject import factory_parameters, inject
from jaxsched._numerics import float_dtype
from jaxsched._plot import new_figure, save_figure
from jaxsched._schedule import Schedule, register_pytree


@register_pytree
@dataclasses.dataclass(frozen=True, repr=False)
class _Sweep(Schedule):
    """The sweep's learning rates as a table: update `i` uses `rates[i]`.

    fastai's rates are `start_lr * (end_lr / start_lr) ** (i / num_steps)`, computed in
    float64; evaluated in float32 the power is off by up to 11 ulps at the far end of a
    sweep from 1e-7 to 10. The table holds each rate computed in float64 and rounded once
    to the dtype schedules compute in: the float32 nearest to fastai's value.
    """

    name = "lr_find sweep"
    rates: Any

    @classmethod
    def of(cls, start_lr: float, end_lr: float, num_steps: int) -> _Sweep:
        # Python floats, fastai's own arithmetic (NumPy's vectorised power can differ in the
        # last bit of a float64).
        ratio = float(end_lr) / float(start_lr)
        rates = [float(start_lr) * ratio ** (i / num_steps) for i in range(num_steps)]
        return cls(np.asarray(rates, np.float64).astype(float_dtype()))

    def _at(self, step: jax.Array) -> jax.Array:
        last = self.rates.shape[0] - 1
        return self.rates[jnp.clip(step, 0, last).astype(jnp.int32)]


@dataclasses.dataclass(frozen=True)
class LRFindResult:
    """The curve of a learning-rate range test and the learning rates it suggests.

    Attributes:
      lrs: the learning rate of each update that ran.
      losses: the smoothed loss recorded with it (debiased exponential moving average).
      raw_losses: the loss of each batch, computed before the update with `lrs[i]`.
      diverged: whether the sweep stopped early because the smoothed loss blew up.
      skip_start: points left out at the start for the suggestions and the plot.
      skip_end: points left out at the end.
      suggestions: "valley", "slide", "steep" and "minimum" (see `lr_find`).
    """

    lrs: np.ndarray
    losses: np.ndarray
    raw_losses: np.ndarray
    diverged: bool
    skip_start: int
    skip_end: int
    suggestions: dict[str, float]

    def trimmed(self) -> tuple[np.ndarray, np.ndarray]:
        """The learning rates and smoothed losses without the skipped points."""
        stop = len(self.lrs) - self.skip_end
        return self.lrs[self.skip_start : stop], self.losses[self.skip_start : stop]

    def table(self, reference_lr: float | None = None) -> str:
        """The suggestions as a Markdown table, optionally against a learning rate you trust.

        With `reference_lr` (for example the best constant rate of a sweep), each row also
        gives the suggestion's ratio to it and `|log10(suggestion / reference_lr)|`, the
        distance on the log scale the sweep itself uses, so suggesters can be ranked.

        Examples:
          >>> import numpy as np, jaxsched
          >>> result = jaxsched.LRFindResult(np.ones(2), np.ones(2), np.ones(2), False, 0, 0,
          ...                                {"valley": 0.01, "minimum": 0.1})
          >>> print(result.table(reference_lr=0.05))
          | suggester | learning rate | / reference | log10 distance |
          |---|---:|---:|---:|
          | valley | 1.00e-02 | 0.2 | 0.70 |
          | minimum | 1.00e-01 | 2 | 0.30 |
        """
        header = "| suggester | learning rate |"
        rule = "|---|---:|"
        if reference_lr is not None:
            check_positive("reference_lr", reference_lr)
            header += " / reference | log10 distance |"
            rule += "---:|---:|"
        rows = [header, rule]
        for name, lr in self.suggestions.items():
            row = f"| {name} | {lr:.2e} |"
            if reference_lr is not None:
                if math.isfinite(lr) and lr > 0:
                    ratio = lr / reference_lr
                    row += f" {ratio:.3g} | {abs(math.log10(ratio)):.2f} |"
                else:
                    row += " - | - |"
            rows.append(row)
        return "\n".join(rows)

    def plot(self, path: str | os.PathLike[str] | None = None, *, title: str | None = None) -> Any:
        """Draws the smoothed loss against the learning rate, with the suggestions.

        Args:
          path: if given, where to write the figure (PNG, SVG, PDF, ... by its extension);
            missing parent folders are created. Nothing is written without it.
          title: an optional title.

        Returns:
          The `matplotlib.figure.Figure` (not left open in pyplot: a notebook shows it once).

        Raises:
          ImportError: if matplotlib is missing (install the `plot` extra).

        Examples:
          >>> import numpy as np, jaxsched
          >>> lrs = np.geomspace(1e-4, 1.0, 20)
          >>> result = jaxsched.LRFindResult(lrs, (np.log10(lrs) + 2) ** 2, lrs, False, 0, 0,
          ...                                {"minimum": 1e-3})
          >>> figure = result.plot(title="range test")
          >>> [line.get_label() for line in figure.axes[0].get_lines()]
          ['smoothed loss', 'minimum: 1.00e-03']
        """
        lrs, losses = self.trimmed()
        figure, axes = new_figure("LRFindResult.plot", (8, 4.5))
        axes.plot(lrs, losses, label="smoothed loss")
        for (name, lr), marker in zip(self.suggestions.items(), "ov^sDP", strict=False):
            if math.isfinite(lr) and lrs.size:
                loss = np.interp(np.log(lr), np.log(lrs), losses)
                axes.plot([lr], [loss], marker, label=f"{name}: {lr:.2e}")
        axes.set_xscale("log")
        axes.set_xlabel("learning rate")
        axes.set_ylabel("loss")
        if title:
            axes.set_title(title)
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
        figure.tight_layout()
        save_figure(figure, path)
        return figure


def lr_find(
    loss_fn: Callable[[Any, Any], Any],
    params: Any,
    optimizer: Callable[..., optax.GradientTransformation],
    batches: Iterable[Any],
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    beta: float = 0.98,
    diverge_factor: float = 4.0,
    skip_start: int | None = None,
    skip_end: int = 5,
    plot: str | os.PathLike[str] | None = None,
    slide_lr_diff: int = 15,
    slide_thresh: float = 0.005,
) -> LRFindResult:
    """The learning-rate range test: sweep the learning rate exponentially and watch the loss.

    Update `i` (from 0) uses the learning rate `start_lr * (end_lr / start_lr) ** (i /
    num_steps)`, as fastai's `lr_find` does: computed in float64, then rounded once (in
    float32, the nearest float32 to fastai's value). The loss is smoothed by a debiased exponential
    moving average (`beta`); the sweep stops after `num_steps` updates, or as soon as the
    smoothed loss exceeds `diverge_factor` times its best value or is not finite. The updates
    are jitted; the learning rate is injected into the optimizer state, so one program serves
    the whole sweep. `params` is never modified (JAX arrays are immutable, and nothing is
    donated), so after the test the original parameters are still yours to train.

    Suggestions, computed without the first `skip_start` and last `skip_end` points, with
    fastai's rules (`fastai/callback/schedule.py`: `valley`, `slide`, `steep`, `minimum`):

    - "valley": a point a bit past the first half of the longest stretch over which the
      smoothed loss keeps decreasing (fastai's default suggestion).
    - "slide": going down from the highest learning rates, the first point whose loss
      gradient (per point, `np.gradient`) is within `slide_thresh` of the gradient
      `slide_lr_diff` points later (where the slope of the descent has settled).
    - "steep": where the loss falls fastest against the log of the learning rate.
    - "minimum": the learning rate of the lowest loss, divided by 10.

    `result.table(reference_lr)` lays them side by side against a rate you trust.

    From Smith (2015), Cyclical Learning Rates for Training Neural Networks,
    https://arxiv.org/abs/1506.01186; the smoothing, stopping rule and suggestions follow
    fastai's `Learner.lr_find`.

    Args:
      loss_fn: `loss_fn(params, batch)` -> scalar loss; differentiated with `jax.grad`.
      params: the parameters to start from (left unchanged).
      optimizer: a factory taking `learning_rate`, such as `optax.adam` or
        `functools.partial(optax.sgd, momentum=0.9)`.
      batches: an iterable of batches; started again if it ends before `num_steps` updates
        and can be iterated again.
      start_lr: the first learning rate (positive).
      end_lr: the learning rate the sweep heads for (greater than `start_lr`).
      num_steps: the number of updates (at least 2).
      beta: the smoothing factor of the loss, in [0, 1).
      diverge_factor: stop once the smoothed loss exceeds this times its best (positive).
      skip_start: points left out at the start; default `num_steps // 10`.
      skip_end: points left out at the end (non-negative).
      plot: if given, the curve is also drawn to this path (`result.plot(path)`).
      slide_lr_diff: the "slide" suggester's distance between compared points (positive int;
        fastai's `lr_diff`).
      slide_thresh: the "slide" suggester's gradient tolerance, in loss units per point
        (non-negative; fastai's `thresh`).

    Returns:
      An `LRFindResult`.

    Raises:
      ValueError: for invalid arguments, or when the sweep cannot support a suggestion: the
        batches are empty or run out before `num_steps` updates (a one-pass iterator), the
        loss is not finite before any update, or the loss diverged so early that fewer than
        two points remain after `skip_start` and `skip_end`.

    Examples:
      >>> import jax.numpy as jnp, optax, jaxsched
      >>> def loss_fn(params, batch):  # a quadratic with curvature 100: GD diverges past 0.02
      ...     return 50.0 * jnp.sum((params - batch) ** 2)
      >>> result = jaxsched.lr_find(loss_fn, jnp.ones(3), optax.sgd, [jnp.zeros(3)])
      >>> bool(result.diverged), bool(result.suggestions["valley"] < 0.02)
      (True, True)
    """
    skip_start = _check_arguments(
        start_lr, end_lr, num_steps, beta, diverge_factor, skip_start, skip_end
    )
    factory_parameters("optimizer", optimizer)
    if isinstance(slide_lr_diff, bool) or not (
        isinstance(slide_lr_diff, int) and slide_lr_diff >= 1
    ):
        raise ValueError(f"slide_lr_diff must be a positive int, got {slide_lr_diff!r}")
    check("slide_thresh", slide_thresh, lambda v: np.isfinite(v) & (v >= 0), "non-negative")

    sweep = _Sweep.of(start_lr, end_lr, num_steps)

    def step(carry: Any, batch: Any) -> tuple[Any, tuple[jax.Array, jax.Array, jax.Array]]:
        return _step(
            carry, batch, sweep, beta, diverge_factor, loss_fn=loss_fn, optimizer=optimizer
        )

    tx = inject(optimizer, learning_rate=sweep)
    zero = jnp.zeros((), jnp.float32)
    carry = (params, tx.init(params), zero, jnp.asarray(jnp.inf, jnp.float32), zero)
    records: list[tuple[jax.Array, jax.Array, jax.Array]] = []
    checked, stopped_at = 0, None
    for batch in _cycle(batches, num_steps):
        carry, record = step(carry, batch)
        records.append(record)
        # Reading the stop flags now and then, and never the newest one, keeps the device
        # busy (async dispatch); updates run past a stop are dropped.
        if len(records) - checked > _CHECK_EVERY:
            stopped_at = _first_stop(records, checked, len(records) - 1)
            checked = len(records) - 1
            if stopped_at is not None:
                break
    if not records:
        raise ValueError("batches is empty: pass an iterable of at least one batch")
    if stopped_at is None:
        stopped_at = _first_stop(records, checked, len(records))
    diverged = stopped_at is not None
    if stopped_at is not None:
        records = records[: stopped_at + 1]
    columns = jax.device_get(list(zip(*records, strict=True)))
    raw, smoothed = (np.asarray(column, np.float64) for column in columns[:2])
    lrs = np.asarray(sweep(np.arange(len(records))), np.float64)
    _check_usable(raw, lrs, diverged, num_steps, skip_start, skip_end)
    result = LRFindResult(
        lrs=lrs,
        losses=smoothed,
        raw_losses=raw,
        diverged=diverged,
        skip_start=skip_start,
        skip_end=skip_end,
        suggestions={},
    )
    result.suggestions.update(_suggest(*result.trimmed(), slide_lr_diff, slide_thresh))
    if plot is not None:
        result.plot(plot)
    return result


def _check_arguments(
    start_lr: Any,
    end_lr: Any,
    num_steps: Any,
    beta: Any,
    diverge_factor: Any,
    skip_start: Any,
    skip_end: Any,
) -> int:
    """Raises ValueError naming the bad argument; returns `skip_start` with its default."""
    check_positive("start_lr", start_lr)
    check_positive("end_lr", end_lr)
    if not end_lr > start_lr:
        raise ValueError(f"end_lr must be greater than start_lr={start_lr}, got end_lr={end_lr}")
    # The sweep multiplies by (end_lr / start_lr) ** (i / num_steps) in float32.
    check_computed("end_lr", "end_lr / start_lr", lambda e, s: e / s, end_lr, start_lr)
    if isinstance(num_steps, bool) or not (isinstance(num_steps, int) and num_steps >= 2):
        raise ValueError(f"num_steps must be an int of at least 2, got num_steps={num_steps!r}")
    check("beta", beta, lambda v: (v >= 0) & (v < 1), "in [0, 1)")
    check_positive("diverge_factor", diverge_factor)
    skip_start = num_steps // 10 if skip_start is None else skip_start
    for name, value in (("skip_start", skip_start), ("skip_end", skip_end)):
        if isinstance(value, bool) or not (isinstance(value, int) and value >= 0):
            raise ValueError(f"{name} must be a non-negative int, got {name}={value!r}")
    if skip_start + skip_end > num_steps - 2:
        raise ValueError(
            f"skip_start={skip_start} and skip_end={skip_end} leave fewer than 2 of the "
            f"num_steps={num_steps} points for the suggestions; skip fewer or sweep longer"
        )
    return skip_start


def _check_usable(
    raw: np.ndarray,
    lrs: np.ndarray,
    diverged: bool,
    num_steps: int,
    skip_start: int,
    skip_end: int,
) -> None:
    """Raises ValueError, saying why, when the sweep cannot support a suggestion."""
    if not np.isfinite(raw[0]):
        raise ValueError(
            f"loss_fn gave {raw[0]} on the first batch, before any update: the sweep has "
            "nothing to measure; check loss_fn, params and the batches"
        )
    if not diverged and len(raw) < num_steps:
        raise ValueError(
            f"batches ran out after {len(raw)} of num_steps={num_steps} updates, which would "
            f"cut the sweep short at learning rate {lrs[-1]:.3g} and bias the suggestions; "
            "pass a list (or any iterable that can be iterated again) or at least num_steps "
            "batches"
        )
    if len(raw) - skip_start - skip_end < 2:
        raise ValueError(
            f"the loss diverged after {len(raw)} updates (learning rate {lrs[-1]:.3g}), "
            f"leaving fewer than 2 points after skip_start={skip_start} and "
            f"skip_end={skip_end}; lower start_lr, or skip fewer points"
        )


# Module level, with the schedule and the numbers as arguments: a second sweep with the same
# loss function and optimizer factory reuses the compiled step.
@functools.partial(jax.jit, static_argnames=("loss_fn", "optimizer"))
def _step(
    carry: Any,
    batch: Any,
    sweep: _Sweep,
    beta: Any,
    diverge_factor: Any,
    *,
    loss_fn: Callable[[Any, Any], Any],
    optimizer: Callable[..., optax.GradientTransformation],
) -> tuple[Any, tuple[jax.Array, jax.Array, jax.Array]]:
    params, opt_state, average, best, count = carry
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    updates, opt_state = inject(optimizer, learning_rate=sweep).update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
    loss = jnp.asarray(loss, jnp.float32)
    count = count + 1
    average = beta * average + (1.0 - beta) * loss
    smoothed = average / (1.0 - beta**count)
    best = jnp.minimum(best, smoothed)
    stop = (smoothed > diverge_factor * best) | ~jnp.isfinite(smoothed)
    return (params, opt_state, average, best, count), (loss, smoothed, stop)


_CHECK_EVERY = 8


def _first_stop(records: list[Any], start: int, stop: int) -> int | None:
    """The index of the first record in [start, stop) whose stop flag is set, if any."""
    flags = jax.device_get([record[2] for record in records[start:stop]])
    for i, flag in enumerate(flags):
        if flag:
            return start + i
    return None


def _cycle(batches: Iterable[Any], limit: int) -> Iterator[Any]:
    produced = 0
    while produced < limit:
        iterator = iter(batches)
        before = produced
        for batch in iterator:
            yield batch
            produced += 1
            if produced == limit:
                return
        if produced == before or iterator is batches:
            return


def _slide(lrs: np.ndarray, losses: np.ndarray, lr_diff: int, thresh: float) -> float:
    """fastai's `slide` rule (`adjust_value=1`); NaN with fewer than `lr_diff + 1` points."""
    if losses.size < lr_diff + 1:
        return math.nan
    gradient = np.gradient(losses)
    right = losses.size - 1
    left = right - lr_diff
    suggestion = lrs[left]
    while left >= 0 and abs(gradient[right] - gradient[left]) > thresh:
        suggestion = lrs[left]
        right -= 1
        left -= 1
    return float(suggestion)


def _suggest(
    lrs: np.ndarray, losses: np.ndarray, lr_diff: int = 15, thresh: float = 0.005
) -> dict[str, float]:
    if lrs.size < 2:
        return {"valley": math.nan, "slide": math.nan, "steep": math.nan, "minimum": math.nan}
    # The longest strictly decreasing subsequence ending at each point.
    length = np.ones(losses.size, dtype=int)
    for i in range(1, losses.size):
        higher = length[:i][losses[:i] > losses[i]]
        if higher.size:
            length[i] = higher.max() + 1
    end = int(np.argmax(length))
    start = end - int(length[end])
    third = (end - start) / 3
    valley = start + int(third) + int(third / 2)
    slopes = np.diff(losses) / np.diff(np.log(lrs))
    return {
        "valley": float(lrs[min(max(valley, 0), lrs.size - 1)]),
        "slide": _slide(lrs, losses, lr_diff, thresh),
        "steep": float(lrs[int(np.argmin(slopes))]),
        "minimum": float(lrs[int(np.argmin(losses))] / 10),
    }
