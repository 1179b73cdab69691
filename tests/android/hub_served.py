"""A real hub for the app's hub client test (``HubClientTest.kt``): ``edgekit-hub serve`` on a
free loopback port, started in a thread as soon as the session begins so that it comes up while
kotlinc compiles, then given the versions each case of the test needs.

The hub offers a device the newest version released to its channel, so each case is a model
family of its own, and a version the test must find later is published but held back (released
to 0 % of the channel) until the test releases it with the admin token:

- ``install``: version 1 (the exported bundle) released; version 2 (its weights + 0.5, the same
  program and D0) held back: resume, install beside the last good version, revert, rollback;
- ``post``: version 1 released: training updates, the conditions a download waits for, a key
  that is not the hub's;
- ``damaged``: version 1 released; version 2 (weights + 1.0) held back, and its weights.npz
  damaged in the hub's blob store after publishing (so only that version's file is);
- ``sync``: version 1 released: the app's whole sync (``HubSyncTest.kt``): register, install,
  the update of a trained state posted once.

The JVM reads ``hub.json`` (system property ``edgekit.hub``): the URL, the public key to pin,
another key, the architecture, the families, the held-back releases and the admin token.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edgekit.export.manifest import read_manifest
from edgekit.export.reweight import reweighted
from edgekit_server.hub.fleet import stop_hub
from edgekit_server.hub.storage import Storage, sqlite_url
from tests.server.hub.served import free_port, start_hub, upload_bundle

__all__ = ["ADMIN", "CHANNEL", "HubLaunch", "ServedHub"]

ADMIN = "admin-token-of-the-android-hub-check"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
CHANNEL = "stable"
FAMILIES = {
    "install": "kt-install",
    "post": "kt-post",
    "damaged": "kt-damaged",
    "sync": "kt-sync",
}


@dataclass(frozen=True)
class ServedHub:
    """The running hub, ready for the JVM: ``info`` is the JSON file it reads."""

    root: Path  # the hub's key, admin token, database and blobs (data/blobs)
    url: str
    info: Path
    architecture: str
    families: dict[str, str]

    def storage(self) -> Storage:
        """The hub's database, opened beside the running hub (SQLite in WAL mode)."""
        return Storage(sqlite_url(self.root))

    def stats(self) -> dict[str, dict[str, int]]:
        """``GET /v1/admin/stats``: updates by state, refused updates by reason."""
        reply = httpx.get(f"{self.url}/v1/admin/stats", headers=AUTH, timeout=30)
        reply.raise_for_status()
        return dict(reply.json())


class HubLaunch:
    """``edgekit-hub serve`` under ``root``, starting in a thread from construction on;
    :meth:`ready` waits for it and publishes the versions (once); :meth:`stop` ends it."""

    def __init__(self, root: Path) -> None:
        self.root, self.port = root, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[str] | None = None
        self._failed: BaseException | None = None
        self._served: ServedHub | None = None
        self._thread = threading.Thread(target=self._start, name="edgekit-hub", daemon=True)
        self._thread.start()

    def _start(self) -> None:
        try:
            self._process = start_hub(self.root, sqlite_url(self.root), self.port, ADMIN)
        except BaseException as exc:  # handed to ready(), in the test's thread
            self._failed = exc

    def ready(self, bundle: Path) -> ServedHub:
        """The hub, up, with the versions of every case published from ``bundle``."""
        self._thread.join()
        if self._failed is not None:
            raise RuntimeError(f"the hub did not start: {self._failed}") from self._failed
        if self._served is None:
            self._served = _prepare(self.root, self.url, bundle)
        return self._served

    def stop(self) -> None:
        self._thread.join()
        if self._process is not None:
            stop_hub(self._process)


def _prepare(root: Path, url: str, bundle: Path) -> ServedHub:
    arch = read_manifest(bundle).arch
    work = root / "bundles"
    held: dict[str, dict[str, object]] = {}
    with httpx.Client(base_url=url, headers=AUTH, timeout=60) as http:

        def publish(folder: Path, case: str, percent: float) -> int:
            model = {"family": FAMILIES[case], "architecture": arch}
            shas = upload_bundle(http, folder, AUTH)
            reply = http.post("/v1/admin/versions", json={**model, "files": shas})
            assert reply.status_code == 201, reply.text
            number = int(reply.json()["number"])
            release = {"channel": CHANNEL, **model, "number": number}
            reply = http.post("/v1/admin/releases", json={**release, "percent": percent})
            assert reply.is_success, reply.text
            if percent == 0:
                held[case] = {**release, "percent": 100}
            return number

        assert publish(bundle, "install", 100) == 1
        assert publish(_plus(bundle, work / "install-2", 0.5), "install", 0) == 2
        assert publish(bundle, "post", 100) == 1
        assert publish(bundle, "damaged", 100) == 1
        assert publish(bundle, "sync", 100) == 1
        damaged = _plus(bundle, work / "damaged-2", 1.0)
        assert publish(damaged, "damaged", 0) == 2
    _damage(root, damaged / "weights.npz")
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    info = root / "hub.json"
    fixture = {
        "url": url,
        "public_key": (root / "key.pub").read_text().strip(),
        "other_public_key": other.hex(),
        "architecture": arch,
        "channel": CHANNEL,
        "families": FAMILIES,
        "held_back": held,
        "admin_token": ADMIN,
    }
    info.write_text(json.dumps(fixture, indent=2))
    return ServedHub(root, url, info, arch, dict(FAMILIES))


def _plus(bundle: Path, out: Path, delta: float) -> Path:
    """``bundle`` with ``delta`` added to every trainable weight: new weights.npz and
    manifest.json, the same program and D0."""
    names = [t["name"] for t in read_manifest(bundle).trainable]
    with np.load(bundle / "weights.npz") as data:
        weights = {n: data[n] + np.float32(delta) for n in names}
    reweighted(bundle, weights, out)
    return out


def _damage(root: Path, original: Path) -> None:
    """Flip one byte of the hub's stored copy of ``original`` (a blob no other version has)."""
    sha = hashlib.sha256(original.read_bytes()).hexdigest()
    blob = root / "data" / "blobs" / sha[:2] / sha
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
