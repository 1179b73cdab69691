"""Atomic file writes (temp sibling, fsync, rename): a crash never leaves half a file."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_open", "atomic_write_bytes", "building", "remove_path"]


@contextmanager
def atomic_open(path: Path | str) -> Iterator[BinaryIO]:
    """Open a binary handle whose content replaces ``path`` only if the block ends cleanly."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual mode
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically."""
    with atomic_open(path) as handle:
        handle.write(data)


def remove_path(path: Path) -> None:
    """Delete a file, link or folder tree if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextmanager
def building(out: Path) -> Iterator[Path]:
    """Build a folder in ``<out>.partial`` and move it to ``out`` only when the block succeeds.

    A crash leaves ``out`` as it was (an older ``out`` is deleted only after the new one is in
    place) and the partial build is removed.
    """
    build = out.with_name(out.name + ".partial")
    remove_path(build)
    build.mkdir(parents=True)
    try:
        yield build
        old = out.with_name(out.name + ".old")
        remove_path(old)
        if out.exists() or out.is_symlink():
            out.rename(old)
        build.rename(out)
        remove_path(old)
    except BaseException:
        remove_path(build)
        raise
