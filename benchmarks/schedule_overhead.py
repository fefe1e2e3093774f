"""What jaxsched costs in jitted training: a schedule inside an optax update (against optax's
schedule and a constant), and an lr_find sweep (against as many of the trainer's steps).

    python -m benchmarks.schedule_overhead [--steps 300] [--repeats 15] [--lr-find-steps 100]

benchmarks/README.md says what each part times.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxsched
from benchmarks import cli, timing
from examples.compare import recipes
from examples.mnist import core

# The event JAX records for every backend compile (the name `jax._src.dispatch` gives it).
BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


@dataclasses.dataclass(frozen=True)
class OverheadConfig:
    """What the benchmark runs; each field is a command-line flag.

    Attributes:
      steps: timed steps of every schedule variant per repeat (0: skip the schedules).
      repeats: timings per variant, and of both lr_find sides.
      width: the MLP's hidden width.
      batch: examples per step.
      lr_find_steps: updates of each lr_find side per timing (0: skip lr_find).
    """

    steps: int = 300
    repeats: int = 15
    width: int = 256
    batch: int = 128
    lr_find_steps: int = 100


def _mlp_loss(params: Any, batch: tuple[jax.Array, jax.Array]) -> jax.Array:
    x, y = batch
    for w, b in params[:-1]:
        x = jax.nn.relu(x @ w + b)
    w, b = params[-1]
    return optax.softmax_cross_entropy_with_integer_labels(x @ w + b, y).mean()


def _adam(learning_rate: Any, injected: bool) -> Any:
    return (
        jaxsched.inject(optax.adam, learning_rate=learning_rate)
        if injected
        else optax.adam(learning_rate)
    )


def _variants(horizon: int) -> dict[str, tuple[Any, bool, bool]]:
    """name -> (learning rate, passed as a jit argument, through jaxsched.inject)."""
    schedule = jaxsched.warmup_cosine_decay(0.0, 1e-3, 50, horizon)
    on_device = jax.device_put(schedule)  # Python-float leaves are converted on every call
    optax_schedule = optax.warmup_cosine_decay_schedule(0.0, 1e-3, 50, horizon)
    return {
        "constant float": (1e-3, False, False),
        "optax warmup_cosine_decay_schedule": (optax_schedule, False, False),
        "jaxsched warmup_cosine_decay (baked in)": (schedule, False, False),
        "jaxsched warmup_cosine_decay (traced argument)": (schedule, True, False),
        "jaxsched, traced argument, device_put once": (on_device, True, False),
        "jaxsched.inject, baked in": (schedule, False, True),
        "jaxsched.inject, traced argument, device_put": (on_device, True, True),
    }


class Variant:
    """A variant's jitted update (the optimizer built inside it), its parameters, optimizer
    state and learning-rate argument; made with a first call (compile and run, timed)."""

    def __init__(
        self, lr: Any, as_arg: bool, injected: bool, seed: int, sizes: list[int], batch: Any
    ) -> None:
        def step(params: Any, opt_state: Any, batch: Any, schedule: Any) -> Any:
            optimizer = _adam(schedule if as_arg else lr, injected)
            loss, grads = jax.value_and_grad(_mlp_loss)(params, batch)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state, loss

        self.runner = jax.jit(step, donate_argnums=(0, 1))
        rng = np.random.default_rng(seed)  # NumPy's: initial weights that cost no compile
        self.params = [
            (jnp.asarray(rng.standard_normal((m, n), np.float32) / np.sqrt(m)), jnp.zeros(n))
            for m, n in itertools.pairwise(sizes)
        ]
        self.opt_state = _adam(lr, injected).init(self.params)
        self.batch = batch
        self.argument = lr if as_arg else None  # closures cannot cross the jit boundary
        start = time.perf_counter()
        jax.block_until_ready(self())
        self.first_call_seconds = time.perf_counter() - start

    def __call__(self, argument: Any = None) -> jax.Array:
        """One update (with `argument` as the traced schedule, if given); its loss."""
        lr = self.argument if argument is None else argument
        self.params, self.opt_state, loss = self.runner(self.params, self.opt_state, self.batch, lr)
        return loss


def recompiles(variant: Variant, horizon: int) -> int:
    """Compiles that three new peak values of a traced schedule cost (none expected), counted
    from JAX's backend-compile events."""
    compiles = []

    def listener(event: str, duration_secs: float, **kwargs: str | int) -> None:
        if event == BACKEND_COMPILE_EVENT:
            compiles.append(duration_secs)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        for peak in (2e-3, 5e-4, 1e-2):
            jax.block_until_ready(variant(jaxsched.warmup_cosine_decay(0.0, peak, 50, horizon)))
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
    return len(compiles)


def time_schedules(config: OverheadConfig) -> dict[str, Any]:
    """Median microseconds a step of every variant, its ratio to the constant and its first
    call's seconds, and the compiles that new peak values of a traced schedule cost."""
    key = jax.random.key(0)
    batch = (
        jax.random.normal(key, (config.batch, 784)),
        jax.random.randint(key, (config.batch,), 0, 10),
    )
    horizon = config.steps * config.repeats
    sizes = [784, config.width, config.width, 10]
    variants = {name: Variant(*spec, 0, sizes, batch) for name, spec in _variants(horizon).items()}
    sides = {name: timing.loop(variant) for name, variant in variants.items()}
    medians = timing.medians(timing.in_turns(sides, config.steps, config.repeats, warmup_steps=0))
    results: dict[str, Any] = {
        name: {
            "median_us_a_step": median * 1e6,
            "vs_constant": median / medians["constant float"],
            "first_call_s": variants[name].first_call_seconds,
        }
        for name, median in medians.items()
    }
    traced = variants["jaxsched warmup_cosine_decay (traced argument)"]
    results["recompiles after 3 new peak values"] = recompiles(traced, horizon)
    return results


def time_lr_find(config: OverheadConfig) -> dict[str, Any]:
    """Medians of an lr_find sweep on the trainer's NNX MLP (`core.build`, Adam, its `end_lr`
    low enough that it never stops early) and of as many calls of the core's jitted
    `train_step`, its metrics kept as the trainer keeps them; and their ratio."""
    steps, batch_size, num_images = config.lr_find_steps, 128, 1024
    hyperparams = {"learning_rate": jaxsched.constant(1e-3)}
    the_core = core.build("mlp", "adam", hyperparams, batch_size=batch_size)
    images, labels = map(jnp.asarray, timing.random_images(num_images))  # on the device
    batches = [
        (images[i : i + batch_size], labels[i : i + batch_size])
        for i in range(0, num_images, batch_size)
    ]
    params = jax.jit(the_core.init_model)(jax.random.PRNGKey(1))
    loss = recipes.lr_find_loss(the_core)

    def sweep() -> Any:
        result = jaxsched.lr_find(loss, params, optax.adam, batches, num_steps=steps, end_lr=1e-3)
        assert len(result.lrs) == steps and not result.diverged
        return result.losses

    step = jax.jit(the_core.train_step, donate_argnums=0)
    state = [jax.jit(the_core.init)(jax.random.PRNGKey(1), hyperparams)]
    order = jnp.arange(num_images)

    def plain() -> Any:
        metrics = []
        for i in range(steps):
            offset = (i * batch_size) % num_images
            state[0], m = step(state[0], hyperparams, images, labels, order, offset)
            metrics.append(m)
        return state[0], metrics

    # One warm-up call each compiles both; then in turns, so background load hits both alike.
    sides = {"sweep": timing.loop(sweep), "plain": timing.loop(plain)}
    s, p = timing.medians(timing.in_turns(sides, 1, config.repeats, warmup_steps=1)).values()
    return {
        "model": f"the trainer's NNX MLP, batch {batch_size}, Adam, {steps} updates",
        "lr_find sweep ms": s * 1e3,
        "trainer train_step ms": p * 1e3,
        "ratio sweep / steps": s / p,
    }


def main(argv: list[str] | None = None) -> None:
    config, _ = cli.parse(OverheadConfig, argv, "benchmarks.schedule_overhead", __doc__)
    results = {**timing.environment(), "config": dataclasses.asdict(config)}
    if config.steps:
        results["schedules"] = time_schedules(config)
    if config.lr_find_steps:
        results["lr_find"] = time_lr_find(config)
    timing.show(results)


if __name__ == "__main__":
    main()
