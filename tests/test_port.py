"""Porting a recipe from a peer library: momenta, conventions and names (issue 19)."""

from __future__ import annotations

import ast
import math
import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxsched
from jaxsched import _port
from jaxsched._lr_find import _Sweep
from jaxsched._port_transformers import SCHEDULER_TYPES
from tests import port_table
from tests.specs import through_padded
from tests.x64 import enable_x64


@pytest.mark.parametrize(
    "make",
    [
        lambda b, m: jaxsched.one_cycle_momentum(10, base_momentum=b, max_momentum=m),
        lambda b, m: jaxsched.cyclic(m, b, step_size_up=3),
    ],
    ids=["one_cycle_momentum", "cyclic"],
)
@pytest.mark.parametrize(("base", "top"), [(1.0, 22.0), (0.95, 0.85), (-2.0, 0.0), (0.9, 0.9)])
def test_momentum_schedules_accept_any_finite_momenta_and_span_them(make, base, top) -> None:
    values = np.asarray(make(base, top)(jnp.arange(12)))
    assert values[0] == np.float32(top)
    np.testing.assert_allclose(values.min() if base < top else values.max(), base, rtol=1e-6)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_momentum_schedules_refuse_a_momentum_that_is_not_finite(bad) -> None:
    with pytest.raises(ValueError, match="base_momentum"):
        jaxsched.one_cycle_momentum(10, base_momentum=bad)
    with pytest.raises(ValueError, match="max_momentum"):
        jaxsched.one_cycle_momentum(10, max_momentum=bad)
    with pytest.raises(ValueError, match="base_value"):
        jaxsched.cyclic(bad, 0.9, step_size_up=3)


# ----------------------------------------------------------------------------- the porting table

GOLDEN = port_table.load()
ROWS = port_table.port_entries(GOLDEN)
VALUED = [row for row in ROWS if "values" in row and "metrics" not in row]
STATEFUL = [row for row in ROWS if "metrics" in row]
REFUSED = [row for row in ROWS if row["port"].get("refused")]


def test_the_porting_page_shows_the_table_rendered_from_the_golden_cases() -> None:
    page = port_table.PAGE.read_text()
    assert port_table.page_table(page) == port_table.render(GOLDEN), (
        "docs/porting.md's table differs from the golden port cases: run tests/golden/generate.py"
    )


def _steps(row: dict) -> np.ndarray:
    return np.asarray(row.get("steps", range(len(row["values"]))), dtype=np.float64)


def _run(text: str) -> Any:
    return eval(text, {"jaxsched": jaxsched})  # the table's own text, as a reader pastes it


@pytest.mark.parametrize("row", VALUED, ids=[row["id"] for row in VALUED])
def test_every_row_of_the_porting_table_gives_the_peers_values(row: dict) -> None:
    expected = np.asarray(row["values"], dtype=np.float64)
    texts = [t for t in (row["port"]["call"], row["port"]["own"]) if t]
    with enable_x64():
        built = [_run(text) for text in texts]
        for text, schedule in zip(texts, built, strict=True):
            got = through_padded(schedule, _steps(row))
            np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-12, err_msg=text)
    if len(built) == 2:  # by name, in the peer's words, and in jaxsched's: one kind
        assert type(built[0]) is type(built[1])


@pytest.mark.parametrize("row", STATEFUL, ids=[row["id"] for row in STATEFUL])
def test_every_plateau_row_follows_the_peers_learning_rate_over_the_metrics(row: dict) -> None:
    for text in (row["port"]["call"], row["port"]["own"]):
        plateau = _run(text)
        assert isinstance(plateau, jaxsched.ReduceOnPlateau), text
        state, got = plateau.init(), []
        for metric in row["metrics"]:
            state = plateau.update(state, metric)
            got.append(float(plateau.value(state)))
        np.testing.assert_allclose(got, row["values"], rtol=1e-6, err_msg=text)


@pytest.mark.parametrize("row", REFUSED, ids=[row["id"] for row in REFUSED])
def test_every_refused_row_raises_saying_what_to_use_instead(row: dict) -> None:
    with pytest.raises(ValueError, match="use"):
        _run(row["port"]["call"])


def test_every_peer_and_scheduler_type_name_has_a_tested_row() -> None:
    called = {ast.literal_eval(row["port"]["call"].split("(", 1)[1].split(",")[0].rstrip(")"))
              for row in ROWS if row["port"]["call"]}  # fmt: skip
    names = set(_port.PEERS) | set(SCHEDULER_TYPES)
    assert names <= called, sorted(names - called)
    scheds = {
        ast.literal_eval(m)
        for row in ROWS
        for m in re.findall(r'sched=("\w+")', row["port"]["peer"])
    }
    assert scheds == {"cosine", "tanh", "step", "constant", "multistep", "poly", "wsd", "rsqrt",
                      "plateau", "none"}  # fmt: skip


# ----------------------------------------------------------------------------- lr_find (fastai)


def _constant_slope(params: jax.Array, batch: jax.Array) -> jax.Array:
    return 1e6 + jnp.sum(params * batch)  # never diverges: the sweep runs all its steps


@pytest.mark.parametrize(("start_lr", "end_lr", "num_steps"), [(1e-7, 10.0, 100), (1e-6, 1.0, 300)])
def test_lr_find_sweeps_the_float32_nearest_to_fastais_learning_rates(
    start_lr, end_lr, num_steps
) -> None:
    result = jaxsched.lr_find(_constant_slope, jnp.zeros(2), optax.sgd, [jnp.ones(2)],
                              start_lr=start_lr, end_lr=end_lr, num_steps=num_steps)  # fmt: skip
    # fastai: start * (end / start) ** (i / n) in Python floats, then rounded once.
    fastai = [
        np.float32(start_lr * (end_lr / start_lr) ** (i / num_steps)) for i in range(num_steps)
    ]
    assert not result.diverged
    np.testing.assert_array_equal(result.lrs.astype(np.float32), fastai)


def test_lr_find_applies_the_rates_it_reports() -> None:
    def slope(params: jax.Array, batch: jax.Array) -> jax.Array:
        return 1.0 + jnp.sum(params * batch)

    result = jaxsched.lr_find(slope, jnp.zeros(1), optax.sgd, [jnp.ones(1)],
                              start_lr=1e-3, end_lr=1e-2, num_steps=20, skip_end=0)  # fmt: skip
    # SGD on a slope of 1 moves the parameter by exactly the rate: the loss falls by it.
    np.testing.assert_allclose(-np.diff(result.raw_losses), result.lrs[:-1], rtol=1e-3)


def test_lr_find_sweep_in_x64_is_fastais_float64() -> None:
    with enable_x64():
        rates = np.asarray(_Sweep.of(1e-7, 10.0, 100)(np.arange(100)))
    np.testing.assert_array_equal(rates, [1e-7 * (10.0 / 1e-7) ** (i / 100) for i in range(100)])


# ----------------------------------------------------------------------------- names and words


@pytest.mark.parametrize(
    ("name", "closest"),
    [("OneCyleLR", "OneCycleLR"), ("cosine_decy", "cosine_decay"), ("steplr", "StepLR"),
     ("get_cosine_schedule_with_warmpu", "get_cosine_schedule_with_warmup"),
     ("CosineAnealingLR", "CosineAnnealingLR"), ("create_scheduler", "create_scheduler_v2")],
)  # fmt: skip
def test_a_misspelled_name_gets_the_closest_known_names(name, closest) -> None:
    with pytest.raises(ValueError, match=f"did you mean .*'{closest}'"):
        jaxsched.get(name)


@pytest.mark.parametrize(
    ("name", "kwargs", "words"),
    [
        ("one_cycle", {"max_lr": 0.1, "total_steps": 10}, r"peak_value.*get\('OneCycleLR'"),
        ("cosine_decay", {"init_value": 1.0, "T_max": 10}, r"decay_steps.*CosineAnnealingLR"),
        ("cyclic", {"base_lr": 0.1}, "base_value"),
        ("cosine_decay", {"initial_learning_rate": 1.0, "decay_steps": 4, "alpha": 0.1},
         "init_value"),
        ("cosine", {"lr": 0.1, "num_training_steps": 10},
         r"peak_value.*get_cosine_schedule_with_warmup"),
        ("OneCycleLR", {"peak_value": 0.1, "total_steps": 10}, "torch's names.*max_lr"),
        ("CosineDecay", {"init_value": 0.1, "decay_steps": 10}, "initial_learning_rate"),
        ("StepLR", {"lr": 0.1, "step_siz": 3}, "did you mean 'step_size'"),
        ("StepLR", {"step_size": 3}, "missing lr .*learning rate the optimizer was built with"),
        ("MultiplicativeLR", {"lr": 0.1, "lr_lambda": "tests.reference:geometric"}, "max_steps"),
    ],
)  # fmt: skip
def test_a_wrong_keyword_names_what_to_pass(name, kwargs, words) -> None:
    with pytest.raises(ValueError, match=words):
        jaxsched.get(name, **kwargs)


def test_a_peer_name_may_keep_its_module_path() -> None:
    by_path = jaxsched.get("torch.optim.lr_scheduler.StepLR", lr=0.1, step_size=3)
    assert by_path == jaxsched.get("StepLR", lr=0.1, step_size=3) == jaxsched.step_decay(0.1, 3)
    assert jaxsched.get("keras.optimizers.schedules.CosineDecay", initial_learning_rate=1.0,
                        decay_steps=5) == jaxsched.cosine_decay(1.0, 5)  # fmt: skip
    assert isinstance(jaxsched.get("timm.scheduler.CosineLRScheduler", lr=0.1, t_initial=5),
                      jaxsched.CosineRestarts)  # fmt: skip


def test_a_peer_name_takes_the_peers_numbers_whatever_the_runs_context() -> None:
    # A trainer passes run_steps and steps_per_epoch for every name: they change nothing here.
    plain = jaxsched.get("StepLR", lr=0.1, step_size=3)
    assert jaxsched.get("StepLR", lr=0.1, step_size=3, run_steps=100, steps_per_epoch=7) == plain
    with pytest.raises(ValueError, match="step_size"):
        jaxsched.get("StepLR", lr=0.1, step_size="10%", run_steps=100)
    # OneCycleLR's own steps_per_epoch is get's: torch's total = epochs * steps_per_epoch.
    schedule = jaxsched.get("OneCycleLR", max_lr=0.1, epochs=3, steps_per_epoch=50)
    assert schedule.total_steps == 150


@pytest.mark.parametrize(
    ("name", "kwargs", "words"),
    [
        ("SequentialLR", {"lr": 0.1, "milestones": [3],
                          "schedulers": [{"name": "LinearLR"}, {"name": "OneCycleLR"}]},
         "schedulers.1."),
        ("SequentialLR", {"lr": 0.1, "milestones": [3],
                          "schedulers": [{"name": "LinearLR", "lr": 0.2}, {"name": "StepLR"}]},
         "give lr once"),
        ("ChainedScheduler", {"lr": 0.1, "schedulers": [{"name": "CosineAnnealingLR"}]},
         "jaxsched.product"),
        ("TanhLRScheduler", {"lr": 0.1, "t_initial": 10, "cycle_limit": 2}, "cycle_limit"),
        ("PolyLRScheduler", {"lr": 0.1, "t_initial": 10, "cycle_limit": 3}, "cycle_limit"),
        ("MultiStepLRScheduler", {"lr": 0.1, "decay_t": [6, 3]}, "decay_t must be sorted"),
        ("WSDLRScheduler", {"lr": 0.1, "t_initial": 10, "decay_t": 3, "decay_fn": "exp"},
         "decay_fn"),
        ("create_scheduler_v2", {"lr": 0.1, "sched": "rsqrt", "min_lr": 0.01}, "rsqrt"),
        ("create_scheduler_v2", {"lr": 0.1, "sched": "cosine", "step_on_epochs": False},
         "updates_per_epoch"),
        ("create_scheduler_v2", {"lr": 0.1, "sched": "cosinus"}, "sched"),
        ("PlateauLRScheduler", {"lr": 0.1, "warmup_t": 3}, "warmup"),
        ("OneCycleLR", {"max_lr": 0.1}, "total_steps"),
    ],
)  # fmt: skip
def test_what_has_no_equivalent_is_refused_naming_the_argument(name, kwargs, words) -> None:
    with pytest.raises(ValueError, match=words):
        jaxsched.get(name, **kwargs)


def test_timm_noise_becomes_jaxsched_noise_over_timms_range() -> None:
    schedule = jaxsched.get("create_scheduler_v2", lr=0.1, sched="cosine", num_epochs=20,
                            noise=[0.5, 0.9], noise_pct=0.1, noise_seed=7)  # fmt: skip
    assert isinstance(schedule, jaxsched.Noise)
    assert (schedule.noise_start, schedule.noise_end, schedule.seed) == (10.0, 18.0, 7.0)
    clean = np.asarray(schedule.schedule(jnp.arange(25)))
    noisy = np.asarray(schedule(jnp.arange(25)))
    np.testing.assert_array_equal(noisy[:10], clean[:10])
    assert np.all(np.abs(noisy[10:18] / clean[10:18] - 1) < 0.1)
    np.testing.assert_array_equal(noisy[18:], clean[18:])


@pytest.mark.parametrize("name", sorted(SCHEDULER_TYPES))
def test_every_scheduler_type_takes_both_counts_and_ignores_the_one_it_does_not_use(name) -> None:
    extra = {"min_lr_rate": 0.1} if "min_lr" in name else {}
    extra = {"num_decay_steps": 3} if name == "warmup_stable_decay" else extra

    def build(warmup: int, total: int) -> Any:
        return jaxsched.get(name, peak_value=0.1, num_warmup_steps=warmup,
                            num_training_steps=total, **extra)  # fmt: skip

    if name == "greedy":
        with pytest.raises(ValueError, match="reduce_on_plateau"):
            build(2, 10)
        return
    both = build(2, 10)
    if name in ("constant", "reduce_lr_on_plateau"):
        assert both == build(7, 99)
    if name in ("constant_with_warmup", "inverse_sqrt"):
        assert both == build(2, 99)


def test_wsd_with_both_training_and_stable_steps_uses_the_stable_steps_as_transformers() -> None:
    schedule = jaxsched.get("get_wsd_schedule", lr=1.0, num_warmup_steps=2, num_decay_steps=4,
                            num_training_steps=100, num_stable_steps=3)  # fmt: skip
    assert schedule.total_steps == 9.0


@pytest.mark.parametrize("name", ["constant", "constant_with_warmup"])
def test_a_keyword_transformers_would_drop_unread_is_an_error_here(name) -> None:
    # get_scheduler passes no scheduler_specific_kwargs to these two; jaxsched refuses them.
    with pytest.raises(ValueError, match="num_cycles"):
        jaxsched.get(name, peak_value=0.1, num_warmup_steps=2, num_training_steps=9, num_cycles=2)
