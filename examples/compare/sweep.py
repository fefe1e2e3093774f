"""Training many runs at once: stacked parameters, optimizer states and schedules under vmap.

A `Run` is one training run: an optimizer name, its hyperparameters (the learning-rate
schedule, and a momentum that may be a schedule too), an optional reduce-on-plateau multiplier
and a seed. Runs whose hyperparameters have the same pytree structure (one schedule family,
any numbers) form a group: their schedules, parameters and optimizer states are stacked along
a leading axis and one jitted, vmapped update trains them all. Inside that update the group
goes through `jax.vmap` in parts of `SweepConfig.vmap_size` runs: the whole group at once on
accelerators, one run per part on CPU, where batching the runs' convolutions was slower than
running them one after another (see `resolve_vmap_size`). The optimizer is built inside
that update from the run's slice of the stacked schedules, so the schedules are arguments of
the compiled program, never constants baked into it: a group compiles once, and another group
of the same structure with other numbers reuses the program (`COMPILES` counts the traces).

Each run draws its initialisation and data order from its own seed exactly as a run trained
alone would, so a group of K runs gives the same results as K separate runs (up to float
reassociation). The data lives on the device; each update gathers its batches by index.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import math
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

import jaxsched
from examples.mnist import cpu_tuning, data, models

OPTIMIZERS = ("sgd", "adam", "adagrad", "rmsprop")
# Which optimizer argument `Run.momentum` sets.
_MOMENTUM_ARG = {"sgd": "momentum", "adam": "b1"}

# Traces of the jitted functions, by name: one per structure group and shape, never one per
# schedule. Tests read it.
COMPILES: collections.Counter[str] = collections.Counter()
# Seconds spent lowering and compiling, by name.
COMPILE_SECONDS: collections.defaultdict[str, float] = collections.defaultdict(float)
_EXECUTABLES: dict[Any, Any] = {}


@dataclasses.dataclass(frozen=True)
class Run:
    """One training run of a sweep.

    Attributes:
      family: the schedule family, for grouping results ("cosine", "one_cycle", ...).
      optimizer: "sgd", "adam", "adagrad" or "rmsprop".
      learning_rate: the learning-rate schedule.
      seed: seeds the initialisation and the data order (as in `examples.mnist.train`).
      base_lr: the learning rate the schedule was built from, for the tables.
      momentum: SGD's momentum or Adam's `b1`: a number, a schedule (one-cycle cycles it), or
        None for the optimizer's default (no momentum for SGD).
      plateau: if given, the learning rate is multiplied by this reduce-on-plateau value,
        updated with the validation loss at every evaluation.
    """

    family: str
    optimizer: str
    learning_rate: jaxsched.Schedule
    seed: int
    base_lr: float
    momentum: float | jaxsched.Schedule | None = None
    plateau: jaxsched.ReduceOnPlateau | None = None

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.momentum is not None and self.optimizer not in _MOMENTUM_ARG:
            raise ValueError(f"{self.optimizer} takes no momentum, got momentum={self.momentum}")

    def hyperparams(self) -> dict[str, Any]:
        """The scheduled and numeric optimizer arguments: the leaves that get stacked."""
        hyperparams: dict[str, Any] = {"learning_rate": self.learning_rate}
        if self.momentum is not None:
            hyperparams[_MOMENTUM_ARG[self.optimizer]] = self.momentum
        return hyperparams

    def structure(self) -> Any:
        """What must agree for runs to share one compiled update."""
        return (
            self.optimizer,
            jax.tree.structure(self.hyperparams()),
            jax.tree.structure(self.plateau),
        )


def group_by_structure(runs: Sequence[Run], max_size: int = 0) -> list[list[int]]:
    """Indices of `runs` grouped by `Run.structure`, groups in order of first appearance.

    Args:
      runs: the runs.
      max_size: split groups into consecutive chunks of at most this many runs (0: no limit).
    """
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
    """Stacks pytrees of one structure (schedules, dicts of them) along a new leading axis."""
    return jax.tree.map(lambda *leaves: jnp.stack([jnp.asarray(x) for x in leaves]), *trees)


def make_optimizer(name: str, hyperparams: dict[str, Any]) -> optax.GradientTransformation:
    """The optimizer `name` with `hyperparams` (schedules included) injected into its state."""
    factories: dict[str, Callable[..., optax.GradientTransformation]] = {
        "sgd": optax.sgd,
        "adam": optax.adam,
        "adagrad": optax.adagrad,
        "rmsprop": optax.rmsprop,
    }
    return jaxsched.inject(factories[name], **hyperparams)


# ---------------------------------------------------------------------------------------------
# The model under vmap.


def resolve_conv(conv: str, vmap_size: int = 2) -> str:
    """ "auto" means "matmul" when several runs share one vmap on CPU, else "native"."""
    if conv not in ("auto", "matmul", "native"):
        raise ValueError(f"conv must be 'auto', 'matmul' or 'native', got {conv!r}")
    if conv == "auto":
        return "matmul" if jax.default_backend() == "cpu" and vmap_size > 1 else "native"
    return conv


def _conv_as_matmul(x: jax.Array, kernel: jax.Array, bias: jax.Array | None) -> jax.Array:
    """A stride-1 "SAME" convolution as shifted slices and one matrix product.

    Under vmap with one kernel per run, XLA:CPU lowers `lax.conv` to a grouped convolution that
    ran 43x slower than K separate convolutions (CNN, batch 128, K=8, 2-core CPU); a batched
    matrix product has no such cliff. The result equals `nn.Conv` up to float reassociation.
    """
    kh, kw, cin, cout = kernel.shape
    height, width = x.shape[-3:-1]
    pad = ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2)
    padded = jnp.pad(x, ((0, 0), *pad, (0, 0)))
    patches = jnp.concatenate(
        [padded[:, i : i + height, j : j + width, :] for i in range(kh) for j in range(kw)],
        axis=-1,
    )
    y = patches @ kernel.reshape(kh * kw * cin, cout)
    return y if bias is None else y + bias.reshape((1,) * (y.ndim - 1) + bias.shape)


def _matmul_convs(next_fun: Callable, args: Any, kwargs: Any, context: Any) -> Any:
    module = context.module
    if (
        isinstance(module, nn.Conv)
        and context.method_name == "__call__"
        and module.has_variable("params", "kernel")
        and module.padding == "SAME"
        and all(s == 1 for s in np.atleast_1d(module.strides or 1))
        and all(d == 1 for d in np.atleast_1d(module.kernel_dilation or 1))
        and all(d == 1 for d in np.atleast_1d(module.input_dilation or 1))
        and module.feature_group_count == 1
        and module.mask is None
        and not kwargs
    ):
        bias = module.get_variable("params", "bias") if module.use_bias else None
        return _conv_as_matmul(args[0], module.get_variable("params", "kernel"), bias)
    return next_fun(*args, **kwargs)


def apply_model(model: nn.Module, params: Any, x: jax.Array, conv: str) -> jax.Array:
    """`model.apply` on float images, with convolutions as matrix products if `conv="matmul"`."""
    if conv == "matmul":
        with nn.intercept_methods(_matmul_convs):
            logits: jax.Array = model.apply({"params": params}, x)  # type: ignore[assignment]
            return logits
    logits = model.apply({"params": params}, x)  # type: ignore[assignment]
    return logits


def _cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels)


def vmap_in_parts(fn: Callable[..., Any], vmap_size: int) -> Callable[..., Any]:
    """`jax.vmap(fn)` over the leading axis of every argument, `vmap_size` runs at a time.

    Each part is its own subgraph of the one traced program, and the parts' results are
    concatenated, so the values equal `jax.vmap(fn)` whatever `vmap_size` is. A part of one
    run compiles to the same operations as an unbatched run: on XLA:CPU that keeps its native
    convolutions, which a vmap over several runs turns into slow grouped ones. (`lax.map` with
    `batch_size` would compile once per part instead of once per run, but XLA:CPU ran its loop
    body 30x slower than the same part unrolled: BUILD_NOTES.md.)
    """
    batched = jax.vmap(fn)

    def in_parts(*args: Any) -> Any:
        size = jax.tree.leaves(args)[0].shape[0]
        if vmap_size >= size:
            return batched(*args)
        parts = [
            batched(*jax.tree.map(lambda leaf, s=start: leaf[s : s + vmap_size], args))
            for start in range(0, size, vmap_size)
        ]
        return jax.tree.map(lambda *leaves: jnp.concatenate(leaves), *parts)

    return in_parts


# ---------------------------------------------------------------------------------------------
# The jitted, vmapped pieces. Static: the model name, optimizer name, batch size, conv path
# and the runs per vmap.


def _init_params(keys: jax.Array, *, model: str) -> Any:
    COMPILES["init_params"] += 1
    module = models.create(model)
    dummy = jnp.zeros((1, 28, 28, 1), jnp.float32)
    return jax.vmap(lambda key: module.init(key, dummy)["params"])(keys)


def _init_opt(params: Any, hyperparams: Any, *, optimizer: str) -> Any:
    COMPILES["init_opt"] += 1
    return jax.vmap(lambda p, h: make_optimizer(optimizer, h).init(p))(params, hyperparams)


def _train_step(
    params: Any,
    opt_state: Any,
    hyperparams: Any,
    images: jax.Array,
    labels: jax.Array,
    orders: jax.Array,
    offset: jax.Array,
    *,
    model: str,
    optimizer: str,
    batch_size: int,
    conv: str,
    vmap_size: int,
) -> tuple[Any, Any, jax.Array, jax.Array]:
    COMPILES["train_step"] += 1
    module = models.create(model)

    def one(params: Any, opt_state: Any, hyperparams: Any, order: jax.Array) -> Any:
        index = lax.dynamic_slice_in_dim(order, offset, batch_size)
        x = images[index].astype(jnp.float32) / 255.0
        y = labels[index]

        def loss_fn(params: Any) -> jax.Array:
            return _cross_entropy(apply_model(module, params, x, conv), y).mean()

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = make_optimizer(optimizer, hyperparams).update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return params, opt_state, loss, jaxsched.current_lr(opt_state)

    return vmap_in_parts(one, vmap_size)(params, opt_state, hyperparams, orders)


def _eval_chunk(
    params: Any, images: jax.Array, labels: jax.Array, *, model: str, conv: str, vmap_size: int
) -> tuple[jax.Array, jax.Array]:
    COMPILES["eval"] += 1
    module = models.create(model)
    x = images.astype(jnp.float32) / 255.0
    valid = labels >= 0

    def one(params: Any) -> tuple[jax.Array, jax.Array]:
        logits = apply_model(module, params, x, conv)
        loss = jnp.sum(jnp.where(valid, _cross_entropy(logits, jnp.maximum(labels, 0)), 0.0))
        return loss, jnp.sum(valid & (jnp.argmax(logits, -1) == labels))

    return vmap_in_parts(one, vmap_size)(params)


def _plateau_update(plateaus: Any, states: Any, metrics: jax.Array, opt_state: Any) -> Any:
    COMPILES["plateau"] += 1
    states = jax.vmap(lambda p, s, m: p.update(s, m))(plateaus, states, metrics)
    opt_state = jax.vmap(lambda o, v: jaxsched.set_scale(o, learning_rate=v))(
        opt_state, states.value
    )
    return states, opt_state


def _permutations(keys: jax.Array, epoch: jax.Array, *, count: int) -> jax.Array:
    COMPILES["permutations"] += 1
    return jax.vmap(lambda key: jax.random.permutation(jax.random.fold_in(key, epoch), count))(keys)


_JITTED = {
    "init_params": jax.jit(_init_params, static_argnames=("model",)),
    "init_opt": jax.jit(_init_opt, static_argnames=("optimizer",)),
    "train_step": jax.jit(
        _train_step,
        static_argnames=("model", "optimizer", "batch_size", "conv", "vmap_size"),
        donate_argnums=(0, 1),
    ),
    "eval": jax.jit(_eval_chunk, static_argnames=("model", "conv", "vmap_size")),
    "plateau": jax.jit(_plateau_update, donate_argnums=(3,)),
    "permutations": jax.jit(_permutations, static_argnames=("count",)),
}


def _spec(tree: Any) -> Any:
    leaves, treedef = jax.tree.flatten(tree)
    return treedef, tuple((np.shape(x), str(jnp.asarray(x).dtype)) for x in leaves)


def compiled(
    name: str, *args: Any, compiler_options: dict[str, str] | None = None, **static: Any
) -> tuple[Any, float]:
    """The ahead-of-time compiled function `name` for these argument shapes, and the seconds
    its compilation took now (0.0 when it was compiled before and is reused).
    `compiler_options` go to XLA (see `step_compiler_options`)."""
    options = compiler_options or {}
    key = (name, tuple(sorted(static.items())), tuple(sorted(options.items())), _spec(args))
    if key in _EXECUTABLES:
        return _EXECUTABLES[key], 0.0
    start = time.perf_counter()
    xla_options: dict[str, str | bool] = dict(options)
    executable = _JITTED[name].lower(*args, **static).compile(compiler_options=xla_options or None)
    _EXECUTABLES[key] = executable
    seconds = time.perf_counter() - start
    COMPILE_SECONDS[name] += seconds
    return executable, seconds


# ---------------------------------------------------------------------------------------------
# Data on the device.


class DeviceData(NamedTuple):
    """The splits on the device; evaluation sets are padded with label -1 to a whole chunk.

    Attributes:
      train_images, train_labels: the training set (uint8 images, int32 labels).
      test_images, test_labels: the padded test set; `num_test` real examples.
      val_images, val_labels: the padded validation set; `num_val` real examples (may be 0).
      eval_batch_size: the chunk size of evaluation.
    """

    train_images: jax.Array
    train_labels: jax.Array
    test_images: jax.Array
    test_labels: jax.Array
    num_test: int
    val_images: jax.Array
    val_labels: jax.Array
    num_val: int
    eval_batch_size: int


def _padded(images: np.ndarray, labels: np.ndarray, multiple: int) -> tuple[Any, Any]:
    padded = max(1, math.ceil(len(images) / multiple)) * multiple
    out_images = np.zeros((padded, 28, 28, 1), np.uint8)
    out_labels = np.full((padded,), -1, np.int32)
    out_images[: len(images)], out_labels[: len(labels)] = images, labels
    return jnp.asarray(out_images), jnp.asarray(out_labels)


def put_data(
    dataset: data.Dataset,
    *,
    train_examples: int = 0,
    validation_examples: int = 0,
    test_examples: int = 0,
    eval_batch_size: int = 1000,
) -> DeviceData:
    """Splits `dataset` and copies it to the default device.

    The validation set is the LAST `validation_examples` of the training split (never the
    test set); the training set is the first `train_examples` of the rest (0: all of it).
    """
    num_train = len(dataset.train_images) - validation_examples
    if num_train <= 0:
        raise ValueError(
            f"validation_examples={validation_examples} leaves no training data out of "
            f"{len(dataset.train_images)}; pass fewer"
        )
    train_n = min(train_examples or num_train, num_train)
    test_n = min(test_examples or len(dataset.test_images), len(dataset.test_images))
    val_images = dataset.train_images[num_train:]
    val_labels = dataset.train_labels[num_train:]
    test_images, test_labels = _padded(
        dataset.test_images[:test_n], dataset.test_labels[:test_n], eval_batch_size
    )
    val_images_d, val_labels_d = _padded(val_images, val_labels, eval_batch_size)
    return DeviceData(
        train_images=jnp.asarray(dataset.train_images[:train_n]),
        train_labels=jnp.asarray(dataset.train_labels[:train_n]),
        test_images=test_images,
        test_labels=test_labels,
        num_test=test_n,
        val_images=val_images_d,
        val_labels=val_labels_d,
        num_val=len(val_images),
        eval_batch_size=eval_batch_size,
    )


# ---------------------------------------------------------------------------------------------
# Training a group.


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """How every run of a sweep trains.

    Attributes:
      model: "cnn" or "mlp" (`examples.mnist.models`).
      epochs: passes over the training set.
      batch_size: examples per update.
      evals_per_epoch: test (and, for plateau runs, validation) evaluations per epoch.
      conv: "matmul", "native" or "auto" (see `resolve_conv`).
      stop_at_accuracy: stop the group once every run has reached this test accuracy.
      max_group_size: at most this many runs share one compiled update (0: no limit). Each
        group compiles its own update, which on CPU grows with the group (see `vmap_size`).
      vmap_size: runs per `jax.vmap` inside a group's update (`vmap_in_parts`); 0 means one
        on CPU and the whole group elsewhere (see `resolve_vmap_size`).
      cpu_tuning: on CPU, the trainer's tuning (`examples/mnist/cpu_tuning.py`): tuned XLA
        options for steps with ordinary convolutions, and glibc keeping freed memory.
    """

    model: str = "cnn"
    epochs: int = 3
    batch_size: int = 128
    evals_per_epoch: int = 1
    conv: str = "auto"
    stop_at_accuracy: float | None = None
    max_group_size: int = 0
    vmap_size: int = 0
    cpu_tuning: bool = True

    def __post_init__(self) -> None:
        for name in ("max_group_size", "vmap_size"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more, got {getattr(self, name)}")


def resolve_vmap_size(vmap_size: int, group_size: int) -> int:
    """Runs per `jax.vmap` in a group of `group_size`: `vmap_size`, or for 0 one run on CPU
    and the whole group elsewhere.

    On the 2-core CPU machine one tuned run already keeps both cores busy. XLA:CPU has no fast
    batched convolution with one kernel per run, so 8 runs under one vmap (convolutions as
    matrix products) trained at 0.72x-0.85x the speed of the same 8 runs one after another,
    and 8 parts of one run, each with its native convolutions and the tuned options, at
    1.02x-1.17x (BUILD_NOTES.md, benchmarks/vmap_sweep.py). Accelerators, where one MNIST step
    leaves the device mostly idle, vmap the whole group.
    """
    if vmap_size < 0:
        raise ValueError(f"vmap_size must be 0 or more, got {vmap_size}")
    if vmap_size == 0:
        vmap_size = 1 if jax.default_backend() == "cpu" else group_size
    return max(1, min(vmap_size, group_size))


def step_compiler_options(config: SweepConfig, conv: str) -> dict[str, str]:
    """XLA options for a group's update and evaluation; tuned on CPU for native convolutions.

    The tuned options were measured on the trainer's step, which has native convolutions;
    with convolutions as matrix products (several runs per vmap on CPU) they were slower
    (1,349 against 1,685 images/s, K=8), so those keep XLA's defaults.
    """
    if not config.cpu_tuning or conv != "native":
        return {}
    return cpu_tuning.compiler_options(jax.default_backend(), config.model)


@dataclasses.dataclass
class RunResult:
    """What one run produced.

    Attributes:
      run: the run.
      evals: one dict per evaluation: step, epoch (fractional), train_seconds (cumulative
        training time of the group, evaluation and compilation excluded), train_loss (mean
        since the previous evaluation), test_loss, test_accuracy, and val_loss for plateau
        runs.
      lrs: the learning rate of every update (plateau reductions included).
      diverged: whether a training loss was not finite.
      group_size: how many runs trained together with this one (itself included).
      compile_seconds: compilation time of the group's update (0.0 if reused).
      params: the final parameters.
    """

    run: Run
    evals: list[dict[str, float]]
    lrs: np.ndarray
    diverged: bool
    group_size: int
    compile_seconds: float
    params: Any = None

    @property
    def final(self) -> dict[str, float]:
        return self.evals[-1]


def evaluate(
    params: Any,
    images: jax.Array,
    labels: jax.Array,
    count: int,
    config: SweepConfig,
    eval_batch_size: int,
    conv: str,
    compiler_options: dict[str, str],
    vmap_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-run mean loss and accuracy over the first `count` examples (the rest is padding),
    with the group's convolution path, XLA options and runs per vmap (see `train_group`)."""
    losses, corrects = [], []
    for offset in range(0, images.shape[0], eval_batch_size):
        chunk = images[offset : offset + eval_batch_size], labels[offset : offset + eval_batch_size]
        step, _ = compiled(
            "eval",
            params,
            *chunk,
            model=config.model,
            conv=conv,
            vmap_size=vmap_size,
            compiler_options=compiler_options,
        )
        loss, correct = step(params, *chunk)
        losses.append(loss)
        corrects.append(correct)
    loss_sum, correct_sum = jax.device_get((sum(losses), sum(corrects)))
    return np.asarray(loss_sum) / count, np.asarray(correct_sum) / count


def init_group(runs: Sequence[Run], config: SweepConfig) -> tuple[Any, Any, Any, jax.Array]:
    """Stacked hyperparameters, parameters, optimizer states and per-run data keys.

    Each run splits `PRNGKey(seed)` into an initialisation key and a data key, as the
    trainer does, so runs with the same seed start from the same parameters and see the same
    data order whatever their schedule.
    """
    hyperparams = stack([run.hyperparams() for run in runs])
    keys = jnp.stack([jax.random.PRNGKey(run.seed) for run in runs])
    init_keys, data_keys = jax.vmap(jax.random.split, out_axes=1)(keys)
    params = compiled("init_params", init_keys, model=config.model)[0](init_keys)
    init_opt, _ = compiled("init_opt", params, hyperparams, optimizer=runs[0].optimizer)
    opt_state = init_opt(params, hyperparams)
    return hyperparams, params, opt_state, data_keys


def train_group(
    runs: Sequence[Run],
    device_data: DeviceData,
    config: SweepConfig,
    log: Callable[[str], None] | None = None,
) -> list[RunResult]:
    """Trains runs of one structure in one compiled update and evaluates them as they go.

    Raises:
      ValueError: if the runs differ in structure (use `group_by_structure`), or the batch
        size exceeds the training set.
    """
    runs = list(runs)
    if len({run.structure() for run in runs}) != 1:
        raise ValueError("runs must share one structure; split them with group_by_structure")
    num_train = device_data.train_images.shape[0]
    steps_per_epoch = num_train // config.batch_size
    if steps_per_epoch == 0:
        raise ValueError(
            f"batch_size={config.batch_size} exceeds the {num_train} training examples"
        )
    if config.evals_per_epoch < 1:
        raise ValueError(f"evals_per_epoch must be at least 1, got {config.evals_per_epoch}")
    vmap_size = resolve_vmap_size(config.vmap_size, len(runs))
    conv = resolve_conv(config.conv, vmap_size)
    options = step_compiler_options(config, conv)
    if config.cpu_tuning and jax.default_backend() == "cpu":
        cpu_tuning.keep_freed_memory()  # entry points call it earlier, where it pays more
    eval_at = {
        round(steps_per_epoch * (i + 1) / config.evals_per_epoch)
        for i in range(config.evals_per_epoch)
    }
    hyperparams, params, opt_state, data_keys = init_group(runs, config)
    plateaus = None if runs[0].plateau is None else stack([run.plateau for run in runs])
    plateau_states = None if plateaus is None else jax.vmap(lambda p: p.init())(plateaus)

    static = {
        "model": config.model,
        "optimizer": runs[0].optimizer,
        "batch_size": config.batch_size,
        "conv": conv,
        "vmap_size": vmap_size,
    }
    orders = compiled("permutations", data_keys, 0, count=num_train)[0](data_keys, 0)
    step_fn, compile_seconds = compiled(
        "train_step",
        params,
        opt_state,
        hyperparams,
        device_data.train_images,
        device_data.train_labels,
        orders,
        np.int32(0),
        compiler_options=options,
        **static,
    )
    if log is not None:
        log(
            f"  group {runs[0].optimizer}/{runs[0].family}: {len(runs)} runs, {vmap_size} per "
            f"vmap, update compiled in {compile_seconds:.1f} s"
        )
    evals: list[list[dict[str, float]]] = [[] for _ in runs]
    lrs: list[jax.Array] = []
    losses: list[jax.Array] = []
    diverged = np.zeros(len(runs), bool)
    train_seconds = 0.0
    step = 0
    for epoch in range(config.epochs):
        permute, _ = compiled("permutations", data_keys, epoch, count=num_train)
        orders = permute(data_keys, epoch)
        start = time.perf_counter()
        for index in range(steps_per_epoch):
            params, opt_state, loss, lr = step_fn(
                params,
                opt_state,
                hyperparams,
                device_data.train_images,
                device_data.train_labels,
                orders,
                np.int32(index * config.batch_size),
            )
            step += 1
            losses.append(loss)
            lrs.append(lr)
            if index + 1 not in eval_at:
                continue
            jax.block_until_ready(params)
            train_seconds += time.perf_counter() - start
            train_loss = np.mean(np.asarray(jax.device_get(losses)), axis=0)
            losses.clear()
            diverged |= ~np.isfinite(train_loss)
            test_loss, test_accuracy = evaluate(
                params,
                device_data.test_images,
                device_data.test_labels,
                device_data.num_test,
                config,
                device_data.eval_batch_size,
                conv,
                options,
                vmap_size,
            )
            val_loss = None
            if plateaus is not None:
                val_loss, _ = evaluate(
                    params,
                    device_data.val_images,
                    device_data.val_labels,
                    device_data.num_val,
                    config,
                    device_data.eval_batch_size,
                    conv,
                    options,
                    vmap_size,
                )
                metric = jnp.asarray(val_loss, jnp.float32)
                update, _ = compiled("plateau", plateaus, plateau_states, metric, opt_state)
                plateau_states, opt_state = update(plateaus, plateau_states, metric, opt_state)
            for k in range(len(runs)):
                record = {
                    "step": step,
                    "epoch": step / steps_per_epoch,
                    "train_seconds": train_seconds,
                    "train_loss": float(train_loss[k]),
                    "test_loss": float(test_loss[k]),
                    "test_accuracy": float(test_accuracy[k]),
                }
                if val_loss is not None:
                    record["val_loss"] = float(val_loss[k])
                evals[k].append(record)
            if log is not None:
                log(
                    f"    epoch {step / steps_per_epoch:.2f}: test accuracy "
                    + " ".join(f"{a:.3f}" for a in test_accuracy)
                    + f" ({train_seconds:.1f} s training)"
                )
            start = time.perf_counter()
            if config.stop_at_accuracy is not None and np.all(
                test_accuracy >= config.stop_at_accuracy
            ):
                break
        else:
            continue
        break
    lr_history = np.asarray(jax.device_get(lrs)).T if lrs else np.zeros((len(runs), 0))
    return [
        RunResult(
            run=run,
            evals=evals[k],
            lrs=lr_history[k],
            diverged=bool(diverged[k]),
            group_size=len(runs),
            compile_seconds=compile_seconds,
            params=jax.tree.map(lambda leaf, k=k: leaf[k], params),
        )
        for k, run in enumerate(runs)
    ]


def train_all(
    runs: Sequence[Run],
    device_data: DeviceData,
    config: SweepConfig,
    log: Callable[[str], None] | None = None,
) -> list[RunResult]:
    """Trains every run, in groups of one structure and at most `config.max_group_size` runs;
    results in the order of `runs`."""
    results: list[RunResult | None] = [None] * len(runs)
    for group in group_by_structure(runs, config.max_group_size):
        for index, result in zip(
            group, train_group([runs[i] for i in group], device_data, config, log), strict=True
        ):
            results[index] = result
    return [r for r in results if r is not None]


# ---------------------------------------------------------------------------------------------
# lr_find.


def suggest_lr(
    optimizer: str,
    device_data: DeviceData,
    config: SweepConfig,
    *,
    seed: int = 0,
    momentum: float | None = None,
    num_steps: int = 100,
    start_lr: float = 1e-6,
    end_lr: float = 10.0,
    plot: str | None = None,
) -> tuple[float, jaxsched.LRFindResult]:
    """Runs `jaxsched.lr_find` on the model from `seed`'s initialisation; returns "valley".

    The batches are the first `num_steps` of the seed's first-epoch data order.
    """
    module = models.create(config.model)
    conv = resolve_conv(config.conv, vmap_size=1)
    key = jax.random.PRNGKey(seed)
    init_key, data_key = jax.random.split(key)
    params = module.init(init_key, jnp.zeros((1, 28, 28, 1), jnp.float32))["params"]
    num_train = device_data.train_images.shape[0]
    order = jax.random.permutation(jax.random.fold_in(data_key, 0), num_train)
    batches = []
    for i in range(min(num_steps, num_train // config.batch_size)):
        index = order[i * config.batch_size : (i + 1) * config.batch_size]
        batches.append((device_data.train_images[index], device_data.train_labels[index]))

    def loss_fn(params: Any, batch: tuple[jax.Array, jax.Array]) -> jax.Array:
        x = batch[0].astype(jnp.float32) / 255.0
        return _cross_entropy(apply_model(module, params, x, conv), batch[1]).mean()

    factories: dict[str, Callable[..., optax.GradientTransformation]] = {
        "sgd": functools.partial(optax.sgd, momentum=momentum),
        "adam": optax.adam,
        "adagrad": optax.adagrad,
        "rmsprop": optax.rmsprop,
    }
    result = jaxsched.lr_find(
        loss_fn,
        params,
        factories[optimizer],
        batches,
        start_lr=start_lr,
        end_lr=end_lr,
        num_steps=num_steps,
        plot=plot,
    )
    return result.suggestions["valley"], result
