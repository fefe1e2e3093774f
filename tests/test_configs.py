"""Configs are data: `from_config` runs no code a config names and refuses hostile nesting.

A config can come from a file, a command line or another machine. It may name jaxsched's
own schedules; a function in it must be allowed by the user (`jaxsched.register_function`,
or `from_config(config, functions=[...])`), and nothing is ever imported. A config nested
deeper than jaxsched's limit is refused with the limit named, never with RecursionError.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched

HOSTILE_NAMES = ["os:system", "subprocess:call", "builtins:eval", "shutil:rmtree"]


def allowed_by_call(step, rate):  # only ever allowed through `functions=`
    return 1.0 / (1.0 + rate * step)


def factor_allowed_by_call(step):
    return 0.5 + 0.0 * step


def registered_decay(step, rate):  # registered by the test that uses it
    return jnp.exp(-rate * step)


@pytest.fixture
def probe_module(tmp_path, monkeypatch) -> str:
    """The name of an importable module that leaves a file behind if anything imports it."""
    (tmp_path / "jaxsched_probe.py").write_text(
        "import pathlib\n"
        f"pathlib.Path({str(tmp_path / 'imported')!r}).write_text('imported')\n"
        "def f(step):\n"
        "    return step\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "jaxsched_probe", raising=False)
    return "jaxsched_probe"


def _configs_naming(function: str) -> list[dict[str, Any]]:
    """One config per field that takes a function, each naming `function`."""
    return [
        {"name": "lambda_schedule", "fn": function, "init_value": 0.1},
        {"name": "multiplicative", "fn": function, "max_steps": 3},
        {"name": "cyclic", "base_value": 0.0, "max_value": 1.0, "step_size_up": 2,
         "scale_fn": function},
        {"name": "warmup", "warmup_steps": 2,  # nested
         "schedule": {"name": "lambda_schedule", "fn": function}},
    ]  # fmt: skip


@pytest.mark.parametrize("config", _configs_naming("jaxsched_probe:f"), ids=lambda c: c["name"])
def test_from_config_never_imports_a_module_that_a_config_names(
    config: dict[str, Any], probe_module: str, tmp_path
) -> None:
    with pytest.raises(ValueError, match="not a function jaxsched may call"):
        jaxsched.from_config(config)
    assert probe_module not in sys.modules
    assert not (tmp_path / "imported").exists()


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_from_config_refuses_every_function_not_allowed(name: str) -> None:
    for config in _configs_naming(name):
        with pytest.raises(ValueError, match=f"{name!r} is not a function jaxsched may call"):
            jaxsched.from_config(config)


def test_constructors_and_get_resolve_no_name_that_is_not_allowed(probe_module: str) -> None:
    builders = [
        lambda: jaxsched.lambda_schedule("jaxsched_probe:f"),
        lambda: jaxsched.multiplicative("os:getcwd", max_steps=3),
        lambda: jaxsched.cyclic(0.0, 1.0, 2, scale_fn="jaxsched_probe:f"),
        lambda: jaxsched.get("lambda_schedule", fn="jaxsched_probe:f"),
        lambda: jaxsched.get("multiplicative", fn="os:system", max_steps=3),
    ]
    for build in builders:
        with pytest.raises(ValueError, match="register_function"):
            build()
    assert probe_module not in sys.modules


def test_a_user_function_round_trips_when_allowed_by_the_call() -> None:
    schedules = [
        jaxsched.lambda_schedule(allowed_by_call, 0.5, params={"rate": 1.0}),
        jaxsched.multiplicative(factor_allowed_by_call, 4, 8.0),
        jaxsched.warmup(jaxsched.lambda_schedule(allowed_by_call, params={"rate": 2.0}), 3),
    ]
    functions = [allowed_by_call, factor_allowed_by_call]
    for schedule in schedules:
        config = json.loads(json.dumps(schedule.to_config()))
        with pytest.raises(ValueError, match="allowed_by_call"):
            jaxsched.from_config(config)  # not allowed yet
        again = jaxsched.from_config(config, functions=functions)
        assert again == schedule
        np.testing.assert_array_equal(again(jnp.arange(6)), schedule(jnp.arange(6)))
        with pytest.raises(ValueError, match="allowed_by_call"):
            jaxsched.from_config(config)  # `functions=` allowed it for that call only


def test_a_registered_function_is_allowed_in_every_config_and_constructor() -> None:
    assert jaxsched.register_function(registered_decay) is registered_decay
    name = f"{__name__}:registered_decay"
    schedule = jaxsched.lambda_schedule(registered_decay, params={"rate": 0.5})
    assert schedule.to_config()["fn"] == name
    assert jaxsched.from_config(schedule.to_config()) == schedule
    assert jaxsched.lambda_schedule(name, params={"rate": 0.5}) == schedule
    assert jaxsched.get("lambda_schedule", fn=name, params={"rate": 0.5}) == schedule
    assert eval(repr(schedule), {"lambda_schedule": jaxsched.lambda_schedule}) == schedule


@pytest.mark.parametrize(
    "functions",
    [[lambda step: step], [np.cos, "os:system"], {"f": allowed_by_call}, "os:system", 3],
    ids=["lambda", "a string in the list", "a dict", "a string", "a number"],
)
def test_functions_must_be_a_list_of_module_level_functions(functions: Any) -> None:
    with pytest.raises(ValueError, match="functions"):
        jaxsched.from_config({"name": "constant", "value": 1.0}, functions=functions)


def test_register_function_refuses_what_has_no_name() -> None:
    for fn in (lambda step: step, np.float32(1.0), "os:system"):
        with pytest.raises(ValueError, match="fn"):
            jaxsched.register_function(fn)  # type: ignore[arg-type]


def _nested_warmups(depth: int) -> dict[str, Any]:
    config: dict[str, Any] = {"name": "constant", "value": 1.0}
    for _ in range(depth):
        config = {"name": "warmup", "schedule": config, "warmup_steps": 2}
    return config


def _nested_lists(depth: int) -> dict[str, Any]:
    boundaries: Any = [5.0]
    for _ in range(depth):
        boundaries = [boundaries]
    return {"name": "join", "boundaries": boundaries,
            "schedules": [{"name": "constant", "value": 1.0}] * 2}  # fmt: skip


def _nested_params(depth: int) -> dict[str, Any]:
    params: Any = 1.0
    for _ in range(depth):
        params = {"rate": params}
    return {"name": "lambda_schedule", "fn": f"{__name__}:allowed_by_call", "params": params}


@pytest.mark.parametrize("build", [_nested_warmups, _nested_lists, _nested_params])
@pytest.mark.parametrize("depth", [100, 5_000, 200_000])
def test_a_config_nested_too_deep_is_refused_naming_the_limit(build: Any, depth: int) -> None:
    config = build(depth)
    with pytest.raises(ValueError, match=r"more than 66 deep.*MAX_CONFIG_DEPTH"):
        jaxsched.from_config(config)


def test_the_deepest_allowed_schedule_round_trips_through_its_config() -> None:
    schedule: jaxsched.Schedule = jaxsched.constant(1.0)
    for _ in range(31):  # 32 levels with the constant: MAX_DEPTH, two containers a level
        schedule = jaxsched.join((schedule, jaxsched.lambda_schedule(
            allowed_by_call, params={"rate": 1.0})), boundaries=(3,))  # fmt: skip
    config = json.loads(json.dumps(schedule.to_config()))
    again = jaxsched.from_config(config, functions=[allowed_by_call])
    assert again == schedule
    with pytest.raises(ValueError, match=r"33 deep.*limit of 32 \(MAX_DEPTH\)"):
        jaxsched.from_config({"name": "scale", "factor": 2.0, "schedule": config},
                             functions=[allowed_by_call])  # fmt: skip
