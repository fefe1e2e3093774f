"""Strict JAX settings for every test, as in equinox: implicit rank promotion is an error."""

import jax
import matplotlib

matplotlib.use("Agg")
jax.config.update("jax_numpy_rank_promotion", "raise")
