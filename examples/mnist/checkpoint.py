"""Checkpoints of a training run with orbax: the state pytree plus a JSON record of the run.

Orbax writes each checkpoint into a temporary folder and renames it when complete, so a
process killed mid-write leaves the previous checkpoint as the latest one. The record carries
`FORMAT`, the layout of the state; `read_record` lets the trainer compare a checkpoint's run
with its own before it restores any array.

Orbax checks no contents: a flipped byte in an array file restores silently as other numbers.
So each checkpoint, once complete, gets `checksums.json`, the SHA-256 of every file in it,
and `verify` compares them before a resume. A checkpoint without the file (written by an
older trainer, or killed between orbax's rename and the checksums) is checked only by
whether it restores. `set_aside` moves a bad checkpoint out of orbax's folder, so that its
step neither counts as the latest nor blocks a new save of that step.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from typing import Any

import jax
import orbax.checkpoint as ocp

_CHECKSUMS = "checksums.json"

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
        if os.path.exists(self.directory) and not os.path.isdir(self.directory):
            # Orbax would fail only at the first save, after training up to it.
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", self.directory)
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
        if jax.process_index() == 0:
            self._write_checksums(step)

    def _step_dir(self, step: int) -> str:
        return os.path.join(self.directory, str(step))

    def _file_digests(self, step: int) -> dict[str, str]:
        root = self._step_dir(step)
        digests = {}
        for folder, _, names in os.walk(root):
            for name in names:
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, root)
                if relative != _CHECKSUMS:
                    with open(path, "rb") as f:
                        digests[relative] = hashlib.file_digest(f, "sha256").hexdigest()
        return digests

    def _write_checksums(self, step: int) -> None:
        path = os.path.join(self._step_dir(step), _CHECKSUMS)
        digests = self._file_digests(step)
        with open(path + ".tmp", "w") as f:
            json.dump(digests, f, indent=0, sort_keys=True)
        os.replace(path + ".tmp", path)  # a reader never sees half a file

    def verify(self, step: int) -> str | None:
        """What is wrong with the files of the checkpoint at `step` (None: nothing found).

        Compares them with the checksums written with it; without checksums, nothing is found.
        """
        path = os.path.join(self._step_dir(step), _CHECKSUMS)
        if not os.path.exists(path):
            return None
        try:
            with open(path) as f:
                expected = json.load(f)
            actual = self._file_digests(step)
        except (OSError, ValueError) as e:
            return f"its checksums cannot be read ({e})"
        if not isinstance(expected, dict):
            return f"its {_CHECKSUMS} is not a JSON object"
        for name, digest in sorted(expected.items()):
            if name not in actual:
                return f"{name} is missing"
            if actual[name] != digest:
                return f"{name} differs from its checksum"
        return None

    def set_aside(self, step: int) -> str:
        """Moves the checkpoint at `step` to `<directory>.corrupt/<step>`; returns where."""
        target = os.path.join(self.directory + ".corrupt", str(step))
        _barrier(f"verified_{step}")  # no process is still reading it
        if jax.process_index() == 0:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.rmtree(target, ignore_errors=True)
            os.replace(self._step_dir(step), target)
        _barrier(f"set_aside_{step}")
        self._manager.reload()
        return target

    def delete(self, step: int) -> None:
        """Removes the checkpoint at `step`."""
        self._manager.delete(step)

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


def _barrier(name: str) -> None:
    """Waits until every process gets here (a no-op in a single process)."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(name)
