"""The models, in Flax NNX: the Flax example CNN, a small MLP and a linear classifier.

All three take float images of shape (batch, 28, 28, 1) in [0, 1] and return 10 logits.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

_pool = functools.partial(nnx.avg_pool, window_shape=(2, 2), strides=(2, 2))


def conv_as_matmul(
    inputs: jax.Array,
    kernel: jax.Array,
    window_strides: Any,
    padding: Any,
    *,
    lhs_dilation: Any = None,
    rhs_dilation: Any = None,
    dimension_numbers: Any = None,
    feature_group_count: int = 1,
    **unused: Any,
) -> jax.Array:
    """A stride-1 "SAME" NHWC convolution as shifted slices and one matrix product.

    A drop-in for `lax.conv_general_dilated` in `nnx.Conv`: under vmap with one kernel per run,
    XLA:CPU's grouped convolution ran 43x slower (BUILD_NOTES.md); a batched matrix product
    does not. Raises ValueError for any other convolution (strided, dilated, grouped).
    """
    del unused, dimension_numbers  # precision, out_sharding; nnx.Conv passes NHWC and HWIO
    ones = (None, 1, (1, 1))
    if (
        padding != "SAME"
        or any(s != 1 for s in window_strides)
        or tuple(lhs_dilation or (1,)) not in ((1,), (1, 1))
        or tuple(rhs_dilation or (1,)) not in ((1,), (1, 1))
        or feature_group_count not in ones
        or kernel.ndim != 4
    ):
        raise ValueError("conv_as_matmul computes only stride-1, SAME, undilated 2D convolutions")
    kh, kw, cin, cout = kernel.shape
    height, width = inputs.shape[1:3]
    pad = ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2)
    padded = jnp.pad(inputs, ((0, 0), *pad, (0, 0)))
    patches = jnp.concatenate(
        [padded[:, i : i + height, j : j + width, :] for i in range(kh) for j in range(kw)],
        axis=-1,
    )
    return patches @ kernel.reshape(kh * kw * cin, cout)


class CNN(nnx.Module):
    """Conv32-pool-Conv64-pool-Dense256-Dense10, as in Flax's MNIST example; `matmul_convs`
    computes the convolutions with `conv_as_matmul` (many runs under one vmap on CPU)."""

    def __init__(self, *, rngs: nnx.Rngs, matmul_convs: bool = False) -> None:
        conv: Any = conv_as_matmul if matmul_convs else jax.lax.conv_general_dilated
        self.conv1 = nnx.Conv(1, 32, kernel_size=(3, 3), conv_general_dilated=conv, rngs=rngs)
        self.conv2 = nnx.Conv(32, 64, kernel_size=(3, 3), conv_general_dilated=conv, rngs=rngs)
        self.linear1 = nnx.Linear(7 * 7 * 64, 256, rngs=rngs)
        self.linear2 = nnx.Linear(256, 10, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        x = _pool(nnx.relu(self.conv1(x)))
        x = _pool(nnx.relu(self.conv2(x)))
        x = x.reshape(x.shape[0], -1)
        return self.linear2(nnx.relu(self.linear1(x)))


class MLP(nnx.Module):
    """Flatten-Dense128-Dense10: cheap enough for tests where the model does not matter."""

    def __init__(self, *, rngs: nnx.Rngs, hidden: int = 128) -> None:
        self.linear1 = nnx.Linear(28 * 28, hidden, rngs=rngs)
        self.linear2 = nnx.Linear(hidden, 10, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.linear2(nnx.relu(self.linear1(x.reshape(x.shape[0], -1))))


class Linear(nnx.Module):
    """Flatten-Dense10 (multinomial logistic regression): a step that costs almost nothing,
    so its time is the per-step overhead around the computation."""

    def __init__(self, *, rngs: nnx.Rngs) -> None:
        self.linear = nnx.Linear(28 * 28, 10, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.linear(x.reshape(x.shape[0], -1))


MODELS: dict[str, Callable[..., nnx.Module]] = {"cnn": CNN, "mlp": MLP, "linear": Linear}


def create(name: str, rngs: nnx.Rngs, *, matmul_convs: bool = False) -> nnx.Module:
    """The model called `name` ("cnn", "mlp" or "linear"); `matmul_convs` is for the CNN."""
    if name not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {name!r}")
    if name == "cnn":
        return CNN(rngs=rngs, matmul_convs=matmul_convs)
    return MODELS[name](rngs=rngs)
