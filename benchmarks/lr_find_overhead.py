"""Benchmark: an lr_find sweep against the same number of the trainer's own training steps.

Run: python -m benchmarks.lr_find_overhead [--steps 100] [--repeats 15]

The MNIST trainer's NNX MLP (`examples/mnist/core.py`, built with `core.build`) on fixed
random data, Adam. Both sides are warmed up first (the compiled programs are reused), then
timed in turns: the sweep is `jaxsched.lr_find` with 100 updates on the core's loss (its
`end_lr` is low enough that it never stops early); the baseline is 100 calls of the core's
jitted `train_step`, the update the trainer runs, with its metrics kept as the trainer keeps
them. Reports medians and their ratio.
"""

from __future__ import annotations

import dataclasses
import platform
import sys
import time
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


def _data() -> tuple[jax.Array, jax.Array]:
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    images = jax.random.randint(keys[0], (NUM_IMAGES, 28, 28, 1), 0, 256).astype(jnp.uint8)
    labels = jax.random.randint(keys[1], (NUM_IMAGES,), 0, 10)
    return images, labels


def _sweep(
    the_core: core.Core, params: Any, images: jax.Array, labels: jax.Array, steps: int
) -> timing.Side:
    """A side whose step is a whole lr_find sweep of `steps` updates on the core's loss."""
    batches = [(images[i : i + BATCH], labels[i : i + BATCH]) for i in range(0, NUM_IMAGES, BATCH)]

    loss = recipes.lr_find_loss(the_core)

    def sweep() -> Any:
        result = jaxsched.lr_find(loss, params, optax.adam, batches, num_steps=steps, end_lr=1e-3)
        assert len(result.lrs) == steps and not result.diverged
        return result.losses

    return timing.loop(sweep)


def _plain(
    the_core: core.Core, hyperparams: Any, images: jax.Array, labels: jax.Array, steps: int
) -> timing.Side:
    """A side whose step is `steps` calls of the core's jitted train step from a fresh state
    (its initialisation not timed)."""
    step = jax.jit(the_core.train_step, donate_argnums=0)
    init = jax.jit(the_core.init)
    order = jnp.arange(NUM_IMAGES)
    key = jax.random.PRNGKey(1)

    def run(calls: int) -> float:
        seconds = 0.0
        for _ in range(calls):
            state = init(key, hyperparams)
            jax.block_until_ready(state)
            start = time.perf_counter()
            metrics = []
            for i in range(steps):
                offset = (i * BATCH) % NUM_IMAGES
                state, m = step(state, hyperparams, images, labels, order, offset)
                metrics.append(m)
            jax.block_until_ready((state, metrics))
            seconds += time.perf_counter() - start
        return seconds

    return run


def main(argv: list[str] | None = None) -> int:
    config, _ = cli.parse(OverheadConfig, argv, "benchmarks.lr_find_overhead", __doc__)
    hyperparams = {"learning_rate": jaxsched.constant(1e-3)}
    the_core = core.build("mlp", "adam", hyperparams, batch_size=BATCH)
    params = jax.jit(the_core.init_model)(jax.random.PRNGKey(1))
    images, labels = _data()
    sides = {
        "sweep": _sweep(the_core, params, images, labels, config.steps),
        "plain": _plain(the_core, hyperparams, images, labels, config.steps),
    }
    # One warm-up call each compiles both; then in turns, so background load hits both alike.
    medians = timing.medians(timing.in_turns(sides, 1, config.repeats, warmup_steps=1))
    s, p = medians["sweep"], medians["plain"]
    steps, repeats = config.steps, config.repeats
    print(f"command: python -m benchmarks.lr_find_overhead {' '.join(sys.argv[1:])}")
    print(
        f"machine: {platform.processor() or platform.machine()}, {jax.device_count()} "
        f"{jax.default_backend()} device(s); jax {jax.__version__}, optax {optax.__version__}"
    )
    print(
        f"model: the trainer's NNX MLP, batch {BATCH}, Adam; {steps} updates; medians of {repeats}"
    )
    print(f"lr_find sweep       : {s * 1e3:8.1f} ms ({s / steps * 1e6:.0f} us/update)")
    print(f"trainer train_step  : {p * 1e3:8.1f} ms ({p / steps * 1e6:.0f} us/update)")
    print(f"ratio sweep / steps : {s / p:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
