"""Cooldown branches: results for several run lengths from one warmup-stable run.

Train a *stable* run (for example `--schedule warmup_constant`) with checkpoints kept at the
branch points (`--keep-checkpoint-steps 500,1000`). A branch is started with the stable run's
own flags, a new `--workdir` and `--cooldown-from STABLE_WORKDIR --cooldown-at STEP
--cooldown-steps N`: it restores the stable run's checkpoint at STEP (parameters, optimizer
state, step count and data-order key) and trains on to STEP + N with the schedule
`jaxsched.cooldown(<the stable run's schedule>, STEP, N, shape)`.

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

import json
import os
from typing import TYPE_CHECKING, Any

import jaxsched
from examples.flags import flag
from examples.mnist import checkpoint
from examples.mnist.configs import Config

if TYPE_CHECKING:
    from examples.mnist.train import Trainer


class BranchError(Exception):
    """A cooldown branch cannot start; the message says what to do instead."""


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


def stable_record(trainer: Trainer) -> dict[str, Any]:
    """The record the stable run's checkpoints must carry for `trainer`'s branch."""
    branch = trainer.schedule
    assert isinstance(branch, jaxsched.Cooldown)
    record = dict(trainer.record())
    del record["branched_from"]
    record["schedule"] = branch.schedule.to_config()
    return record


def _disagreement(saved: dict[str, Any], expected: dict[str, Any]) -> str:
    """The first difference between two run records, in flag terms."""
    saved_config, config = saved.get("config", {}), expected["config"]
    for name, value in config.items():
        if saved_config.get(name) != value:
            return f"{flag(name)} {value} where the stable run had {saved_config.get(name)}"
    for key in sorted(set(saved) | set(expected)):
        if saved.get(key) != expected.get(key):
            return f"its {key} {json.dumps(saved.get(key))} is not this run's"
    return ""


def _open_stable(config: Config) -> checkpoint.Checkpoints:
    """The stable run's checkpoints, after checking that they exist and are another run's."""
    assert config.cooldown_from is not None
    directory = os.path.join(config.cooldown_from, "checkpoints")
    if os.path.abspath(config.cooldown_from) == os.path.abspath(config.workdir):
        raise BranchError(
            f"--workdir {config.workdir} is the stable run's own (--cooldown-from); give the "
            "branch a new --workdir"
        )
    if not os.path.isdir(directory):
        raise BranchError(
            f"--cooldown-from {config.cooldown_from} holds no checkpoints/ folder; give the "
            "--workdir of a stable run"
        )
    return checkpoint.Checkpoints(directory, keep=1)


def restore_branch_point(trainer: Trainer, like: Any) -> Any:
    """The stable run's checkpoint at `cooldown_at`, restored shaped like `like` (the
    trainer's checkpoint state of a new run).

    Raises:
      BranchError: no such work dir or checkpoint, or the stable run's record disagrees with
        this run's flags (the record of a run is everything that changes its results).
    """
    config = trainer.config
    stable = _open_stable(config)
    try:
        steps = stable.all_steps()
        if config.cooldown_at not in steps:
            raise BranchError(
                f"{config.cooldown_from} has no checkpoint at step {config.cooldown_at} (it has "
                f"{', '.join(map(str, steps)) or 'none'}); pass one of those to --cooldown-at, "
                "or train the stable run with --keep-checkpoint-steps listing the branch points"
            )
        problem = stable.verify(config.cooldown_at)
        if problem is not None:
            raise BranchError(
                f"the checkpoint at step {config.cooldown_at} in {stable.directory} is corrupt "
                f"({problem}); branch off another step"
            )
        saved = stable.read_record(config.cooldown_at)
        expected = stable_record(trainer)
        if saved != expected:
            raise BranchError(
                f"the checkpoint in {stable.directory} is not of this branch's stable run: "
                f"{_disagreement(saved, expected)}; pass the stable run's flags"
            )
        restored = stable.restore(config.cooldown_at, like)
    finally:
        stable.close()
    if trainer.is_main:
        print(
            f"branching off {stable.directory} at step {config.cooldown_at}: "
            f"{config.cooldown_shape} cooldown over {config.cooldown_steps} steps",
            flush=True,
        )
    return restored
