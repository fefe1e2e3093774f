"""Strict JAX settings for every test, as in equinox: implicit rank promotion is an error.

The functions of the step in `tests/reference.py` are registered with
`jaxsched.register_function`: the golden cases' configs name them, and configs may name only
allowed functions.

Under CI (the `CI` environment variable), hypothesis is derandomized so that a run is
reproducible; developers' runs keep exploring new examples.
"""

import os

import jax
import matplotlib
from hypothesis import settings

import jaxsched
from tests import reference

for function in (
    reference.inverse_power,
    reference.shrinking_factor,
    reference.halving,
    reference.damped,
    reference.geometric,
    reference.ninety_percent,
):
    jaxsched.register_function(function)

matplotlib.use("Agg")
jax.config.update("jax_numpy_rank_promotion", "raise")

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
