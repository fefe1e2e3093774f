"""Checkpoints of a training run with orbax: the state pytree plus a JSON record of the run.

Orbax writes each checkpoint into a temporary folder and renames it when complete, so a
process killed mid-write leaves the previous checkpoint as the latest one.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import orbax.checkpoint as ocp


class Checkpoints:
    """The checkpoints of one run, in `directory`.

    Args:
      directory: the folder (created if needed).
      keep: how many of the most recent checkpoints to keep.
    """

    def __init__(self, directory: str, keep: int) -> None:
        self.directory = os.path.abspath(directory)
        # Synchronous: the next update step donates the buffers an async save would still read.
        options = ocp.CheckpointManagerOptions(
            max_to_keep=keep, create=True, enable_async_checkpointing=False
        )
        self._manager = ocp.CheckpointManager(self.directory, options=options)

    def latest_step(self) -> int | None:
        """The step of the newest complete checkpoint, or None if there is none."""
        return self._manager.latest_step()

    def all_steps(self) -> list[int]:
        """The steps of all complete checkpoints, oldest first."""
        return sorted(self._manager.all_steps())

    def save(self, step: int, state: Any, record: dict[str, Any]) -> None:
        """Writes `state` (a pytree of arrays) and `record` (JSON-serialisable) at `step`."""
        self._manager.save(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardSave(state), record=ocp.args.JsonSave(record)
            ),
            force=True,
        )
        self._manager.wait_until_finished()

    def restore(self, step: int, like: Any) -> tuple[Any, dict[str, Any]]:
        """Reads the checkpoint at `step`, shaped, typed and sharded like the pytree `like`."""
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
        restored = self._manager.restore(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardRestore(abstract), record=ocp.args.JsonRestore()
            ),
        )
        return restored.state, dict(restored.record)

    def close(self) -> None:
        """Waits for pending writes and releases the manager."""
        self._manager.close()
