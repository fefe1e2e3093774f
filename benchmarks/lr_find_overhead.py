"""Benchmark: an lr_find sweep against the same number of plain jitted training steps.

Run: python benchmarks/lr_find_overhead.py

A flax MLP (784-256-256-10) on fixed random data, Adam. Both sides are warmed up first (the
compiled programs are reused), then timed over repeats: the sweep is `jaxsched.lr_find` with
100 updates (its end_lr is low enough that it never stops early); the baseline is 100 calls
of a jitted `value_and_grad` + `optax.adam` update + `apply_updates`, with the loss kept, as
a training loop would. Reports medians and their ratio.
"""

from __future__ import annotations

import platform
import statistics
import sys
import time

import flax.linen as nn
import jax
import optax

import jaxsched

STEPS = 100
REPEATS = 15
BATCH = 128


class MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Dense(256)(x))
        x = nn.relu(nn.Dense(256)(x))
        return nn.Dense(10)(x)


MODEL = MLP()


def loss_fn(params, batch):
    images, labels = batch
    logits = MODEL.apply(params, images)
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def main() -> None:
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    images = jax.random.normal(keys[0], (8, BATCH, 784))
    labels = jax.random.randint(keys[1], (8, BATCH), 0, 10)
    batches = [(images[i], labels[i]) for i in range(8)]
    params = MODEL.init(keys[2], images[0])

    def sweep() -> float:
        start = time.perf_counter()
        result = jaxsched.lr_find(
            loss_fn, params, optax.adam, batches, num_steps=STEPS, end_lr=1e-3
        )
        assert len(result.lrs) == STEPS and not result.diverged
        return time.perf_counter() - start

    tx = optax.adam(1e-3)

    @jax.jit
    def train_step(params, opt_state, batch):
        loss, grads = jax.value_and_grad(loss_fn)(params, batch)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    def plain() -> float:
        start = time.perf_counter()
        p, state, losses = params, tx.init(params), []
        for i in range(STEPS):
            p, state, loss = train_step(p, state, batches[i % len(batches)])
            losses.append(loss)
        jax.block_until_ready((p, losses))
        return time.perf_counter() - start

    sweep(), plain()  # compile both
    sweeps, plains = [], []
    for _ in range(REPEATS):  # interleaved, so background load hits both alike
        sweeps.append(sweep())
        plains.append(plain())
    s, p = statistics.median(sweeps), statistics.median(plains)
    print(f"command: python {' '.join(sys.argv)}")
    print(
        f"machine: {platform.processor() or platform.machine()}, {jax.device_count()} "
        f"{jax.default_backend()} device(s); jax {jax.__version__}, optax {optax.__version__}"
    )
    print(f"model: MLP 784-256-256-10, batch {BATCH}, Adam; {STEPS} updates; medians of {REPEATS}")
    print(f"lr_find sweep : {s * 1e3:8.1f} ms ({s / STEPS * 1e6:.0f} us/update)")
    print(f"plain training: {p * 1e3:8.1f} ms ({p / STEPS * 1e6:.0f} us/update)")
    print(f"ratio sweep / plain: {s / p:.3f}")


if __name__ == "__main__":
    main()
