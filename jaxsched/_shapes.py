"""Ramp shapes shared by warmups and cooldowns: fractions of the way from one value to another."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxsched._checks import check_choice
from jaxsched._numerics import PI, power

SHAPES = ("linear", "cosine", "1-sqrt")


def check_shape(name: str, shape: str) -> None:
    check_choice(name, shape, SHAPES)


def decay_fraction(shape: str, progress: jax.Array) -> jax.Array:
    """How much of a decay is left after `progress` in [0, 1]: 1 at the start, 0 at the end.

    "1-sqrt" is the cooldown of Hägele et al. (2024), https://arxiv.org/abs/2405.18392.
    """
    if shape == "linear":
        return 1.0 - progress
    if shape == "cosine":
        return 0.5 * (1.0 + jnp.cos(PI * progress))
    return 1.0 - power(progress, 0.5)


def warmup_fraction(shape: str, progress: jax.Array) -> jax.Array:
    """How far a warmup has come after `progress` in [0, 1]: the decay shape run backwards."""
    return decay_fraction(shape, 1.0 - progress)
