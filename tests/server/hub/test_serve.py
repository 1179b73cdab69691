"""`edgekit-hub serve` as a real process on PostgreSQL: a bundle goes out over HTTP, a broken
download resumes, the device verifies what it got and runs it."""

from __future__ import annotations

import hashlib
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from edgekit.device.learner import Learner
from edgekit.device.signed import load_public_key, verify_files, verify_metadata
from tests.bundle_fixture import BuiltBundle
from tests.server.hub.postgres import Cluster

pytestmark = pytest.mark.slow
ADMIN = "admin-token-for-the-served-hub"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(tmp_path: Path, db: str, port: int) -> subprocess.Popen[str]:
    (tmp_path / "admin.token").write_text(ADMIN)
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


def test_a_served_bundle_reaches_a_device_that_verifies_and_runs_it(
    built: BuiltBundle, postgres: Cluster, tmp_path: Path
) -> None:
    port = _free_port()
    hub = _start(tmp_path, postgres.database(), port)
    try:
        base, admin = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {ADMIN}"}
        with httpx.Client(base_url=base, timeout=30) as client:
            shas = {}
            for path in sorted(p for p in built.path.rglob("*") if p.is_file()):
                data = path.read_bytes()
                sha = shas[path.relative_to(built.path).as_posix()] = hashlib.sha256(
                    data
                ).hexdigest()
                assert (
                    client.put(f"/v1/admin/blobs/{sha}", content=data, headers=admin).status_code
                    == 201
                )
            body = {"family": "kws", "architecture": "tcresnet", "files": shas}
            assert client.post("/v1/admin/versions", json=body, headers=admin).status_code == 201
            release = {
                "channel": "stable",
                "family": "kws",
                "architecture": "tcresnet",
                "number": 1,
            }
            client.post("/v1/admin/releases", json={**release, "percent": 100}, headers=admin)
            token = client.post("/v1/devices", json={"family": "kws", "architecture": "tcresnet"})
            me = {"Authorization": f"Bearer {token.json()['token']}"}
            offer = client.post("/v1/devices/check-in", json={"wifi": True}, headers=me).json()[
                "offer"
            ]

            out = tmp_path / "device" / "bundle"
            for entry in offer["files"]:
                target = out / entry["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                with client.stream("GET", entry["url"], headers=me) as reply:  # cut off midway
                    first = next(reply.iter_bytes(max(1, entry["size"] // 2)))
                target.write_bytes(first)
                rest = client.get(
                    entry["url"],
                    headers={
                        **me,
                        "Range": f"bytes={len(first)}-",
                        "If-Range": f'"{entry["sha256"]}"',
                    },
                )
                assert rest.status_code in (206, 200)
                target.write_bytes(
                    first + rest.content if rest.status_code == 206 else rest.content
                )
            metadata = client.get(offer["metadata"], headers=me).content
        pinned = load_public_key((tmp_path / "key.pub").read_text())
        meta = verify_metadata(metadata, bytes.fromhex(offer["signature"]), pinned)
        verify_files(meta, out)
        with Learner(out, tmp_path / "device" / "state", read_only=True) as learner:
            assert learner.predict(np.asarray(built.clips.audio[:2])) == learner.predict(
                np.asarray(built.clips.audio[:2])
            )
    finally:
        hub.send_signal(signal.SIGTERM)  # uvicorn shuts down, then exits by the same signal
        assert hub.wait(timeout=30) in (0, -signal.SIGTERM)
        assert "Traceback" not in (hub.stderr.read() if hub.stderr else "")
