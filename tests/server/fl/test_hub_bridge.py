"""The federation on Flower's Simulation Engine with impressions and a hub: a real
`edgekit-hub serve` process whose phones posted updates takes part as one node for one
architecture; the phones' updates go into the federation, and each round's result comes back as
a signed hub version. (One run checks both: each Simulation Engine start costs a minute.)"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest

from edgekit.device.hub_update import update_body
from edgekit.device.learner import Learner
from edgekit.device.signed import load_public_key, verify_metadata
from edgekit_server.fl.cli import APP_DIR
from edgekit_server.fl.engines import run_simulation
from edgekit_server.fl.state import load_state
from edgekit_server.fl.strategy import STATE_FILE
from edgekit_server.fl.workspace import Workspace
from tests.server.fl.processes import flower_processes_of
from tests.server.hub.served import free_port, start_hub, upload_bundle

pytestmark = pytest.mark.slow
ADMIN = "admin-token-for-the-bridge-test"
ARCH = "tcresnet"


def _phones_post_updates(ws: Workspace, client: httpx.Client, tmp_path: Path) -> int:
    """Two phones personalise version 1 on a client's clips and post their updates."""
    owner = next(c for c in ws.spec().clients if c.arch == ARCH)
    pcm, labels = ws.client_data(owner.id)
    posted = 0
    for i in range(2):
        token = client.post("/v1/devices", json={"family": "kws", "architecture": ARCH})
        me = {"Authorization": f"Bearer {token.json()['token']}"}
        with Learner(ws.bundle(ARCH), tmp_path / f"phone{i}") as phone:
            mine = [j for j, x in enumerate(labels) if x in phone.live][i::2]
            phone.personalize(pcm[mine], [labels[j] for j in mine], epochs=1)
            body = update_body(phone)
        url = f"/v1/devices/updates?version=1&examples={len(mine)}"
        reply = client.post(url, content=body, headers=me)
        assert reply.status_code == 202 and reply.json()["new_version"] is None, reply.text
        posted += 1
    return posted


def test_simulation_engine_with_impressions_and_a_hub(
    federation: Workspace, tmp_path: Path
) -> None:
    federation.reset_run()
    port = free_port()
    hub = start_hub(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", port, ADMIN)
    admin = {"Authorization": f"Bearer {ADMIN}"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            shas = upload_bundle(client, federation.bundle(ARCH), admin)
            body = {"family": "kws", "architecture": ARCH, "files": shas}
            assert client.post("/v1/admin/versions", json=body, headers=admin).status_code == 201
            release = {"channel": "stable", "family": "kws", "architecture": ARCH, "number": 1}
            client.post("/v1/admin/releases", json={**release, "percent": 100}, headers=admin)
            posted = _phones_post_updates(federation, client, tmp_path)

            clients = len(federation.spec().clients)
            run_config = {
                "workspace": str(federation.root),
                "num-server-rounds": 2,
                "impressions": True,
                "impression-count": 8,
                "impression-steps": 40,
                "cluster-k": 2,
                "hub-url": f"http://127.0.0.1:{port}",
                "hub-token-file": str(tmp_path / "admin.token"),
                "hub-archs": ARCH,
            }
            home = tmp_path / "flwr"
            result = run_simulation(APP_DIR, home, clients + 1, run_config, timeout=900)
            assert result.ok, result.details + result.log[-3000:]

            results = json.loads((federation.server_dir / "results.json").read_text())
            rounds = results["rounds"]
            assert [r["round"] for r in rounds] == [1, 2]
            assert len(results["registry"]) == len(federation.spec().old_labels) + 2
            assert "impressions" in rounds[0]
            assert [r["clients"] for r in rounds] == [clients + 1] * 2
            assert all(not r["rejected"] for r in rounds)
            assert str(clients) in {str(k) for k in rounds[-1]["per_client"]}  # the hub node

            # round 2 published round 1's result, the end published round 2's: versions 2 and 3
            stats = client.get("/v1/admin/stats", headers=admin).json()
            assert stats["updates"] == {"applied": posted}  # sent in round 1, settled in round 2
            token = client.post("/v1/devices", json={"family": "kws", "architecture": ARCH})
            me = {"Authorization": f"Bearer {token.json()['token']}"}
            offer = client.post("/v1/devices/check-in", json={"bundle_version": 1}, headers=me)
            offer = offer.json()["offer"]
            assert offer["number"] == 3
            pinned = load_public_key((tmp_path / "key.pub").read_text())
            metadata = client.get(offer["metadata"], headers=me).content
            verify_metadata(metadata, bytes.fromhex(offer["signature"]), pinned)
            weights = next(f for f in offer["files"] if f["path"] == "weights.npz")
            out = tmp_path / "weights.npz"
            out.write_bytes(client.get(weights["url"], headers=me).content)
    finally:
        hub.terminate()
        hub.wait(30)
    assert flower_processes_of(home) == []

    final = load_state(federation.server_dir / STATE_FILE).weights[ARCH]
    with np.load(out, allow_pickle=False) as published:
        for name, w in final.items():  # the federation's last average is the hub's version
            np.testing.assert_allclose(published[name], w, rtol=1e-6)
    with np.load(federation.bundle(ARCH) / "weights.npz", allow_pickle=False) as first:
        assert any(not np.array_equal(first[n], w) for n, w in final.items())
