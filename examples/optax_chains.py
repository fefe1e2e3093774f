"""jaxsched schedules inside real optax chains: a few real updates of a small linear model.

    python -m examples.optax_chains

1. `chain(clip_by_global_norm, scale_by_adam, scale_by_learning_rate(schedule))`.
2. `adamw` with a weight-decay mask, through `jaxsched.inject` (the mask stays a mask).
3. SGD with the 1cycle learning rate and the 1cycle momentum, both scheduled.
4. Per-group learning rates with `optax.multi_transform`: the head learns 10x slower.
5. `reduce_on_plateau` multiplying a cosine decay, written into the state with `set_scale`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxsched
from examples import flags

# NumPy data, so that importing the module (for --help) starts no JAX backend.
X = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
Y = X @ np.array([1.0, -2.0, 0.5], np.float32) + np.float32(0.3)
PARAMS = {"body": {"w": np.zeros(3, np.float32)}, "head": {"b": np.zeros((), np.float32)}}


def loss_fn(params):
    prediction = X @ params["body"]["w"] + params["head"]["b"]
    return jnp.mean((prediction - Y) ** 2)


def train(name, tx, steps=8, every_step=None):
    """Runs `steps` jitted updates and prints the loss (and what `every_step` reports)."""

    @jax.jit
    def step(params, state):
        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    params, state = PARAMS, tx.init(PARAMS)
    print(f"\n== {name}")
    for i in range(steps):
        params, state, loss = step(params, state)
        extra = every_step(state) if every_step else ""
        print(f"  step {i}: loss {float(loss):.4f} {extra}")
    return params, state


def chain_and_mask() -> None:
    """1 and 2: a schedule inside an optax chain; adamw's mask kept a mask by inject."""
    schedule = jaxsched.warmup_cosine_decay(0.0, 0.3, warmup_steps=2, decay_steps=8)
    train(
        "chain(clip_by_global_norm, scale_by_adam, scale_by_learning_rate(warmup_cosine_decay))",
        optax.chain(
            optax.clip_by_global_norm(1.0),
            optax.scale_by_adam(),
            optax.scale_by_learning_rate(schedule),
        ),
    )

    def decay_matrices_only(params):
        return jax.tree.map(lambda x: x.ndim > 0, params)

    train(
        "jaxsched.inject(optax.adamw, learning_rate=schedule, mask=fn)",
        jaxsched.inject(
            optax.adamw, learning_rate=schedule, weight_decay=0.1, mask=decay_matrices_only
        ),
        every_step=lambda s: (
            f"lr used {float(jaxsched.current_lr(s)):.4f}, "
            f"next {float(jaxsched.current_lr(s, 'next')):.4f}"
        ),
    )


def scheduled_momentum_and_groups() -> None:
    """3 and 4: momentum scheduled with the learning rate; per-group learning rates."""
    lr = jaxsched.one_cycle(0.2, total_steps=8)
    momentum = jaxsched.one_cycle_momentum(total_steps=8)
    train(
        "SGD with one_cycle learning rate and one_cycle_momentum",
        jaxsched.inject(optax.sgd, learning_rate=lr, momentum=momentum),
        every_step=lambda s: "lr {learning_rate:.4f} momentum {momentum:.4f}".format(
            **{k: float(v) for k, v in jaxsched.current_hyperparams(s).items()}
        ),
    )

    body_lr = jaxsched.cosine_decay(0.3, decay_steps=8)
    train(
        "multi_transform: the head at a tenth of the body's learning rate",
        optax.multi_transform(
            {
                "body": jaxsched.inject(optax.adam, learning_rate=body_lr),
                "head": jaxsched.inject(optax.adam, learning_rate=jaxsched.scale(body_lr, 0.1)),
            },
            {"body": "body", "head": "head"},
        ),
        every_step=lambda s: (
            f"body lr {float(jaxsched.current_lr(s, group='body')):.4f}, "
            f"head lr {float(jaxsched.current_lr(s, group='head')):.4f}"
        ),
    )


def plateau_on_a_decay() -> None:
    """5: reduce_on_plateau multiplying a cosine decay through `set_scale`."""
    print("\n== reduce_on_plateau multiplying cosine_decay (validation loss faked per epoch)")
    decay = jaxsched.cosine_decay(0.1, decay_steps=40)
    tx = jaxsched.inject(optax.sgd, learning_rate=decay)
    plateau = jaxsched.reduce_on_plateau(factor=0.5, patience=1)

    @jax.jit
    def step(params, state):
        updates, state = tx.update(jax.grad(loss_fn)(params), state, params)
        return optax.apply_updates(params, updates), state

    params, state, plateau_state = PARAMS, tx.init(PARAMS), plateau.init()
    for epoch, validation_loss in enumerate([1.0, 0.8, 0.81, 0.82, 0.79, 0.80, 0.80]):
        for _ in range(4):
            params, state = step(params, state)
        plateau_state = plateau.update(plateau_state, validation_loss)
        state = jaxsched.set_scale(state, learning_rate=plateau.value(plateau_state))
        print(
            f"  epoch {epoch}: val loss {validation_loss:.2f}, plateau factor "
            f"{float(plateau.value(plateau_state)):.3f}, next lr "
            f"{float(jaxsched.current_lr(state, 'next')):.5f}, train loss "
            f"{float(loss_fn(params)):.4f}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    prog = "python -m examples.optax_chains"
    flags.ArgumentParser(prog=prog, description=__doc__).parse_args(argv)
    chain_and_mask()
    scheduled_momentum_and_groups()
    plateau_on_a_decay()
    return 0


if __name__ == "__main__":
    sys.exit(main())
