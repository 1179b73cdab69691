"""SIGTERM and SIGHUP stop ``edgekit-fl`` as Ctrl-C does: every process it started is stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgekit_server.fl.processes import free_port
from edgekit_server.fl.stop_signals import STOP_SIGNALS, Stopped, stop_on_signals
from edgekit_server.fl.workspace import Workspace
from tests.server.fl.processes import flower_processes_of


@pytest.mark.parametrize("sig", STOP_SIGNALS)
def test_a_stop_signal_raises_stopped_once_and_the_handlers_come_back(
    sig: signal.Signals,
) -> None:
    # Prepare
    before = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    started = time.monotonic()

    # Execute: the signal interrupts a wait; further ones during the clean-up are ignored
    with stop_on_signals():
        with pytest.raises(Stopped) as stopped:
            os.kill(os.getpid(), sig)
            time.sleep(30)
        for again in STOP_SIGNALS:
            os.kill(os.getpid(), again)
        time.sleep(0.05)

    # Assert
    assert time.monotonic() - started < 10  # interrupted, not slept through
    assert stopped.value.signum == sig and sig.name in str(stopped.value)
    assert {s: signal.getsignal(s) for s in STOP_SIGNALS} == before


@pytest.mark.slow
def test_sigterm_to_a_deploy_stops_every_process_it_started(
    federation: Workspace, tmp_path: Path
) -> None:
    # Prepare: a deployment of the federation, its Flower home of its own
    home, port = tmp_path / "flwr", free_port()
    command = [sys.executable, "-m", "edgekit_server.fl.cli", "deploy", str(federation.root)]
    command += ["--rounds", "2", "--no-impressions", "--port", str(port), "--flwr-home", str(home)]
    deploy = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert deploy.stdout is not None
        line = deploy.stdout.readline()  # printed once every SuperNode is online
        assert f"SuperLink on 127.0.0.1:{port}" in line, deploy.communicate()[1]
        deadline = time.monotonic() + 120
        while not list((home / "logs").glob("run-*.log")):  # the run's log: it was submitted
            assert time.monotonic() < deadline and deploy.poll() is None, "no run was submitted"
            time.sleep(0.2)
        assert flower_processes_of(home)  # the check below can see processes

        # Execute
        deploy.send_signal(signal.SIGTERM)
        _, stderr = deploy.communicate(timeout=120)
        left = flower_processes_of(home)
    finally:  # if the test fails half-way, nothing of it may outlive it
        if deploy.poll() is None:
            deploy.kill()
        for pid in flower_processes_of(home):
            os.kill(pid, signal.SIGKILL)

    # Assert
    assert left == [], f"processes left running: {left}"
    assert deploy.returncode == 128 + signal.SIGTERM, stderr
    assert "stopped by SIGTERM" in stderr
