"""Many runs trained at once: the training core of `examples/mnist/core.py`, vmapped over runs.

Runs of one hyperparameter pytree structure form a `RunGroup`: their stacked states,
schedules and data keys train under `jax.vmap` of the core's `train_step`, the schedules
arguments of the compiled programs; each run's seed gives its initialisation and data order.
examples/compare/README.md ("How runs train together") says why and with what defaults.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxsched
from examples import flags
from examples.mnist import configs, core, cpu_tuning
from examples.mnist.report import count

CONVS = ("auto", "matmul", "native")
# Which optimizer argument `Run.momentum` sets.
MOMENTUM_ARGS = {"sgd": "momentum", "adam": "b1", "adamw": "b1"}


@dataclasses.dataclass(frozen=True)
class Run:
    """One training run: an optimizer of `core.OPTIMIZERS`, its schedule and seed; the base
    learning rate, recipe and `from_lr_find` for the reports; SGD's momentum or Adam's `b1`
    (a number, a schedule, or None: the optimizer's default); a reduce-on-plateau multiplier
    of the learning rate, fed the validation loss at every evaluation."""

    optimizer: str
    schedule: jaxsched.Schedule
    seed: int
    learning_rate: float
    recipe: str = ""
    momentum: float | jaxsched.Schedule | None = None
    plateau: jaxsched.ReduceOnPlateau | None = None
    from_lr_find: bool = False

    def __post_init__(self) -> None:
        if self.optimizer not in core.OPTIMIZERS:
            known = ", ".join(core.OPTIMIZERS)
            raise ValueError(f"optimizer must be one of {known}, got {self.optimizer!r}")
        if self.momentum is not None and self.optimizer not in MOMENTUM_ARGS:
            raise ValueError(f"{self.optimizer} takes no momentum, got momentum={self.momentum}")

    def hyperparams(self) -> dict[str, Any]:
        """The optimizer's scheduled and numeric arguments (stacked over a group's runs)."""
        hyperparams: dict[str, Any] = {"learning_rate": self.schedule}
        if self.momentum is not None:
            hyperparams[MOMENTUM_ARGS[self.optimizer]] = self.momentum
        return hyperparams

    def structure(self) -> Any:
        """What must agree for runs to share one compiled update."""
        hyperparams, plateau = self.hyperparams(), self.plateau
        return self.optimizer, jax.tree.structure(hyperparams), jax.tree.structure(plateau)


def group_by_structure(runs: Sequence[Run], max_size: int = 0) -> list[list[int]]:
    """Indices of `runs` grouped by `Run.structure` in order of first appearance, each group
    cut into consecutive chunks of at most `max_size` (0: no limit)."""
    groups: dict[Any, list[int]] = {}
    for index, run in enumerate(runs):
        groups.setdefault(run.structure(), []).append(index)
    if max_size <= 0:
        return list(groups.values())
    return [
        group[start : start + max_size]
        for group in groups.values()
        for start in range(0, len(group), max_size)
    ]


def stack(trees: Sequence[Any]) -> Any:
    """Stacks pytrees of one structure along a new leading axis, on the host (no compiling),
    each leaf in JAX's type (float32 for a Python float)."""
    return jax.tree.map(lambda *xs: np.stack([np.asarray(jnp.asarray(x)) for x in xs]), *trees)


@dataclasses.dataclass(frozen=True)
class GroupConfig:
    """How every run of a group trains.

    Attributes:
      model: "cnn", "mlp" or "linear" (`examples.mnist.models`).
      batch_size: examples per update.
      evals_per_epoch: test (and, for plateau runs, validation) evaluations per epoch.
      conv: the CNN's convolutions: "native", "matmul" or "auto" (matmul where several runs
        share a vmap on CPU).
      max_group_size: at most this many runs per group (0: all runs of a structure).
      vmap_size: runs per call of the vmapped step (0: one on CPU, the whole group elsewhere).
      cpu_tuning: on CPU, tuned XLA options for native convolutions (examples/mnist/cpu_tuning.py).
    """

    model: str = flags.option("cnn", choices=configs.MODELS)
    batch_size: int = flags.option(128, at_least=1)
    evals_per_epoch: int = flags.option(1, at_least=1)
    conv: str = flags.option("auto", choices=CONVS)
    max_group_size: int = flags.option(0, at_least=0)
    vmap_size: int = flags.option(0, at_least=0)
    cpu_tuning: bool = True

    def __post_init__(self) -> None:
        flags.check(self)


def resolve_vmap_size(vmap_size: int, group_size: int) -> int:
    """Runs per vmapped call in a group of `group_size`: `vmap_size`, or for 0 one run on CPU
    and the whole group elsewhere."""
    if vmap_size < 0:
        raise ValueError(f"vmap_size must be 0 or more, got {vmap_size}")
    if vmap_size == 0:
        vmap_size = 1 if jax.default_backend() == "cpu" else group_size
    return max(1, min(vmap_size, group_size))


def use_matmul_convs(conv: str, vmap_size: int) -> bool:
    """ "auto" means matmul convolutions where several runs share a vmap on CPU."""
    if conv == "auto":
        return jax.default_backend() == "cpu" and vmap_size > 1
    return conv == "matmul"


@dataclasses.dataclass
class RunResult:
    """What one run produced: per evaluation, the step, fractional epoch, the group's
    cumulative training seconds (evaluation and compilation excluded), the mean training loss
    since the last evaluation, test loss and accuracy (and val_loss for plateau runs); the
    learning rate of every update; whether a training loss was not finite; the group's size
    and update's compile seconds; the final state (`core.Core.merge` reads it)."""

    run: Run
    evals: list[dict[str, float]]
    lrs: np.ndarray
    diverged: bool
    group_size: int
    compile_seconds: float
    state: Any = None

    @property
    def final(self) -> dict[str, float]:
        return self.evals[-1]


# The core's pure functions vmapped over runs, the core a static argument: every group jits
# these same functions, so jit's cache gives a group of other numbers the programs before it.


def init_models(model: str, matmul_convs: bool, keys: jax.Array) -> Any:
    """The initial model states of runs seeded with `keys`, one program for every optimizer."""
    return jax.vmap(lambda key: core.init_model(model, key, matmul_convs))(keys)


def _add_optimizers(the_core: core.Core, model_states: Any, hyperparams: Any) -> Any:
    return jax.vmap(the_core.add_optimizer)(model_states, hyperparams)


def _train_steps(the_core: core.Core, *args: Any) -> Any:
    return jax.vmap(the_core.train_step, in_axes=(0, 0, None, None, 0, None))(*args)


def _eval_steps(the_core: core.Core, size: int, *args: Any) -> Any:
    step = functools.partial(the_core.eval_step, size=size)
    return jax.vmap(step, in_axes=(0, None, None, None))(*args)


def _plateau_steps(
    the_core: core.Core, plateaus: Any, plateau_states: Any, metrics: Any, states: Any
) -> Any:
    def step(plateau: Any, plateau_state: Any, metric: Any, state: Any) -> Any:
        plateau_state = plateau.update(plateau_state, metric)
        scale = plateau.value(plateau_state)
        return plateau_state, the_core.set_learning_rate_scale(state, scale)

    return jax.vmap(step)(plateaus, plateau_states, metrics, states)


@functools.partial(jax.jit, static_argnames="count")
def permutations(data_keys: jax.Array, epoch: Any, count: int) -> jax.Array:
    """Every run's data order in an epoch (it depends on the training set's size alone)."""
    return jax.vmap(lambda key: core.permutation(key, epoch, count))(data_keys)


@dataclasses.dataclass
class _Part:
    """Consecutive runs of a group that one call of the vmapped step trains, stacked."""

    indices: list[int]
    hyperparams: Any
    state: Any
    data_keys: jax.Array
    train_step: Any  # the group's `train_step` compiled for this part's shapes
    plateaus: Any = None
    plateau_states: Any = None


def _per_run(metrics: list[list[dict[str, Any]]], name: str) -> np.ndarray:
    """Metric `name` of fetched step metrics, (updates, runs)."""
    return np.asarray([np.concatenate([part[name] for part in step]) for step in metrics])


@dataclasses.dataclass
class _History:
    """What the runs of a group logged so far, per run."""

    evals: list[list[dict[str, float]]]
    metrics: list[list[dict[str, jax.Array]]] = dataclasses.field(default_factory=list)
    lrs: list[np.ndarray] = dataclasses.field(default_factory=list)
    train_seconds: float = 0.0
    step: int = 0


class RunGroup:
    """Runs of one `Run.structure` trained together on `data` (`core.put_data`): `parts` of
    `vmap_size` stacked runs, and the core's functions vmapped and jitted as attributes
    (`train_step`, `eval_step`, ...; `core` their first, static argument). Over a `layout`
    of the runs' axis (`pbt.population_layout`), the states are split by it and the metrics
    come back whole on every device, so that each process reads them.

    Raises:
      ValueError: if the runs differ in structure or the batch exceeds the training set.
    """

    def __init__(
        self,
        runs: Sequence[Run],
        data: core.DeviceData,
        config: GroupConfig,
        layout: jax.sharding.NamedSharding | None = None,
    ) -> None:
        self.runs, self.layout = list(runs), layout
        if len({run.structure() for run in self.runs}) != 1:
            raise ValueError("runs must share one structure; split them with group_by_structure")
        self.data, self.config = data, config
        self.num_train = data.train_images.shape[0]
        self.steps_per_epoch = self.num_train // config.batch_size
        if self.steps_per_epoch == 0:
            raise ValueError(f"batch_size={config.batch_size} exceeds the {self.num_train} "
                             "training examples")  # fmt: skip
        self.vmap_size = resolve_vmap_size(config.vmap_size, len(self.runs))
        matmul = use_matmul_convs(config.conv, self.vmap_size)
        backend = jax.default_backend()
        # The tuned options were measured on native convolutions; with matmul ones they were
        # slower (BUILD_NOTES.md), so those keep XLA's defaults.
        tuned = config.cpu_tuning and backend == "cpu" and not matmul
        self.options = cpu_tuning.compiler_options("cpu", config.model) if tuned else {}
        first = self.runs[0]
        self.core = core.build(config.model, first.optimizer, first.hyperparams(),
                               batch_size=config.batch_size, matmul_convs=matmul)  # fmt: skip
        once = tuple(cpu_tuning.init_compiler_options(backend).items())
        options = tuple(self.options.items())
        self.init_model = core.jit(init_models, (0, 1), once)
        self.add_optimizer = core.jit(_add_optimizers, (0,), once)
        outs: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
        if layout is not None:
            whole = jax.sharding.NamedSharding(layout.mesh, jax.sharding.PartitionSpec())
            outs = ({"out_shardings": (layout, whole)}, {"out_shardings": whole})
        self.train_step = core.jit(_train_steps, (0,), options, donate_argnums=1, **outs[0])
        self.eval_step = core.jit(_eval_steps, (0, 1), options, **outs[1])
        self.plateau_step = core.jit(_plateau_steps, (0,), options, donate_argnums=4)
        self.compile_seconds = 0.0
        self._orders: tuple[int, list[jax.Array]] = (-1, [])
        self.parts = [
            self._init_part(list(range(start, min(start + self.vmap_size, len(self.runs)))))
            for start in range(0, len(self.runs), self.vmap_size)
        ]

    def _init_part(self, indices: list[int]) -> _Part:
        """The stacked new states of runs `indices`, `train_step` compiled for them ahead (its
        seconds added to `compile_seconds`), so that no update waits for a compilation."""
        runs = [self.runs[i] for i in indices]
        hyperparams = jax.device_put(stack([run.hyperparams() for run in runs]))
        init_keys, data_keys = (
            jnp.stack(keys) for keys in zip(*(core.seed_keys(r.seed) for r in runs), strict=True)
        )
        model_state = self.init_model(self.core.model, self.core.matmul_convs, init_keys)
        state = self.add_optimizer(self.core, model_state, hyperparams)
        order = jnp.zeros((len(runs), self.num_train), jnp.int32)
        if (layout := self.layout) is not None:
            # Every process built the same states: each puts its share.
            state, hyperparams, data_keys, order = jax.tree.map(
                lambda leaf: core.put_replicated(np.asarray(leaf), layout),
                (state, hyperparams, data_keys, order),
            )
        images, labels = self.data.train_images, self.data.train_labels
        args = (state, hyperparams, images, labels, order, np.int32(0))
        start = time.perf_counter()
        compiled = self.train_step.lower(self.core, *args).compile()
        self.compile_seconds += time.perf_counter() - start
        part = _Part(indices, hyperparams, state, data_keys, compiled)
        if runs[0].plateau is not None:
            part.plateaus = stack([run.plateau for run in runs])
            part.plateau_states = jax.vmap(lambda p: p.init())(part.plateaus)
        return part

    def train_steps(
        self, orders: list[jax.Array], first: int, last: int
    ) -> list[list[dict[str, jax.Array]]]:
        """Updates `first` to `last - 1` of an epoch, on the batches of `orders`, each part the
        whole stretch before the next (its arrays stay in cache); per update and part, the
        metrics (loss, accuracy, learning rate per run), left on the device."""
        images, labels = self.data.train_images, self.data.train_labels
        per_part: list[list[Any]] = [[] for _ in self.parts]
        for part, order, metrics in zip(self.parts, orders, per_part, strict=True):
            for index in range(first, last):
                offset = np.int32(index * self.config.batch_size)
                part.state, step = part.train_step(part.state, part.hyperparams, images, labels,
                                                   order, offset)  # fmt: skip
                metrics.append(step)
        return [list(update) for update in zip(*per_part, strict=True)]

    def orders(self, epoch: int) -> list[jax.Array]:
        """Every run's data order in `epoch`, per part (kept for the epoch's later calls)."""
        if self._orders[0] != epoch:
            keys = [part.data_keys for part in self.parts]
            self._orders = (epoch, [permutations(k, epoch, count=self.num_train) for k in keys])
        return self._orders[1]

    def advance(self, step: int, updates: int) -> list[list[dict[str, jax.Array]]]:
        """`updates` updates of every run from the global `step`, across epochs (`train_steps`)."""
        metrics: list[list[dict[str, jax.Array]]] = []
        while updates > 0:
            epoch, first = divmod(step, self.steps_per_epoch)
            last = min(self.steps_per_epoch, first + updates)
            metrics += self.train_steps(self.orders(epoch), first, last)
            updates, step = updates - (last - first), step + last - first
        return metrics

    def evaluate(
        self, images: jax.Array, labels: jax.Array, count: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-run mean loss and accuracy over the first `count` examples (then padding)."""
        step = functools.partial(self.eval_step, self.core, self.data.eval_batch_size)
        chunk = self.data.eval_batch_size
        results = [
            core.evaluate(step, part.state, images, labels, count, chunk) for part in self.parts
        ]
        losses, accuracies = zip(*results, strict=True)
        return np.concatenate(losses), np.concatenate(accuracies)

    def reduce_on_plateau(self, val_loss: np.ndarray) -> None:
        """Feeds each plateau run its validation loss and sets its learning rate's multiplier."""
        for part in self.parts:
            metric = jnp.asarray(val_loss[part.indices], jnp.float32)
            part.plateau_states, part.state = self.plateau_step(
                self.core, part.plateaus, part.plateau_states, metric, part.state
            )

    def _record(self, history: _History, log: Callable[[str], None] | None) -> np.ndarray:
        """Evaluates every run, logs the records, updates the plateaus; the test accuracies."""
        fetched = jax.device_get(history.metrics)
        history.metrics.clear()
        train_loss = np.mean(_per_run(fetched, "loss"), axis=0)
        history.lrs.append(_per_run(fetched, "lr"))
        data = self.data
        test_loss, test_accuracy = self.evaluate(data.test_images, data.test_labels, data.num_test)
        val_loss = None
        if self.parts[0].plateaus is not None:
            val_loss, _ = self.evaluate(data.val_images, data.val_labels, data.num_val)
            self.reduce_on_plateau(val_loss)
        epoch = history.step / self.steps_per_epoch
        for k, evals in enumerate(history.evals):
            evals.append(dict(step=history.step, epoch=epoch, train_seconds=history.train_seconds,
                              train_loss=float(train_loss[k]), test_loss=float(test_loss[k]),
                              test_accuracy=float(test_accuracy[k])))  # fmt: skip
            if val_loss is not None:
                evals[-1]["val_loss"] = float(val_loss[k])
        if log is not None:
            accuracies = " ".join(f"{a:.3f}" for a in test_accuracy)
            log(f"    epoch {epoch:.2f}: test accuracy {accuracies} "
                f"({history.train_seconds:.1f} s training)")  # fmt: skip
        return test_accuracy

    def train(
        self,
        epochs: int,
        log: Callable[[str], None] | None = None,
        stop_at_accuracy: float | None = None,
    ) -> list[RunResult]:
        """Trains every run for `epochs`, or until every run's test accuracy reaches
        `stop_at_accuracy`; results in the order of the runs."""
        if log is not None:
            log(f"  group {self.runs[0].optimizer}/{self.runs[0].recipe}: "
                f"{count(len(self.runs), 'run')}, {self.vmap_size} per vmap, update compiled in "
                f"{self.compile_seconds:.1f} s")  # fmt: skip
        history = _History(evals=[[] for _ in self.runs])
        jax.block_until_ready(self.orders(0))  # compiles the data order outside the timing
        per_epoch, size = self.config.evals_per_epoch, self.steps_per_epoch
        ends = {e * size + round(size * (i + 1) / per_epoch) for e in range(epochs)
                for i in range(per_epoch)}  # fmt: skip
        for last in sorted(ends):
            start = time.perf_counter()
            history.metrics += self.advance(history.step, last - history.step)
            jax.block_until_ready([part.state for part in self.parts])
            history.train_seconds += time.perf_counter() - start
            history.step = last
            accuracy = self._record(history, log)
            if stop_at_accuracy is not None and np.all(accuracy >= stop_at_accuracy):
                break
        lrs = np.concatenate(history.lrs).T if history.lrs else np.zeros((len(self.runs), 0))
        return [
            RunResult(run, evals, lrs[k], not all(np.isfinite(e["train_loss"]) for e in evals),
                      len(self.runs), self.compile_seconds, self.state(k))
            for k, (run, evals) in enumerate(zip(self.runs, history.evals, strict=True))
        ]  # fmt: skip

    def state(self, k: int) -> Any:
        """The state of run `k` (its model and optimizer, `core.Core.merge` reads it)."""
        part = self.parts[k // self.vmap_size]
        return jax.tree.map(lambda leaf: leaf[k % self.vmap_size], part.state)


def train_all(
    runs: Sequence[Run],
    data: core.DeviceData,
    config: GroupConfig,
    epochs: int,
    log: Callable[[str], None] | None = None,
    on_group: Callable[[list[RunResult]], None] | None = None,
) -> list[RunResult]:
    """Trains every run for `epochs` in groups (`group_by_structure`); results in the order of
    `runs`. `on_group` gets the results so far (in that order) after each group."""
    results: list[RunResult | None] = [None] * len(runs)
    for indices in group_by_structure(runs, config.max_group_size):
        group = RunGroup([runs[i] for i in indices], data, config)
        for index, result in zip(indices, group.train(epochs, log), strict=True):
            results[index] = result
        if on_group is not None:
            on_group([r for r in results if r is not None])
    return [r for r in results if r is not None]
