"""The harness every study CLI runs in: its data, its header, its one `main`.

A study (`examples.compare.study`, `time_to_accuracy`, `lr_find_rates`, `pbt`,
`examples.mnist.cooldown_study`) is a config dataclass nesting `DataConfig` with an `out`
folder, a `run(config, log, save)` returning what results.json holds, and a table and
figures drawn from those results alone. `main` parses the flags (and the trainer's
multi-process ones), does the process-wide setup here alone (glibc's memory setting,
`jax.distributed.initialize`), runs the study and writes config.json, results.json, table.md
and the figures into `--out`; `--replot` redraws them from results.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import platform
import sys
import time
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import jax

from examples import flags
from examples.mnist import configs, core, cpu_tuning, data, train

_HINTS = typing.get_type_hints(configs.Config)
# The trainer's multi-process flags (`--distributed`, `--coordinator-address`, ...): its own
# fields, so the same defaults, help and checks (`configs.Config` judges them).
Launch = dataclasses.make_dataclass(
    "Launch",
    [(f.name, _HINTS[f.name], dataclasses.field(default=f.default, metadata=f.metadata))
     for f in dataclasses.fields(configs.Config)
     if f.metadata.get("kind") == "launch" and f.name not in ("workdir", "resume")],
    frozen=True,
    namespace={"__doc__": configs.Config.__doc__},
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """The images a study trains and evaluates on.

    Attributes:
      dataset: "fashion_mnist" or "mnist".
      data_dir: a folder of the four IDX files (or a tensorflow-datasets data dir).
      train_examples: training images used (0: all that the validation set leaves).
      validation_examples: the last this many training images, held out as the validation
        set that reduce-on-plateau watches (the test set is never used for decisions).
      test_examples: the first this many test images are the test set (0: all).
      eval_batch_size: test images per evaluation chunk; all runs of a vmapped part see a
        chunk at once, so the activations scale with this times their number.
    """

    dataset: str = flags.option("fashion_mnist", choices=configs.DATASETS)
    data_dir: str | None = None
    train_examples: int = flags.option(0, at_least=0)
    validation_examples: int = flags.option(0, at_least=0)
    test_examples: int = flags.option(0, at_least=0)
    eval_batch_size: int = flags.option(250, at_least=1)

    def __post_init__(self) -> None:
        flags.check(self)

    def load(self) -> data.Dataset:
        """The training and test images on the host, the validation images left out."""
        full = data.load(self.dataset, self.data_dir)
        kept = len(full.train_images) - self.validation_examples
        train_n, test_n = min(self.train_examples or kept, kept), self.test_examples or None
        return data.Dataset(
            full.train_images[:train_n],
            full.train_labels[:train_n],
            full.test_images[:test_n],
            full.test_labels[:test_n],
        )

    def put(self) -> core.DeviceData:
        """The splits on this process's first device (`core.put_data`)."""
        return core.put_data(
            data.load(self.dataset, self.data_dir),
            jax.sharding.SingleDeviceSharding(jax.local_devices()[0]),
            eval_batch_size=self.eval_batch_size,
            train_examples=self.train_examples,
            validation_examples=self.validation_examples,
            test_examples=self.test_examples,
        )


class Study(Protocol):
    """What `main` needs of a study config: its data and its output folder."""

    @property
    def data(self) -> DataConfig: ...

    @property
    def out(self) -> str: ...


S = TypeVar("S", bound=Study)
Results = dict[str, Any]
Run = Callable[[S, Callable[[str], None], Callable[[Results], None]], Results]


def machine() -> str:
    """The CPU model and core count, or the accelerator, in words."""
    device = jax.devices()[0]
    if device.platform != "cpu":
        return f"{len(jax.devices())} x {device.device_kind}"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or platform.machine()
    return f"{model}, {os.cpu_count()} cores (CPU backend)"


def header(config: Study, prog: str, device_data: core.DeviceData | None = None) -> Results:
    """What every results.json starts with: the flags, the command, the machine, JAX, and
    the sizes of the splits on the device."""
    command = f"{prog} {' '.join(sys.argv[1:])}"
    results: Results = dict(config=flags.as_flags(config), command=command, machine=machine(),
                            jax_version=jax.__version__, backend=jax.default_backend())  # fmt: skip
    if device_data is not None:
        num_train = device_data.train_images.shape[0]
        results.update(num_train=num_train, num_validation=device_data.num_val,
                       num_test=device_data.num_test)  # fmt: skip
    return results


def write(out: str, name: str, text: str) -> None:
    """Writes `text` to `out/name` whole (`flags.write_whole`), making `out` if needed."""
    os.makedirs(out, exist_ok=True)
    flags.write_whole(os.path.join(out, name), text)


def _run(config: S, run: Run[S], launch: configs.Config) -> Results | int:
    """Runs the study, after `jax.distributed.initialize` for --distributed; process 0 writes
    results.json after every part it reports (marked partial) and at the end, the others
    write and print nothing. The exit status instead of results after an error (said in one
    line) and in processes other than 0."""
    start = time.perf_counter()

    def stamped(results: Results, **partial: bool) -> Results:
        return {**results, "wall_seconds": time.perf_counter() - start, **partial}

    def save(results: Results) -> None:
        write(config.out, "results.json", json.dumps(stamped(results, partial=True), indent=1))

    try:
        if launch.distributed:
            train.initialize(launch)
        if jax.process_index() != 0:
            run(config, lambda _: None, lambda _: None)
            return 0
        os.makedirs(config.out, exist_ok=True)
        flags.write(config, os.path.join(config.out, configs.CONFIG_FILE))
        results = stamped(run(config, functools.partial(print, flush=True), save))
    except train.ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    write(config.out, "results.json", json.dumps(results, indent=1))
    return results


def main(
    config_type: type[S],
    argv: Sequence[str] | None,
    run: Run[S],
    table: Callable[[Results], str],
    *,
    prog: str,
    doc: str,
    figures: Callable[[Results, str], None] | None = None,
    presets: Mapping[str, tuple[str, Mapping[str, Any]]] | None = None,
    distributed: bool = False,
) -> int:
    """A study's command line: parses `argv` into a `config_type`, runs `run`, writes and
    prints the Markdown `table` of its results and draws its `figures` into `--out`;
    returns the exit status. Only a study that divides its work over processes
    (`distributed=True`) takes the trainer's multi-process flags."""

    def add_replot(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--replot", action="store_true", help="train nothing: redraw from --out/results.json"
        )
        if distributed:
            flags.add_flags(parser, Launch())

    config, namespace = flags.parse(config_type, argv, prog=prog, description=doc,
                                    presets=presets, extra=add_replot)  # fmt: skip
    names = [f.name for f in dataclasses.fields(Launch) if hasattr(namespace, f.name)]
    try:
        launch = configs.Config(**{name: getattr(namespace, name) for name in names})
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if namespace.replot:
        try:
            with open(os.path.join(config.out, "results.json")) as f:
                results = json.load(f)
        except (OSError, ValueError) as e:
            print(f"error: --replot needs {config.out}/results.json ({e})", file=sys.stderr)
            return 1
    else:
        cpu_tuning.keep_freed_memory()  # process-wide; before JAX starts its backends
        results = _run(config, run, launch)
        if isinstance(results, int):
            return results
    text = table(results).rstrip("\n")
    write(config.out, "table.md", text + "\n")
    if figures is not None:
        figures(results, config.out)
    print(text)
    return 0
