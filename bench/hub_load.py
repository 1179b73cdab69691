"""Load on the hub: N simulated phones at once against `edgekit-hub serve`, SQLite and PostgreSQL.

Protocol, per database. A real ``edgekit-hub serve`` process (uvicorn) starts in its shipped
configuration (default rate limits, buffer of 10 updates, upload limit) on a free loopback port,
over SQLite (``--data``) or a throw-away local PostgreSQL cluster (``--db``; fsync on, like
SQLite's commits). A real bundle (TC-ResNet pretrained for one epoch on the quick keyword
corpus, built once and cached under ``bench/results/hub_load/bundle``; ``--quick``: the quick
fleet's tiny TC-ResNet bundle, shared with ``fleet.py --quick``) is uploaded through the admin
API, published and released to 100% of ``stable``. Each hub starts once the one before has
stopped; with ``--quick``, every hub starts while the bundle is exported (on one core) and
waits idle for its turn.

Then ``--devices`` phones (``_hub_devices.py``), each over its own connection from its own
loopback address (registration is limited per address: 1/s after 20), register, wait until all
have, and start together: check in; download every offered file, the program (the largest)
cut after 20-80% of its bytes and resumed with ``Range`` + ``If-Range`` (206); check the
sha256 of every file and the signature of the version's metadata against the pinned key; post
one valid update (the downloaded trainable weights plus noise, the manifest's slot labels, a
softmax over D0); check in again. Nine requests a phone, far under its shipped limit (5/s after
a burst of 120). No retries: any other status, transport error or timeout (120 s) counts as an
error, by endpoint and status, and stops that phone. Every tenth update makes the hub aggregate
and publish a new version inside the update's request, as it ships.

Measured: requests/s, p50 and p99 latency (all requests of the phase that starts together, and
per endpoint; registration apart), the peak of requests in flight (counted on the client around
each request, body included; it must reach the number of phones), errors (must be 0), and
``updates_posted`` (answered 202) against ``updates_accounted`` (the sum of the hub's update
states from ``GET /v1/admin/stats``; must be equal: nothing lost).

The last line printed is a JSON object ``{"runs": [...], ...}``, one run per database; progress
goes to stderr.

    python bench/hub_load.py                   # 500 phones, SQLite then PostgreSQL (minutes)
    python bench/hub_load.py --quick           # 20 phones each, tiny bundle: within 60 s on 2 cores
    python bench/hub_load.py --devices 1000 --db sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from _hub_devices import Swarm
from _kws import Progress, fleet_data, quick_fleet_config

from edgekit._quiet import quiet_dependencies
from edgekit.device.signed import load_public_key
from edgekit.errors import CorruptBundle
from edgekit.export.manifest import read_manifest
from edgekit_server.hub.fleet import stop_hub
from edgekit_server.hub.pgtemp import Cluster
from edgekit_server.hub.signing import generate_key

RESULTS = Path(__file__).resolve().parent / "results" / "hub_load"
FAMILY, ARCH = "kws", "tcresnet"
DBS = ["sqlite", "postgresql"]
ENDPOINTS = ["check-in", "blob", "blob-cut", "blob-resume", "metadata", "update"]


def bundle(quick: bool, say: Progress, exporting: Callable[[], None]) -> Path:
    """The bundle the hub serves: built once (a minute or so cold), then reused. Quick: the
    quick fleet's (a tiny TC-ResNet; about 40 s cold), which ``fleet.py --quick`` reuses; its
    build calls ``exporting`` when the export, which keeps one core busy, starts."""
    if quick:
        return fleet_data(quick_fleet_config(), True, say, exporting).bundle
    out = RESULTS / "bundle"
    try:
        read_manifest(out)  # every file's sha256
        return out
    except (CorruptBundle, OSError):
        shutil.rmtree(out, ignore_errors=True)
    from _kws import build_bundle, build_corpus

    from edgekit.data.generate_kws import CORE_KEYWORDS, KwsCorpusConfig
    from edgekit.data.speech_commands import load_speech_commands
    from edgekit.export.bundle import ExportConfig

    say("building the bundle (quick corpus, one epoch of pretraining), cached for later runs")
    config = KwsCorpusConfig(seed=0, n_speakers=16, reps=3, n_unknown_words=10)
    corpus = load_speech_commands(build_corpus(config), keywords=CORE_KEYWORDS, seed=0)
    build_bundle(corpus, out, 1, 0, ExportConfig(seed=0), say)
    return out


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _hub_command() -> list[str]:
    script = Path(sys.executable).with_name("edgekit-hub")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from edgekit_server.hub.cli import main; main()"]


@dataclass(frozen=True)
class Served:
    base: str  # URL
    admin: str  # token
    public: bytes  # the hub's public key, which phones pin
    pid: int

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the hub has used (Linux)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def served(folder: Path, db: str | None) -> Iterator[Served]:
    """``edgekit-hub serve`` with its defaults in ``folder`` (SQLite there, or ``db``), stopped
    with SIGTERM afterwards."""
    admin = secrets.token_urlsafe(24)
    (folder / "admin.token").write_text(admin)
    hub = _hub_command()
    generate_key(folder / "key")  # as `edgekit-hub keygen` does, without its start-up
    port = _port()
    args = ["serve", "--key", str(folder / "key"), "--data", str(folder / "data")]
    args += ["--admin-token-file", str(folder / "admin.token"), "--port", str(port)]
    args += ["--db", db] if db else []
    with (folder / "hub.log").open("w") as log:
        process = subprocess.Popen([*hub, *args], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the hub did not start: {(folder / 'hub.log').read_text()}")
            try:
                if httpx.get(f"{base}/openapi.json", timeout=1).is_success:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield Served(base, admin, load_public_key((folder / "key.pub").read_text()), process.pid)
    finally:
        stop_hub(process)


def publish(base: str, admin: str, folder: Path) -> None:
    """Upload the bundle's files, publish them as version 1 and release it to all of stable."""
    auth = {"Authorization": f"Bearer {admin}"}
    files = {}
    with httpx.Client(base_url=base, headers=auth, timeout=60) as client:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            data = path.read_bytes()
            sha = files[path.relative_to(folder).as_posix()] = hashlib.sha256(data).hexdigest()
            client.put(f"/v1/admin/blobs/{sha}", content=data).raise_for_status()
        version = {"family": FAMILY, "architecture": ARCH, "files": files}
        number = client.post("/v1/admin/versions", json=version).raise_for_status().json()
        release = {"channel": "stable", "family": FAMILY, "architecture": ARCH, "percent": 100}
        client.post("/v1/admin/releases", json={**release, **number}).raise_for_status()


def stats(base: str, admin: str) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {admin}"}
    reply = httpx.get(f"{base}/v1/admin/stats", headers=auth, timeout=60).raise_for_status()
    counts: dict[str, Any] = reply.json()
    return counts


@contextmanager
def hub_over(db: str, folder: Path) -> Iterator[Served]:
    """A served hub over ``db`` in ``folder`` (made afresh): SQLite there, or a throw-away
    PostgreSQL cluster, stopped with the hub."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    cluster = Cluster(fsync=True) if db == "postgresql" else None
    try:
        with served(folder, cluster.database() if cluster else None) as hub:
            yield hub
    finally:
        if cluster:
            cluster.stop()


def run(
    db: str, devices: int, folder: Path, hub: Served, stop: ExitStack, source: Path, say: Progress
) -> dict[str, Any]:
    """One database under ``devices`` phones against ``hub``, which closing ``stop`` stops
    (before its log is read): the run's figures."""
    try:
        publish(hub.base, hub.admin, source)
        say(f"{db}: hub up, version 1 released; {devices} phones register, then start")
        swarm = Swarm(hub.base, devices, FAMILY, ARCH, hub.public)
        cpu = hub.cpu_s(), time.process_time()
        asyncio.run(swarm.run())
        hub_cpu, phones_cpu = hub.cpu_s() - cpu[0], time.process_time() - cpu[1]
        counts = stats(hub.base, hub.admin)
    finally:
        stop.close()
    meter = swarm.meter
    start, end = swarm.measured
    measured = meter.summary(ENDPOINTS, end - start)
    register = meter.summary(["register"], swarm.registered_s)
    # errors inside the hub, whatever the phones were told (uvicorn logs them as ERROR)
    log = (folder / "hub.log").read_text(errors="replace").splitlines()
    logged = sum(line.startswith(("ERROR", "CRITICAL")) for line in log)
    logged = logged or sum("Traceback" in line for line in log)
    out: dict[str, Any] = {
        "db": db,
        "devices": devices,
        "peak_in_flight": meter.peak,
        "requests": measured["requests"],
        "errors": sum(meter.errors.values()),
        "p50_ms": measured["p50_ms"],
        "p99_ms": measured["p99_ms"],
        "requests_per_s": measured["requests_per_s"],
        "updates_posted": swarm.posted,
        "updates_accounted": sum(counts["updates"].values()),
        "measured_s": round(end - start, 2),
        "per_endpoint": {"register": register["per_endpoint"].get("register")}
        | measured["per_endpoint"],
        "register_s": round(swarm.registered_s, 2),
        "error_kinds": dict(meter.errors),
        "error_examples": meter.examples,
        "hub_log_errors": logged,
        "update_states": counts["updates"],
        "updates_refused": counts["rejected"],
        "versions_made": swarm.versions_made,
        "max_requests_per_device": max(meter.per_device.values(), default=0),
        "hub_cpu_s": round(hub_cpu, 1),  # registration and measured phase
        "phones_cpu_s": round(phones_cpu, 1),  # this process: every simulated phone
    }
    say(
        f"{db}: {out['requests']} requests in {out['measured_s']} s "
        f"({out['requests_per_s']}/s), p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms, "
        f"peak {out['peak_in_flight']} in flight, {out['errors']} errors, "
        f"updates {out['updates_posted']} posted / {out['updates_accounted']} accounted"
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="20 phones per database, tiny bundle (< 60 s)"
    )
    parser.add_argument("--devices", type=int, help="phones at once (default 500; quick 20)")
    parser.add_argument(
        "--db", action="append", choices=["sqlite", "postgresql"], help="default: both"
    )
    args = parser.parse_args()
    quiet_dependencies()
    say = Progress("hub_load")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # a socket a phone, here and in the hub
    want = 1 << 16 if hard == resource.RLIM_INFINITY else min(hard, 1 << 16)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    devices = args.devices or (20 if args.quick else 500)
    if not 1 <= devices <= 60_000:
        parser.error("--devices must be within 1..60000 (one loopback address each)")
    folders = {db: RESULTS / ("quick" if args.quick else "full") / db for db in args.db or DBS}
    with ThreadPoolExecutor(1) as pool, ExitStack() as stops:
        exporting = threading.Event()  # the bundle's build leaves a core free, or is done
        source = pool.submit(bundle, args.quick, say, exporting.set)
        source.add_done_callback(lambda _: exporting.set())
        exporting.wait()
        stop = {db: stops.enter_context(ExitStack()) for db in folders}
        # quick: every hub starts now, beside the export; full: each once the run before has
        # stopped its own, to run alone
        early = {db: stop[db].enter_context(hub_over(db, folders[db])) for db in stop if args.quick}
        runs = []
        for db, folder in folders.items():
            hub = early.get(db) or stop[db].enter_context(hub_over(db, folder))
            runs.append(run(db, devices, folder, hub, stop[db], source.result(), say))
    ok = all(
        r["errors"] == r["hub_log_errors"] == 0
        and r["peak_in_flight"] >= devices
        and r["updates_posted"] == r["updates_accounted"] == devices
        for r in runs
    )
    out = {"quick": args.quick, "devices": devices, "runs": runs, "all_ok": ok}
    out["wall_s"] = round(say.elapsed, 1)
    say(f"done in {out['wall_s']} s: {'all ok' if ok else 'NOT ok'}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
