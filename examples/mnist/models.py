"""The models: the Flax example CNN and a small MLP, both taking float images in [0, 1]."""

from __future__ import annotations

import flax.linen as nn
import jax


class CNN(nn.Module):
    """Conv32-pool-Conv64-pool-Dense256-Dense10, as in Flax's MNIST example."""

    num_classes: int = 10

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = nn.avg_pool(nn.relu(nn.Conv(32, kernel_size=(3, 3))(x)), (2, 2), strides=(2, 2))
        x = nn.avg_pool(nn.relu(nn.Conv(64, kernel_size=(3, 3))(x)), (2, 2), strides=(2, 2))
        x = x.reshape(x.shape[0], -1)
        x = nn.relu(nn.Dense(256)(x))
        return nn.Dense(self.num_classes)(x)


class MLP(nn.Module):
    """Flatten-Dense(hidden)-Dense10: cheap enough for tests where the model does not matter."""

    hidden: int = 128
    num_classes: int = 10

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = x.reshape(x.shape[0], -1)
        x = nn.relu(nn.Dense(self.hidden)(x))
        return nn.Dense(self.num_classes)(x)


def create(name: str) -> nn.Module:
    """Returns the model called `name` ("cnn" or "mlp")."""
    models: dict[str, type[nn.Module]] = {"cnn": CNN, "mlp": MLP}
    if name not in models:
        raise ValueError(f"model must be one of {', '.join(models)}, got {name!r}")
    return models[name]()
