"""Cooldown branches: results for several run lengths from one warmup-stable run.

Train a *stable* run (for example `--schedule warmup_constant`) with checkpoints kept at the
branch points (`--keep-checkpoint-steps 500,1000`). A branch is started with
`--cooldown-from STABLE_WORKDIR --cooldown-at STEP --cooldown-steps N`: it takes the stable
run's flags from its config.json (`configs.take_unset`), restores its checkpoint at STEP
(parameters, optimizer state, step count and data-order key) and trains on to STEP + N with the
schedule `jaxsched.cooldown(<the stable run's schedule>, STEP, N, shape)`.

Nothing else changes, so a branch is the stable run continued: the optimizer state counts on
from STEP, where the cooldown still gives the stable value, and the data order of an epoch
depends only on the data key and the epoch (`core.permutation`), so a branch trains on the
same batches the stable run would. A branch of length STEP + N is therefore the
warmup-stable-decay run of that length, at the cost of N updates instead of STEP + N.

The trainer (`train.py`) calls `branch_schedule`, `end_step` and `record_entry` while setting
up a run and `restore_branch_point` when a branch starts; a branch's own checkpoints and
`--resume` work as for any run, its record naming what it branched from.
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
    """The record the stable run's checkpoints carry, from a branch's `record`: the same but
    for the schedule, the stable one that the cooldown wraps."""
    stable = {key: value for key, value in record.items() if key != "branched_from"}
    stable["schedule"] = record["schedule"]["schedule"]
    return stable


def restore_branch_point(config: Config, record: dict[str, Any], like: Any) -> Any:
    """The stable run's checkpoint at `config.cooldown_at`, restored shaped like `like` (a new
    run's state) after checking that it carries `record` (`stable_record`).

    Raises:
      checkpoint.CheckpointError: no such work dir or checkpoint, a corrupt one, or one whose
        record disagrees with `record` (the record of a run is everything that changes its
        results).
    """
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
