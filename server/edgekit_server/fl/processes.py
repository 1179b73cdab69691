"""The processes behind the engines: environment, logs, one `flwr run`, and clean-up.

Every process gets ``FLWR_HOME``, the venv's bin first on ``PATH`` (flwr starts its helpers by
name), no telemetry, no runtime dependency installation, and a tag in its environment that its
children inherit, so that a sweep finds whatever an engine left behind (Linux ``/proc``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgekit_server.errors import FlowerError

__all__ = [
    "DEPLOY",
    "LOCAL",
    "NodeConfig",
    "RunConfig",
    "RunResult",
    "Session",
    "check_port_free",
    "config_arg",
    "free_port",
    "parse_json",
    "signal_group",
    "stop_process",
    "tail",
    "wait_healthy",
]

RunConfig = Mapping[str, int | float | str | bool]
NodeConfig = Mapping[str, int | float | str]

LOCAL = "local"  # name of the Simulation Engine's SuperLink connection in config.toml
DEPLOY = "deploy"  # name of the LocalDeployment's SuperLink connection in config.toml
GRACE_S = 10.0  # seconds a process gets between SIGTERM and SIGKILL
SWEEP_S = 120.0  # seconds a sweep may take before it gives up on processes that do not exit
CLI_TIMEOUT_S = 120.0  # seconds a short `flwr` command (run, list, stop) may take
_BIN = Path(sys.executable).parent  # the venv's bin: flwr starts its helpers by name from PATH
_TAG = "EDGEKIT_FLWR_ENGINE"  # environment variable that marks the processes of one engine
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_KEY = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class RunResult:
    """What one Flower run ended with."""

    run_id: str  # Flower's id of the run
    status: str  # Flower's status: "finished:completed", "finished:failed", "finished:stopped"
    details: str  # Flower's status details, e.g. the error of a failed run ("N/A" if none)
    log: str  # the run's log from `flwr log` (ServerApp output; ClientApps' too in simulation)
    seconds: float  # wall time from submission to the end of the run, in seconds

    @property
    def ok(self) -> bool:
        """Whether the run completed without error."""
        return self.status == "finished:completed"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Session:
    """The processes of one engine: their environment, their logs and their clean-up.

    Every process gets ``FLWR_HOME``, our bin first on ``PATH`` (flwr starts its helpers by
    name), no telemetry, and a tag that its children inherit, so that :meth:`sweep` finds them.
    """

    def __init__(self, flwr_home: Path, log_dir: Path | None, **env: str) -> None:
        self.flwr_home = flwr_home.resolve()
        self.log_dir = (log_dir or self.flwr_home / "logs").resolve()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.tag = f"{_TAG}={uuid.uuid4().hex}"
        no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1,localhost"]))
        self.env = {
            **os.environ,
            "FLWR_HOME": str(self.flwr_home),
            "PATH": os.pathsep.join(filter(None, [str(_BIN), os.environ.get("PATH")])),
            "FLWR_TELEMETRY_ENABLED": "0",
            "FLWR_DISABLE_UPDATE_CHECK": "1",
            "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",  # no `uv sync` per run
            "RAY_DEDUP_LOGS": "0",
            "NO_PROXY": no_proxy,  # flwr's HTTP client must not send loopback to a proxy
            "no_proxy": no_proxy,
            _TAG: self.tag.split("=", 1)[1],
            **env,
        }

    def start(self, command: list[str], log_name: str) -> subprocess.Popen[bytes]:
        """Start a program of our bin in its own process group, output to ``<log_name>.log``."""
        with (self.log_dir / f"{log_name}.log").open("wb") as log:
            return subprocess.Popen(
                [str(_BIN / command[0]), *command[1:]],
                env=self.env,
                cwd=self.flwr_home,  # neutral: Ray workers put the cwd on sys.path
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def flwr(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a short `flwr` command and capture its output."""
        try:
            return subprocess.run(
                [str(_BIN / "flwr"), *args],
                env=self.env,
                cwd=self.flwr_home,
                capture_output=True,
                text=True,
                timeout=CLI_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as err:
            raise FlowerError(f"`flwr {' '.join(args)}` took over {CLI_TIMEOUT_S:.0f} s") from err

    def run(
        self,
        app_dir: Path,
        connection: str,
        run_config: RunConfig | None,
        timeout: float,
        *extra_args: str,
    ) -> RunResult:
        """Submit a run with `flwr run`, stream its log until it ends, read its final status."""
        start = time.monotonic()
        args = ["run", str(app_dir), connection, "--format", "json", *extra_args]
        if run_config:
            args += ["--run-config", config_arg(run_config)]
        submitted = self.flwr(*args)
        run_id = str(parse_json(submitted.stdout).get("run-id") or "")
        if submitted.returncode != 0 or not run_id:
            raise FlowerError(
                f"`flwr run {app_dir} {connection}` failed (exit code {submitted.returncode}):\n"
                + (submitted.stdout + submitted.stderr)[-4000:]
            )
        stream = self.start(["flwr", "log", run_id, connection, "--stream"], f"run-{run_id}")
        log_path = self.log_dir / f"run-{run_id}.log"
        try:
            stream.wait(timeout=max(timeout - (time.monotonic() - start), 0.0))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(FlowerError):
                self.flwr("stop", run_id, connection)
            raise FlowerError(
                f"run {run_id} did not finish within {timeout:.0f} s (asked Flower to stop it). "
                f"Log tail:\n{tail(log_path)}"
            ) from None
        finally:
            stop_process(stream)
        status, details = "unknown", ""
        for _ in range(20):  # the status can trail the end of the log stream by a moment
            listing = self.flwr("list", connection, "--run-id", run_id, "--format", "json")
            run = (parse_json(listing.stdout).get("runs") or [{}])[0]
            status, details = str(run.get("status", "unknown")), str(run.get("status-details"))
            if status.startswith("finished"):
                break
            time.sleep(1.0)
        log = _ANSI.sub("", log_path.read_text(errors="replace"))
        return RunResult(run_id, status, details, log, time.monotonic() - start)

    def sweep(self, programs: Iterable[str] | None = None) -> None:
        """Stop this engine's processes that are still alive, or only those running one of
        ``programs``: SIGTERM, then SIGKILL after GRACE_S. A process being stopped may start
        others (Ray's helpers do), so the sweep repeats until none is left; after SWEEP_S it
        raises FlowerError naming the survivors. Finds processes through /proc (Linux);
        elsewhere it finds none."""
        deadline = time.monotonic() + SWEEP_S
        while pids := self.processes(programs):
            if time.monotonic() > deadline:
                raise FlowerError(f"processes {pids} started by this engine did not exit")
            _terminate(pids)

    def processes(self, programs: Iterable[str] | None = None) -> list[int]:
        """Pids of the live processes carrying this engine's tag (its children and theirs,
        whatever they run), or only of those running one of ``programs``."""
        marker, names, pids = self.tag.encode(), set(programs or ()), []
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                if marker not in (entry / "environ").read_bytes().split(b"\0"):
                    continue
                argv = (entry / "cmdline").read_bytes().split(b"\0")[:2]
            except OSError:  # gone, or not ours
                continue
            if names and not any(Path(a.decode(errors="replace")).name in names for a in argv):
                continue
            if int(entry.name) != os.getpid() and _alive(int(entry.name)):
                pids.append(int(entry.name))
        return pids


def config_arg(config: Mapping[str, int | float | str | bool]) -> str:
    """Format a config for `--run-config`/`--node-config`: space-separated TOML `key=value`s."""
    return " ".join(f"{key}={_toml_value(key, value)}" for key, value in config.items())


def _toml_value(key: str, value: int | float | str | bool) -> str:
    """Return ``value`` as a TOML literal that flwr's `key=value` parser reads back unchanged.

    flwr splits the pairs with the regex ``(\\S+?)=('[^']*'|"[^"]*"|\\S+)`` before TOML parsing,
    so a string is written as a basic string whose quotes and control characters are escaped
    as ``\\uXXXX`` (a ``\\"`` would end the regex's match early).
    """
    if not _KEY.fullmatch(key):
        raise ValueError(f"config keys must match [A-Za-z0-9_.-]+, got {key!r}")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = "".join(
            "\\\\" if c == "\\" else f"\\u{ord(c):04x}" if c == '"' or ord(c) < 32 else c
            for c in value
        )
        return f'"{escaped}"'
    raise TypeError(f"config values must be int, float, str or bool, got {type(value).__name__}")


def parse_json(text: str) -> dict[str, Any]:
    """Parse the JSON object in a `flwr --format json` output; {} when there is none."""
    try:
        value = json.loads(text[text.find("{") :])
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def wait_healthy(process: subprocess.Popen[bytes], port: int, timeout: float) -> None:
    """Wait until the SuperLink on ``port`` answers /health, or raise FlowerError."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise FlowerError(f"the SuperLink exited with code {process.returncode} at start")
        try:
            with opener.open(f"http://127.0.0.1:{port}/health", timeout=1.0) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise FlowerError(f"the SuperLink on 127.0.0.1:{port} was not healthy within {timeout:.0f} s")


def check_port_free(port: int) -> None:
    """Raise FlowerError if something already listens on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as err:
            raise FlowerError(f"port {port} on 127.0.0.1 is in use") from err


def signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Send ``sig`` to the process group that ``process`` leads (it and its children)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM ``process`` and its group; SIGKILL the group if it is alive after GRACE_S.

    Children that outlive their group's leader are left to the tagged-process sweep.
    """
    if process.poll() is not None:
        return
    signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=GRACE_S)
    except subprocess.TimeoutExpired:
        signal_group(process, signal.SIGKILL)
        process.wait()


def _terminate(pids: list[int]) -> None:
    """SIGTERM ``pids``, wait up to GRACE_S for them to exit, then SIGKILL the rest."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + GRACE_S
        while (pids := [pid for pid in pids if _alive(pid)]) and time.monotonic() < deadline:
            time.sleep(0.2)


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, which only waits to be reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def tail(path: Path, chars: int = 3000) -> str:
    """The last ``chars`` characters of a log file, without colour codes."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} is missing)"
    return f"--- {path.name} ---\n" + _ANSI.sub("", text[-chars:])
