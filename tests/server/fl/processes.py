"""Which Flower processes of a run are still alive (Linux /proc)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["flower_processes_of"]


def flower_processes_of(flwr_home: Path) -> list[int]:
    """Live flower processes whose FLWR_HOME is ``flwr_home`` (Linux /proc)."""
    marker = f"FLWR_HOME={flwr_home.resolve()}".encode()
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            status = (entry / "status").read_text()
            if "State:\tZ" in status:  # zombies are exited processes
                continue
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return [p for p in pids if p != os.getpid()]
