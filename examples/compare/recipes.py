"""The studies' schedule recipes, named with the library's own schedule names.

A recipe turns a base learning rate and a run's length into the learning-rate schedule, a
momentum schedule (one-cycle's) and a reduce-on-plateau multiplier, every horizon a share of
the run; `suggest_learning_rate` gives a base learning rate from `jaxsched.lr_find`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
from flax import nnx

import jaxsched
from examples.compare import group
from examples.compare.report import DESCRIPTIONS
from examples.mnist import core, cpu_tuning

RECIPES = tuple(DESCRIPTIONS)  # in the order of the reports' rows


class Scheduled(NamedTuple):
    """What a recipe gives a run: its schedule, and a momentum schedule and reduce-on-plateau
    multiplier of the learning rate, or None."""

    schedule: jaxsched.Schedule
    momentum: jaxsched.Schedule | None = None
    plateau: jaxsched.ReduceOnPlateau | None = None


def build(recipe: str, learning_rate: float, total_steps: int) -> Scheduled:
    """The schedules of `recipe` at base (peak) rate `learning_rate` over `total_steps`;
    ValueError for a name not in `RECIPES`."""
    t, lr = total_steps, learning_rate
    share = {p: max(1, t // p) for p in (5, 7, 8, 10, 20)}
    builders: dict[str, Any] = {
        "constant": lambda: jaxsched.constant(lr),
        "step_decay": lambda: jaxsched.step_decay(lr, max(1, math.ceil(t / 3)), decay_rate=0.3),
        "multistep_decay": lambda: jaxsched.multistep_decay(lr, (t // 2, 3 * t // 4), 0.1),
        "exponential_decay": lambda: jaxsched.exponential_decay(lr, 0.01, transition_steps=t),
        "cosine_decay": lambda: jaxsched.cosine_decay(lr, decay_steps=t),
        "warmup_cosine_decay": lambda: jaxsched.warmup_cosine_decay(0.0, lr, share[10], t),
        "cosine_restarts": lambda: jaxsched.cosine_restarts(lr, share[7], t_mul=2.0),
        "cyclic": lambda: jaxsched.cyclic(lr / 10, lr, share[8], mode="triangular2"),
        "one_cycle": lambda: jaxsched.one_cycle(lr, total_steps=t),
        "warmup_stable_decay": lambda: jaxsched.warmup_stable_decay(
            lr, t, warmup_steps=share[20], decay_steps=share[5], decay_shape="1-sqrt"),
        "inverse_sqrt": lambda: jaxsched.inverse_sqrt(peak_value=lr, warmup_steps=share[10]),
        "reduce_on_plateau": lambda: jaxsched.constant(lr),
        "warmup": lambda: jaxsched.warmup(jaxsched.constant(lr), warmup_steps=share[20]),
    }  # fmt: skip
    if recipe not in builders:
        raise ValueError(f"unknown recipe {recipe!r}; known: {', '.join(RECIPES)}")
    schedule = builders[recipe]()
    if recipe == "one_cycle":
        return Scheduled(schedule, momentum=jaxsched.one_cycle_momentum(total_steps=t))
    if recipe == "reduce_on_plateau":
        return Scheduled(schedule, plateau=jaxsched.reduce_on_plateau(factor=0.3, patience=0))
    return Scheduled(schedule)


def runs(
    recipe: str,
    optimizer: str,
    learning_rate: float,
    total_steps: int,
    seeds: Sequence[int],
    momentum: float | None = None,
    from_lr_find: bool = False,
) -> list[group.Run]:
    """One run per seed of `optimizer` under `recipe` at `learning_rate` over `total_steps`;
    SGD with `momentum`, or the recipe's momentum schedule (one-cycle's) where it has one."""
    scheduled = build(recipe, learning_rate, total_steps)
    momentum = momentum if optimizer == "sgd" else None
    momentum_or_schedule = momentum if scheduled.momentum is None else scheduled.momentum
    return [
        group.Run(optimizer, scheduled.schedule, seed, learning_rate, recipe,
                  momentum_or_schedule, scheduled.plateau, from_lr_find)
        for seed in seeds
    ]  # fmt: skip


def lr_find_loss(the_core: core.Core) -> Callable[[Any, tuple[jax.Array, jax.Array]], jax.Array]:
    """The core's loss as `jaxsched.lr_find` takes it: of the model's parameters and a batch."""

    def loss(params: Any, batch: tuple[jax.Array, jax.Array]) -> jax.Array:
        model = nnx.merge(the_core.model_graphdef, params)
        return core.loss_fn(model, core.as_float(batch[0]), batch[1])[0]

    return loss


def suggest_learning_rate(
    optimizer: str, data: core.DeviceData, config: group.GroupConfig, momentum: float, steps: int
) -> tuple[float, jaxsched.LRFindResult]:
    """`jaxsched.lr_find`'s "valley" and whole result for `optimizer` (SGD with `momentum`) on
    the model as seed 0 initialises it in a group, the core's loss, and the first `steps`
    batches of that seed's first epoch."""
    start_lr = 1e-6
    init_key, data_key = core.seed_keys(0)
    the_core = core.build(config.model, optimizer, {"learning_rate": jaxsched.constant(start_lr)},
                          batch_size=config.batch_size,
                          matmul_convs=group.use_matmul_convs(config.conv, 1))  # fmt: skip
    # The groups' own initialisation, with their options: lr_find starts where a run starts.
    options = cpu_tuning.init_compiler_options(jax.default_backend()) or None
    init = jax.jit(group.init_models, static_argnums=(0, 1), compiler_options=options)
    models = init(the_core.model, the_core.matmul_convs, init_key[None])
    params = jax.tree.map(lambda leaf: leaf[0], models)
    num_train = data.train_images.shape[0]
    order = core.permutation(data_key, 0, num_train)
    batches = []
    for i in range(min(steps, num_train // config.batch_size)):
        index = order[i * config.batch_size : (i + 1) * config.batch_size]
        batches.append((data.train_images[index], data.train_labels[index]))
    factory = core.OPTIMIZERS[optimizer]
    if optimizer == "sgd":
        factory = functools.partial(factory, momentum=momentum)
    loss = lr_find_loss(the_core)
    result = jaxsched.lr_find(loss, params, factory, batches, start_lr=start_lr, end_lr=10.0,
                              num_steps=steps)  # fmt: skip
    return result.suggestions["valley"], result
