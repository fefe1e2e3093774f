"""jaxsched with Flax Linen's `TrainState`, the way Linen code is still written."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax.training import train_state

import jaxsched


class Regression(nn.Module):
    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return nn.Dense(1)(x)[:, 0]


def test_a_linen_train_state_follows_the_schedule_and_its_plateau_scale():
    x = jax.random.normal(jax.random.PRNGKey(0), (64, 3))
    y = x @ jnp.array([1.0, -2.0, 0.5])
    model = Regression()
    schedule = jaxsched.warmup_cosine_decay(0.0, 0.2, warmup_steps=3, decay_steps=40)
    state = train_state.TrainState.create(
        apply_fn=model.apply,
        params=model.init(jax.random.PRNGKey(1), x)["params"],
        tx=jaxsched.inject(optax.sgd, learning_rate=schedule, momentum=0.9),
    )

    @jax.jit
    def train_step(state: train_state.TrainState) -> tuple[train_state.TrainState, jax.Array]:
        def loss_fn(params):
            return jnp.mean((state.apply_fn({"params": params}, x) - y) ** 2)

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        return state.apply_gradients(grads=grads), loss

    losses, lrs = [], []
    for _ in range(25):
        state, loss = train_step(state)
        losses.append(float(loss))
        lrs.append(float(jaxsched.current_lr(state.opt_state)))
    np.testing.assert_allclose(lrs, schedule(jnp.arange(25)), rtol=1e-6)
    assert losses[-1] < 0.1 * losses[0]
    # A plateau multiplier goes into the TrainState's optimizer state like any other field.
    halved = state.replace(opt_state=jaxsched.set_scale(state.opt_state, learning_rate=0.5))
    expected = 0.5 * schedule(25)
    np.testing.assert_allclose(jaxsched.current_lr(halved.opt_state, "next"), expected, rtol=1e-6)
    halved, _ = train_step(halved)
    np.testing.assert_allclose(jaxsched.current_lr(halved.opt_state), expected, rtol=1e-6)
