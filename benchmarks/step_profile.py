"""Where the CNN step's time goes: op by op (JAX against PyTorch), each layer alone, and the
step compiled in other ways, against a float32 matmul.

    python -m benchmarks.step_profile [--parts thunks,layers,variants] [--variants nchw,no_ynn]

benchmarks/README.md says what each part reports; BUILD_NOTES.md has the figures.
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
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import jaxsched
from benchmarks import cli, timing, torch_peer, trainer_step
from examples import flags
from examples.mnist import core, cpu_tuning, models

_INSTRUCTION = re.compile(r"^\s*(?:ROOT )?%?([\w.-]+) = (\S+) ")
_OP_NAME = re.compile(r'op_name="([^"]*)"')
YNN = "xla_cpu_experimental_ynn_fusion_type"
_NHWC = ("NHWC", "HWIO", "NHWC")
# The convolution itself, kept before a variant patches `jax.lax` for its model.
_LAX_CONV = jax.lax.conv_general_dilated
PARTS = ("thunks", "layers", "variants")


def _ynn(*kinds: str) -> dict[str, Any]:
    return {YNN: ",".join(f"LIBRARY_FUSION_TYPE_{kind}" for kind in kinds)}


_TRAINER = _ynn("DOT", "ELTWISE", "REDUCE")
# oneDNN (linked into jaxlib) takes each dot alone; it has no convolution fusion here, and
# its LIBRARY_FUSION_TYPE_DOT fusions fail to compile ("partition compile failed").
_ONEDNN = {
    "xla_cpu_use_onednn": True,
    "xla_cpu_experimental_onednn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT",
}


class Variant(NamedTuple):
    """A way of compiling the step: its name in the report, its XLA options, its
    convolutions ("native", "matmul", "nchw", "wgrad_matmul": weight gradients as matrix
    products, or "conv1_wgrad_matmul": conv1's only) and whether the state is donated."""

    name: str
    options: dict[str, Any]
    convs: str = "native"
    donate: bool = True


VARIANTS = {
    "trainer": Variant("trainer (YNNPACK for dot, eltwise, reduce)", _TRAINER),
    "defaults": Variant("XLA's default options", {}),
    "ynn_dot": Variant("YNNPACK for dots only", _ynn("DOT")),
    "ynn_dot_eltwise": Variant("YNNPACK for dot, eltwise", _ynn("DOT", "ELTWISE")),
    "not_donated": Variant("trainer, state not donated", _TRAINER, donate=False),
    "nchw": Variant("NCHW convolutions", _TRAINER, "nchw"),
    "matmul_convs": Variant("convolutions as matmuls", {}, "matmul"),
    "ynn_all_convs": Variant(
        "trainer + YNNPACK for every convolution",
        _ynn("DOT", "ELTWISE", "REDUCE", "INDIVIDUAL_CONVOLUTION"),
    ),
    "no_ynn": Variant("no YNNPACK (XLA's own kernels, Eigen)", _ynn()),
    "onednn_dots": Variant("oneDNN for dots, no YNNPACK", _ynn() | _ONEDNN),
    "onednn_dots_ynn": Variant(
        "oneDNN for dots, YNNPACK for eltwise, reduce", _ynn("ELTWISE", "REDUCE") | _ONEDNN
    ),
    "concurrency_scheduler": Variant(
        "trainer + concurrency-optimized scheduler",
        _TRAINER | {"xla_cpu_scheduler_type": "CPU_SCHEDULER_TYPE_CONCURRENCY_OPTIMIZED"},
    ),
    "wgrad_matmul": Variant("trainer, weight gradients as matmuls", _TRAINER, "wgrad_matmul"),
    "conv1_wgrad_matmul": Variant(
        "trainer, conv1's weight gradient as a matmul", _TRAINER, "conv1_wgrad_matmul"
    ),
}


@dataclasses.dataclass(frozen=True)
class ProfileConfig:
    """What the profile runs; each field is a command-line flag.

    Attributes:
      parts: what to measure, comma-separated: "thunks" (the traced step, op by op),
        "layers" (each convolution and dense1 alone), "variants" (ways of compiling the step).
      steps: updates per timing (figures are per update).
      repeats: timings of every variant, in turns (their median is reported).
      batch_size: images per update.
      variants: the variants to time beside the trainer's, keys of `VARIANTS` (default: all).
      torch: with "thunks", also profile the PyTorch step, eager and under torch.compile.
      json: also write the figures to this file.
    """

    parts: tuple[str, ...] = flags.option(("thunks", "layers"), choices=PARTS)
    steps: int = flags.option(20, at_least=1)
    repeats: int = flags.option(5, at_least=1)
    batch_size: int = flags.option(128, at_least=1)
    variants: tuple[str, ...] = flags.option((), choices=VARIANTS)
    torch: bool = False
    json: str | None = None

    def __post_init__(self) -> None:
        flags.check(self)


def _instructions(hlo: str) -> dict[str, tuple[str, str]]:
    """Each HLO instruction's name -> (shape, the JAX operation it comes from)."""
    found = {}
    for line in hlo.splitlines():
        if match := _INSTRUCTION.match(line):
            op_name = _OP_NAME.search(line)
            found[match.group(1)] = (match.group(2), op_name.group(1) if op_name else "")
    return found


def profile_thunks(config: ProfileConfig) -> dict[str, Any]:
    """Milliseconds a step of every thunk of the trainer's compiled step, from a
    `jax.profiler` trace with XLA:CPU's thunk events on (`main` sets the flag)."""
    step = trainer_step.TrainerStep("cnn", config.batch_size, cpu_tuning=True)
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
    thunks = {
        name: f"{ms:7.3f} ms  {instructions[name][0]:28s} {instructions[name][1]}"
        for name, ms in total.most_common()
        if ms >= 0.005
    }
    return {"step_ms": seconds * 1e3, "thunks_ms": sum(total.values()), "thunks": thunks}


def _conv(x: Any, w: Any) -> Any:
    return _LAX_CONV(x, w, (1, 1), "SAME", dimension_numbers=_NHWC)


def _layer_ops(batch: int) -> dict[str, tuple[Any, tuple[Any, ...]]]:
    """The forward, input gradient (dgrad) and weight gradient (wgrad) of conv1, conv2 and
    dense1 as functions of their operands, as `jax.vjp` writes them, each with the
    elementwise partner it has in the step (so that XLA:CPU gives it to the same library)."""
    rng = np.random.default_rng(0)  # NumPy's: operands that cost no compile
    layers: dict[str, tuple[Any, ...]] = {  # name -> (layer, input, weight, output shapes)
        "conv1": (_conv, (batch, 28, 28, 1), (3, 3, 1, 32), (batch, 28, 28, 32)),
        "conv2": (_conv, (batch, 14, 14, 32), (3, 3, 32, 64), (batch, 14, 14, 64)),
        "dense1": (jnp.matmul, (batch, 3136), (3136, 256), (batch, 256)),
    }
    ops: dict[str, tuple[Any, tuple[Any, ...]]] = {}
    for name, (f, *shapes) in layers.items():
        x, w, dy = (jnp.asarray(rng.standard_normal(shape, np.float32)) for shape in shapes)
        ops[f"{name} forward"] = (lambda x, w, f=f: f(x, w) + 1.0, (x, w))
        if name != "conv1":  # the images need no gradient; scaled as the pooling scales it
            ops[f"{name} dgrad"] = (
                lambda x, w, dy, f=f: jax.vjp(f, x, w)[1](dy)[0] * 0.25,
                (x, w, dy),
            )
        ops[f"{name} wgrad"] = (lambda x, w, dy, f=f: jax.vjp(f, x, w)[1](dy)[1], (x, w, dy))
    return ops


def time_layers(config: ProfileConfig) -> dict[str, Any]:
    """Each of `_layer_ops` compiled alone with the trainer's options, timed in turns with the
    matmul: milliseconds, GFLOP/s, and the time at the matmul's rate for the FLOPs XLA counts
    (a padded convolution's border taps are not counted)."""
    options: dict[str, Any] = dict(cpu_tuning.compiler_options(jax.default_backend(), "cnn"))
    sides, flops = {}, {}
    for name, (function, args) in _layer_ops(config.batch_size).items():
        compiled = jax.jit(function).lower(*args).compile(compiler_options=options or None)
        sides[name] = timing.loop(functools.partial(compiled, *args))
        flops[name] = timing.compiled_flops(compiled)
    seconds, matmul = timing.with_matmul(sides, config.steps, config.repeats)
    ops = {}
    for name, s in seconds.items():
        rates = timing.roofline(flops[name], s, matmul)
        ops[name] = {
            "ms": s * 1e3,
            "gflops": rates["gflops"],
            "limit_ms": s * 1e3 * rates["share_of_matmul"],
        }
    return {"matmul_gflops": matmul, "ops": ops}


def _nchw_conv(inputs: Any, kernel: Any, window_strides: Any, padding: Any, **kwargs: Any) -> Any:
    """`lax.conv` of NHWC inputs and HWIO kernels computed in NCHW / OIHW."""
    kwargs.pop("dimension_numbers", None)
    out = _LAX_CONV(
        inputs.transpose(0, 3, 1, 2),
        kernel.transpose(3, 2, 0, 1),
        window_strides,
        padding,
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
        **kwargs,
    )
    return out.transpose(0, 2, 3, 1)


@jax.custom_vjp
def _wgrad_matmul(x: Any, w: Any) -> Any:
    """A stride-1 SAME 3x3 convolution whose weight gradient is one matrix product of the
    input's patches and the output's gradient (XLA:CPU computes it as a convolution with a
    14x14 or 28x28 window, on transposed copies)."""
    return _conv(x, w)


def _wgrad_matmul_bwd(residuals: Any, dy: Any) -> tuple[Any, Any]:
    x, w = residuals
    (dx,) = jax.vjp(lambda x: _conv(x, w), x)[1](dy)
    height, width, cin = x.shape[1:]
    padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    patches = jnp.concatenate(
        [padded[:, i : i + height, j : j + width, :] for i in range(3) for j in range(3)], -1
    )
    dw = patches.reshape(-1, 9 * cin).T @ dy.reshape(-1, dy.shape[-1])
    return dx, dw.reshape(w.shape)


_wgrad_matmul.defvjp(lambda x, w: (_conv(x, w), (x, w)), _wgrad_matmul_bwd)


def _patched_conv(convs: str) -> Any:
    """The `lax.conv_general_dilated` that a variant's CNN is built with."""
    if convs == "nchw":
        return _nchw_conv

    def conv(inputs: Any, kernel: Any, window_strides: Any, padding: Any, **kwargs: Any) -> Any:
        if convs == "wgrad_matmul" or inputs.shape[-1] == 1:
            return _wgrad_matmul(inputs, kernel)
        return _LAX_CONV(inputs, kernel, window_strides, padding, **kwargs)

    return conv


def _variant_step(key: str, batch_size: int) -> tuple[Any, timing.Side]:
    """A variant's compiled `Core.train_step`, and the step on one batch as a side."""
    _, options, convs, donate = VARIANTS[key]
    hyperparams = jax.device_put({"learning_rate": jaxsched.constant(0.01), "momentum": 0.9})
    if convs not in ("native", "matmul"):  # the CNN's graph keeps the convolution it was built with
        models.jax.lax.conv_general_dilated = _patched_conv(convs)  # type: ignore[assignment]
    try:
        the_core = core.build(
            "cnn", "sgd", hyperparams, batch_size=batch_size, matmul_convs=convs == "matmul"
        )
        images, labels = map(jnp.asarray, timing.random_images(batch_size))
        state = jax.jit(the_core.init)(core.seed_keys(0)[0], hyperparams)
        args = [state, hyperparams, images, labels, jnp.arange(batch_size), 0]
        jitted = jax.jit(the_core.train_step, donate_argnums=0 if donate else ())
        compiled = jitted.lower(*args).compile(compiler_options=options or None)
    finally:
        models.jax.lax.conv_general_dilated = _LAX_CONV  # type: ignore[assignment]

    def step() -> Any:
        args[0], metrics = compiled(*args)
        return metrics

    return compiled, timing.loop(step)


def time_variants(config: ProfileConfig) -> dict[str, Any]:
    """Every variant's images/s and GFLOP/s (each credited with XLA's FLOP count of the
    trainer's own step, so that all do the same useful work), in turns with the matmul."""
    keys = ("trainer", *(config.variants or VARIANTS))
    steps = {VARIANTS[key].name: _variant_step(key, config.batch_size) for key in keys}
    flops = timing.compiled_flops(steps[VARIANTS["trainer"].name][0])
    sides = {name: side for name, (_, side) in steps.items()}
    seconds, matmul = timing.with_matmul(sides, config.steps, config.repeats)
    rows = {
        name: {"images_per_s": config.batch_size / s, **timing.roofline(flops, s, matmul)}
        for name, s in seconds.items()
    }
    return {"step_gflop": flops / 1e9, "matmul_gflops": matmul, "variants": rows}


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
    if "thunks" in config.parts:
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "") + " --xla_cpu_enable_xprof_traceme"
        )
    results = timing.environment()
    timing.show(results)
    measures = {"thunks": profile_thunks, "layers": time_layers, "variants": time_variants}
    for part in config.parts:
        results[part] = measures[part](config)
        timing.show({part: results[part]})
    if "thunks" in config.parts and config.torch and torch_peer.version() is not None:
        for compile in (False, True):
            print(profile_torch(compile, config))
    results["load_after"] = timing.load()
    timing.write_json(config.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
