"""An lr_find sweep against the same number of the trainer's own training steps.

    python -m benchmarks.lr_find_overhead [--steps 100] [--repeats 15]

The trainer's NNX MLP (`core.build`), Adam, fixed random data. A step of the sweep's side is
one `jaxsched.lr_find` of `--steps` updates on the core's loss (its `end_lr` is low enough that
it never stops early); a step of the other is `--steps` calls of the core's jitted
`train_step`, its metrics kept as the trainer keeps them.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import jax
import jax.numpy as jnp
import optax

import jaxsched
from benchmarks import cli, timing
from examples.compare import recipes
from examples.mnist import core

BATCH = 128
NUM_IMAGES = 8 * BATCH


@dataclasses.dataclass(frozen=True)
class OverheadConfig:
    """What the benchmark runs; each field is a command-line flag.

    Attributes:
      steps: updates of each side per timing.
      repeats: timings of both sides, in turns (their median is reported).
    """

    steps: int = 100
    repeats: int = 15


def _sides(config: OverheadConfig) -> dict[str, timing.Side]:
    hyperparams = {"learning_rate": jaxsched.constant(1e-3)}
    the_core = core.build("mlp", "adam", hyperparams, batch_size=BATCH)
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    images = jax.random.randint(keys[0], (NUM_IMAGES, 28, 28, 1), 0, 256).astype(jnp.uint8)
    labels = jax.random.randint(keys[1], (NUM_IMAGES,), 0, 10)
    batches = [(images[i : i + BATCH], labels[i : i + BATCH]) for i in range(0, NUM_IMAGES, BATCH)]
    params = jax.jit(the_core.init_model)(jax.random.PRNGKey(1))
    loss = recipes.lr_find_loss(the_core)

    def sweep() -> Any:
        result = jaxsched.lr_find(
            loss, params, optax.adam, batches, num_steps=config.steps, end_lr=1e-3
        )
        assert len(result.lrs) == config.steps and not result.diverged
        return result.losses

    step = jax.jit(the_core.train_step, donate_argnums=0)
    state = [jax.jit(the_core.init)(jax.random.PRNGKey(1), hyperparams)]
    order = jnp.arange(NUM_IMAGES)

    def plain() -> Any:
        metrics = []
        for i in range(config.steps):
            offset = (i * BATCH) % NUM_IMAGES
            state[0], m = step(state[0], hyperparams, images, labels, order, offset)
            metrics.append(m)
        return state[0], metrics

    return {"sweep": timing.loop(sweep), "plain": timing.loop(plain)}


def main(argv: list[str] | None = None) -> int:
    config, _ = cli.parse(OverheadConfig, argv, "benchmarks.lr_find_overhead", __doc__)
    results = {**timing.environment(), "config": dataclasses.asdict(config)}
    results["model"] = f"the trainer's NNX MLP, batch {BATCH}, Adam"
    # One warm-up call each compiles both; then in turns, so background load hits both alike.
    times = timing.in_turns(_sides(config), 1, config.repeats, warmup_steps=1)
    s, p = timing.medians(times).values()
    results["lr_find sweep ms"], results["trainer train_step ms"] = s * 1e3, p * 1e3
    results["us an update"] = {"sweep": s / config.steps * 1e6, "plain": p / config.steps * 1e6}
    results["ratio sweep / steps"] = s / p
    timing.show(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
