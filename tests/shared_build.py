"""Session fixtures built once per test run, however many pytest-xdist workers need them."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest


def shared_folder(
    factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]
) -> Path:
    """This worker's own copy of the folder ``name``, which ``build(folder)`` fills.

    The first worker to ask builds it, under an exclusive lock that the others wait on; every
    worker then copies it into its own temporary folder, so what one worker's tests write never
    reaches another's. Without pytest-xdist the folder is simply built once."""
    base = factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = shared / f"shared-{name}"
    with open(shared / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (folder / ".built").is_file():
            shutil.rmtree(folder, ignore_errors=True)  # a build that failed half-way
            folder.mkdir()
            build(folder)
            (folder / ".built").touch()
    mine = factory.mktemp(name)
    shutil.copytree(folder, mine, dirs_exist_ok=True)
    return mine
