"""reduce_on_plateau: torch parity from golden/plateau.json, NaN handling, jit and optax use."""

from __future__ import annotations

import itertools
import json
import math
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxsched

GOLDEN = json.loads((pathlib.Path(__file__).parent / "golden" / "plateau.json").read_text())


@jax.jit
def trajectory(plateau: jaxsched.ReduceOnPlateau, metrics: jax.Array) -> jax.Array:
    def body(state, metric):
        state = plateau.update(state, metric)
        return state, plateau.value(state)

    return jax.lax.scan(body, plateau.init(), metrics)[1]


def values(plateau, metrics) -> np.ndarray:
    return np.asarray(trajectory(plateau, jnp.asarray(metrics, jnp.float32)))


def test_matches_torch_reduce_lr_on_plateau_on_every_golden_sequence() -> None:
    assert len(GOLDEN["cases"]) > 200
    for case in GOLDEN["cases"]:
        plateau = jaxsched.reduce_on_plateau(**case["settings"])
        np.testing.assert_allclose(
            values(plateau, case["metrics"]),
            case["values"],
            rtol=1e-5,
            err_msg=f"{case['sequence']} with {case['settings']}",
        )


def test_patience_counts_bad_updates_beyond_patience() -> None:
    plateau = jaxsched.reduce_on_plateau(factor=0.5, patience=2)
    # One improvement, then bad updates: the third bad one reduces, then three more.
    metrics = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    np.testing.assert_array_equal(values(plateau, metrics), [1, 1, 1, 0.5, 0.5, 0.5, 0.25])


def test_cooldown_ignores_bad_updates_and_min_value_floors_the_value() -> None:
    plateau = jaxsched.reduce_on_plateau(factor=0.1, patience=0, cooldown=2, min_value=0.005)
    np.testing.assert_allclose(
        values(plateau, [1.0] * 8), [1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.005], rtol=1e-6
    )


def test_reductions_within_eps_are_skipped() -> None:
    plateau = jaxsched.reduce_on_plateau(init_value=4e-8, factor=0.5, patience=0, eps=1e-8)
    # 4e-8 -> 2e-8 -> 1e-8 (a change of exactly 1e-8 is not more than eps: skipped).
    np.testing.assert_allclose(values(plateau, [1.0] * 4), [4e-8, 2e-8, 2e-8, 2e-8], rtol=1e-6)


def test_max_mode_and_absolute_threshold() -> None:
    plateau = jaxsched.reduce_on_plateau(
        factor=0.5, patience=0, mode="max", threshold_mode="abs", threshold=0.1
    )
    # 0.55 and 0.6 beat 0.5 by less than 0.1: not improvements; 0.7 is.
    np.testing.assert_array_equal(values(plateau, [0.5, 0.55, 0.6, 0.7]), [1, 0.5, 0.25, 0.25])


def test_relative_threshold_on_negative_metrics_follows_torch() -> None:
    # torch's rule in "min" mode is metric < best * (1 - threshold): with best = -10 and
    # threshold 0.1 the bar is -9, so -9.5 (worse than the best) still counts as better.
    plateau = jaxsched.reduce_on_plateau(factor=0.5, patience=0, threshold=0.1)
    state = plateau.update(plateau.init(), -10.0)
    state = plateau.update(state, -9.5)
    assert float(state.best) == -9.5 and float(plateau.value(state)) == 1.0


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_metric_is_not_an_improvement_and_never_the_best(bad: float) -> None:
    for mode in ("min", "max"):
        plateau = jaxsched.reduce_on_plateau(factor=0.5, patience=1, mode=mode)
        sign = 1.0 if mode == "min" else -1.0
        state = plateau.update(plateau.init(), sign * 2.0)
        state = plateau.update(state, bad)
        assert float(state.best) == sign * 2.0
        assert int(state.num_bad_epochs) == 1
        state = plateau.update(state, bad)
        assert float(plateau.value(state)) == 0.5
        state = plateau.update(state, sign * 1.0)  # a real improvement is still recognised
        assert float(state.best) == sign * 1.0 and int(state.num_bad_epochs) == 0
        assert all(np.isfinite(np.asarray(x)) for x in jax.tree.leaves(state))


@settings(max_examples=30, deadline=None)
@given(
    metrics=st.lists(st.floats(-1e3, 1e3, width=32), min_size=1, max_size=30),
    factor=st.sampled_from([0.0, 0.1, 0.5, 0.9]),
    patience=st.integers(0, 3),
    cooldown=st.integers(0, 2),
    min_value=st.sampled_from([0.0, 0.01]),
)
def test_value_only_falls_by_factor_and_stays_above_min_value(
    metrics, factor, patience, cooldown, min_value
) -> None:
    plateau = jaxsched.reduce_on_plateau(
        factor=factor, patience=patience, cooldown=cooldown, min_value=min_value
    )
    padded = np.zeros(30, np.float32)
    padded[: len(metrics)] = metrics
    path = np.concatenate([[1.0], values(plateau, padded)])
    for before, after in itertools.pairwise(path):
        assert after == before or after == pytest.approx(max(before * factor, min_value), 1e-6)
    assert np.all(path.astype(np.float32) >= np.float32(min(min_value, 1.0)))


def test_changing_numbers_does_not_recompile_and_the_state_round_trips() -> None:
    traces = []

    @jax.jit
    def update(plateau, state, metric):
        traces.append(None)
        return plateau.update(state, metric)

    for factor, patience in [(0.1, 0), (0.5, 3), (0.2, 10)]:
        plateau = jaxsched.reduce_on_plateau(factor=factor, patience=patience, cooldown=1)
        state = update(plateau, plateau.init(), 1.0)
        state = update(plateau, state, 2.0)
    assert len(traces) == 1
    restored = jax.tree.unflatten(
        jax.tree.structure(state), [np.asarray(x) for x in jax.tree.leaves(state)]
    )
    assert jax.tree.map(np.array_equal, update(plateau, restored, 0.5), update(plateau, state, 0.5))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"factor": 1.0}, "factor"),
        ({"factor": -0.1}, "factor"),
        ({"patience": -1}, "patience"),
        ({"patience": 1.5}, "patience"),
        ({"cooldown": -2}, "cooldown"),
        ({"threshold": -1e-4}, "threshold"),
        ({"threshold_mode": "relative"}, "threshold_mode"),
        ({"mode": "avg"}, "mode"),
        ({"min_value": -1.0}, "min_value"),
        ({"eps": math.nan}, "eps"),
        ({"init_value": math.inf}, "init_value"),
    ],
)
def test_invalid_arguments_name_the_parameter(kwargs, name) -> None:
    with pytest.raises(ValueError, match=rf"{name}="):
        jaxsched.reduce_on_plateau(**kwargs)


def test_traced_arguments_skip_the_checks() -> None:
    @jax.jit
    def make(factor):
        return jaxsched.reduce_on_plateau(factor=factor).init().value

    assert float(make(2.0)) == 1.0


def test_plateau_multiplies_a_decay_schedule_inside_optax_without_recompiling() -> None:
    decay = jaxsched.cosine_decay(0.1, decay_steps=20)
    tx = jaxsched.inject(optax.sgd, learning_rate=decay)
    plateau = jaxsched.reduce_on_plateau(factor=0.5, patience=0)
    traces = []

    @jax.jit
    def train_step(params, opt_state):
        traces.append(None)
        grads = jax.grad(lambda p: jnp.sum(p**2))(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    params = jnp.ones(3)
    opt_state, plateau_state = tx.init(params), plateau.init()
    step = 0
    for validation_loss in [3.0, 2.0, 2.5, 2.6]:  # two bad epochs: two reductions
        for _ in range(2):
            params, opt_state = train_step(params, opt_state)
            expected = float(plateau.value(plateau_state)) * float(decay(step))
            assert float(jaxsched.current_lr(opt_state)) == pytest.approx(expected, rel=1e-6)
            step += 1
        plateau_state = plateau.update(plateau_state, validation_loss)
        opt_state = jaxsched.set_scale(opt_state, learning_rate=plateau.value(plateau_state))
    assert float(plateau.value(plateau_state)) == 0.25
    assert len(traces) == 1


# ----------------------------------------------------------------------------- optax.contrib


def optax_scales(metrics, **kwargs) -> np.ndarray:
    """optax.contrib.reduce_on_plateau's scale after each metric (run here, live)."""
    tx = optax.contrib.reduce_on_plateau(**kwargs)
    state = tx.init(jnp.zeros(()))
    update = jax.jit(lambda s, v: tx.update(jnp.zeros(()), s, value=v)[1])
    out = []
    for metric in metrics:
        state = update(state, jnp.float32(metric))
        out.append(float(state.scale))
    return np.asarray(out)


OPTAX_SETTINGS = [
    dict(factor=0.5, patience=2, rtol=1e-4, atol=0.0, cooldown=0, accumulation_size=1),
    dict(factor=0.5, patience=1, rtol=0.0, atol=0.05, cooldown=1, accumulation_size=1),
    dict(factor=0.3, patience=3, rtol=0.01, atol=0.01, cooldown=2, accumulation_size=4),
    dict(factor=0.5, patience=1, rtol=0.1, atol=0.0, cooldown=0, accumulation_size=3,
         min_scale=0.1),
]  # fmt: skip


@pytest.mark.parametrize("settings", OPTAX_SETTINGS, ids=repr)
def test_accumulation_and_rtol_atol_follow_optax_contrib(settings: dict) -> None:
    rng = np.random.default_rng(0)
    n = 120
    # a noisy decrease that flattens out: improvements, then plateaus
    metrics = np.float32(2.0 * np.exp(-np.arange(n) / 25.0) + 0.05 * rng.normal(size=n))
    plateau = jaxsched.reduce_on_plateau(
        factor=settings["factor"],
        patience=settings["patience"] - 1,
        threshold=settings["rtol"],
        atol=settings["atol"],
        cooldown=settings["cooldown"],
        accumulation_size=settings["accumulation_size"],
        min_value=settings.get("min_scale", 0.0),
        eps=0.0,
    )
    expected = optax_scales(metrics, **settings)
    assert expected[-1] < 1.0  # the sequence does reduce
    np.testing.assert_allclose(values(plateau, metrics), expected, rtol=1e-6)


def test_accumulation_decides_once_per_mean_of_accumulation_size_metrics() -> None:
    plateau = jaxsched.reduce_on_plateau(factor=0.5, patience=0, accumulation_size=3)
    # means: 2.0 (best), then 2.0 (not better: reduce), then 1.0 (better)
    metrics = [1.0, 2.0, 3.0, 3.0, 2.0, 1.0, 1.0, 1.0, 1.0]
    np.testing.assert_array_equal(values(plateau, metrics), [1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5])
    state = plateau.init()
    for metric in metrics[:2]:
        state = plateau.update(state, metric)
    assert int(state.count) == 2 and float(state.average) == 1.5


def test_atol_is_required_on_top_of_the_relative_threshold() -> None:
    plateau = jaxsched.reduce_on_plateau(factor=0.5, patience=0, threshold=0.1, atol=0.5)
    # best 10: a metric must be below 10 * 0.9 - 0.5 = 8.5
    np.testing.assert_array_equal(values(plateau, [10.0, 8.6, 8.4]), [1, 0.5, 0.5])
    state = plateau.update(plateau.update(plateau.init(), 10.0), 8.4)
    assert float(state.best) == pytest.approx(8.4)
