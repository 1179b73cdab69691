"""`edgekit-hub serve` started as a real process for the tests, on a free loopback port."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

__all__ = ["free_port", "start_hub"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_hub(tmp_path: Path, db: str, port: int, admin: str) -> subprocess.Popen[str]:
    (tmp_path / "admin.token").write_text(admin)
    subprocess.run(
        [sys.executable, "-c", "from edgekit_server.hub.cli import main; main()", "keygen",
         str(tmp_path / "key")],
        check=True, capture_output=True,
    )  # fmt: skip
    args = [
        "serve",
        "--key",
        str(tmp_path / "key"),
        "--admin-token-file",
        str(tmp_path / "admin.token"),
    ]
    args += ["--data", str(tmp_path / "data"), "--db", db, "--port", str(port)]
    code = "from edgekit_server.hub.cli import main; main()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args], stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"the hub exited: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=1).is_success:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("the hub did not answer within 60 s")
