"""Training and evaluation: the importable library behind `main.py`, in stages.

`setup` fixes what a run depends on (devices, schedule, core, data on the devices, compiled
steps); `create_state` starts or restores the run; `train_epoch` runs an epoch; `evaluate`
measures the test set; `save` writes a checkpoint; `train_and_evaluate` strings them together.

The dataset lives on the devices (replicated) and each update is one call of the compiled
`Core.train_step`, which gathers its batch from the epoch's permutation, split over a one-axis
`Mesh`. Steps are dispatched asynchronously; metrics are fetched every `log_every_steps`.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import math
import os
import signal
import socket
import sys
import threading
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import jaxsched
from examples import flags
from examples.mnist import checkpoint, cooldown, core, cpu_tuning, data, plots, report, workdir
from examples.mnist.configs import Config
from examples.mnist.core import Core, DeviceData

_HORIZON_ARGS = ("total_steps", "decay_steps", "transition_steps", "num_training_steps")
_RATE_ARGS = ("peak_value", "init_value", "value")
_FRESH = "Lower --learning-rate or choose another --schedule, and start again in a fresh --workdir"


class TrainingError(Exception):
    """The run cannot start or go on; the message says what to do instead."""


# What a run ends with in one line saying what to do (a CLI prints it as "error: ...").
ERRORS = (data.DataError, TrainingError, checkpoint.CheckpointError, workdir.WorkdirError)


def initialize(config: Config) -> None:
    """`jax.distributed.initialize`, every wait bounded by `config.distributed_timeout`.

    jax aborts the process (a C++ check) when it cannot register in time, so a process other
    than 0 first connects to the coordinator itself, to fail in one line (TrainingError).
    """
    timeout, address = config.distributed_timeout, config.coordinator_address
    if address is not None and config.process_id != 0:
        host, _, port = address.rpartition(":")
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection((host.strip("[]"), int(port)), timeout=1).close()
                break
            except OSError as e:
                if time.monotonic() > deadline or isinstance(e, socket.gaierror):
                    raise TrainingError(
                        f"--distributed: no coordinator answered at {address} within "
                        f"--distributed-timeout {timeout} s ({e.strerror or e}); start process 0 "
                        "there first, or check --coordinator-address"
                    ) from None
                time.sleep(0.5)
    jax.distributed.initialize(
        address,
        config.num_processes or None,
        config.process_id if config.num_processes else None,
        initialization_timeout=timeout,
    )


def build_schedule(
    name: str,
    kwargs: dict[str, Any],
    learning_rate: float,
    total_steps: int,
    steps_per_epoch: int | None = None,
) -> jaxsched.Schedule:
    """Builds the schedule `name`, filling in the run length and learning rate it needs.

    For a jaxsched class (not transformers-style arguments), the first required argument of
    `_HORIZON_ARGS` left out of `kwargs` becomes `total_steps`, the first of `_RATE_ARGS`
    `learning_rate`, and a required `init_value` beside `peak_value` 0.

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
        parameters = inspect.signature(constructor).parameters.values()
        required = [p.name for p in parameters if p.default is inspect.Parameter.empty]
        for group, value in ((_HORIZON_ARGS, total_steps), (_RATE_ARGS, learning_rate)):
            arg = next((a for a in group if a in required), None)
            if arg is not None and arg not in kwargs:
                kwargs[arg] = value
        if "peak_value" in required and "init_value" in required:
            kwargs.setdefault("init_value", 0.0)
    try:
        return jaxsched.get(name, **kwargs, run_steps=total_steps, steps_per_epoch=steps_per_epoch)
    except (ValueError, TypeError, OverflowError) as e:
        raise TrainingError(
            f"--schedule {name} --schedule-args '{json.dumps(kwargs)}': {e}. Give the "
            "schedule's own arguments as a JSON object in --schedule-args"
        ) from None


def make_hyperparams(config: Config, schedule: jaxsched.Schedule) -> dict[str, Any]:
    """The optimizer's hyperparameters: the schedule, SGD's momentum (None at 0), AdamW's decay."""
    hyperparams: dict[str, Any] = {"learning_rate": schedule}
    if config.optimizer == "sgd":
        hyperparams["momentum"] = config.momentum or None
    if config.optimizer in ("adamw", "schedule_free_adamw"):
        hyperparams["weight_decay"] = config.weight_decay
    return hyperparams


def make_mesh(num_devices: int = 0) -> Mesh:
    """A one-axis mesh ("batch") over the first `num_devices` devices (0: all)."""
    devices = jax.devices()
    if num_devices > len(devices):
        raise TrainingError(
            f"--num-devices {num_devices} asks for more devices than the {len(devices)} found; "
            "pass at most that many, or 0 for all"
        )
    return Mesh(np.array(devices[: num_devices or len(devices)]), ("batch",))


@dataclasses.dataclass(frozen=True)
class Trainer:
    """Everything that stays fixed during a run; made by `setup`. `train_step` is the compiled
    `core.train_step` (state donated), `eval_step` the jitted `core.eval_step` on chunks of
    `data.eval_batch_size`, `permute` the jitted `(data_key, epoch) -> order`."""

    config: Config
    core: Core
    schedule: jaxsched.Schedule
    hyperparams: dict[str, Any]
    data: DeviceData
    mesh: Mesh
    steps_per_epoch: int
    train_step: Any
    eval_step: Any
    permute: Any
    compile_seconds: float

    @property
    def replicated(self) -> NamedSharding:
        return NamedSharding(self.mesh, P())

    @property
    def total_steps(self) -> int:
        """The run's last step: the end of its epochs, or where a cooldown branch ends."""
        end = cooldown.end_step(self.config)
        return self.config.epochs * self.steps_per_epoch if end is None else end

    @property
    def num_epochs(self) -> int:
        """Epochs the run trains in, the last one partly for a branch ending mid-epoch."""
        return -(-self.total_steps // self.steps_per_epoch)

    @property
    def is_main(self) -> bool:
        return jax.process_index() == 0

    def record(self) -> dict[str, Any]:
        """What a checkpoint must agree on to be resumed by this run."""
        return {
            "format": checkpoint.FORMAT,
            "config": self.config.run_fields(),
            "schedule": self.schedule.to_config(),
            "steps_per_epoch": self.steps_per_epoch,
            **cooldown.record_entry(self.config),
        }


@dataclasses.dataclass
class RunState:
    """What the updates change: the core's state, the updates done, the data-order key."""

    state: dict[str, Any]
    step: int
    data_key: jax.Array


def _check_sizes(config: Config, num_train: int, num_devices: int) -> int:
    """The number of updates per epoch; raises TrainingError if the batch does not fit."""
    if config.batch_size % num_devices:
        raise TrainingError(
            f"--batch-size {config.batch_size} does not split evenly over {num_devices} "
            f"devices; pass a multiple of {num_devices}"
        )
    if num_train < config.batch_size:
        raise TrainingError(
            f"--batch-size {config.batch_size} is larger than the {num_train} training "
            "examples; pass a smaller batch size or more data"
        )
    return num_train // config.batch_size


def _compile_train_step(
    the_core: Core, hyperparams: dict[str, Any], device_data: DeviceData, options: dict[str, str]
) -> tuple[Any, float]:
    """`the_core.train_step` compiled ahead of time, state donated; and the seconds it took."""
    replicated = device_data.train_labels.sharding
    abstract_state = jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=replicated),
        jax.eval_shape(the_core.init, jax.random.PRNGKey(0), hyperparams),
    )
    images, labels = device_data.train_images, device_data.train_labels
    order = jax.ShapeDtypeStruct(labels.shape, jnp.int32, sharding=replicated)
    start = time.perf_counter()
    jitted = core.jit(
        Core.train_step, (0,), tuple(options.items()), donate_argnums=1, out_shardings=replicated
    )
    lowered = jitted.lower(the_core, abstract_state, hyperparams, images, labels, order, 0)
    return lowered.compile(), time.perf_counter() - start


def replicate(tree: Any, sharding: NamedSharding) -> Any:
    """`jax.device_put(tree, sharding)`, also across processes.

    With several processes, jax 0.10.2's device_put compares each Python scalar with its
    values gathered from all processes and fails even when they are equal, so each leaf goes
    through NumPy and `core.put_replicated`.
    """
    if jax.process_count() == 1:
        return jax.device_put(tree, sharding)

    def put(leaf: Any) -> jax.Array:
        array = np.asarray(leaf)
        return core.put_replicated(
            array.astype(jax.dtypes.canonicalize_dtype(array.dtype)), sharding
        )

    return jax.tree.map(put, tree)


def setup(config: Config, dataset: data.Dataset) -> Trainer:
    """Places the data, builds the schedule and the core, and compiles the steps."""
    mesh = make_mesh(config.num_devices)
    num_devices, num_train = mesh.devices.size, len(dataset.train_images)
    per_epoch = _check_sizes(config, num_train, num_devices)
    args = (config.schedule_kwargs(), config.learning_rate, config.epochs * per_epoch, per_epoch)
    schedule = cooldown.branch_schedule(config, build_schedule(config.schedule, *args))
    replicated = NamedSharding(mesh, P())
    hyperparams = make_hyperparams(config, schedule)
    the_core = core.build(
        config.model,
        config.optimizer,
        hyperparams,
        batch_size=config.batch_size,
        batch_sharding=NamedSharding(mesh, P("batch")),
    )
    eval_batch = math.ceil(config.eval_batch_size / num_devices) * num_devices
    device_data = core.put_data(dataset, replicated, eval_batch_size=eval_batch)
    platform = mesh.devices.flat[0].platform
    options = cpu_tuning.compiler_options(platform, config.model) if config.cpu_tuning else {}
    hyperparams = replicate(hyperparams, replicated)
    train_step, seconds = _compile_train_step(the_core, hyperparams, device_data, options)
    evaluate = core.jit(Core.eval_step, (0, 5), tuple(options.items()))
    permute = core.jit(core.permutation, (2,), (), out_shardings=replicated)
    steps = (
        train_step,
        functools.partial(evaluate, the_core, size=device_data.eval_batch_size),
        functools.partial(permute, count=num_train),
    )
    parts = (the_core, schedule, hyperparams, device_data, mesh, per_epoch)
    return Trainer(config, *parts, *steps, seconds)


def _saved(trainer: Trainer, run: RunState) -> dict[str, Any]:
    """What a checkpoint holds of `run` (`checkpoint.FORMAT`)."""
    step = replicate(np.int32(run.step), trainer.replicated)
    return {"run": run.state, "step": step, "data_key": run.data_key}


def _run_state(saved: dict[str, Any]) -> RunState:
    return RunState(saved["run"], int(jax.device_get(saved["step"])), saved["data_key"])


def create_state(trainer: Trainer, checkpoints: checkpoint.Checkpoints | None = None) -> RunState:
    """The run's start, decided in this order: with `config.resume`, the newest intact
    checkpoint; for a cooldown branch, the stable run's checkpoint at `config.cooldown_at`;
    else a new run from the seed (also when `checkpoints` is None).

    Raises:
      TrainingError: `resume` without a checkpoint, or a new run where one exists.
      checkpoint.CheckpointError: no checkpoint of this run (or branch point) to start from.
    """
    config = trainer.config
    init_key, data_key = core.seed_keys(config.seed)
    platform = trainer.mesh.devices.flat[0].platform
    options = tuple(cpu_tuning.init_compiler_options(platform).items())
    init = functools.partial(
        core.jit(Core.init, (0,), options, out_shardings=trainer.replicated), trainer.core
    )
    new = RunState(init(init_key, trainer.hyperparams), 0, replicate(data_key, trainer.replicated))
    if checkpoints is None:
        return new
    latest = checkpoints.latest_step()
    if config.resume:
        if latest is None:
            raise TrainingError(
                f"--resume found no checkpoint in {checkpoints.directory}; drop --resume to "
                "start a new run there"
            )
        return _resume(trainer, checkpoints, _saved(trainer, new))
    if latest is not None:
        raise TrainingError(
            f"{checkpoints.directory} already holds a run (checkpoint at step {latest}); pass "
            "--resume to continue it, or another --workdir for a new run"
        )
    if config.cooldown_from is None:
        return new
    stable = cooldown.stable_record(trainer.record())
    run = _run_state(cooldown.restore_branch_point(config, stable, _saved(trainer, new)))
    _say(
        trainer,
        f"branching off {config.cooldown_from} at step {config.cooldown_at}: "
        f"{config.cooldown_shape} cooldown over {report.count(config.cooldown_steps, 'step')}",
    )
    return run


def _say(trainer: Trainer, line: str, file: Any = None) -> None:
    if trainer.is_main:
        print(line, file=file or sys.stdout, flush=True)


def _resume(trainer: Trainer, checkpoints: checkpoint.Checkpoints, like: Any) -> RunState:
    """The newest intact checkpoint's run; corrupt newer ones are set aside, one line each."""
    bad = []
    for step in reversed(checkpoints.all_steps()):
        try:
            return _run_state(checkpoints.restore_checked(step, trainer.record(), like))
        except checkpoint.CorruptCheckpointError as e:
            bad.append(f"step {step}: {e}")
            where = checkpoints.set_aside(step)
            _say(
                trainer,
                f"warning: the checkpoint at step {step} is corrupt ({e}); moved it to {where} "
                "and trying the one before",
                sys.stderr,
            )
    raise checkpoint.CheckpointError(
        f"no intact checkpoint in {checkpoints.directory} ({'; '.join(bad)}); start a new run "
        "in another --workdir"
    )


def save(trainer: Trainer, checkpoints: checkpoint.Checkpoints, run: RunState) -> None:
    """Writes a checkpoint of `run` at its step.

    Raises:
      TrainingError: the parameters or the optimizer state are not finite (nothing written).
    """
    if not bool(checkpoint.all_finite(run.state)):
        raise TrainingError(
            f"the parameters or optimizer state became non-finite by step {run.step}; stopped "
            f"without writing a checkpoint ({_newest(checkpoints)}). {_FRESH}"
        )
    checkpoints.save(run.step, _saved(trainer, run), trainer.record())


def _newest(checkpoints: checkpoint.Checkpoints) -> str:
    latest = checkpoints.latest_step()
    return "no checkpoint kept" if latest is None else f"the newest kept is of step {latest}"


def _flush(
    pending: list[tuple[int, dict[str, jax.Array]]],
    epoch: int,
    log: report.MetricsLog,
    progress: report.Progress,
    batch_size: int,
    checkpoints: checkpoint.Checkpoints,
) -> None:
    """Fetches pending step metrics into the log; raises TrainingError at a non-finite loss.

    The loss of step s is taken on the parameters of step s - 1, so a checkpoint of step s - 1
    holds the parameters that gave it, and is removed.
    """
    if not pending:
        return
    values = jax.device_get([metrics for _, metrics in pending])
    records, bad_step = report.step_records([step for step, _ in pending], values, epoch)
    pending.clear()
    log.write(records)
    progress.advance(records, len(records) * batch_size)
    if bad_step is not None:
        loss = float(values[len(records)]["loss"])
        if checkpoints.latest_step() == bad_step - 1:
            checkpoints.delete(bad_step - 1)
        raise TrainingError(
            f"the training loss became {loss} at step {bad_step}; stopped without writing a "
            f"checkpoint of parameters from step {bad_step - 1} on ({_newest(checkpoints)}). "
            + _FRESH
        )


def train_epoch(
    trainer: Trainer,
    run: RunState,
    epoch: int,
    log: report.MetricsLog,
    checkpoints: checkpoint.Checkpoints,
    stop: StopRequest | None = None,
) -> tuple[RunState, float, int]:
    """Runs epoch `epoch` (from 0) from where `run` stands, logging every update and writing
    checkpoints every `checkpoint_every_steps`; returns the run, seconds and images trained.
    Ends early, at a step boundary, once `stop` is requested."""
    config, per_epoch = trainer.config, trainer.steps_per_epoch
    images, labels = trainer.data.train_images, trainer.data.train_labels
    total, every, batch = trainer.total_steps, config.checkpoint_every_steps, config.batch_size
    first, last = run.step - epoch * per_epoch, min(per_epoch, total - epoch * per_epoch)
    order = trainer.permute(run.data_key, epoch)
    show = config.progress and trainer.is_main
    progress = report.Progress(show, epoch + 1, trainer.num_epochs, last * batch, first * batch)
    pending: list[tuple[int, dict[str, jax.Array]]] = []
    state, step = run.state, run.step
    start = time.perf_counter()
    for index in range(first, last):
        state, metrics = trainer.train_step(
            state, trainer.hyperparams, images, labels, order, index * batch
        )
        step += 1
        pending.append((step, metrics))
        kept = step in config.keep_checkpoint_steps
        save_now = (kept or (every and step % every == 0)) and step != total
        if save_now or step % config.log_every_steps == 0:
            _flush(pending, epoch + 1, log, progress, batch, checkpoints)
        if save_now:
            save(trainer, checkpoints, RunState(state, step, run.data_key))
        if stop is not None and stop.requested:
            break
    _flush(pending, epoch + 1, log, progress, batch, checkpoints)
    seconds = time.perf_counter() - start
    progress.close()
    return RunState(state, step, run.data_key), seconds, (step - run.step) * batch


def evaluate(trainer: Trainer, run: RunState) -> dict[str, float]:
    """Mean test loss and accuracy of `run`."""
    d = trainer.data
    loss, accuracy = core.evaluate(
        trainer.eval_step, run.state, d.test_images, d.test_labels, d.num_test, d.eval_batch_size
    )
    return {"test_loss": float(loss), "test_accuracy": float(accuracy)}


def load_data(config: Config) -> data.Dataset:
    """The dataset `config` names."""
    return data.load(
        config.dataset,
        config.data_dir,
        config.download,
        config.max_train_examples,
        config.max_test_examples,
    )


class RunInterruptedError(Exception):
    """The run stopped at a signal's request (SIGINT, SIGTERM) after saving every update."""

    def __init__(self, step: int, signum: int = signal.SIGINT) -> None:
        super().__init__(f"interrupted at step {step}")
        self.step = step
        self.signum = signum


class StopRequest:
    """While entered, SIGINT and SIGTERM ask the run to stop at the next step boundary (not
    inside an orbax save, say); a second one of the same signal acts at once. Outside the
    main thread, where Python cannot handle signals, it is never requested."""

    def __init__(self) -> None:
        self.requested = False
        self.signum: int = signal.SIGINT
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested, self.signum = True, signum
        again = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
        signal.signal(signum, again)

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            self._previous = {
                s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)
            }
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)


def _train_and_save(
    trainer: Trainer, dataset: data.Dataset, checkpoints: checkpoint.Checkpoints, stop: StopRequest
) -> tuple[RunState, report.MetricsLog, dict[str, Any]]:
    """Creates or resumes the run, trains it to the end (or a stop request) and saves it."""
    config, count = trainer.config, report.count
    run = create_state(trainer, checkpoints)
    if trainer.is_main:
        flags.write(config, os.path.join(config.workdir, workdir.CONFIG_FILE), ("resume",))
    log = report.MetricsLog(
        os.path.join(config.workdir, workdir.METRICS_FILE),
        keep_until_step=run.step if config.resume else None,
        enabled=trainer.is_main,
    )
    _say(
        trainer,
        f"{config.model} on {config.dataset} ({len(dataset.train_images)} train, "
        f"{len(dataset.test_images)} test images), {count(trainer.num_epochs, 'epoch')} of "
        f"{count(trainer.steps_per_epoch, 'step')} on "
        f"{count(trainer.mesh.devices.size, jax.devices()[0].device_kind + ' device')}; "
        f"schedule {trainer.schedule}; train step compiled in {trainer.compile_seconds:.1f} s"
        + (f"\nresuming from the checkpoint at step {run.step}" if config.resume else ""),
    )
    summary: dict[str, Any] = {"compile_seconds": trainer.compile_seconds}
    for epoch in range(run.step // trainer.steps_per_epoch, trainer.num_epochs):
        if stop.requested or run.step == trainer.total_steps:  # or a finished branch, resumed
            break
        run, seconds, images = train_epoch(trainer, run, epoch, log, checkpoints, stop)
        if run.step < min((epoch + 1) * trainer.steps_per_epoch, trainer.total_steps):
            break  # stopped within the epoch
        test = evaluate(trainer, run)
        steps = log.steps_of_epoch(epoch + 1)
        record = report.epoch_record(epoch + 1, run.step, steps, test, seconds, images)
        log.write([record])
        summary.update(record)
        _say(trainer, report.epoch_line(record, trainer.num_epochs))
    if checkpoints.latest_step() != run.step:
        save(trainer, checkpoints, run)
    if stop.requested:
        raise RunInterruptedError(run.step, stop.signum)
    if "test_accuracy" not in summary:  # resumed a run that had already finished
        summary.update(evaluate(trainer, run))
    return run, log, summary


def train_and_evaluate(config: Config, dataset: data.Dataset | None = None) -> dict[str, Any]:
    """Trains and evaluates a model as `config` says, writing into `config.workdir` (locked for
    the run by `workdir.claim`, in a multi-process run by process 0); `dataset` None loads it.

    Returns:
      The last epoch's metrics (`test_accuracy`, `test_loss`, `train_loss`, ...) with `step`,
      `num_devices`, `compile_seconds` and the final `state` of the core.

    Raises:
      data.DataError, workdir.WorkdirError, checkpoint.CheckpointError: as their messages say.
      TrainingError: bad settings, a run where one exists, or a non-finite loss.
      RunInterruptedError: SIGINT or SIGTERM stopped the run; its checkpoint is written.
    """
    lock = workdir.claim(config.workdir, exclusive=jax.process_index() == 0)
    try:
        dataset = load_data(config) if dataset is None else dataset
        trainer = setup(config, dataset)
        if trainer.is_main:
            workdir.probe(config.workdir, trainer.total_steps, config.plot)
        checkpoints = checkpoint.Checkpoints(
            os.path.join(config.workdir, workdir.CHECKPOINTS),
            config.keep_checkpoints,
            config.keep_checkpoint_steps,
        )
        try:
            with StopRequest() as stop:
                run, log, summary = _train_and_save(trainer, dataset, checkpoints, stop)
        finally:
            checkpoints.close()
        if trainer.is_main and config.plot:
            plots.write_curves(log.records, os.path.join(config.workdir, workdir.CURVES_FILE))
    finally:
        lock.release()
    summary.update(step=run.step, num_devices=trainer.mesh.devices.size, state=run.state)
    return summary
