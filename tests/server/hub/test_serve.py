"""`edgekit-hub serve` as a real process on PostgreSQL: a bundle goes out over HTTP, a broken
download resumes, the device verifies what it got and runs it."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import numpy as np
import pytest

from edgekit.device.learner import Learner
from edgekit.device.signed import load_public_key, verify_files, verify_metadata
from edgekit_server.hub.pgtemp import Cluster
from tests.bundle_fixture import BuiltBundle
from tests.server.hub.served import free_port, start_hub, upload_bundle

pytestmark = pytest.mark.slow
ADMIN = "admin-token-for-the-served-hub"


def test_a_served_bundle_reaches_a_device_that_verifies_and_runs_it(
    built: BuiltBundle, postgres: Cluster, tmp_path: Path
) -> None:
    port = free_port()
    hub = start_hub(tmp_path, postgres.database(), port, ADMIN)
    try:
        base, admin = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {ADMIN}"}
        with httpx.Client(base_url=base, timeout=30) as client:
            shas = upload_bundle(client, built.path, admin)
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
