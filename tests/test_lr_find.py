"""lr_find: the sweep, the smoothing, the stopping rule and the suggestions (plot: test_plot)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched
from jaxsched._lr_find import _suggest

CURVATURE = 100.0  # gradient descent on this quadratic diverges for lr > 2 / 100


def quadratic(params, batch):
    return 0.5 * CURVATURE * jnp.sum((params - batch) ** 2)


def test_divergence_starts_where_gradient_descent_theory_puts_it() -> None:
    result = jaxsched.lr_find(quadratic, jnp.ones(4), optax.sgd, [jnp.zeros(4)])
    limit = 2.0 / CURVATURE
    # Update i multiplies the loss by (1 - lr_i * L) ** 2: it grows exactly when lr_i > 2 / L.
    first_increase = int(np.argmax(np.diff(result.raw_losses) > 0))
    assert result.lrs[first_increase - 1] <= limit < result.lrs[first_increase]
    assert result.diverged
    # The sweep stops at the first update whose smoothed loss passes 4x the best so far.
    best = np.minimum.accumulate(result.losses)
    assert result.losses[-1] > 4 * best[-1]
    assert np.all(result.losses[:-1] <= 4 * best[:-1])
    assert limit < result.lrs[-1] and len(result.lrs) < 100
    for name in ("valley", "steep", "minimum"):
        assert 0 < result.suggestions[name] < limit, name


def test_the_sweep_is_exponential_and_runs_num_steps_when_nothing_diverges() -> None:
    result = jaxsched.lr_find(
        quadratic, jnp.ones(2), optax.sgd, [jnp.zeros(2)], start_lr=1e-6, end_lr=1e-3, num_steps=30
    )
    assert not result.diverged and len(result.lrs) == 30
    np.testing.assert_allclose(result.lrs, 1e-6 * 1000.0 ** (np.arange(30) / 30), rtol=1e-5)
    assert (result.skip_start, result.skip_end) == (3, 5)
    lrs, losses = result.trimmed()
    np.testing.assert_array_equal(lrs, result.lrs[3:25])
    np.testing.assert_array_equal(losses, result.losses[3:25])


def test_losses_are_the_debiased_moving_average_of_the_raw_losses() -> None:
    result = jaxsched.lr_find(
        quadratic, jnp.arange(3.0), optax.adam, [jnp.zeros(3)], num_steps=40, beta=0.9
    )
    average, expected = 0.0, []
    for i, loss in enumerate(result.raw_losses, start=1):
        average = 0.9 * average + 0.1 * loss
        expected.append(average / (1 - 0.9**i))
    np.testing.assert_allclose(result.losses, expected, rtol=1e-5)
    # The first raw loss is the loss of the starting parameters.
    assert result.raw_losses[0] == pytest.approx(quadratic(jnp.arange(3.0), jnp.zeros(3)))


def test_the_original_parameters_are_left_untouched() -> None:
    params = {"a": jnp.ones(3), "b": jnp.full((2, 2), 2.0)}

    def loss_fn(p, batch):
        return jnp.sum(p["a"] ** 2) + jnp.sum(p["b"] * batch)

    jaxsched.lr_find(loss_fn, params, optax.adam, [jnp.ones((2, 2))], num_steps=20)
    np.testing.assert_array_equal(params["a"], np.ones(3))
    np.testing.assert_array_equal(params["b"], np.full((2, 2), 2.0))


def test_batches_are_cycled_when_they_can_be_iterated_again() -> None:
    seen = []

    def loss_fn(params, batch):
        return jnp.sum(params**2) * batch

    class Recording:
        def __iter__(self):
            for b in (1.0, 2.0, 3.0):
                seen.append(b)
                yield jnp.asarray(b)

    result = jaxsched.lr_find(
        loss_fn, jnp.ones(2), optax.sgd, Recording(), num_steps=7, end_lr=1e-3
    )
    assert len(result.lrs) == 7 and seen == [1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 1.0]
    # A one-pass iterator shorter than the sweep would end it at a low learning rate, and
    # its valley far below the full sweep's: refused, saying so.
    once = (jnp.asarray(b) for b in (1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="ran out after 3 of num_steps=7"):
        jaxsched.lr_find(loss_fn, jnp.ones(2), optax.sgd, once, num_steps=7, end_lr=1e-3)
    with pytest.raises(ValueError, match="empty"):
        jaxsched.lr_find(loss_fn, jnp.ones(2), optax.sgd, [], num_steps=7)


def test_a_loss_that_is_nan_from_the_start_is_refused() -> None:
    def loss_fn(params, batch):
        return jnp.sum(params**2) + jnp.log(batch)  # log(-1) is NaN

    with pytest.raises(ValueError, match="nan on the first batch"):
        jaxsched.lr_find(loss_fn, jnp.ones(2), optax.sgd, [jnp.asarray(-1.0)], num_steps=20)


def test_a_nan_loss_later_stops_the_sweep_there() -> None:
    def loss_fn(params, batch):
        return jnp.where(jnp.sum(params**2) < 1.0, jnp.nan, jnp.sum(params**2))

    result = jaxsched.lr_find(
        loss_fn, jnp.ones(2) * 3, optax.sgd, [jnp.zeros(())], start_lr=1e-3, end_lr=1.0
    )
    assert result.diverged and np.isnan(result.raw_losses[-1])
    assert np.all(np.isfinite(result.raw_losses[:-1]))


def test_a_sweep_that_diverges_at_once_is_refused_rather_than_suggesting_nan() -> None:
    with pytest.raises(ValueError, match="diverged after"):
        jaxsched.lr_find(quadratic, jnp.ones(2), optax.sgd, [jnp.zeros(2)], start_lr=1.0)


def test_suggestions_on_a_hand_made_curve() -> None:
    lrs = 10.0 ** np.arange(-6.0, 0.0)  # 1e-6 ... 1e-1
    losses = np.array([5.0, 4.9, 4.0, 2.0, 1.5, 3.0])
    suggestions = _suggest(lrs, losses)
    assert suggestions["steep"] == pytest.approx(1e-4)  # the drop from 4.0 to 2.0
    assert suggestions["minimum"] == pytest.approx(1e-3)  # the lowest loss at 1e-2, over 10
    # The decreasing run is the first 5 points: start = 4 - 5 = -1, a third is 5 / 3,
    # so the valley index is -1 + 1 + 0 = 0.
    assert suggestions["valley"] == pytest.approx(1e-6)
    longer = np.array([9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.5])
    # run of 10 ending at 9: start -1, third 10 / 3 -> index -1 + 3 + 1 = 3.
    assert _suggest(10.0 ** np.arange(10.0), longer)["valley"] == pytest.approx(1e3)
    assert all(np.isnan(v) for v in _suggest(lrs[:1], losses[:1]).values())


def fastai_slide(lrs, losses, lr_diff=15, thresh=0.005):
    """fastai's `slide` (fastai/callback/schedule.py), transcribed with its negative indices."""
    loss_grad = np.gradient(losses)
    r_idx = -1
    l_idx = r_idx - lr_diff
    local_min_lr = lrs[l_idx]
    while (l_idx >= -len(losses)) and (abs(loss_grad[r_idx] - loss_grad[l_idx]) > thresh):
        local_min_lr = lrs[l_idx]
        r_idx -= 1
        l_idx -= 1
    return float(local_min_lr)


@pytest.mark.parametrize("seed", range(4))
def test_slide_follows_fastai_on_random_curves(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 80
    lrs = 1e-7 * 1e8 ** (np.arange(n) / n)
    # a descent that flattens, then rises, with noise: the shapes lr_find sees
    x = np.linspace(0.0, 1.0, n)
    losses = 2.5 - 2.0 * np.tanh(6 * x) + 4.0 * np.maximum(x - 0.8, 0) ** 2
    losses = losses + 0.003 * rng.normal(size=n)
    for lr_diff, thresh in [(15, 0.005), (5, 0.02), (30, 0.001)]:
        got = _suggest(lrs, losses, lr_diff, thresh)["slide"]
        assert got == fastai_slide(lrs, losses, lr_diff, thresh)


def test_slide_on_a_hand_made_curve_and_when_too_short() -> None:
    lrs = 10.0 ** np.arange(8.0)
    # gradients: -1 -1 -1 -1 -0.5 0 0 0. With lr_diff=2 the top pair (5, 7) already agrees
    # within 0.1: the suggestion is lrs[5]. With thresh 0.01 and a slope at the top, it slides.
    losses = np.array([7.0, 6.0, 5.0, 4.0, 3.0, 3.0, 3.0, 3.0])
    assert _suggest(lrs, losses, 2, 0.1)["slide"] == fastai_slide(lrs, losses, 2, 0.1) == 1e5
    rising = np.array([7.0, 6.0, 5.0, 4.0, 3.0, 3.0, 3.5, 5.0])
    assert _suggest(lrs, rising, 2, 0.01)["slide"] == fastai_slide(lrs, rising, 2, 0.01)
    assert np.isnan(_suggest(lrs, losses, 8, 0.1)["slide"])


def test_suggestions_compare_in_a_table_against_a_trusted_rate() -> None:
    result = jaxsched.lr_find(quadratic, jnp.ones(4), optax.sgd, [jnp.zeros(4)])
    assert set(result.suggestions) == {"valley", "slide", "steep", "minimum"}
    table = result.table(reference_lr=0.01).splitlines()
    assert len(table) == 6 and table[0].startswith("| suggester |")
    for line, (name, lr) in zip(table[2:], result.suggestions.items(), strict=True):
        assert line.startswith(f"| {name} | {lr:.2e} |")


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"start_lr": 0.0}, "start_lr"),
        ({"end_lr": 1e-8}, "end_lr"),
        ({"num_steps": 1}, "num_steps"),
        ({"beta": 1.0}, "beta"),
        ({"diverge_factor": -1.0}, "diverge_factor"),
        ({"skip_end": -1}, "skip_end"),
        ({"skip_start": 100}, "skip_start"),
        ({"skip_start": 50, "skip_end": 49}, "skip_start"),
        ({"num_steps": True}, "num_steps"),
        ({"end_lr": 1e39}, "end_lr"),
        ({"start_lr": 1e-40}, "end_lr"),
    ],
)
def test_invalid_arguments_name_the_parameter(kwargs, name) -> None:
    with pytest.raises(ValueError, match=rf"{name}="):
        jaxsched.lr_find(quadratic, jnp.ones(2), optax.sgd, [jnp.zeros(2)], **kwargs)
