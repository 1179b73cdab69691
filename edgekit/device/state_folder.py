"""A device's state folder: one writer at a time, and what a killed writer left behind.

The writer lock is ``flock`` on ``<state>/lock`` (exclusive, non-blocking), holding the pid of
its owner for the error message. The kernel drops an ``flock`` when its process dies however it
dies (SIGKILL included), so a lock file left by a dead process is never in the way: the next
writer takes it and writes its own pid. Learners of one process share one lock (a process is one
writer), taken by the first and released when the last closes or is garbage collected.

An atomic save writes a hidden temp file beside its target and renames it (:mod:`edgekit.atomic`);
a save killed before the rename leaves that temp file, which the next writer deletes.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from typing import IO

from edgekit.errors import ConfigError, StateInUse

__all__ = ["StateLock", "clean_temp_files", "set_aside", "state_folder"]

LOCK_FILE = "lock"

_held: dict[Path, tuple[IO[str], int]] = {}  # folder -> (open lock file, learners holding it)
_guard = threading.Lock()


def state_folder(path: Path) -> Path:
    """``path`` as a state folder (created): a file there is a user's mistake, said so."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{path} is a file: the device state is a folder (--state)")
    path.mkdir(parents=True, exist_ok=True)
    return path


class StateLock:
    """The writer lock of ``folder`` for this process; ``release()`` (or garbage collection)
    gives it back. Raises :class:`StateInUse` naming the holder's pid when another has it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self._released = False
        with _guard:
            if self.folder in _held:
                handle, count = _held[self.folder]
                _held[self.folder] = (handle, count + 1)
                return
            handle = (self.folder / LOCK_FILE).open("a+")
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                handle.close()
                raise StateInUse(
                    f"{folder} is in use by pid {holder} (another edgekit command or learner): "
                    "wait for it to finish"
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            _held[self.folder] = (handle, 1)

    def release(self) -> None:
        with _guard:
            if self._released or self.folder not in _held:
                return
            self._released = True
            handle, count = _held.pop(self.folder)
            if count > 1:
                _held[self.folder] = (handle, count - 1)
                return
            handle.close()  # closing the only descriptor drops the flock

    def __del__(self) -> None:
        self.release()


def clean_temp_files(folder: Path) -> int:
    """Delete the temp files of saves killed before their rename (``.<name>.<random>.tmp``, in
    ``folder`` and one level down); call only under the writer lock. Returns how many."""
    found = [*folder.glob(".*.tmp"), *folder.glob("*/.*.tmp")]
    for path in found:
        path.unlink(missing_ok=True)
    return len(found)


def set_aside(path: Path, tag: str) -> Path:
    """Rename ``path`` to ``<name>.<tag>-<UTC time>`` beside it (kept for inspection)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.{tag}-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.{tag}-{stamp}-{n}")
        n += 1
    path.rename(target)
    return target
