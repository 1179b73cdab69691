"""The device's hub client against `edgekit-hub serve` as a real process: a cut download resumes,
versions install atomically beside the last good one, and what the pinned key did not sign, an
older version or a file that is not the signed one is refused with nothing installed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edgekit.device.hub_client import DeviceReport, HubClient
from edgekit.device.learner import Learner
from edgekit.device.signed import load_public_key
from edgekit.errors import ConfigError, HubError, UpdateRefused
from edgekit.export.manifest import read_manifest
from edgekit.export.reweight import reweighted
from edgekit_server.hub.fleet import stop_hub
from edgekit_server.hub.storage import sqlite_url
from tests.bundle_fixture import BuiltBundle
from tests.server.hub.served import free_port, start_hub, upload_bundle

pytestmark = pytest.mark.slow
ADMIN = "admin-token-for-the-client-tests"
AUTH = {"Authorization": f"Bearer {ADMIN}"}


class Served:
    """One hub for the module; each test is a model family of its own there (its own versions)."""

    def __init__(self, root: Path, url: str) -> None:
        self.root, self.url = root, url
        self.key = load_public_key((root / "key.pub").read_text())

    def publish(self, bundle: Path, family: str) -> int:
        model = {"family": family, "architecture": "tcresnet"}
        with httpx.Client(base_url=self.url, timeout=60) as http:
            shas = upload_bundle(http, bundle, AUTH)
            reply = http.post("/v1/admin/versions", json={**model, "files": shas}, headers=AUTH)
            number = int(reply.json()["number"])
            release = {"channel": "stable", **model, "number": number, "percent": 100}
            assert http.post("/v1/admin/releases", json=release, headers=AUTH).is_success
        return number

    def client(self, name: str, family: str, key: bytes | None = None) -> HubClient:
        client = HubClient(self.url, self.root / name, key or self.key)
        client.register(family, "tcresnet")
        return client


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root, port = tmp_path_factory.mktemp("hub"), free_port()
    process = start_hub(root, sqlite_url(root), port, ADMIN)
    try:
        yield Served(root, f"http://127.0.0.1:{port}")
    finally:
        stop_hub(process)


def _plus(built: BuiltBundle, out: Path, delta: float) -> Path:
    names = [t["name"] for t in read_manifest(built.path).trainable]
    with np.load(built.path / "weights.npz") as data:
        weights = {n: data[n] + np.float32(delta) for n in names}
    reweighted(built.path, weights, out)
    return out


def test_a_cut_download_resumes_and_versions_install_beside_the_last_good(
    served: Served, built: BuiltBundle, tmp_path: Path
) -> None:
    assert served.publish(built.path, "resume") == 1
    client = served.client("resumer", "resume")
    offer = client.check_in(DeviceReport(wifi=True, charging=True))
    assert offer is not None and offer.number == 1 and offer.wait is None
    program = (built.path / "model.pte").read_bytes()
    part = client.root / "staging" / "1" / "bundle" / "model.pte.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(program[: len(program) // 2])  # the connection was cut half-way
    (part.parent / "d0.npz.part").write_bytes(b"not what the hub sends")  # a damaged .part
    assert client.install(client.download(offer)) == 1
    d0 = (built.path / "d0.npz").stat().st_size  # its damaged .part: fetched whole again
    assert client.traffic.down < offer.total_bytes - len(program) // 2 + d0 + 16384
    assert not list((client.root / "staging").rglob("*.part"))
    with Learner(client.bundle, tmp_path / "state", read_only=True) as learner:
        assert len(learner.predict(np.asarray(built.clips.audio[:2]))) == 2

    first = (client.root / "current").resolve()
    assert served.publish(_plus(built, tmp_path / "v2", 0.5), "resume") == 2
    before = client.traffic.down
    assert client.update() == 2
    weights = (built.path / "weights.npz").stat().st_size
    assert client.traffic.reused >= len(program)  # unchanged files are copied, not fetched
    assert client.traffic.down - before < weights + 16384
    assert (client.root / "previous").resolve() == first  # the last good version, whole
    assert sorted(p.name for p in (client.root / "versions").iterdir()) == sorted(
        [first.name, (client.root / "current").resolve().name]
    )
    assert (
        read_manifest(client.root / "previous" / "bundle").files == read_manifest(built.path).files
    )
    assert client.update() is None and client.installed() == 2  # nothing newer
    assert client.revert() == 1 and client.revert() is None
    assert client.update() == 2  # offered again, and fetched from the files it still has


def test_unsigned_older_or_tampered_versions_are_refused_and_nothing_changes(
    served: Served, built: BuiltBundle, tmp_path: Path
) -> None:
    assert served.publish(built.path, "refuse") == 1
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    stranger = served.client("wrong-key", "refuse", key=other)
    with pytest.raises(UpdateRefused) as refused:
        stranger.update()
    assert refused.value.reason == "signature" and stranger.installed() is None
    assert stranger.bundle is None

    client = served.client("refuser", "refuse")
    first = client.check_in()
    assert first is not None and client.install(client.download(first)) == 1
    assert served.publish(_plus(built, tmp_path / "v2", 0.5), "refuse") == 2
    assert client.update() == 2
    with pytest.raises(UpdateRefused) as refused:
        client.download(first)  # version 1 again, validly signed: older than what runs
    assert refused.value.reason == "rollback"

    v3 = _plus(built, tmp_path / "v3", 1.0)
    assert served.publish(v3, "refuse") == 3
    offer = client.check_in()
    assert offer is not None and offer.number == 3
    sha = next(f.sha256 for f in offer.files if f.path == "weights.npz")
    blob = served.root / "data" / "blobs" / sha[:2] / sha
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF  # the hub's copy is damaged (or the hub is not honest)
    blob.write_bytes(bytes(data))
    with pytest.raises(UpdateRefused) as refused:
        client.download(offer)
    assert refused.value.reason == "files" and client.installed() == 2
    read_manifest(client.bundle)  # the installed version, whole

    forged = replace(offer, signature=bytes(64))
    with pytest.raises(UpdateRefused) as refused:
        client.download(forged)
    assert refused.value.reason == "signature"


def test_hub_errors_name_the_status_and_a_429_its_retry_after(
    served: Served, tmp_path: Path
) -> None:
    with pytest.raises(HubError) as failed:  # last in the module: it spends the address' burst
        for i in range(25):  # the hub lets an address register 20 devices at once
            served.client(f"device-{i}", "limits")
    assert failed.value.status == 429 and (failed.value.retry_after or 0) > 0
    assert "retry after" in str(failed.value)
    unregistered = HubClient(served.url, tmp_path / "new", served.key)
    with pytest.raises(ConfigError, match="not registered"):
        unregistered.check_in()
    closed = HubClient(f"http://127.0.0.1:{free_port()}", tmp_path / "closed", served.key)
    with pytest.raises(HubError) as failed:
        closed.register("kws", "tcresnet")
    assert failed.value.status is None
