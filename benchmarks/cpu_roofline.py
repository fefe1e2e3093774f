"""The CNN step's achieved GFLOP/s under ways of compiling it, against a float32 matmul.

    python -m benchmarks.cpu_roofline [--steps 20] [--repeats 5] [--json figures.json]

Every variant (`VARIANTS`; benchmarks/README.md lists them) compiles the core's
`Core.train_step` for the same computation; each is credited with XLA's FLOP count of the
trainer's own step (`benchmarks/roofline.py`), so that all do the same useful work.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

import jaxsched
from benchmarks import cli, roofline, timing
from benchmarks.trainer_step import random_images
from examples.mnist import core, cpu_tuning, models

YNN = "xla_cpu_experimental_ynn_fusion_type"
# The convolution itself, kept before the NCHW variant patches `jax.lax` for its model.
_LAX_CONV = jax.lax.conv_general_dilated


@dataclasses.dataclass(frozen=True)
class RooflineConfig:
    """What the benchmark runs; each field is a command-line flag.

    Attributes:
      steps: updates per timing.
      repeats: timings of every variant, in turns (their median is reported).
      batch_size: images per update.
      variants: the variants to time beside the trainer's, comma-separated keys of
        `VARIANTS` (default: all).
      json: also write the figures to this file.
    """

    steps: int = 20
    repeats: int = 5
    batch_size: int = 128
    variants: tuple[str, ...] = ()
    json: str | None = None

    def __post_init__(self) -> None:
        unknown = [key for key in self.variants if key not in VARIANTS]
        if unknown:
            raise ValueError(f"--variants: {', '.join(unknown)} not among {', '.join(VARIANTS)}")


def _ynn(*kinds: str) -> dict[str, str]:
    return {YNN: ",".join(f"LIBRARY_FUSION_TYPE_{kind}" for kind in kinds)}


_TRAINER = _ynn("DOT", "ELTWISE", "REDUCE")
# oneDNN (linked into jaxlib) takes each dot alone; it has no convolution fusion here, and
# its LIBRARY_FUSION_TYPE_DOT fusions fail to compile ("partition compile failed").
_ONEDNN_DOTS = {
    "xla_cpu_use_onednn": True,
    "xla_cpu_experimental_onednn_fusion_type": "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT",
}
_CONCURRENT = _TRAINER | {"xla_cpu_scheduler_type": "CPU_SCHEDULER_TYPE_CONCURRENCY_OPTIMIZED"}


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
    "onednn_dots": Variant("oneDNN for dots, no YNNPACK", _ynn() | _ONEDNN_DOTS),
    "onednn_dots_ynn": Variant(
        "oneDNN for dots, YNNPACK for eltwise, reduce", _ynn("ELTWISE", "REDUCE") | _ONEDNN_DOTS
    ),
    "concurrency_scheduler": Variant("trainer + concurrency-optimized scheduler", _CONCURRENT),
    "wgrad_matmul": Variant("trainer, weight gradients as matmuls", _TRAINER, "wgrad_matmul"),
    "conv1_wgrad_matmul": Variant(
        "trainer, conv1's weight gradient as a matmul", _TRAINER, "conv1_wgrad_matmul"
    ),
}


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


_NHWC = ("NHWC", "HWIO", "NHWC")


def _same_conv(x: Any, w: Any) -> Any:
    return _LAX_CONV(x, w, (1, 1), "SAME", dimension_numbers=_NHWC)


@jax.custom_vjp
def _wgrad_matmul(x: Any, w: Any) -> Any:
    """A stride-1 SAME 3x3 convolution whose weight gradient is one matrix product of the
    input's patches and the output's gradient (XLA:CPU computes it as a convolution with a
    14x14 or 28x28 window, on transposed copies)."""
    return _same_conv(x, w)


def _wgrad_matmul_fwd(x: Any, w: Any) -> tuple[Any, Any]:
    return _same_conv(x, w), (x, w)


def _wgrad_matmul_bwd(residuals: Any, dy: Any) -> tuple[Any, Any]:
    x, w = residuals
    (dx,) = jax.vjp(lambda x: _same_conv(x, w), x)[1](dy)
    height, width, cin = x.shape[1:]
    padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    patches = jnp.concatenate(
        [padded[:, i : i + height, j : j + width, :] for i in range(3) for j in range(3)], -1
    )
    dw = patches.reshape(-1, 9 * cin).T @ dy.reshape(-1, dy.shape[-1])
    return dx, dw.reshape(w.shape)


_wgrad_matmul.defvjp(_wgrad_matmul_fwd, _wgrad_matmul_bwd)


def _patched_conv(convs: str) -> Any:
    """The `lax.conv_general_dilated` that a variant's CNN is built with."""
    if convs == "nchw":
        return _nchw_conv

    def conv(inputs: Any, kernel: Any, window_strides: Any, padding: Any, **kwargs: Any) -> Any:
        if convs == "wgrad_matmul" or inputs.shape[-1] == 1:
            return _wgrad_matmul(inputs, kernel)
        return _LAX_CONV(inputs, kernel, window_strides, padding, **kwargs)

    return conv


def _step(key: str, config: RooflineConfig) -> tuple[Any, timing.Side]:
    """A variant's compiled step, and the step on one batch as a `benchmarks.timing` side."""
    _, options, convs, donate = VARIANTS[key]
    hyperparams = jax.device_put({"learning_rate": jaxsched.constant(0.01), "momentum": 0.9})
    original = jax.lax.conv_general_dilated
    if convs not in ("native", "matmul"):  # the CNN's graph keeps the convolution it was built with
        models.jax.lax.conv_general_dilated = _patched_conv(convs)  # type: ignore[assignment]
    try:
        the_core = core.build(
            "cnn", "sgd", hyperparams, batch_size=config.batch_size, matmul_convs=convs == "matmul"
        )
        images, labels = map(jnp.asarray, random_images(config.batch_size))
        state = jax.jit(the_core.init)(core.seed_keys(0)[0], hyperparams)
        args = [state, hyperparams, images, labels, jnp.arange(config.batch_size), 0]
        jitted = jax.jit(the_core.train_step, donate_argnums=0 if donate else ())
        compiled = jitted.lower(*args).compile(compiler_options=options or None)
    finally:
        models.jax.lax.conv_general_dilated = original  # type: ignore[assignment]

    def step() -> Any:
        args[0], metrics = compiled(*args)
        return metrics

    return compiled, timing.loop(step)


def measure(config: RooflineConfig) -> dict[str, Any]:
    """Every variant's images/s and GFLOP/s, in turns, and the matmul's GFLOP/s."""
    keys = config.variants or tuple(VARIANTS)
    steps = {VARIANTS[key][0]: _step(key, config) for key in ("trainer", *keys)}
    flops = roofline.compiled_flops(next(iter(steps.values()))[0])
    sides = {name: side for name, (_, side) in steps.items()}
    seconds, matmul = roofline.with_matmul(sides, config.steps, config.repeats)
    results: dict[str, Any] = {"step_gflop": flops / 1e9, "matmul_gflops": matmul, "variants": {}}
    for name, median in seconds.items():
        gflops = flops / median / 1e9
        results["variants"][name] = {
            "images_per_s": config.batch_size / median,
            "gflops": gflops,
            "share_of_matmul": gflops / matmul,
        }
    return results


def main(argv: list[str] | None = None) -> int:
    config, _ = cli.parse(RooflineConfig, argv, "benchmarks.cpu_roofline", __doc__)
    cpu_tuning.keep_freed_memory()  # before JAX starts its backends, as the trainer does
    print(f"load before {timing.load():.2f}", flush=True)
    results = measure(config)
    results["load_after"] = os.getloadavg()
    print(f"{results['step_gflop']:.3f} GFLOP a step (XLA's count of the trainer's step)")
    print(f"float32 2048x2048 matmul: {results['matmul_gflops']:.0f} GFLOP/s")
    for name, row in results["variants"].items():
        print(
            f"  {name:44s} {row['images_per_s']:6.0f} images/s {row['gflops']:6.1f} GFLOP/s "
            f"({row['share_of_matmul']:.0%} of matmul)"
        )
    print(f"load after {results['load_after'][0]:.2f}")
    timing.write_json(config.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
