"""The trainer's compiled update step as a benchmark side (the trainer, and orbax with it, is
loaded only by the benchmarks that time it)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from benchmarks import timing
from examples.mnist import configs, data, train


class TrainerStep:
    """The trainer's compiled update step (`train.setup`, SGD momentum 0.9, constant 0.01) on
    one batch of random images; `side` is its `loop`, `compile_seconds` the trainer's
    compile time."""

    def __init__(self, model: str, batch_size: int, *, cpu_tuning: bool, devices: int = 0):
        images, labels = timing.random_images(batch_size)
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
        self.trainer = train.setup(run_config, data.Dataset(images, labels, images, labels))
        self.state = train.create_state(self.trainer).state
        self.order = jnp.arange(batch_size, dtype=jnp.int32)
        self.compile_seconds = self.trainer.compile_seconds
        self.side = timing.loop(self)

    def __call__(self) -> Any:
        t = self.trainer
        args = (t.hyperparams, t.data.train_images, t.data.train_labels, self.order, 0)
        self.state, metrics = t.train_step(self.state, *args)
        return metrics["loss"]

    def roofline(self, seconds_a_step: float, matmul_gflops: float) -> dict[str, float]:
        """XLA's FLOP count of the step, its GFLOP/s at `seconds_a_step` and their share of
        `matmul_gflops`."""
        flops = timing.compiled_flops(self.trainer.train_step)
        rates = timing.roofline(flops, seconds_a_step, matmul_gflops)
        return {"step_gflop": flops / 1e9} | {f"step_{k}": v for k, v in rates.items()}
