"""One instance of every registered schedule, for the tests that go over them all.

`tests/test_inject.py` checks that `CATALOGUE` names every class in the registry, so a new
schedule is tried by every such test the day it is registered. Each instance is positive over
its first steps (it is a learning rate) and small: a few steps show its whole shape.
"""

from __future__ import annotations

import jaxsched
from tests import reference

CATALOGUE = {
    "by_fraction": jaxsched.by_fraction(
        10, (0.5, 0.5), (jaxsched.constant(0.1), jaxsched.linear(0.1, 0.01, 5))
    ),
    "clip": jaxsched.clip(jaxsched.exponential_decay(0.1, 2.0), max_value=0.2),
    "constant": jaxsched.constant(0.05),
    "cosine_decay": jaxsched.cosine_decay(0.1, 10),
    "cosine_restarts": jaxsched.cosine_restarts(0.1, 3, t_mul=2.0, end_value=0.001),
    "cyclic": jaxsched.cyclic(0.01, 0.1, 2),
    "exponential_decay": jaxsched.exponential_decay(0.1, 0.5, 2),
    "inverse_sqrt": jaxsched.inverse_sqrt(0.1, 2),
    "inverse_time_decay": jaxsched.inverse_time_decay(0.1, 0.5, 2),
    "join": jaxsched.join((jaxsched.constant(0.1), jaxsched.constant(0.01)), (2,)),
    "linear": jaxsched.linear(0.1, 0.01, 5),
    "multistep_decay": jaxsched.multistep_decay(0.1, (1, 3)),
    "one_cycle": jaxsched.one_cycle(0.1, 10),
    "one_cycle_momentum": jaxsched.one_cycle_momentum(10),
    "piecewise_constant": jaxsched.piecewise_constant((2,), (0.1, 0.02)),
    "polynomial_decay": jaxsched.polynomial_decay(0.1, 0.01, 5, power=2.0),
    "product": jaxsched.product(jaxsched.constant(0.5), jaxsched.cosine_decay(0.1, 10)),
    "scale": jaxsched.scale(jaxsched.cosine_decay(1.0, 10), 0.1),
    "step_decay": jaxsched.step_decay(0.1, 2),
    "tanh_decay": jaxsched.tanh_decay(0.1, 0.01, 10),
    "warmup": jaxsched.warmup(jaxsched.constant(0.1), 2),
    "warmup_cosine_decay": jaxsched.warmup_cosine_decay(0.0, 0.1, 2, 10),
    "warmup_stable_decay": jaxsched.warmup_stable_decay(0.1, 10, 2, 3),
    "cooldown": jaxsched.cooldown(jaxsched.cosine_decay(0.1, 20), 4, 4),
    "swa": jaxsched.swa(0.1, 0.02, 3),
    "noise": jaxsched.noise(jaxsched.constant(0.1), 1, 5, noise_pct=0.2),
    "warmup_constant": jaxsched.warmup_constant(0.0, 0.1, 3),
    "warmup_exponential_decay": jaxsched.warmup_exponential_decay(0.0, 0.1, 2, 2, 0.5),
    "linear_onecycle": jaxsched.linear_onecycle(10, 0.1),
    "cosine_onecycle": jaxsched.cosine_onecycle(10, 0.1),
    "piecewise_interpolate": jaxsched.piecewise_interpolate(0.1, {2: 0.5, 5: 0.1}),
    "piecewise_constant_scales": jaxsched.piecewise_constant_scales(0.1, {2: 0.5, 5: 0.1}),
    "constant_factor": jaxsched.constant_factor(0.1, 0.5, 2),
    "lambda_schedule": jaxsched.lambda_schedule(
        reference.inverse_power, 0.1, params={"rate": 0.5, "power": 1.0}
    ),
    "multiplicative": jaxsched.multiplicative(
        reference.shrinking_factor, 8, 0.1, params={"rate": 0.5}
    ),
    "warmup_stable_decay_cycles": jaxsched.warmup_stable_decay_cycles(
        0.1, (5, 10), 1, decay_steps=2, rewarmup_steps=1, end_value=0.01
    ),
    "polynomial_ramp": jaxsched.polynomial_ramp(0.01, 0.1, 5, power=2.0),
    "alternate": jaxsched.alternate(
        (jaxsched.cosine_decay(0.1, 10), jaxsched.constant(0.05)), steps=(3, 1)
    ),
    "advance": jaxsched.advance(jaxsched.cosine_decay(0.1, 10), steps=1, min_step=2),
    "history": jaxsched.history(
        (jaxsched.cosine_decay(0.1, 10), jaxsched.cosine_decay(0.125, 10)), boundaries=(4,)
    ),
}
