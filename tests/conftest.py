"""Strict JAX settings for every test, as in equinox: implicit rank promotion is an error.

Under CI (the `CI` environment variable), hypothesis is derandomized so that a run is
reproducible; developers' runs keep exploring new examples.
"""

import os

import jax
import matplotlib
from hypothesis import settings

matplotlib.use("Agg")
jax.config.update("jax_numpy_rank_promotion", "raise")

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
