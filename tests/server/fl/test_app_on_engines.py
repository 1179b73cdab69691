"""The federation's Flower app on both engines, as real processes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from edgekit_server.fl.cli import APP_DIR
from edgekit_server.fl.engines import LocalDeployment, run_simulation
from edgekit_server.fl.workspace import Workspace

pytestmark = pytest.mark.slow


def _flower_processes_of(flwr_home: Path) -> list[int]:
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
    assert _flower_processes_of(home) == []


def test_simulation_engine_with_impressions(federation: Workspace, tmp_path: Path) -> None:
    federation.reset_run()
    clients = federation.spec().clients
    run_config = {
        "workspace": str(federation.root),
        "num-server-rounds": 2,
        "impressions": True,
        "impression-count": 8,
        "impression-steps": 40,
        "cluster-k": 2,
    }
    home = tmp_path / "flwr"
    result = run_simulation(APP_DIR, home, len(clients), run_config, timeout=900)
    assert result.ok, result.details + result.log[-2000:]
    results = _results(federation)
    assert [r["round"] for r in results["rounds"]] == [1, 2]
    assert len(results["registry"]) == len(federation.spec().old_labels) + 2
    assert "impressions" in results["rounds"][0]
    assert _flower_processes_of(home) == []
