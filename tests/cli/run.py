"""Run the command line as a user runs it: a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def edgekit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``edgekit ARGS...`` in a fresh Python process; its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "edgekit.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=600,
    )
