"""Where the CNN step's time goes, op by op: XLA's compiled step against PyTorch's.

    python -m benchmarks.step_profile [--steps 20] [--torch] [--json figures.json]

The JAX side is the trainer's own compiled step (`benchmarks.trainer_step.TrainerStep`, CPU
tuning on), traced with `jax.profiler` while XLA:CPU records each thunk it runs
(`--xla_cpu_enable_xprof_traceme`): every fusion, convolution and library call of the
compiled HLO with its milliseconds a step, its shape and the JAX operation it comes from
(`jvp` is the forward pass, `transpose(jvp)` the backward). With `--torch`, the PyTorch
worker (`benchmarks.torch_peer --profile`) runs the same step eager and under
`torch.compile` with `torch.profiler`, inductor's generated kernels named, and prints its
table of operators. BUILD_NOTES.md sums both per layer and pass.
"""

from __future__ import annotations

import collections
import dataclasses
import glob
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
from typing import Any

import jax

from benchmarks import timing, torch_peer
from benchmarks.trainer_step import TrainerStep
from examples import flags
from examples.mnist import cpu_tuning

_INSTRUCTION = re.compile(r"^\s*(?:ROOT )?%?([\w.-]+) = (\S+) ")
_OP_NAME = re.compile(r'op_name="([^"]*)"')


@dataclasses.dataclass(frozen=True)
class ProfileConfig:
    """What the profile runs; each field is a command-line flag.

    Attributes:
      steps: traced updates (figures are per update).
      batch_size: images per update.
      torch: also profile the PyTorch step, eager and under torch.compile.
      json: also write the JAX figures to this file.
    """

    steps: int = 20
    batch_size: int = 128
    torch: bool = False
    json: str | None = None


def _instructions(hlo: str) -> dict[str, tuple[str, str]]:
    """Each HLO instruction's name -> (shape, the JAX operation it comes from)."""
    found = {}
    for line in hlo.splitlines():
        match = _INSTRUCTION.match(line)
        if match:
            op_name = _OP_NAME.search(line)
            found[match.group(1)] = (match.group(2), op_name.group(1) if op_name else "")
    return found


def profile_jax(config: ProfileConfig) -> dict[str, Any]:
    """Milliseconds a step of every thunk of the trainer's compiled step."""
    step = TrainerStep("cnn", config.batch_size, cpu_tuning=True)
    seconds = timing.median(step.side, config.steps, 3)
    with tempfile.TemporaryDirectory() as folder:
        with jax.profiler.trace(folder, create_perfetto_trace=True):
            step.side(config.steps)
        (path,) = glob.glob(f"{folder}/**/*.trace.json.gz", recursive=True)
        with gzip.open(path) as f:
            events = json.load(f)["traceEvents"]
    instructions = _instructions(step.trainer.train_step.as_text())
    total: collections.Counter[str] = collections.Counter()
    for event in events:
        if event.get("ph") == "X" and event["name"] in instructions:
            total[event["name"]] += event["dur"] / 1e3 / config.steps
    thunks = [
        {"name": name, "ms": ms, "shape": instructions[name][0], "op": instructions[name][1]}
        for name, ms in total.most_common()
    ]
    return {"step_ms": seconds * 1e3, "thunks_ms": sum(total.values()), "thunks": thunks}


def profile_torch(compile: bool, config: ProfileConfig) -> str:
    """The PyTorch worker's table of operators over `config.steps` profiled steps."""
    side = torch_peer.TorchSide(False, config.batch_size, True, compile=compile)
    command = [sys.executable, "-m", "benchmarks.torch_peer", *side.flags()]
    command += ["--profile", str(config.steps)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def main(argv: list[str] | None = None) -> int:
    config, _ = flags.parse(
        ProfileConfig,
        argv,
        prog="python -m benchmarks.step_profile",
        description=__doc__.split("\n\n")[0],
    )
    # Before JAX starts its backends: the trainer's glibc setting, and XLA:CPU's thunk events.
    cpu_tuning.keep_freed_memory()
    os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_cpu_enable_xprof_traceme"
    print(f"load {timing.load():.2f}", flush=True)
    results = profile_jax(config)
    print(
        f"JAX {jax.__version__}: the trainer's step {results['step_ms']:.2f} ms untraced; "
        f"its thunks {results['thunks_ms']:.2f} ms a step traced"
    )
    for thunk in results["thunks"]:
        if thunk["ms"] >= 0.005:
            name, shape, op = thunk["name"], thunk["shape"], thunk["op"]
            print(f"  {thunk['ms']:7.3f} ms  {name:28s} {shape:28s} {op}")
    if config.torch and torch_peer.version() is not None:
        for compile in (False, True):
            print(profile_torch(compile, config))
    results["load_after"] = os.getloadavg()
    timing.write_json(config.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
