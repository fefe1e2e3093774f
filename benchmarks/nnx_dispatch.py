"""What each way of calling an NNX training step costs per call, on the core the trainer uses.

    python -m benchmarks.nnx_dispatch [--model linear] [--k 8]

Every side (benchmarks/README.md names them) runs the same update, `Core.update`, and differs
only in how it is called.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

import jaxsched
from benchmarks import cli, timing
from examples import flags
from examples.compare import group
from examples.mnist import core, cpu_tuning


@dataclasses.dataclass(frozen=True)
class DispatchConfig:
    """What the benchmark runs; each field is a command-line flag.

    Attributes:
      model: "linear" (dispatch-bound), "mlp" or "cnn".
      batch_size: images per update.
      steps: calls per timing.
      repeats: alternating timings of every side (their median is reported).
      k: also time K runs under one vmap (0: skip).
      json: also write the results to this file.
    """

    model: str = flags.option("linear", choices=("linear", "mlp", "cnn"))
    batch_size: int = 128
    steps: int = 200
    repeats: int = 7
    k: int = 8
    json: str | None = None


def _sides(config: DispatchConfig) -> dict[str, Callable[[], Any]]:
    """Each side as a no-argument call of one update; returns something to wait on."""
    hyperparams = {"learning_rate": jaxsched.constant(0.01), "momentum": 0.9}
    hyperparams = jax.device_put(hyperparams)
    the_core = core.build(config.model, "sgd", hyperparams, batch_size=config.batch_size)
    images, labels = map(jnp.asarray, timing.random_images(config.batch_size))
    batch = (images, labels, jnp.arange(config.batch_size, dtype=jnp.int32), 0)
    init = jax.jit(
        the_core.init, compiler_options=cpu_tuning.init_compiler_options(jax.default_backend())
    )
    args = (core.seed_keys(0)[0], hyperparams)
    state = [init(*args)]
    pure = jax.jit(the_core.train_step, donate_argnums=0)

    def pure_jit() -> Any:
        state[0], metrics = pure(state[0], hyperparams, *batch)
        return metrics["loss"]

    def with_nnx_state(wrapped: Any, *args: Any) -> Any:
        new, metrics = the_core.train_step(nnx.to_pure_dict(wrapped), *args)
        model, optimizer = the_core.merge(new)
        return nnx.state({"model": model, "optimizer": optimizer}), metrics

    wrapped_step = jax.jit(with_nnx_state, donate_argnums=0)
    wrapped = [
        nnx.state(dict(zip(("model", "optimizer"), the_core.merge(init(*args)), strict=True)))
    ]

    def pure_jit_nnx_state() -> Any:
        wrapped[0], metrics = wrapped_step(wrapped[0], hyperparams, *batch)
        return metrics["loss"]

    def update(model: Any, optimizer: Any, *args: Any) -> Any:
        return the_core.update(model, optimizer, *args)["loss"]

    model, optimizer = the_core.merge(init(*args))
    graph, tree = nnx.jit(update), nnx.jit(update, graph=False)
    with nnx.set_graph_mode(True), nnx.set_graph_updates(True):
        cached = nnx.cached_partial(graph, model, optimizer)
    return {
        "pure_jit": pure_jit,
        "pure_jit_nnx_state": pure_jit_nnx_state,
        "nnx_jit": lambda: graph(model, optimizer, hyperparams, *batch),
        "nnx_jit_tree": lambda: tree(model, optimizer, hyperparams, *batch),
        "nnx_cached_partial": lambda: cached(hyperparams, *batch),
    }


def _vmap_sides(config: DispatchConfig) -> dict[str, Callable[[], Any]]:
    """K runs under one vmap: the study's pure step against nnx.vmap on stacked modules."""
    hyperparams = {"learning_rate": jaxsched.constant(0.01), "momentum": 0.9}
    the_core = core.build(config.model, "sgd", hyperparams, batch_size=config.batch_size)
    stacked = jax.device_put(group.stack([hyperparams] * config.k))
    keys = jnp.stack([core.seed_keys(seed)[0] for seed in range(config.k)])
    images, labels = map(jnp.asarray, timing.random_images(config.batch_size))
    orders = jnp.tile(jnp.arange(config.batch_size, dtype=jnp.int32), (config.k, 1))
    state = [jax.jit(jax.vmap(the_core.init))(keys, stacked)]
    axes = (0, 0, None, None, 0, None)
    pure = jax.jit(jax.vmap(the_core.train_step, in_axes=axes), donate_argnums=0)

    def pure_vmap() -> Any:
        state[0], metrics = pure(state[0], stacked, images, labels, orders, 0)
        return metrics["loss"]

    models, optimizers = nnx.vmap(the_core.create)(keys, stacked)

    @nnx.jit
    @nnx.vmap(in_axes=(0, 0, 0, 0))
    def nnx_step(model: Any, optimizer: Any, hyperparams: Any, order: Any) -> Any:
        return the_core.update(model, optimizer, hyperparams, images, labels, order, 0)["loss"]

    return {
        "pure_vmap": pure_vmap,
        "nnx_vmap": lambda: nnx_step(models, optimizers, stacked, orders),
    }


def main(argv: list[str] | None = None) -> int:
    config, _ = cli.parse(DispatchConfig, argv, "benchmarks.nnx_dispatch", __doc__)
    cpu_tuning.keep_freed_memory()  # before JAX's backends start, as the trainer does
    results: dict[str, Any] = {**timing.environment(), "config": dataclasses.asdict(config)}
    timing.show(results)
    groups = [_sides(config)] + ([_vmap_sides(config)] if config.k else [])
    microseconds: dict[str, float] = {}
    ratios: dict[str, float] = {}
    for sides in groups:  # two warm-up calls each: the first compiles
        loops = {name: timing.loop(side) for name, side in sides.items()}
        times = timing.in_turns(loops, config.steps, config.repeats, warmup_steps=2)
        seconds = timing.medians(times)
        microseconds |= {name: median * 1e6 for name, median in seconds.items()}
        ratios |= {name: median / next(iter(seconds.values())) for name, median in seconds.items()}
    results |= {"microseconds": microseconds, "ratio_to_pure": ratios}
    timing.show({"microseconds": microseconds, "ratio_to_pure": ratios})
    timing.write_json(config.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
