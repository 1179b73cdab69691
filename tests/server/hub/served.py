"""Hubs for the tests: in process over SQLite (`make_hub`), or `edgekit-hub serve` as a real
process on a free loopback port (`start_hub`); a bundle uploaded file by file."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from edgekit_server.hub.blobs import BlobStore
from edgekit_server.hub.buffered import BufferConfig
from edgekit_server.hub.service import Hub
from edgekit_server.hub.signing import generate_key, load_private_key
from edgekit_server.hub.storage import Storage, sqlite_url

__all__ = ["free_port", "make_hub", "start_hub", "upload_bundle"]


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


def upload_bundle(client: Any, bundle: Path, headers: dict[str, str]) -> dict[str, str]:
    """Upload every file of ``bundle`` as a blob (``client``: an httpx or TestClient); the
    ``{path: sha256}`` a version is published from."""
    shas = {}
    for path in sorted(p for p in bundle.rglob("*") if p.is_file()):
        data = path.read_bytes()
        sha = shas[path.relative_to(bundle).as_posix()] = hashlib.sha256(data).hexdigest()
        reply = client.put(f"/v1/admin/blobs/{sha}", content=data, headers=headers)
        assert reply.status_code == 201, reply.text
    return shas


def make_hub(root: Path, max_bytes: int = 4 << 20, buffer: BufferConfig | None = None) -> Hub:
    """A hub over SQLite and blobs under ``root``, its key made there on first use."""
    if not (root / "key").exists():
        generate_key(root / "key")
    storage = Storage(sqlite_url(root))
    return Hub(
        storage, BlobStore(root / "blobs", max_bytes), load_private_key(root / "key"), 30, buffer
    )
