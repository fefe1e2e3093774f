"""The JAX side of the step benchmarks: the trainer's own compiled update step on one fixed,
device-resident batch, and its roofline figures."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from benchmarks import roofline, timing
from examples.mnist import configs, data, train


def random_images(count: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` random uint8 images and labels, seed 0: a step's cost does not depend on them."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (count, 28, 28, 1), np.uint8)
    return images, rng.integers(0, 10, count).astype(np.int32)


class TrainerStep:
    """The trainer's compiled update step (`train.setup`) on one batch of random images.

    Args:
      model: "cnn" or "linear" (any model of `models.create`).
      batch_size: images per update.
      cpu_tuning: the trainer's CPU tuning (`examples/mnist/cpu_tuning.py`).
      devices: devices to use (0: all).

    Attributes:
      side: the step as a `benchmarks.timing` side.
      compile_seconds: how long the trainer took to compile the step.
    """

    def __init__(self, model: str, batch_size: int, *, cpu_tuning: bool, devices: int = 0):
        images, labels = random_images(batch_size)
        run_config = configs.Config(
            model=model,
            batch_size=batch_size,
            optimizer="sgd",
            momentum=0.9,
            schedule="constant",
            learning_rate=0.01,
            num_devices=devices,
            cpu_tuning=cpu_tuning,
        )
        self.batch_size = batch_size
        self.trainer = train.setup(run_config, data.Dataset(images, labels, images, labels))
        self.state = train.create_state(self.trainer).state
        self.order = jnp.arange(batch_size, dtype=jnp.int32)
        self.compile_seconds = self.trainer.compile_seconds
        self.side = timing.loop(self)

    def __call__(self) -> Any:
        trainer = self.trainer
        self.state, metrics = trainer.train_step(
            self.state,
            trainer.hyperparams,
            trainer.data.train_images,
            trainer.data.train_labels,
            self.order,
            0,
        )
        return metrics["loss"]

    def roofline(self, seconds_a_step: float, matmul_gflops: float) -> dict[str, float]:
        """The step's GFLOP/s (XLA's FLOP count of the compiled step at `seconds_a_step`) and
        its share of `matmul_gflops`."""
        flops = roofline.compiled_flops(self.trainer.train_step)
        return {
            "step_gflop": flops / 1e9,
            "step_gflops": flops / seconds_a_step / 1e9,
            "step_share_of_matmul": flops / seconds_a_step / 1e9 / matmul_gflops,
        }
