"""Checkpoints of a training run with orbax: the state pytree plus a JSON record of the run.

Orbax renames a checkpoint's folder into place when complete, so a process killed mid-write
leaves the previous one as the latest. It checks no contents, so each complete checkpoint gets
`checksums.json` (SHA-256 of every file), which `verify` compares before a restore; one without
it (killed between orbax's rename and the checksums) is checked only by whether it restores.
`restore_checked`, the one way a run continues from a checkpoint (resume or cooldown branch),
verifies the files, compares the record before reading any array, and checks what it read.
`set_aside` moves a bad checkpoint out of orbax's folder.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp
from jax.experimental import multihost_utils

from examples import flags

_CHECKSUMS = "checksums.json"

# The saved state's layout: 2 is {"run": {"model", "optimizer"}, "step", "data_key"}; the
# Linen trainer's record had no "format".
FORMAT = 2


class CheckpointError(Exception):
    """A checkpoint cannot be continued from; the message says what to do instead."""


class CorruptCheckpointError(CheckpointError):
    """A checkpoint that cannot be read as it was written."""


@jax.jit
def all_finite(tree: Any) -> jax.Array:
    """Whether every float in `tree` is finite (one reduction, on the devices)."""
    leaves = [x for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.inexact)]
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))


class Checkpoints:
    """The checkpoints of one run in `directory` (created if needed): the `keep` most recent,
    and those of `keep_steps` however old."""

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
        """Writes `state` (a pytree of arrays) and `record` (JSON) at `step`.

        Raises:
          CheckpointError: the write failed (a full disk); what it wrote is removed.
        """
        try:
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
        except Exception as e:  # orbax reports a failed write as ValueError, OSError, ...
            for name in os.listdir(self.directory):
                if name == str(step) or name.startswith(f"{step}.orbax-checkpoint-tmp"):
                    _remove(os.path.join(self.directory, name))
            self._manager.reload()
            raise CheckpointError(
                f"writing the checkpoint at step {step} in {self.directory} failed "
                f"({_first_line(e)}); removed what it wrote, so the newest checkpoint is "
                f"{self.latest_step()}: free space (or raise the file-size limit) and continue "
                "with --resume"
            ) from None

    def _step_dir(self, step: int) -> str:
        return os.path.join(self.directory, str(step))

    def _file_digests(self, step: int) -> dict[str, str]:
        root = self._step_dir(step)
        digests = {}
        for folder, _, names in os.walk(root, onerror=_raise):
            for name in names:
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, root)
                if relative != _CHECKSUMS:
                    with open(path, "rb") as f:
                        digests[relative] = hashlib.file_digest(f, "sha256").hexdigest()
        return digests

    def _write_checksums(self, step: int) -> None:
        path, digests = os.path.join(self._step_dir(step), _CHECKSUMS), self._file_digests(step)
        flags.write_whole(path, json.dumps(digests, indent=0, sort_keys=True))

    def verify(self, step: int) -> str | None:
        """What is wrong with the files at `step` by their checksums (None: nothing found).

        Raises:
          CheckpointError: a file cannot be read (permissions, I/O): that proves nothing.
        """
        path = os.path.join(self._step_dir(step), _CHECKSUMS)
        if not os.path.exists(path):
            return None
        try:
            with open(path) as f:
                expected = json.load(f)
            actual = self._file_digests(step)
        except (OSError, ValueError) as e:
            _raise_if_unreadable(step, self.directory, e)
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

    def restore_checked(self, step: int, record: dict[str, Any], like: dict[str, Any]) -> Any:
        """The state saved at `step`, shaped like `like`, if its files are intact, its record
        is `record` and its numbers are finite.

        Raises:
          CorruptCheckpointError: bad checksums, unreadable by orbax, another step or
            non-finite numbers.
          CheckpointError: another run's (naming the differing entries), another format, or
            a file cannot be read (permissions: nothing proven).
        """
        problem = self.verify(step)
        if problem is not None:
            raise CorruptCheckpointError(problem)
        saved = self._read("run record", self.read_record, step)
        where = f"the checkpoint at step {step} in {self.directory}"
        if saved.get("format") != FORMAT:
            written = (
                "by the Linen trainer (no format in its record)"
                if "format" not in saved
                else f"in format {saved['format']!r}"
            )
            raise CheckpointError(
                f"{where} was written {written}; this trainer reads format {FORMAT} only: "
                "start a new run in another --workdir"
            )
        if saved != record:
            raise CheckpointError(
                f"{where} is of another run ({differences(saved, record)}); pass that run's "
                "values (left out, they are taken from its config.json), or start a new run "
                "in another --workdir"
            )
        restored = self._read("arrays", self.restore, step, like)
        if (held := int(jax.device_get(restored["step"]))) != step:
            raise CorruptCheckpointError(f"it holds step {held}")
        if not bool(all_finite(restored)):
            raise CorruptCheckpointError(
                "it holds non-finite numbers, which the trainer never writes: its files (and "
                "their checksums) were changed after it was written"
            )
        return restored

    def _read(self, what: str, read: Callable[..., Any], step: int, *args: Any) -> Any:
        try:
            return read(step, *args)
        except Exception as e:  # orbax raises many kinds (OSError, ValueError, KeyError, ...)
            _raise_if_unreadable(step, self.directory, e)
            raise CorruptCheckpointError(f"its {what} cannot be read ({_first_line(e)})") from None

    def close(self) -> None:
        """Waits for pending writes and releases the manager."""
        self._manager.close()


def differences(saved: dict[str, Any], expected: dict[str, Any]) -> str:
    """How the run record `saved` differs from `expected`: the flags, else the other entries."""
    there = saved.get("config", {})
    named = [
        f"{flags.flag(name)} {there.get(name)!r} there, {value!r} here"
        for name, value in expected["config"].items()
        if there.get(name) != value
    ]
    named = named or [
        f"{name} {there!r} there, {here!r} here"
        for name, there, here in _differing(saved, expected, "its record")
    ]
    return "; ".join(named)


def _differing(saved: Any, expected: Any, name: str) -> list[tuple[str, Any, Any]]:
    """The innermost entries (`name.key.key`) where two JSON values differ."""
    if isinstance(saved, dict) and isinstance(expected, dict):
        return [
            difference
            for key in sorted(set(saved) | set(expected), key=str)
            for difference in _differing(saved.get(key), expected.get(key), f"{name}.{key}")
        ]
    return [] if saved == expected else [(name, saved, expected)]


def _raise(error: OSError) -> None:
    raise error


_NOT_CORRUPTION = (errno.EACCES, errno.EPERM, errno.EIO, errno.EMFILE, errno.ENFILE)


def _raise_if_unreadable(step: int, directory: str, error: BaseException) -> None:
    """Raises CheckpointError if `error` or its cause is an OSError of permissions or I/O."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _NOT_CORRUPTION:
            raise CheckpointError(
                f"cannot read the checkpoint at step {step} in {directory} ({seen.strerror}: "
                f"{seen.filename}); moved nothing, as that proves nothing about its contents: "
                "give the trainer read access and run again"
            ) from None
        seen = seen.__cause__ or seen.__context__


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]


def _barrier(name: str) -> None:
    """Waits until every process gets here (a no-op in a single process)."""
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(name)


def _remove(path: str, patience: float = 5.0) -> None:
    """Removes the folder a failed save wrote. tensorstore's threads may still be finishing
    the save's other writes into it (seen under load: the folder outlived one `rmtree`), so
    this removes again until it is gone, for up to `patience` seconds."""
    deadline = time.monotonic() + patience
    shutil.rmtree(path, ignore_errors=True)
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)
        shutil.rmtree(path, ignore_errors=True)
