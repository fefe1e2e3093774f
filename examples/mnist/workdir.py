"""The trainer's work dir: created, checked writable, and held by one trainer at a time.

`claim` refuses a symbolic link among the names the trainer writes (a link named
metrics.jsonl would have it append to any file) and takes an OS lock (`fcntl.flock`, released
by the kernel however the process ends; advisory and per host) on `trainer.lock`, which names
the holder. `probe`, before the first update, creates and removes every file and the deepest
checkpoint folder the run will write, so a bad path stops the run before it trains.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket

LOCK_FILE = "trainer.lock"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
CURVES_FILE = "curves.png"
CHECKPOINTS = "checkpoints"
# Every name the trainer writes in the work dir (".tmp": written, then renamed over the file).
WRITTEN: tuple[str, ...] = (
    LOCK_FILE,
    CONFIG_FILE,
    CONFIG_FILE + ".tmp",
    METRICS_FILE,
    METRICS_FILE + ".tmp",
)
WRITTEN += (METRICS_FILE + ".damaged", CURVES_FILE, CHECKPOINTS, CHECKPOINTS + ".corrupt")
# The deepest path orbax writes below a checkpoint's step folder, with room to spare:
# `<step>.orbax-checkpoint-tmp/state.orbax-checkpoint-tmp/ocdbt.process_0/d/<32 hex digits>`.
_CHECKPOINT_TAIL = (".orbax-checkpoint-tmp", "state.orbax-checkpoint-tmp", "ocdbt.process_0", "d")


class WorkdirError(Exception):
    """The work dir cannot be used; the message says what to do instead."""


class Lock:
    """A held work dir; `release` (or the end of the process) frees it."""

    def __init__(self, fd: int | None) -> None:
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def _create(workdir: str) -> None:
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise WorkdirError(f"--workdir {workdir} is a file, not a folder; pass a folder")
    try:
        os.makedirs(workdir, exist_ok=True)
    except OSError as e:
        raise WorkdirError(
            f"cannot create --workdir {workdir} ({e.strerror}); pass a folder you can write to"
        ) from None


def _refuse_links(workdir: str) -> None:
    inside = os.path.join(workdir, CHECKPOINTS)
    names = [os.path.join(workdir, n) for n in WRITTEN]
    if os.path.isdir(inside) and not os.path.islink(inside):
        names += [os.path.join(inside, n) for n in os.listdir(inside)]
    for path in names:
        if os.path.islink(path):
            raise WorkdirError(
                f"{path} is a symbolic link (to {os.readlink(path)}); the trainer writes only "
                "inside --workdir: remove the link, or pass another --workdir"
            )


def claim(workdir: str, exclusive: bool = True) -> Lock:
    """Creates `workdir` if needed and, with `exclusive` (process 0 of a run), locks it.

    Raises:
      WorkdirError: `workdir` is a file, cannot be created or written, holds a symbolic link
        where the trainer writes, or another trainer holds it.
    """
    _create(workdir)
    _refuse_links(workdir)
    path = os.path.join(workdir, LOCK_FILE)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as e:
        raise WorkdirError(
            f"cannot write to --workdir {workdir} ({e.strerror}); pass a folder you can write to"
        ) from None
    if not exclusive:
        os.close(fd)
        return Lock(None)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 200).decode(errors="replace").strip() or "its pid not yet written"
        os.close(fd)
        raise WorkdirError(
            f"--workdir {workdir} is in use by another trainer ({holder}); wait for it to end, "
            "or pass another --workdir"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()} on host {socket.gethostname()}\n".encode())
    return Lock(fd)


def probe(workdir: str, last_step: int, plot: bool) -> None:
    """Creates and removes each file the run will write that is not there yet (an existing
    one is opened for appending) and the deepest checkpoint path at `last_step`.

    Raises:
      WorkdirError: a path is not UTF-8, too long, or cannot be written.
    """
    try:
        os.path.abspath(workdir).encode("utf-8")
    except UnicodeEncodeError:
        raise WorkdirError(
            f"--workdir {workdir!r} is not valid UTF-8, which orbax's checkpoint paths need; "
            "pass a UTF-8 path"
        ) from None
    step_dir = os.path.join(workdir, CHECKPOINTS, str(last_step) + _CHECKPOINT_TAIL[0])
    deepest = os.path.join(step_dir, *_CHECKPOINT_TAIL[1:], "0" * 32)
    files = [CONFIG_FILE + ".tmp", METRICS_FILE + ".tmp", METRICS_FILE] + [CURVES_FILE] * plot
    created = []
    try:
        os.makedirs(os.path.dirname(deepest), exist_ok=True)
        for path in [deepest] + [os.path.join(workdir, name) for name in files]:
            flags = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW
            new = not os.path.exists(path)
            os.close(os.open(path, flags | (os.O_CREAT | os.O_EXCL) * new, 0o644))
            if new:  # only what this probe made is removed: a failed open made nothing
                created.append(path)
    except OSError as e:
        limits = f"paths of up to {os.pathconf('/', 'PC_PATH_MAX')} bytes"
        raise WorkdirError(
            f"cannot write {e.filename} ({e.strerror}; the system allows {limits}); nothing "
            "trained yet: pass a shorter --workdir you can write to"
        ) from None
    finally:
        for path in created:
            os.remove(path)
        shutil.rmtree(step_dir, ignore_errors=True)
