"""``edgekit-fl`` as a user meets it: a mistake is one ``error:`` line and exit status 2."""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from edgekit_server.fl import cli
from edgekit_server.fl.workspace import Workspace


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
    def broken(*args: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(cli, "_workspace", broken)
    monkeypatch.setattr(sys, "argv", ["edgekit-fl", "simulate", "/nonexistent"])

    # Execute / Assert: the error goes through, not turned into exit status 2
    with pytest.raises(KeyError, match="a bug"):
        cli.main()


def _in_process(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, *args: str):
    """``edgekit-fl args`` in this process: (exit status, the lines it wrote to stderr)."""
    monkeypatch.setattr(sys, "argv", ["edgekit-fl", *args])
    with pytest.raises(SystemExit) as done:
        cli.main()
    return done.value.code, capsys.readouterr().err.strip().splitlines()


def _one_error_line(status: object, lines: list[str], message: str) -> None:
    assert status == 2, lines
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["build", "{file}"], "is a file"),
        (["build", "{file}/below"], "is a file"),
        (["simulate", "{file}"], "is a file, not a federation workspace folder"),
        (["deploy", "{file}", "--port", "8001"], "is a file, not a federation workspace folder"),
        (["demo", "--workdir", "{file}"], "is a file"),
        (["simulate", "{workspace}", "--flwr-home", "{file}"], "--flwr-home"),
    ],
)
def test_a_file_where_a_folder_is_expected_is_one_error_line(
    federation: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    args: list[str],
    message: str,
) -> None:
    # Prepare
    file = tmp_path / "a-file"
    file.write_text("not a folder")
    paths = {"file": str(file), "workspace": str(federation.root)}

    # Execute
    status, lines = _in_process(monkeypatch, capsys, *(a.format(**paths) for a in args))

    # Assert
    _one_error_line(status, lines, message)
    assert file.read_text() == "not a folder"


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00garbage\xff" * 8)


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


DAMAGES: dict[str, tuple[str, Callable[[Path], None], str]] = {  # file, damage, message
    "spec garbage": ("federation.json", _garbage, "is not a readable federation spec"),
    "spec truncated": ("federation.json", _truncated, "is not a readable federation spec"),
    "spec of the wrong shape": (
        "federation.json",
        lambda p: p.write_text('{"clients": 3}'),
        "is not a readable federation spec",
    ),
    "client data truncated": ("clients/0/data.npz", _truncated, "is damaged or missing"),
    "client data missing": ("clients/1/data.npz", Path.unlink, "is damaged or missing"),
    "test set garbage": ("test.npz", _garbage, "is damaged or missing"),
    "bundle weights truncated": ("bundles/resnet/weights.npz", _truncated, "sha256"),
    "bundle manifest garbage": ("bundles/dscnn/manifest.json", _garbage, "not a valid manifest"),
    "checkpoint truncated": ("models/tcresnet.pt", _truncated, "is damaged or missing"),
    "public features garbage": ("models/resnet.public.npy", _garbage, "is damaged or missing"),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_workspace_is_one_error_line_before_any_process_starts(
    federation: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    damage: str,
) -> None:
    # Prepare: a copy of the built workspace with one file damaged
    relative, spoil, message = DAMAGES[damage]
    ws = tmp_path / "ws"
    shutil.copytree(federation.root, ws, ignore=shutil.ignore_patterns("corpus", "server"))
    spoil(ws / relative)

    # Execute
    status, lines = _in_process(monkeypatch, capsys, "simulate", str(ws), "--rounds", "1")

    # Assert: refused before Flower's home (<workspace>/flwr) was made
    _one_error_line(status, lines, message)
    assert not (ws / "flwr").exists()


def _snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under ``root``: its sha256 (folders: "")."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
        for p in sorted(root.rglob("*"))
    }


def test_a_deploy_on_a_taken_port_is_one_error_line_and_leaves_the_workspace_as_it_was(
    federation: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    # Prepare: the state of an earlier run that may still be going on, and its port taken
    (federation.server_dir).mkdir(exist_ok=True)
    (federation.server_dir / "results.json").write_text('{"rounds": []}')
    (federation.client_state(0)).mkdir(parents=True, exist_ok=True)
    (federation.client_state(0) / "learner_state.npz").write_bytes(b"a client's state")
    before = _snapshot(federation.root)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        # Execute
        status, lines = _in_process(
            monkeypatch, capsys, "deploy", str(federation.root), "--port", str(port)
        )

    # Assert
    _one_error_line(status, lines, f"port {port} on 127.0.0.1 is in use")
    assert _snapshot(federation.root) == before
