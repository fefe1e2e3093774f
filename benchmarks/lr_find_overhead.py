"""Benchmark: an lr_find sweep against the same number of the trainer's own training steps.

Run: python -m benchmarks.lr_find_overhead

The MNIST trainer's NNX MLP (`examples/mnist/core.py`, built with `core.build`) on fixed
random data, Adam. Both sides are warmed up first (the compiled programs are reused), then
timed in turns: the sweep is `jaxsched.lr_find` with 100 updates on the core's loss (its
`end_lr` is low enough that it never stops early); the baseline is 100 calls of the core's
jitted `train_step`, the update the trainer runs, with its metrics kept as the trainer keeps
them. Reports medians and their ratio.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import nnx

import jaxsched
from examples import flags
from examples.mnist import core

STEPS = 100
REPEATS = 15
BATCH = 128
NUM_IMAGES = 8 * BATCH


def _data() -> tuple[jax.Array, jax.Array]:
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    images = jax.random.randint(keys[0], (NUM_IMAGES, 28, 28, 1), 0, 256).astype(jnp.uint8)
    labels = jax.random.randint(keys[1], (NUM_IMAGES,), 0, 10)
    return images, labels


def _sweep(the_core: core.Core, params: Any, images: jax.Array, labels: jax.Array) -> Any:
    """A function that runs lr_find on the core's loss and returns its seconds."""
    batches = [(images[i : i + BATCH], labels[i : i + BATCH]) for i in range(0, NUM_IMAGES, BATCH)]

    def loss(params: Any, batch: tuple[jax.Array, jax.Array]) -> jax.Array:
        model = nnx.merge(the_core.model_graphdef, params)
        return core.loss_fn(model, core.as_float(batch[0]), batch[1])[0]

    def run() -> float:
        start = time.perf_counter()
        result = jaxsched.lr_find(loss, params, optax.adam, batches, num_steps=STEPS, end_lr=1e-3)
        assert len(result.lrs) == STEPS and not result.diverged
        return time.perf_counter() - start

    return run


def _plain(the_core: core.Core, hyperparams: Any, images: jax.Array, labels: jax.Array) -> Any:
    """A function that runs STEPS of the core's jitted train step and returns its seconds."""
    step = jax.jit(the_core.train_step, donate_argnums=0)
    init = jax.jit(the_core.init)
    order = jnp.arange(NUM_IMAGES)
    key = jax.random.PRNGKey(1)

    def run() -> float:
        state = init(key, hyperparams)
        jax.block_until_ready(state)
        start = time.perf_counter()
        metrics = []
        for i in range(STEPS):
            state, m = step(state, hyperparams, images, labels, order, (i * BATCH) % NUM_IMAGES)
            metrics.append(m)
        jax.block_until_ready((state, metrics))
        return time.perf_counter() - start

    return run


def main() -> None:
    flags.ArgumentParser(
        prog="python -m benchmarks.lr_find_overhead", description=__doc__.split("\n\n")[0]
    ).parse_args()
    hyperparams = {"learning_rate": jaxsched.constant(1e-3)}
    the_core = core.build("mlp", "adam", hyperparams, batch_size=BATCH)
    params = jax.jit(the_core.init_model)(jax.random.PRNGKey(1))
    images, labels = _data()
    sweep = _sweep(the_core, params, images, labels)
    plain = _plain(the_core, hyperparams, images, labels)
    sweep(), plain()  # compile both
    sweeps, plains = [], []
    for _ in range(REPEATS):  # in turns, so background load hits both alike
        sweeps.append(sweep())
        plains.append(plain())
    s, p = statistics.median(sweeps), statistics.median(plains)
    print(f"command: python -m benchmarks.lr_find_overhead {' '.join(sys.argv[1:])}")
    print(
        f"machine: {platform.processor() or platform.machine()}, {jax.device_count()} "
        f"{jax.default_backend()} device(s); jax {jax.__version__}, optax {optax.__version__}"
    )
    print(
        f"model: the trainer's NNX MLP, batch {BATCH}, Adam; {STEPS} updates; medians of {REPEATS}"
    )
    print(f"lr_find sweep       : {s * 1e3:8.1f} ms ({s / STEPS * 1e6:.0f} us/update)")
    print(f"trainer train_step  : {p * 1e3:8.1f} ms ({p / STEPS * 1e6:.0f} us/update)")
    print(f"ratio sweep / steps : {s / p:.3f}")


if __name__ == "__main__":
    main()
