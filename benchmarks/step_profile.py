"""Where the CNN step's time goes, op by op: XLA's compiled step against PyTorch's.

    python -m benchmarks.step_profile [--steps 20] [--torch] [--json figures.json]

benchmarks/README.md says what it reports; BUILD_NOTES.md sums both sides per layer and pass.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
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
import jax.numpy as jnp

from benchmarks import cli, roofline, timing, torch_peer
from benchmarks.trainer_step import TrainerStep
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


def _dgrad(layer: Any) -> Any:
    def dgrad(x: Any, w: Any, dy: Any) -> Any:  # scaled as the step scales it (the pooling)
        return jax.vjp(layer, x, w)[1](dy)[0] * 0.25

    return dgrad


def _wgrad(layer: Any) -> Any:
    def wgrad(x: Any, w: Any, dy: Any) -> Any:
        return jax.vjp(layer, x, w)[1](dy)[1]

    return wgrad


def _conv(x: Any, w: Any) -> Any:
    dims = ("NHWC", "HWIO", "NHWC")
    return jax.lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=dims)


def _forward(layer: Any) -> Any:
    def forward(x: Any, w: Any) -> Any:  # with an elementwise op after it, as in the step
        return layer(x, w) + 1.0

    return forward


def _layer_ops(batch: int) -> dict[str, tuple[Any, tuple[Any, ...]]]:
    """The step's convolutions and its large matrix products as functions of their operands:
    the forward, the input gradient (dgrad) and the weight gradient (wgrad) of conv1, conv2
    and dense1, as `jax.vjp` writes them. Each has the elementwise partner it has in the
    step, so that XLA:CPU gives it to the same library."""
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    layers: dict[str, tuple[Any, ...]] = {  # name -> (layer, input, weight, output shapes)
        "conv1": (_conv, (batch, 28, 28, 1), (3, 3, 1, 32), (batch, 28, 28, 32)),
        "conv2": (_conv, (batch, 14, 14, 32), (3, 3, 32, 64), (batch, 14, 14, 64)),
        "dense1": (jnp.matmul, (batch, 3136), (3136, 256), (batch, 256)),
    }
    ops: dict[str, tuple[Any, tuple[Any, ...]]] = {}
    for name, (layer, *shapes) in layers.items():
        x, w, dy = (jax.random.normal(k, s) for k, s in zip(keys, shapes, strict=True))
        ops[f"{name} forward"] = (_forward(layer), (x, w))
        if name != "conv1":  # the images need no gradient
            ops[f"{name} dgrad"] = (_dgrad(layer), (x, w, dy))
        ops[f"{name} wgrad"] = (_wgrad(layer), (x, w, dy))
    return ops


def time_layer_ops(config: ProfileConfig) -> dict[str, Any]:
    """Each of `_layer_ops` compiled alone with the trainer's options, timed in turns with the
    float32 2048x2048 matmul: milliseconds, GFLOP/s, and the time at the matmul's rate, for
    the FLOPs XLA counts (a padded convolution's border taps are not counted)."""
    options: dict[str, Any] = dict(cpu_tuning.compiler_options(jax.default_backend(), "cnn"))
    sides, flops = {}, {}
    for name, (function, args) in _layer_ops(config.batch_size).items():
        compiled = jax.jit(function).lower(*args).compile(compiler_options=options or None)
        sides[name] = timing.loop(functools.partial(compiled, *args))
        flops[name] = roofline.compiled_flops(compiled)
    seconds, matmul = roofline.with_matmul(sides, 20, 5)
    return {
        "matmul_gflops": matmul,
        "ops": {
            name: {
                "ms": s * 1e3,
                "gflops": flops[name] / s / 1e9,
                "limit_ms": flops[name] / matmul / 1e6,
            }
            for name, s in seconds.items()
        },
    }


def profile_torch(compile: bool, config: ProfileConfig) -> str:
    """The PyTorch worker's table of operators over `config.steps` profiled steps."""
    side = torch_peer.TorchSide(False, config.batch_size, True, compile=compile)
    command = [sys.executable, "-m", "benchmarks.torch_peer", *side.flags()]
    command += ["--profile", str(config.steps)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def main(argv: list[str] | None = None) -> int:
    config, _ = cli.parse(ProfileConfig, argv, "benchmarks.step_profile", __doc__)
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
    results["layer_ops"] = ops = time_layer_ops(config)
    print(f"each alone, the trainer's options; matmul {ops['matmul_gflops']:.0f} GFLOP/s")
    for name, op in ops["ops"].items():
        rates = f"{op['gflops']:6.1f} GFLOP/s (at the matmul's rate {op['limit_ms']:.3f} ms)"
        print(f"  {name:16s} {op['ms']:7.3f} ms {rates}")
    if config.torch and torch_peer.version() is not None:
        for compile in (False, True):
            print(profile_torch(compile, config))
    results["load_after"] = os.getloadavg()
    timing.write_json(config.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
