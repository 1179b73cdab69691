"""The fleet simulator behind ``edgekit-hub fleet``: N device processes, each an
:class:`~edgekit.device.learner.Learner` on its own clips through the ExecuTorch runtime
(:mod:`~edgekit_server.hub.fleet_device`), against a real hub, for R rounds.

Setup: a hub (an ``edgekit-hub serve`` process in ``<workdir>/hub`` with a buffer of K = N
updates, so each round makes one version; or a running hub named by URL, admin token and public
key), N devices started, each registered; then the bundle is published as a version and released
to every device of the channel. Each round every device checks in, downloads, verifies and
installs what it is offered, applies the new-version policy, personalises on its clips and posts
its update; the N-th update makes the hub publish the next version, which the next round picks
up. After the last round the devices pick up the version made of their last updates and score
it, without training. A device process that dies or stops answering is reported with the tail
of its log, and the fleet goes on without it.

Figures (percent accuracy, mean over the devices, each on its own held-out clips): ``acc_before``
with the bundle's weights, ``acc_after`` after the last round; per round the version's weights
as shipped and after personalising; bytes moved each way, per device and version; the time from
a version's publication until the last device has installed it.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

from edgekit.export.manifest import read_manifest
from edgekit_server.errors import FleetError
from edgekit_server.hub.fleet_report import round_line, summarise
from edgekit_server.hub.signing import generate_key

__all__ = ["FleetConfig", "HubAccess", "local_hub", "publish", "run_fleet", "stop_hub"]

HUB_START_S = 120.0  # an `edgekit-hub serve` that does not answer by then is reported
Say = Callable[[str], None]


@dataclass(frozen=True)
class FleetConfig:
    """How many devices, for how many rounds, training how much."""

    devices: int = 4
    rounds: int = 3  # versions the devices train from (one more is made, picked up, scored)
    epochs: int = 5  # personalisation epochs per round
    seed: int = 0
    family: str = "kws"
    channel: str = "stable"
    round_timeout_s: float = 900.0  # a device silent for longer is stopped and reported

    def __post_init__(self) -> None:
        if self.devices < 1 or self.rounds < 1 or self.epochs < 1:
            raise FleetError("the fleet needs >= 1 device, >= 1 round and >= 1 epoch")


@dataclass(frozen=True)
class HubAccess:
    """A hub the fleet runs against, and what it needs to publish there."""

    url: str
    admin_token: str
    public_key: str  # 64 hex digits, as `edgekit-hub keygen` writes it


def tail(path: Path, chars: int = 2000) -> str:
    """The end of a log file ("" when there is none)."""
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


@contextmanager
def local_hub(folder: Path, buffer_k: int) -> Iterator[HubAccess]:
    """An ``edgekit-hub serve`` process over SQLite in ``folder`` (made afresh), stopped at the
    end; its log is ``folder/hub.log``."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    public = generate_key(folder / "key").read_text().strip()
    token = secrets.token_urlsafe(24)
    (folder / "admin.token").write_text(token)
    (folder / "admin.token").chmod(0o600)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    args = [
        "serve",
        "--key",
        str(folder / "key"),
        "--admin-token-file",
        str(folder / "admin.token"),
    ]
    args += ["--data", str(folder / "data"), "--port", str(port), "--buffer-k", str(buffer_k)]
    code = "from edgekit_server.hub.cli import main; main()"
    with (folder / "hub.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", code, *args], stdout=log, stderr=subprocess.STDOUT, env=_env()
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + HUB_START_S
        while True:
            if process.poll() is not None:
                raise FleetError(
                    f"the hub exited ({process.returncode}):\n{tail(folder / 'hub.log')}"
                )
            try:
                if httpx.get(f"{url}/openapi.json", timeout=2).is_success:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise FleetError(f"the hub did not answer within {HUB_START_S:.0f} s")
            time.sleep(0.2)
        yield HubAccess(url, token, public)
    finally:
        stop_hub(process)


def stop_hub(process: subprocess.Popen[bytes] | subprocess.Popen[str], grace_s: float = 30) -> None:
    """Stop a hub process: SIGTERM (uvicorn finishes its requests), SIGKILL after ``grace_s``."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def publish(hub: HubAccess, bundle: Path, family: str, channel: str) -> int:
    """Upload ``bundle``, publish it as the next version and release it to all of ``channel``;
    the version's number."""
    arch = read_manifest(bundle).arch
    auth = {"Authorization": f"Bearer {hub.admin_token}"}
    with httpx.Client(base_url=hub.url, headers=auth, timeout=120) as http:
        shas = {}
        for path in sorted(p for p in bundle.rglob("*") if p.is_file()):
            data = path.read_bytes()
            sha = shas[path.relative_to(bundle).as_posix()] = hashlib.sha256(data).hexdigest()
            _ok(http.put(f"/v1/admin/blobs/{sha}", content=data))
        body = {"family": family, "architecture": arch, "files": shas}
        number = int(_ok(http.post("/v1/admin/versions", json=body)).json()["number"])
        release = {"channel": channel, "family": family, "architecture": arch, "number": number}
        _ok(http.post("/v1/admin/releases", json={**release, "percent": 100}))
    return number


def _ok(reply: httpx.Response) -> httpx.Response:
    if not reply.is_success:
        raise FleetError(
            f"the hub answered {reply.request.url.path}: {reply.status_code} {reply.text}"
        )
    return reply


def _env() -> dict[str, str]:
    no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1,localhost"]))
    return {**os.environ, "NO_PROXY": no_proxy, "no_proxy": no_proxy, "OMP_NUM_THREADS": "1"}


class DeviceCrashed(Exception):
    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        super().__init__(record["error"])


class DeviceProcess:
    """A device process: commands to its stdin, replies from its stdout, stderr to its log."""

    def __init__(self, name: str, command: list[str], log: Path) -> None:
        self.name, self.log = name, log
        with log.open("wb") as handle:
            self.process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=handle,
                text=True, env=_env(),
            )  # fmt: skip
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)
        self._lines.put(None)

    def send(self, command: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(command) + "\n")
            self.process.stdin.flush()
        except OSError:
            pass  # it died: receive() reports how

    def receive(self, deadline: float, round_number: int) -> dict[str, Any]:
        """The next reply; DeviceCrashed when the process ended or was silent until
        ``deadline`` (then it is killed)."""
        try:
            line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            self.process.kill()
            line, why = None, "no reply in time: killed"
        else:
            why = "exited"
        if line is None:
            code = self.process.wait()
            raise DeviceCrashed(
                {"device": self.name, "round": round_number, "exit_code": code,
                 "error": f"{self.name} {why} (exit code {code})", "log_tail": tail(self.log)}
            )  # fmt: skip
        return dict(json.loads(line))

    def end_input(self) -> None:
        """Close its stdin: the device ends once it has answered what it was sent."""
        if self.process.stdin is not None:
            with suppress(OSError):
                self.process.stdin.close()

    def stop(self) -> None:
        self.end_input()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def run_fleet(
    config: FleetConfig, workdir: Path, bundle: Path, clips: list[Path], hub: HubAccess, say: Say
) -> dict[str, Any]:
    """Run the fleet against ``hub``; its figures
    (:func:`~edgekit_server.hub.fleet_report.summarise`)."""
    if len(clips) < config.devices:
        raise FleetError(f"{config.devices} devices need as many clip files, got {len(clips)}")
    arch = read_manifest(bundle).arch
    shutil.rmtree(workdir / "devices", ignore_errors=True)
    devices: list[DeviceProcess] = []
    crashed: list[dict[str, Any]] = []
    start = time.monotonic()
    try:
        for i, path in enumerate(clips[: config.devices]):
            root = workdir / "devices" / f"device-{i:02d}"
            root.mkdir(parents=True)
            command = [sys.executable, "-m", "edgekit_server.hub.fleet_device", "--root", str(root)]
            command += ["--hub", hub.url, "--public-key", hub.public_key, "--clips", str(path)]
            command += ["--family", config.family, "--architecture", arch]
            command += ["--epochs", str(config.epochs), "--seed", str(config.seed + i)]
            devices.append(DeviceProcess(root.name, command, root / "device.log"))
        ready = set(_collect(devices, 0, time.monotonic() + config.round_timeout_s, crashed, say))
        started_s = time.monotonic() - start
        say(f"{len(ready)} of {config.devices} devices started and registered in {started_s:.1f} s")
        number = publish(hub, bundle, config.family, config.channel)
        published = {number: time.time()}
        say(f"version {number} published from {bundle}")
        rounds: list[list[dict[str, Any]]] = []
        for r in range(1, config.rounds + 2):
            train = r <= config.rounds
            devices = [d for d in devices if d.name in ready]
            for d in devices:
                d.send({"round": r, "train": train})
            replies = _collect(devices, r, time.monotonic() + config.round_timeout_s, crashed, say)
            ready = set(replies)
            rounds.append([{"device": name, **reply} for name, reply in sorted(replies.items())])
            for reply in replies.values():
                if reply.get("new_version") is not None:
                    published[int(reply["new_version"])] = float(reply["posted_at"])
            say(round_line(r, train, rounds[-1], published))
            if not replies:
                break
    finally:
        for d in devices:  # all end at once, then each is waited for
            d.end_input()
        for d in devices:
            d.stop()
    out = summarise(rounds, published, config)
    out["crashed"] = crashed
    out["start_s"] = round(started_s, 2)
    out["wall_s"] = round(time.monotonic() - start, 2)
    return out


def _collect(
    devices: list[DeviceProcess], r: int, deadline: float, crashed: list[dict[str, Any]], say: Say
) -> dict[str, dict[str, Any]]:
    replies = {}
    for d in devices:
        try:
            replies[d.name] = d.receive(deadline, r)
        except DeviceCrashed as exc:
            crashed.append(exc.record)
            say(f"DEVICE CRASHED: {exc.record['error']}; log tail:\n{exc.record['log_tail']}")
    return replies
