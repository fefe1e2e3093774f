"""Error messages report the values the user passed, under the names the user passed them.

Each case was a message that reported a value computed from the arguments as if the user
had passed it (`decay_steps=-100` for `decay_steps=100`), named a parameter the user never
wrote (`init_value` for transformers' `peak_value`), or said nothing the user could act on
(NumPy's "could not convert string to float", "can't multiply sequence by non-int").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import optax
import pytest

import jaxsched

C = jaxsched.constant(0.1)
PLATEAU = jaxsched.reduce_on_plateau()


def _optimizer() -> Any:
    return jaxsched.inject(optax.sgd, learning_rate=C)


CASES: dict[str, tuple[Callable[[], Any], str]] = {
    "warmup_cosine_decay 200 > 100": (
        lambda: jaxsched.warmup_cosine_decay(0.0, 1e-3, 200, 100),
        "decay_steps must be greater than warmup_steps=200 (decay_steps counts the warmup), "
        "got decay_steps=100",
    ),
    "warmup_cosine_decay equal": (
        lambda: jaxsched.warmup_cosine_decay(0.0, 1.0, warmup_steps=10.0, decay_steps=10),
        "greater than warmup_steps=10.0 (decay_steps counts the warmup), got decay_steps=10",
    ),
    "sgdr names the cycle": (
        lambda: jaxsched.sgdr(
            [dict(init_value=0.0, peak_value=1.0, warmup_steps=1, decay_steps=3)] * 2
            + [dict(init_value=0.0, peak_value=1.0, warmup_steps=5, decay_steps=3)]
        ),
        "cosine_kwargs[2]: decay_steps must be greater than warmup_steps=5",
    ),
    "by_fraction over 1": (
        lambda: jaxsched.by_fraction(10, (0.5, 0.6), (C, C)),
        "fractions must sum to 1, got fractions=(0.5, 0.6) (sum 1.1)",
    ),
    "by_fraction under 1": (
        lambda: jaxsched.by_fraction(10, [0.2, 0.2, 0.2], [C, C, C]),
        "fractions must sum to 1, got fractions=(0.2, 0.2, 0.2) (sum 0.6",
    ),
    "current_lr of the optimizer": (
        lambda: jaxsched.current_lr(_optimizer()),
        "opt_state must be the optimizer's state (what `optimizer.init(params)`",
    ),
    "current_hyperparams of the optimizer": (
        lambda: jaxsched.current_hyperparams(optax.adam(0.1)),
        "opt_state must be the optimizer's state",
    ),
    "set_scale of the optimizer": (
        lambda: jaxsched.set_scale(_optimizer(), learning_rate=0.5),
        "opt_state must be the optimizer's state",
    ),
    "from_config of JSON text": (
        lambda: jaxsched.from_config(json.dumps(C.to_config())),
        "config must be a dict with a 'name' key (parse JSON text first: "
        "from_config(json.loads(text)))",
    ),
    "plateau metric string": (
        lambda: PLATEAU.update(PLATEAU.init(), "0.5"),
        "metric must be a real number (the monitored loss or score), got metric='0.5'",
    ),
    "plateau metric None": (lambda: PLATEAU.update(PLATEAU.init(), None), "got metric=None"),
    "plateau metric complex": (lambda: PLATEAU.update(PLATEAU.init(), 1j), "got metric=1j"),
    "plot count not whole": (
        lambda: jaxsched.plot(C, 10.5),
        "steps must be a number of steps in [1, 10**6]",
    ),
    "transformers peak_value": (
        lambda: jaxsched.get("linear", peak_value=float("inf"), num_training_steps=10),
        "peak_value must be finite, got peak_value=inf",
    ),
    "transformers num_warmup_steps": (
        lambda: jaxsched.get("cosine", peak_value=0.1, num_warmup_steps=-5, num_training_steps=9),
        "num_warmup_steps must be non-negative and finite, got num_warmup_steps=-5",
    ),
    "transformers constant_with_warmup": (
        lambda: jaxsched.get("constant_with_warmup", peak_value=True, num_warmup_steps=2),
        "peak_value must be a number, not a bool, got peak_value=True",
    ),
    "transformers num_stable_steps": (
        lambda: jaxsched.get(
            "warmup_stable_decay",
            peak_value=0.1,
            num_warmup_steps=2,
            num_decay_steps=3,
            num_stable_steps=-5,
        ),
        "num_stable_steps must be non-negative and finite, got num_stable_steps=-5",
    ),
    "transformers min_lr_ratio": (
        lambda: jaxsched.get(
            "warmup_stable_decay",
            peak_value=0.1,
            num_warmup_steps=2,  # the transformers meaning
            num_decay_steps=3,
            num_stable_steps=5,
            min_lr_ratio="0.1",
        ),
        "min_lr_ratio must be a number, got min_lr_ratio='0.1'",
    ),
    "transformers min_lr_rate": (
        lambda: jaxsched.get(
            "cosine_with_min_lr", peak_value=0.1, num_training_steps=10, min_lr_rate="0.1"
        ),
        "min_lr_rate must be a number, got min_lr_rate='0.1'",
    ),
    "transformers lr_end": (
        lambda: jaxsched.get("polynomial", peak_value=0.1, num_training_steps=10, lr_end="0"),
        "lr_end must be a number, got lr_end='0'",
    ),
    "min_lr_ratio overflow": (
        lambda: jaxsched.get("cosine_decay", init_value=1e30, decay_steps=10, min_lr_ratio=1e30),
        "min_lr_ratio makes min_lr_ratio * init_value overflow in float32",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_the_message_reports_what_the_user_passed(case: str) -> None:
    make, message = CASES[case]
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_the_fixed_checks_still_accept_what_is_valid() -> None:
    assert jaxsched.warmup_cosine_decay(0.0, 1.0, 200, 201).decay_steps == 201.0
    assert jaxsched.by_fraction(10, (0.7, 0.1, 0.2), (C, C, C))(8) == pytest.approx(0.1)
    state = PLATEAU.update(PLATEAU.update(PLATEAU.init(), jnp.float32(2.0)), float("nan"))
    assert float(PLATEAU.value(state)) == 1.0
    assert len(jaxsched.plot(C, 12.0).axes[0].get_lines()[0].get_xdata()) == 12
    schedule = jaxsched.get("warmup_stable_decay", peak_value=0.1, num_warmup_steps=2,
                            num_decay_steps=3, num_stable_steps=0, min_lr_ratio=0.5)  # fmt: skip
    assert float(schedule(5)) == pytest.approx(0.05)
