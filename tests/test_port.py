"""Porting a recipe from a peer library: momenta, conventions and names (issue 19)."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest

import jaxsched


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
