"""What a schedule costs inside a jitted optax update, against optax's schedule and a constant.

Every variant trains the same MLP with Adam for the same steps; only the learning rate differs:
a Python float, optax's `warmup_cosine_decay_schedule` (a closure baked into the program),
jaxsched's `warmup_cosine_decay` baked in the same way, and jaxsched's schedule passed as a
traced pytree argument (so new numbers do not recompile), with Python-float leaves or with
leaves put on the device once; and the same schedule through `jaxsched.inject` (the learning
rate in the optimizer state). Variants are interleaved in every
repeat, so machine noise hits them alike; the report is the median time per step and its ratio
to the constant.

    python -m benchmarks.schedule_overhead [--steps 300] [--repeats 15] [--width 256]
"""

from __future__ import annotations

import dataclasses
import platform
import time
from typing import Any

import jax
import jax.numpy as jnp
import optax

import jaxsched
from benchmarks import cli, timing

# The event JAX records for every backend compile (the name `jax._src.dispatch` gives it).
BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


def _mlp_loss(params: Any, batch: tuple[jax.Array, jax.Array]) -> jax.Array:
    x, y = batch
    for w, b in params[:-1]:
        x = jax.nn.relu(x @ w + b)
    w, b = params[-1]
    logits = x @ w + b
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def _init(key: jax.Array, sizes: list[int]) -> list[tuple[jax.Array, jax.Array]]:
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        (jax.random.normal(k, (m, n)) / jnp.sqrt(m), jnp.zeros(n))
        for k, m, n in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]


def _adam(learning_rate: Any, injected: bool) -> Any:
    if injected:
        return jaxsched.inject(optax.adam, learning_rate=learning_rate)
    return optax.adam(learning_rate)


def _make_runner(learning_rate: Any, schedule_as_argument: bool, injected: bool) -> Any:
    """A jitted update step; the optimizer is built inside it from `learning_rate`."""

    def step(params, opt_state, batch, schedule):
        lr = schedule if schedule_as_argument else learning_rate
        optimizer = _adam(lr, injected)
        loss, grads = jax.value_and_grad(_mlp_loss)(params, batch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return jax.jit(step, donate_argnums=(0, 1))


def _variants(horizon: int) -> dict[str, tuple[Any, bool, bool]]:
    """name -> (learning rate, passed as a jit argument, through jaxsched.inject)."""
    schedule = jaxsched.warmup_cosine_decay(0.0, 1e-3, 50, horizon)
    return {
        "constant float": (1e-3, False, False),
        "optax warmup_cosine_decay_schedule": (
            optax.warmup_cosine_decay_schedule(0.0, 1e-3, 50, horizon),
            False,
            False,
        ),
        "jaxsched warmup_cosine_decay (baked in)": (schedule, False, False),
        "jaxsched warmup_cosine_decay (traced argument)": (schedule, True, False),
        # Python-float leaves are converted on every call; device arrays are passed as they are.
        "jaxsched, traced argument, device_put once": (jax.device_put(schedule), True, False),
        "jaxsched.inject, baked in": (schedule, False, True),
        "jaxsched.inject, traced argument, device_put": (jax.device_put(schedule), True, True),
    }


class Variant:
    """A variant's jitted update, its parameters and optimizer state, and its learning-rate
    argument; made with a first call (its compile and first run, timed)."""

    def __init__(
        self, lr: Any, as_arg: bool, injected: bool, key: jax.Array, sizes: list[int], batch: Any
    ) -> None:
        self.runner = _make_runner(lr, as_arg, injected)
        self.params = _init(key, sizes)
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


@dataclasses.dataclass(frozen=True)
class OverheadConfig:
    """What the benchmark runs; each field is a command-line flag.

    Attributes:
      steps: timed steps per repeat.
      repeats: timings per variant.
      width: the MLP's hidden width.
      batch: examples per step.
    """

    steps: int = 300
    repeats: int = 15
    width: int = 256
    batch: int = 128


def main(argv: list[str] | None = None) -> None:
    args, _ = cli.parse(OverheadConfig, argv, "benchmarks.schedule_overhead", __doc__)

    key = jax.random.key(0)
    sizes = [784, args.width, args.width, 10]
    batch = (
        jax.random.normal(key, (args.batch, 784)),
        jax.random.randint(key, (args.batch,), 0, 10),
    )
    horizon = args.steps * args.repeats
    variants = {
        name: Variant(*spec, key, sizes, batch) for name, spec in _variants(horizon).items()
    }
    sides = {name: timing.loop(variant) for name, variant in variants.items()}
    medians = timing.medians(timing.in_turns(sides, args.steps, args.repeats, warmup_steps=0))
    base = medians["constant float"]
    print(
        f"jax {jax.__version__}, optax {optax.__version__}, {jax.devices()[0].device_kind}, "
        f"{platform.processor() or platform.machine()}; MLP 784-{args.width}-{args.width}-10, "
        f"batch {args.batch}, {args.steps} steps x {args.repeats} repeats"
    )
    print(
        f"{'learning rate':48s} {'median us/step':>15s} {'vs constant':>12s} {'first call s':>13s}"
    )
    for name, median in medians.items():
        first = variants[name].first_call_seconds
        print(f"{name:48s} {median * 1e6:15.1f} {median / base:12.3f} {first:13.2f}")
    traced = variants["jaxsched warmup_cosine_decay (traced argument)"]
    print(f"recompiles after 3 new peak values: {recompiles(traced, horizon)}")


if __name__ == "__main__":
    main()
