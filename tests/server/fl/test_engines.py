"""Both Flower engines run a tiny app as real processes and leave no process behind."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from flwr.common.config import parse_config_args

from edgekit_server.fl.engines import LocalDeployment, run_simulation
from edgekit_server.fl.processes import Session, config_arg, stop_process

APP = Path(__file__).parent / "fixture_app"
FLOWER_PROGRAMS = ("flower-superlink", "flower-supernode", "flower-superexec", "flwr-")


def flower_processes(flwr_home: Path) -> list[str]:
    """Command lines of the live Flower processes whose FLWR_HOME is ``flwr_home``."""
    marker = f"FLWR_HOME={flwr_home.resolve()}".encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            flower = any(p in cmdline for p in FLOWER_PROGRAMS)
            if flower and marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(cmdline)
        except OSError:
            continue
    return found


def test_config_values_survive_flowers_key_value_parser() -> None:
    # Prepare: values that need TOML quoting, escaping or lower-case booleans
    config = {"name": 'a "quoted" path\\with spaces', "lr": 1e-05, "rounds": 3, "fast": True}

    # Execute: what flwr does with our `--run-config` / `--node-config` string
    parsed = parse_config_args([config_arg(config)])

    # Assert
    assert parsed == config


def test_a_sweep_leaves_no_process_of_the_engine_alive(tmp_path: Path) -> None:
    # Prepare: a process whose child leaves its process group (as Ray's helpers do), so that
    # stopping the group leaves the child behind
    session = Session(tmp_path / "flwr", None)
    child = "import time; time.sleep(600)"
    parent = (
        "import subprocess, sys, time; "
        f"subprocess.Popen([sys.executable, '-c', {child!r}], start_new_session=True); "
        "time.sleep(600)"
    )
    process = session.start(["python", "-c", parent], "parent")
    deadline = time.monotonic() + 60
    while len(session.processes()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(session.processes()) == 2
    stop_process(process)
    assert len(session.processes()) == 1  # the child outlived its group

    # Execute
    session.sweep()

    # Assert
    assert session.processes() == []


@pytest.mark.slow
def test_simulation_runs_the_app_and_stops_its_superlink(tmp_path: Path) -> None:
    # Prepare
    flwr_home, out = tmp_path / "flwr", tmp_path / "result.json"

    # Execute
    result = run_simulation(
        APP, flwr_home, num_supernodes=2, run_config={"out-file": str(out)}, timeout=300
    )

    # Assert
    assert result.ok, f"{result.status}: {result.details}\n{result.log}"
    written = json.loads(out.read_text())
    assert [r["round"] for r in written["rounds"]] == [1, 2]
    assert written["partitions"] == [0, 1]
    assert "fixture ClientApp: partition 1 trained" in result.log
    assert flower_processes(flwr_home) == []


@pytest.mark.slow
def test_local_deployment_runs_the_app_on_three_supernodes(tmp_path: Path) -> None:
    # Prepare
    flwr_home, out = tmp_path / "flwr", tmp_path / "result.json"
    nodes = [{"partition-id": i, "num-partitions": 3} for i in range(3)]

    # Execute
    with LocalDeployment(flwr_home, nodes) as deployment:
        result = deployment.run(APP, {"num-nodes": 3, "out-file": str(out)}, timeout=300)
        assert flower_processes(flwr_home) != []  # the check below can see processes

    # Assert
    assert result.ok, f"{result.status}: {result.details}\n{result.log}"
    written = json.loads(out.read_text())
    assert [r["round"] for r in written["rounds"]] == [1, 2]
    assert written["partitions"] == [0, 1, 2]
    node_log = (flwr_home / "logs" / "supernode-2.log").read_text()
    assert "fixture ClientApp: partition 2 trained" in node_log
    assert flower_processes(flwr_home) == []


@pytest.mark.slow
def test_a_failing_server_app_gives_a_failed_result(tmp_path: Path) -> None:
    # Prepare
    flwr_home = tmp_path / "flwr"

    # Execute: 0 rounds makes the fixture ServerApp raise before it sends anything
    with LocalDeployment(flwr_home, [{"partition-id": 0, "num-partitions": 1}]) as deployment:
        result = deployment.run(APP, {"num-server-rounds": 0}, timeout=300)

    # Assert
    assert not result.ok
    assert "failed" in result.status
    assert "num-server-rounds must be >= 1" in result.log + result.details
    assert flower_processes(flwr_home) == []
