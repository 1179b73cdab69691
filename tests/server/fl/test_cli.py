"""``edgekit-fl`` as a user meets it: a mistake is one ``error:`` line and exit status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edgekit_server.fl import cli


def _edgekit_fl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edgekit_server.fl.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "/nonexistent"], "is not a federation workspace"),
        (["deploy", "/nonexistent", "--port", "8001"], "is not a federation workspace"),
        (["build", "/tmp/unused-workspace", "--dataset", "birdsong"], "dataset must be one of"),
    ],
)
def test_a_users_mistake_is_one_error_line_and_exit_2(args: list[str], message: str) -> None:
    # Execute
    done = _edgekit_fl(*args)

    # Assert
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not Path("/tmp/unused-workspace").exists()


def test_a_bug_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    # Prepare: a command whose code fails the way a bug does (not an EdgekitError)
    def broken(workspace: Path) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(cli, "_workspace", broken)
    monkeypatch.setattr(sys, "argv", ["edgekit-fl", "simulate", "/nonexistent"])

    # Execute / Assert: the error goes through, not turned into exit status 2
    with pytest.raises(KeyError, match="a bug"):
        cli.main()
