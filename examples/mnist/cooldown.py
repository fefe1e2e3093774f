"""Cooldown branches: results for several run lengths from one warmup-stable run.

Train a stable run (`--schedule warmup_constant --keep-checkpoint-steps 500,1000`), then
branch with `--cooldown-from STABLE_WORKDIR --cooldown-at STEP --cooldown-steps N`: the branch
takes the stable run's flags (`configs.take_unset`), restores its checkpoint at STEP (state,
step count, data key) and trains to STEP + N under `jaxsched.cooldown(stable schedule, STEP,
N, shape)`. The optimizer state counts on from STEP and an epoch's data order depends only on
the data key and epoch, so a branch is the warmup-stable-decay run of length STEP + N at the
cost of N updates. `train.py` calls these functions while setting up and starting a run.
"""

from __future__ import annotations

import os
from typing import Any

import jaxsched
from examples.mnist import checkpoint
from examples.mnist.configs import Config


def branch_schedule(config: Config, stable: jaxsched.Schedule) -> jaxsched.Schedule:
    """`stable` itself, or for a branch the cooldown off it at `config.cooldown_at`."""
    if config.cooldown_from is None:
        return stable
    return jaxsched.cooldown(
        stable, config.cooldown_at, config.cooldown_steps, shape=config.cooldown_shape
    )


def end_step(config: Config) -> int | None:
    """The last step of a branch (None for a run that is not one: it ends with its epochs)."""
    if config.cooldown_from is None:
        return None
    return config.cooldown_at + config.cooldown_steps


def record_entry(config: Config) -> dict[str, Any]:
    """What a branch adds to its run record: where it branched from and how it cools down."""
    if config.cooldown_from is None:
        return {}
    return {
        "branched_from": {
            "workdir": os.path.abspath(config.cooldown_from),
            "step": config.cooldown_at,
            "decay_steps": config.cooldown_steps,
            "shape": config.cooldown_shape,
        }
    }


def stable_record(record: dict[str, Any]) -> dict[str, Any]:
    """The record of the stable run's checkpoints: a branch's `record` with the schedule that
    its cooldown wraps."""
    stable = {key: value for key, value in record.items() if key != "branched_from"}
    stable["schedule"] = record["schedule"]["schedule"]
    return stable


def restore_branch_point(config: Config, record: dict[str, Any], like: Any) -> Any:
    """The stable run's checkpoint at `config.cooldown_at`, shaped like `like`, if it carries
    `record`; checkpoint.CheckpointError if it is missing, corrupt or of another run."""
    assert config.cooldown_from is not None
    if os.path.abspath(config.cooldown_from) == os.path.abspath(config.workdir):
        raise checkpoint.CheckpointError(
            f"--workdir {config.workdir} is the stable run's own (--cooldown-from); give the "
            "branch a new --workdir"
        )
    directory = os.path.join(config.cooldown_from, "checkpoints")
    if not os.path.isdir(directory):
        raise checkpoint.CheckpointError(
            f"--cooldown-from {config.cooldown_from} holds no checkpoints/ folder; give the "
            "--workdir of a stable run"
        )
    stable = checkpoint.Checkpoints(directory, keep=1)
    try:
        steps = stable.all_steps()
        if config.cooldown_at not in steps:
            raise checkpoint.CheckpointError(
                f"{config.cooldown_from} has no checkpoint at step {config.cooldown_at} (it has "
                f"{', '.join(map(str, steps)) or 'none'}); pass one of those to --cooldown-at, "
                "or train the stable run with --keep-checkpoint-steps listing the branch points"
            )
        return stable.restore_checked(config.cooldown_at, record, like)
    except checkpoint.CorruptCheckpointError as e:
        raise checkpoint.CheckpointError(
            f"the checkpoint at step {config.cooldown_at} in {stable.directory} is corrupt "
            f"({e}); branch off another step"
        ) from None
    finally:
        stable.close()
