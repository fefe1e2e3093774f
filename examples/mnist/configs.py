"""The trainer's configuration: one dataclass, every field a command-line flag.

Each field's `kind` says what a run that continues another takes from that run's config.json
(`take_unset`): a cooldown branch the "run" fields (those that change results, which the
checkpoints record), `--resume` every field but the "launch" ones (how this process starts).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Collection
from typing import Any

from examples import flags
from examples.flags import flag, option
from examples.mnist.workdir import CONFIG_FILE

DATASETS = ("mnist", "fashion_mnist")
MODELS = ("cnn", "mlp", "linear")
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam", "adamw", "adagrad", "rmsprop")
OPTIMIZERS += ("schedule_free_sgd", "schedule_free_adamw")
COOLDOWN_SHAPES = ("1-sqrt", "linear", "cosine")
# The largest float32: schedules and optimizers compute in float32, where larger numbers are inf.
_FLOAT32_MAX = 3.4028234663852886e38
_FLOAT32_TINY = 1.1754943508222875e-38  # the smallest normal float32; below, precision fades


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything a training run depends on; `main.py` makes each field a flag `--field-name`.

    Attributes:
      dataset: "mnist" or "fashion_mnist" (the tfds name).
      data_dir: a folder with the four IDX files (`train-images-idx3-ubyte.gz`, ...) or a
        tensorflow-datasets data dir; None means tfds's default.
      download: let tensorflow-datasets download and prepare the dataset when it is missing.
      max_train_examples: use only the first this many training images (0: all).
      max_test_examples: use only the first this many test images (0: all).
      model: "cnn" (Conv32-Conv64-Dense256-Dense10), "mlp" (one hidden layer) or "linear".
      epochs: passes over the training set.
      batch_size: global batch, split across all devices (must divide by the device count).
      eval_batch_size: batch of the test-set evaluation (cut to the test set's size).
      optimizer: "sgd" (with `momentum`), "adam", "adamw" (with `weight_decay`), "adagrad",
        "rmsprop", "schedule_free_sgd" or "schedule_free_adamw" (with `weight_decay`).
      momentum: SGD momentum, in [0, 1) (0 disables it).
      weight_decay: decoupled weight decay of "adamw" and "schedule_free_adamw" (0 or more).
      learning_rate: the peak learning rate (positive), filled into the schedule.
      schedule: a `jaxsched.get` name ("one_cycle", "warmup_cosine_decay", "constant", ...).
      schedule_args: JSON object of the schedule's own arguments. Left out, the first
        required of total_steps, decay_steps, transition_steps, num_training_steps is the run's
        length, the first of peak_value, init_value, value is `learning_rate` (a warmup's
        init_value 0). Step counts may be durations: "10%", "2 epochs", "300 steps".
      seed: seeds the parameter initialisation and the data order.
      workdir: where metrics.jsonl, curves.png and checkpoints/ go.
      checkpoint_every_steps: write a checkpoint every this many updates (0: only at the end).
      keep_checkpoints: how many recent checkpoints to keep.
      keep_checkpoint_steps: also write and keep checkpoints at these steps, comma-separated
        (cooldown branch points).
      resume: continue the run saved in `workdir` from its newest intact checkpoint; flags
        not given are taken from the run's config.json.
      log_every_steps: fetch metrics, check them for NaN and refresh the progress bar every
        this many updates (metrics.jsonl still gets every update).
      progress: show a progress bar per epoch.
      plot: write curves.png (learning rate, train loss, test accuracy) at the end.
      num_devices: train data-parallel on the first this many devices (0: all of them).
      distributed: call `jax.distributed.initialize()` first (multi-host runs; on Slurm, Open
        MPI, Cloud TPU it needs no other flag).
      coordinator_address: with `distributed`, the host:port of process 0's coordinator
        (None: detected, or the JAX_COORDINATOR_ADDRESS environment variable).
      num_processes: with `distributed`, how many processes the run has (0: detected).
      process_id: with `distributed` and `num_processes`, this process's index, from 0.
      distributed_timeout: with `distributed`, seconds to wait for every process to reach
        the coordinator.
      cpu_tuning: on CPU, XLA:CPU options for fast convolution gradients and keeping freed
        host memory for reuse (examples/mnist/cpu_tuning.py).
      cooldown_from: the work dir of a stable run to branch a cooldown off
        (examples/mnist/cooldown.py); flags that change results and are not given come from
        its config.json; --workdir defaults to `<cooldown_from>-cooldown-<at>-<steps>`.
      cooldown_at: the step of the stable run's checkpoint where the cooldown starts.
      cooldown_steps: length of the cooldown; the branch ends at cooldown_at + cooldown_steps.
      cooldown_shape: "1-sqrt", "linear" or "cosine" (`jaxsched.cooldown`).
    """

    dataset: str = option("mnist", choices=DATASETS, kind="run")
    data_dir: str | None = option(None, kind="run")
    download: bool = False
    max_train_examples: int = option(0, at_least=0, kind="run")
    max_test_examples: int = option(0, at_least=0, kind="run")
    model: str = option("cnn", choices=MODELS, kind="run")
    epochs: int = option(2, at_least=1, kind="run")
    batch_size: int = option(128, at_least=1, kind="run")
    eval_batch_size: int = option(1000, at_least=1)
    optimizer: str = option("sgd", choices=OPTIMIZERS, kind="run")
    momentum: float = option(0.9, kind="run")
    weight_decay: float = option(1e-4, kind="run")
    learning_rate: float = option(0.1, kind="run")
    schedule: str = option("one_cycle", kind="run")
    schedule_args: str = option("{}", kind="run")
    seed: int = option(0, kind="run")
    workdir: str = option("runs/mnist", kind="launch")
    checkpoint_every_steps: int = option(500, at_least=0)
    keep_checkpoints: int = option(2, at_least=1)
    keep_checkpoint_steps: tuple[int, ...] = ()
    resume: bool = option(False, kind="launch")
    log_every_steps: int = option(50, at_least=1)
    progress: bool = True
    plot: bool = True
    num_devices: int = option(0, at_least=0)
    distributed: bool = option(False, kind="launch")
    coordinator_address: str | None = option(None, kind="launch")
    num_processes: int = option(0, at_least=0, kind="launch")
    process_id: int = option(0, at_least=0, kind="launch")
    distributed_timeout: int = option(300, at_least=1, kind="launch")
    cpu_tuning: bool = option(True, kind="run")
    cooldown_from: str | None = None
    cooldown_at: int = 0
    cooldown_steps: int = 0
    cooldown_shape: str = option("1-sqrt", choices=COOLDOWN_SHAPES)

    def __post_init__(self) -> None:
        flags.check(self)
        _check_distributed(self)
        if not 0 <= self.seed < 2**32:  # jax.random.PRNGKey keeps 32 bits without x64
            raise ValueError(f"--seed must be in [0, 2**32), got {self.seed}")
        _check_number("learning_rate", self.learning_rate, low=0.0, low_allowed=False)
        _check_number("momentum", self.momentum, low=0.0, high=1.0)
        _check_number("weight_decay", self.weight_decay, low=0.0)
        _check_cooldown(self)
        self.schedule_kwargs()  # fail on bad JSON at parse time, not after loading data

    def schedule_kwargs(self) -> dict[str, Any]:
        """Returns `schedule_args` parsed, or raises ValueError saying how to fix it."""
        kwargs = flags.loads(self.schedule_args, "--schedule-args")
        if not isinstance(kwargs, dict):
            raise ValueError(
                f"--schedule-args must be a JSON object of keyword arguments, got {kwargs!r}"
            )
        filled = sorted(set(kwargs) & {"run_steps", "steps_per_epoch"})
        if filled:
            raise ValueError(
                f"--schedule-args sets {', '.join(filled)}, which the trainer fills in from "
                "--epochs, --batch-size and the data; leave it out"
            )
        return kwargs

    def run_fields(self) -> dict[str, Any]:
        """The fields of kind "run", `data_dir` as a real path: what a checkpoint records."""
        fields = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if _kind(f) == "run"
        }
        return fields | {"data_dir": self.data_dir and os.path.realpath(self.data_dir)}


def _kind(field: dataclasses.Field[Any]) -> str:
    return str(field.metadata.get("kind", "setting"))


def take_unset(config: Config, given: Collection[str]) -> tuple[Config, dict[str, Any], str]:
    """`config` with the flags not `given` taken from the config.json of the run it continues
    (with `resume`, all but "launch" ones; for a branch, the "run" ones and a `workdir` beside
    the stable run's); the flags taken (those that changed) and the file read ("" if none).

    Raises:
      ValueError: the config.json is unreadable or holds a bad value.
    """
    kinds: tuple[str, ...]
    if config.resume:
        source, kinds = config.workdir, ("run", "setting")
    elif config.cooldown_from is not None:
        source, kinds = config.cooldown_from, ("run",)
    else:
        return config, {}, ""
    path = os.path.join(source, CONFIG_FILE)
    saved = flags.read(path, Config) if os.path.exists(path) else {}
    kind_of = {f.name: _kind(f) for f in dataclasses.fields(Config)}
    taken = {
        name: value
        for name, value in saved.items()
        if name not in given and kind_of[name] in kinds and value != getattr(config, name)
    }
    if not config.resume and "workdir" not in given:
        at, steps = config.cooldown_at, config.cooldown_steps
        taken["workdir"] = f"{os.path.normpath(source)}-cooldown-{at}-{steps}"
    return dataclasses.replace(config, **taken), taken, path if saved else ""


def _check_number(
    name: str, value: float, *, low: float, low_allowed: bool = True, high: float | None = None
) -> None:
    """Raises ValueError unless `value` is a finite float32 in [low, high) (or (low, high))."""
    if not math.isfinite(value) or abs(value) > _FLOAT32_MAX:
        raise ValueError(f"{flag(name)} must be a finite float32 number, got {value}")
    if value != 0 and abs(value) < _FLOAT32_TINY:
        raise ValueError(
            f"{flag(name)} must be 0 or at least {_FLOAT32_TINY:g} (float32 rounds smaller "
            f"numbers to 0 or to few digits), got {value}"
        )
    if value < low or (value == low and not low_allowed):
        bound = "at least" if low_allowed else "greater than"
        raise ValueError(f"{flag(name)} must be {bound} {low:g}, got {value}")
    if high is not None and value >= high:
        raise ValueError(f"{flag(name)} must be less than {high:g}, got {value}")


def _check_distributed(config: Config) -> None:
    names = ("coordinator_address", "num_processes", "process_id")
    given = [flag(name) for name in names if getattr(config, name)]
    if given and not config.distributed:
        raise ValueError(f"{', '.join(given)} need --distributed (a multi-process run)")
    if config.num_processes and config.process_id >= config.num_processes:
        raise ValueError(
            f"--process-id must be in [0, {config.num_processes}), got {config.process_id}"
        )
    if config.process_id and not config.num_processes:
        raise ValueError("--process-id needs --num-processes")
    address = config.coordinator_address
    if address is None:
        return
    host, _, port = address.rpartition(":")
    if not host.strip("[]") or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(
            f"--coordinator-address must be HOST:PORT with a port in [1, 65535], got {address!r}"
        )


def _check_cooldown(config: Config) -> None:
    if any(step < 1 for step in config.keep_checkpoint_steps):
        raise ValueError(
            "--keep-checkpoint-steps must be steps of 1 or more, got "
            f"{','.join(map(str, config.keep_checkpoint_steps))}"
        )
    if config.cooldown_from is None and (config.cooldown_at or config.cooldown_steps):
        raise ValueError(
            "--cooldown-at and --cooldown-steps need --cooldown-from WORKDIR, the stable run to "
            "branch off"
        )
    if config.cooldown_from is not None and (config.cooldown_at < 1 or config.cooldown_steps < 1):
        raise ValueError(
            f"--cooldown-from {config.cooldown_from} needs --cooldown-at STEP (a checkpoint of "
            "the stable run) and --cooldown-steps N (the cooldown's length), both at least 1"
        )
