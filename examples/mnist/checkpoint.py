"""Checkpoints of a training run with orbax: the state pytree plus a JSON record of the run.

Orbax writes each checkpoint into a temporary folder and renames it when complete, so a
process killed mid-write leaves the previous checkpoint as the latest one. The record carries
`FORMAT`, the layout of the state; `read_record` lets the trainer compare a checkpoint's run
with its own before it restores any array.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import jax
import orbax.checkpoint as ocp

# The layout of the saved state: 2 is the NNX trainer's {"run": {"model", "optimizer"}, "step",
# "data_key"}. The Linen trainer wrote {"params", "opt_state", "step", "data_key"} and a
# record without "format".
FORMAT = 2


class Checkpoints:
    """The checkpoints of one run, in `directory`.

    Args:
      directory: the folder (created if needed).
      keep: how many of the most recent checkpoints to keep.
      keep_steps: steps whose checkpoints are kept as well, however old.
    """

    def __init__(self, directory: str, keep: int, keep_steps: Sequence[int] = ()) -> None:
        self.directory = os.path.abspath(directory)
        policies = ocp.checkpoint_managers
        preservation = policies.AnyPreservationPolicy(
            [policies.LatestN(keep), policies.CustomSteps(list(keep_steps))]
        )
        # Synchronous: the next update step donates the buffers an async save would still read.
        options = ocp.CheckpointManagerOptions(
            create=True, enable_async_checkpointing=False, preservation_policy=preservation
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

    def read_record(self, step: int) -> dict[str, Any]:
        """The run record of the checkpoint at `step`, without reading its arrays."""
        restored = self._manager.restore(
            step, args=ocp.args.Composite(record=ocp.args.JsonRestore())
        )
        return dict(restored.record)

    def restore(self, step: int, like: Any) -> Any:
        """Reads the state at `step`, shaped, typed and sharded like the pytree `like`."""
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
        restored = self._manager.restore(
            step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract))
        )
        return restored.state

    def close(self) -> None:
        """Waits for pending writes and releases the manager."""
        self._manager.close()
