"""The trainer's work dir: created, checked writable, and held by one trainer at a time.

Two trainers writing into one work dir interleave their metrics.jsonl lines and remove each
other's checkpoints. `claim` takes an OS lock (`fcntl.flock`) on `<workdir>/trainer.lock`: the
kernel releases it when the process ends, however it ends, so a killed run leaves no stale
lock. The file names the holder (pid and host) for the message a second trainer prints. The
lock is advisory and per host: flock on a network file system may not reach other machines.
"""

from __future__ import annotations

import fcntl
import os
import socket

LOCK_FILE = "trainer.lock"


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


def claim(workdir: str, exclusive: bool = True) -> Lock:
    """Creates `workdir` if needed and, with `exclusive`, locks it for this process.

    In a multi-process run only process 0 passes `exclusive`: the processes of one run share
    the work dir.

    Raises:
      WorkdirError: `workdir` is a file, cannot be created or written, or another trainer
        holds it.
    """
    _create(workdir)
    path = os.path.join(workdir, LOCK_FILE)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
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
