"""Training and evaluation: the importable library behind `main.py`.

The whole dataset lives on the devices (replicated; MNIST is 55 MB), and each update is one
jitted call that gathers its batch from a per-epoch permutation, so the host never feeds data
inside an epoch. The batch is split over a one-axis `Mesh` of all devices; the same code runs
on one CPU, several GPUs or a multi-host TPU slice.

A Python loop of jitted steps is used on every backend: on XLA:CPU a `lax.scan` over an epoch
of CNN steps was about 12x slower, and on accelerators a step is dispatched asynchronously, so
the loop does not wait for the device.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import jaxsched
from examples.mnist import checkpoint, cpu_tuning, data, models
from examples.mnist.configs import Config

# The Config fields a checkpoint must agree on to be resumed: everything that changes results.
_RUN_FIELDS = (
    "dataset",
    "max_train_examples",
    "max_test_examples",
    "model",
    "epochs",
    "batch_size",
    "optimizer",
    "momentum",
    "weight_decay",
    "learning_rate",
    "schedule",
    "schedule_args",
    "seed",
    "cpu_tuning",
)
_HORIZON_ARGS = ("total_steps", "decay_steps", "transition_steps", "num_training_steps")
_RATE_ARGS = ("peak_value", "init_value", "value")


class TrainingError(Exception):
    """The run cannot start or go on; the message says what to do instead."""


def build_schedule(
    name: str, kwargs: dict[str, Any], learning_rate: float, total_steps: int
) -> jaxsched.Schedule:
    """Builds the schedule `name`, filling in the run length and learning rate it needs.

    For jaxsched's own schedules, the first required argument among `total_steps`,
    `decay_steps`, `transition_steps`, `num_training_steps` that `kwargs` leaves out is set to
    `total_steps`, and the first of `peak_value`, `init_value`, `value` to `learning_rate`.
    Hugging Face transformers names take `kwargs` as they are.

    Raises:
      TrainingError: the name is unknown or the arguments do not fit it.
    """
    kwargs = dict(kwargs)
    constructor = getattr(jaxsched, name, None)
    transformers_style = any(k in kwargs for k in ("num_warmup_steps", "num_training_steps"))
    if (
        inspect.isclass(constructor)
        and issubclass(constructor, jaxsched.Schedule)
        and not transformers_style
    ):
        required = [
            p.name
            for p in inspect.signature(constructor).parameters.values()
            if p.default is inspect.Parameter.empty
        ]
        for group, value in ((_HORIZON_ARGS, total_steps), (_RATE_ARGS, learning_rate)):
            arg = next((a for a in group if a in required), None)
            if arg is not None and arg not in kwargs:
                kwargs[arg] = value
    try:
        return jaxsched.get(name, **kwargs)
    except ValueError as e:
        raise TrainingError(
            f"--schedule {name} --schedule-args '{json.dumps(kwargs)}': {e}. Give the "
            "schedule's own arguments as a JSON object in --schedule-args"
        ) from None


def make_optimizer(config: Config, schedule: jaxsched.Schedule) -> Any:
    """The optax optimizer named by `config`, with `schedule` injected as its learning rate."""
    if config.optimizer == "sgd":
        return jaxsched.inject(optax.sgd, learning_rate=schedule, momentum=config.momentum or None)
    if config.optimizer == "adam":
        return jaxsched.inject(optax.adam, learning_rate=schedule)
    return jaxsched.inject(optax.adamw, learning_rate=schedule, weight_decay=config.weight_decay)


def make_mesh(num_devices: int = 0) -> Mesh:
    """A one-axis mesh ("batch") over the first `num_devices` devices (0: all)."""
    devices = jax.devices()
    if num_devices > len(devices):
        raise TrainingError(
            f"--num-devices {num_devices} asks for more devices than the {len(devices)} found; "
            "pass at most that many, or 0 for all"
        )
    return Mesh(np.array(devices[: num_devices or len(devices)]), ("batch",))


def put_replicated(array: np.ndarray, mesh: Mesh) -> jax.Array:
    """Copies a host array to every device of `mesh` (each host passes the same array)."""
    sharding = NamedSharding(mesh, P())
    return jax.make_array_from_callback(array.shape, sharding, lambda index: array[index])


def _cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels)


def make_train_step(
    model: Any, optimizer: Any, batch_size: int, mesh: Mesh, compiler_options: dict | None = None
) -> Any:
    """The jitted update `(params, opt_state, images, labels, order, offset) -> (params,
    opt_state, metrics)`, taking the batch `images[order[offset:offset + batch_size]]`.

    `params` and `opt_state` are donated: their buffers are reused for the results.
    `compiler_options` go to `jax.jit` (see `cpu_tuning.compiler_options`).
    """
    batch = NamedSharding(mesh, P("batch"))
    replicated = NamedSharding(mesh, P())

    def train_step(params, opt_state, images, labels, order, offset):
        index = lax.dynamic_slice_in_dim(order, offset, batch_size)
        x = lax.with_sharding_constraint(images[index], batch).astype(jnp.float32) / 255.0
        y = lax.with_sharding_constraint(labels[index], batch)

        def loss_fn(params):
            logits = model.apply({"params": params}, x)
            return _cross_entropy(logits, y).mean(), logits

        (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        metrics = {
            "loss": loss,
            "accuracy": jnp.mean(jnp.argmax(logits, -1) == y),
            "lr": jaxsched.current_lr(opt_state),
        }
        return params, opt_state, metrics

    return jax.jit(
        train_step,
        donate_argnums=(0, 1),
        out_shardings=replicated,
        compiler_options=compiler_options,
    )


def make_eval_step(
    model: Any, batch_size: int, mesh: Mesh, compiler_options: dict | None = None
) -> Any:
    """The jitted `(params, images, labels, offset) -> (summed loss, number correct)` over
    `batch_size` examples from `offset`; labels below 0 mark padding and are not counted."""
    batch = NamedSharding(mesh, P("batch"))

    def eval_step(params, images, labels, offset):
        x = lax.dynamic_slice_in_dim(images, offset, batch_size)
        y = lax.dynamic_slice_in_dim(labels, offset, batch_size)
        x = lax.with_sharding_constraint(x, batch).astype(jnp.float32) / 255.0
        y = lax.with_sharding_constraint(y, batch)
        logits = model.apply({"params": params}, x)
        valid = y >= 0
        loss = jnp.sum(jnp.where(valid, _cross_entropy(logits, jnp.maximum(y, 0)), 0.0))
        correct = jnp.sum(valid & (jnp.argmax(logits, -1) == y))
        return loss, correct

    return jax.jit(eval_step, compiler_options=compiler_options)


def evaluate(
    eval_step: Callable,
    params: Any,
    images: jax.Array,
    labels: jax.Array,
    count: int,
    batch_size: int,
) -> dict[str, float]:
    """Mean loss and accuracy over the first `count` (unpadded) test examples."""
    losses, corrects = [], []
    for offset in range(0, images.shape[0], batch_size):
        loss, correct = eval_step(params, images, labels, offset)
        losses.append(loss)
        corrects.append(correct)
    loss_sum, correct_sum = jax.device_get((sum(losses), sum(corrects)))
    return {"test_loss": float(loss_sum) / count, "test_accuracy": float(correct_sum) / count}


class MetricsLog:
    """metrics.jsonl: one JSON object per update ("kind": "step") and per epoch ("epoch")."""

    def __init__(self, path: str, keep_until_step: int | None, enabled: bool = True) -> None:
        """Opens `path`, keeping the records up to `keep_until_step` (None: start afresh)."""
        self.path = path
        self.enabled = enabled
        self.records: list[dict[str, Any]] = []
        if keep_until_step is not None and os.path.exists(path):
            with open(path) as f:
                lines = f.read().splitlines()
            for line in lines:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    break  # the last line of a killed run can be cut short
                if record["step"] <= keep_until_step:
                    self.records.append(record)
        if enabled:
            with open(path, "w") as f:
                f.writelines(json.dumps(r) + "\n" for r in self.records)

    def write(self, records: list[dict[str, Any]]) -> None:
        self.records.extend(records)
        if self.enabled:
            with open(self.path, "a") as f:
                f.writelines(json.dumps(r) + "\n" for r in records)


def _run_record(config: Config, schedule: jaxsched.Schedule, steps_per_epoch: int) -> dict:
    return {
        "config": {name: getattr(config, name) for name in _RUN_FIELDS},
        "schedule": schedule.to_config(),
        "steps_per_epoch": steps_per_epoch,
    }


def _pad_test_set(dataset: data.Dataset, multiple: int) -> tuple[np.ndarray, np.ndarray]:
    count = len(dataset.test_images)
    padded = math.ceil(count / multiple) * multiple
    images = np.zeros((padded, *dataset.test_images.shape[1:]), np.uint8)
    labels = np.full((padded,), -1, np.int32)
    images[:count], labels[:count] = dataset.test_images, dataset.test_labels
    return images, labels


def train_and_evaluate(config: Config, dataset: data.Dataset | None = None) -> dict[str, Any]:
    """Trains and evaluates a model as `config` says, writing into `config.workdir`.

    Args:
      config: the run.
      dataset: the data; None loads it as `config` says.

    Returns:
      The last epoch's metrics (`test_accuracy`, `test_loss`, `train_loss`, ...) with `step`
      (updates done), `num_devices`, `compile_seconds` and the final `params`.

    Raises:
      data.DataError: the data cannot be loaded.
      TrainingError: bad settings, a checkpoint that does not fit, or a non-finite loss.
    """
    if dataset is None:
        dataset = data.load(
            config.dataset,
            config.data_dir,
            config.download,
            config.max_train_examples,
            config.max_test_examples,
        )
    if config.cpu_tuning:  # before make_mesh starts JAX's backends: see keep_freed_memory
        cpu_tuning.keep_freed_memory()
    mesh = make_mesh(config.num_devices)
    num_devices = mesh.devices.size
    options: dict[str, str] = {}
    platform = mesh.devices.flat[0].platform
    if config.cpu_tuning and platform == "cpu":
        options = cpu_tuning.compiler_options(platform, config.model)
    if config.batch_size % num_devices:
        raise TrainingError(
            f"--batch-size {config.batch_size} does not split evenly over {num_devices} "
            f"devices; pass a multiple of {num_devices}"
        )
    num_train = len(dataset.train_images)
    steps_per_epoch = num_train // config.batch_size
    if steps_per_epoch == 0:
        raise TrainingError(
            f"--batch-size {config.batch_size} is larger than the {num_train} training "
            "examples; pass a smaller batch size or more data"
        )
    total_steps = config.epochs * steps_per_epoch
    schedule = build_schedule(
        config.schedule, config.schedule_kwargs(), config.learning_rate, total_steps
    )
    model = models.create(config.model)
    optimizer = make_optimizer(config, schedule)
    replicated = NamedSharding(mesh, P())
    is_main = jax.process_index() == 0
    os.makedirs(config.workdir, exist_ok=True)

    def init(key):
        params = model.init(key, jnp.zeros((1, 28, 28, 1), jnp.float32))["params"]
        return {"params": params, "opt_state": optimizer.init(params)}

    init = jax.jit(init, out_shardings=replicated)
    seed_key = jax.random.PRNGKey(config.seed)
    init_key, data_key = jax.random.split(seed_key)
    state = init(init_key)
    state["step"] = jax.device_put(jnp.asarray(0, jnp.int32), replicated)
    state["data_key"] = jax.device_put(data_key, replicated)

    record = _run_record(config, schedule, steps_per_epoch)
    checkpoints = checkpoint.Checkpoints(
        os.path.join(config.workdir, "checkpoints"), config.keep_checkpoints
    )
    latest = checkpoints.latest_step()
    if config.resume:
        if latest is None:
            raise TrainingError(
                f"--resume found no checkpoint in {checkpoints.directory}; drop --resume to "
                "start a new run there"
            )
        state, saved = checkpoints.restore(latest, state)
        if saved != record:
            raise TrainingError(
                f"the checkpoint in {checkpoints.directory} is of another run "
                f"({json.dumps(saved['config'])}); resume with the same settings, or start a "
                "new run in another --workdir"
            )
    elif latest is not None:
        raise TrainingError(
            f"{checkpoints.directory} already holds a run (checkpoint at step {latest}); pass "
            "--resume to continue it, or another --workdir for a new run"
        )
    start_step = int(jax.device_get(state["step"]))
    log = MetricsLog(
        os.path.join(config.workdir, "metrics.jsonl"),
        keep_until_step=start_step if config.resume else None,
        enabled=is_main,
    )

    train_images = put_replicated(dataset.train_images, mesh)
    train_labels = put_replicated(dataset.train_labels, mesh)
    eval_batch = math.ceil(config.eval_batch_size / num_devices) * num_devices
    test_images_np, test_labels_np = _pad_test_set(dataset, eval_batch)
    test_images = put_replicated(test_images_np, mesh)
    test_labels = put_replicated(test_labels_np, mesh)
    permute = jax.jit(
        lambda key, epoch: jax.random.permutation(jax.random.fold_in(key, epoch), num_train),
        out_shardings=replicated,
    )

    compile_start = time.perf_counter()
    train_step = (
        make_train_step(model, optimizer, config.batch_size, mesh, options)
        .lower(
            state["params"],
            state["opt_state"],
            train_images,
            train_labels,
            permute(state["data_key"], 0),
            0,
        )
        .compile()
    )
    compile_seconds = time.perf_counter() - compile_start
    eval_step = make_eval_step(model, eval_batch, mesh, options)
    if is_main:
        print(
            f"{config.model} on {config.dataset} ({num_train} train, "
            f"{len(dataset.test_images)} test images), {config.epochs} epochs of "
            f"{steps_per_epoch} steps on {num_devices} {jax.devices()[0].device_kind} "
            f"device(s); schedule {schedule}; train step compiled in {compile_seconds:.1f} s",
            flush=True,
        )
        if config.resume:
            print(f"resuming from the checkpoint at step {start_step}", flush=True)

    params, opt_state = state["params"], state["opt_state"]
    data_key = state["data_key"]
    summary: dict[str, Any] = {"compile_seconds": compile_seconds, "step": start_step}
    step = start_step
    try:
        for epoch in range(start_step // steps_per_epoch, config.epochs):
            epoch_records = [
                r for r in log.records if r["kind"] == "step" and r["epoch"] == epoch + 1
            ]
            order = permute(data_key, epoch)
            first = step - epoch * steps_per_epoch
            progress = _progress_bar(config, epoch, steps_per_epoch, first, is_main)
            pending: list[tuple[int, dict[str, jax.Array]]] = []
            epoch_start = time.perf_counter()

            for index in range(first, steps_per_epoch):
                params, opt_state, metrics = train_step(
                    params,
                    opt_state,
                    train_images,
                    train_labels,
                    order,
                    index * config.batch_size,
                )
                step += 1
                pending.append((step, metrics))
                save_now = config.checkpoint_every_steps and (
                    step % config.checkpoint_every_steps == 0
                )
                if save_now or step % config.log_every_steps == 0:
                    _flush(pending, epoch + 1, epoch_records, log, progress, config.batch_size)
                if save_now and step != total_steps:
                    _save(checkpoints, step, params, opt_state, data_key, record, replicated)
            _flush(pending, epoch + 1, epoch_records, log, progress, config.batch_size)
            seconds = time.perf_counter() - epoch_start
            if progress is not None:
                progress.close()
            test = evaluate(
                eval_step, params, test_images, test_labels, len(dataset.test_images), eval_batch
            )
            epoch_summary = {
                "kind": "epoch",
                "epoch": epoch + 1,
                "step": step,
                "train_loss": float(np.mean([r["loss"] for r in epoch_records])),
                "train_accuracy": float(np.mean([r["accuracy"] for r in epoch_records])),
                **test,
                "seconds": seconds,
                "images_per_s": (steps_per_epoch - first) * config.batch_size / seconds,
            }
            log.write([epoch_summary])
            summary.update(epoch_summary)
            if is_main:
                print(
                    f"epoch {epoch + 1}/{config.epochs}: train loss "
                    f"{epoch_summary['train_loss']:.4f}, test loss {test['test_loss']:.4f}, "
                    f"test accuracy {test['test_accuracy']:.4f} "
                    f"({epoch_summary['images_per_s']:.0f} images/s)",
                    flush=True,
                )
        if "test_accuracy" not in summary:  # resumed a run that had already finished
            summary.update(
                evaluate(
                    eval_step,
                    params,
                    test_images,
                    test_labels,
                    len(dataset.test_images),
                    eval_batch,
                )
            )
        if checkpoints.latest_step() != step:
            _save(checkpoints, step, params, opt_state, data_key, record, replicated)
    finally:
        checkpoints.close()
    summary["step"] = step
    summary["num_devices"] = num_devices
    summary["params"] = params
    if is_main and config.plot:
        from examples.mnist import plots

        plots.write_curves(log.records, os.path.join(config.workdir, "curves.png"))
    return summary


def _save(checkpoints, step, params, opt_state, data_key, record, replicated) -> None:
    state = {
        "params": params,
        "opt_state": opt_state,
        "step": jax.device_put(jnp.asarray(step, jnp.int32), replicated),
        "data_key": data_key,
    }
    checkpoints.save(step, state, record)


def _flush(
    pending: list[tuple[int, dict[str, jax.Array]]],
    epoch: int,
    epoch_records: list[dict[str, Any]],
    log: MetricsLog,
    progress: Any,
    batch_size: int,
) -> None:
    records = _fetch_step_records(pending, epoch)
    pending.clear()
    epoch_records.extend(records)
    log.write(records)
    if progress is not None and records:
        last = records[-1]
        progress.set_postfix(loss=f"{last['loss']:.4f}", lr=f"{last['lr']:.4g}", refresh=False)
        progress.update(len(records) * batch_size)


def _fetch_step_records(
    pending: list[tuple[int, dict[str, jax.Array]]], epoch: int
) -> list[dict[str, Any]]:
    """Copies pending step metrics to the host; raises TrainingError on a non-finite loss."""
    if not pending:
        return []
    values = jax.device_get([metrics for _, metrics in pending])
    records = []
    for (step, _), metrics in zip(pending, values, strict=True):
        loss = float(metrics["loss"])
        if not math.isfinite(loss):
            raise TrainingError(
                f"the training loss became {loss} at step {step}; stopped without writing a "
                "checkpoint (the last good one is kept). Lower --learning-rate or choose "
                "another --schedule, and start again in a fresh --workdir"
            )
        records.append(
            {
                "kind": "step",
                "step": step,
                "epoch": epoch,
                "loss": loss,
                "accuracy": float(metrics["accuracy"]),
                "lr": float(metrics["lr"]),
            }
        )
    return records


def _progress_bar(config: Config, epoch: int, steps: int, first: int, enabled: bool) -> Any:
    if not (config.progress and enabled):
        return None
    from tqdm import tqdm

    return tqdm(
        total=steps * config.batch_size,
        initial=first * config.batch_size,
        desc=f"epoch {epoch + 1}/{config.epochs}",
        unit="img",
        unit_scale=True,
        file=sys.stderr,
        leave=False,
    )
