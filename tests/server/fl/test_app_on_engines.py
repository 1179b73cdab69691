"""The federation's Flower app on the Deployment Engine, as real processes (the Simulation
Engine's run is in test_hub_bridge.py, with a hub taking part)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edgekit_server.fl.cli import APP_DIR
from edgekit_server.fl.engines import LocalDeployment
from edgekit_server.fl.workspace import Workspace
from tests.server.fl.processes import flower_processes_of

pytestmark = pytest.mark.slow


def _results(ws: Workspace) -> dict:
    return json.loads((ws.server_dir / "results.json").read_text())


def test_deployment_engine_three_supernodes(federation: Workspace, tmp_path: Path) -> None:
    federation.reset_run()
    clients = federation.spec().clients
    nodes = [{"partition-id": c.id, "num-partitions": len(clients)} for c in clients]
    home = tmp_path / "flwr"
    with LocalDeployment(home, nodes) as deployment:
        run_config = {
            "workspace": str(federation.root),
            "num-server-rounds": 1,  # rounds in sequence: the simulation test below
            "impressions": False,
            "wait-nodes-s": 60,
        }
        result = deployment.run(APP_DIR, run_config, timeout=900)
    assert result.ok, result.details + result.log[-2000:]
    rounds = _results(federation)["rounds"]
    assert [r["round"] for r in rounds] == [1]
    assert all(r["clients"] == len(clients) and not r["rejected"] for r in rounds)
    assert all(r["upload_bytes_per_client"] > 0 for r in rounds)
    assert flower_processes_of(home) == []
