"""The hub's API in process (the real app, storage and blobs): publish, release, register,
check in, download; and every refusal with its status."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from edgekit.device.signed import load_public_key, verify_files, verify_metadata
from edgekit_server.hub.app import create_app
from edgekit_server.hub.limits import Limits
from tests.bundle_fixture import BuiltBundle
from tests.server.hub.served import make_hub

ADMIN = "admin-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture
def hub(tmp_path: Path) -> tuple[TestClient, bytes]:
    core = make_hub(tmp_path)
    return TestClient(create_app(core, ADMIN)), load_public_key((tmp_path / "key.pub").read_text())


def _files(bundle: Path) -> dict[str, bytes]:
    return {
        p.relative_to(bundle).as_posix(): p.read_bytes() for p in bundle.rglob("*") if p.is_file()
    }


def _upload(client: TestClient, files: dict[str, bytes]) -> dict[str, str]:
    shas = {}
    for path, data in files.items():
        sha = shas[path] = hashlib.sha256(data).hexdigest()
        reply = client.put(f"/v1/admin/blobs/{sha}", content=data, headers=AUTH)
        assert reply.status_code == 201, reply.text
    return shas


def _publish(client: TestClient, shas: dict[str, str], **extra: object) -> dict:
    body = {"family": "kws", "architecture": "tcresnet", "files": shas, **extra}
    return client.post("/v1/admin/versions", json=body, headers=AUTH)  # type: ignore[return-value]


def test_a_device_gets_the_released_version_and_verifies_it(
    hub: tuple[TestClient, bytes], built: BuiltBundle, tmp_path: Path
) -> None:
    client, pinned = hub
    files = _files(built.path)
    reply = _publish(client, _upload(client, files))
    assert reply.status_code == 201 and reply.json()["number"] == 1
    release = {"channel": "stable", "family": "kws", "architecture": "tcresnet", "number": 1}
    assert client.post(
        "/v1/admin/releases", json={**release, "percent": 100}, headers=AUTH
    ).is_success
    device = client.post("/v1/devices", json={"family": "kws", "architecture": "tcresnet"}).json()
    me = {"Authorization": f"Bearer {device['token']}"}
    offer = client.post("/v1/devices/check-in", json={"wifi": True}, headers=me).json()["offer"]
    assert offer["number"] == 1 and offer["wait"] is None

    metadata = client.get(offer["metadata"], headers=me).content
    meta = verify_metadata(metadata, bytes.fromhex(offer["signature"]), pinned, installed=None)
    out = tmp_path / "download"
    for entry in offer["files"]:
        got = client.get(entry["url"], headers=me)
        assert got.status_code == 200 and got.headers["etag"] == f'"{entry["sha256"]}"'
        (out / entry["path"]).parent.mkdir(parents=True, exist_ok=True)
        (out / entry["path"]).write_bytes(got.content)
    verify_files(meta, out)
    again = client.post("/v1/devices/check-in", json={"bundle_version": 1}, headers=me).json()
    assert again["offer"] is None  # up to date


def test_downloads_resume_and_revalidate(hub: tuple[TestClient, bytes], built: BuiltBundle) -> None:
    client, _ = hub
    shas = _upload(client, _files(built.path))
    _publish(client, shas)
    release = {"channel": "stable", "family": "kws", "architecture": "tcresnet", "number": 1}
    client.post("/v1/admin/releases", json={**release, "percent": 100}, headers=AUTH)
    token = client.post("/v1/devices", json={"family": "kws", "architecture": "tcresnet"}).json()
    me = {"Authorization": f"Bearer {token['token']}"}
    sha = shas["model.pte"]
    whole = (built.path / "model.pte").read_bytes()
    part = client.get(f"/v1/blobs/{sha}", headers={**me, "Range": "bytes=100-"})
    assert part.status_code == 206 and part.content == whole[100:]
    same = client.get(
        f"/v1/blobs/{sha}", headers={**me, "Range": "bytes=0-9", "If-Range": f'"{sha}"'}
    )
    assert same.status_code == 206 and same.content == whole[:10]
    stale = client.get(
        f"/v1/blobs/{sha}", headers={**me, "Range": "bytes=0-9", "If-Range": '"old"'}
    )
    assert stale.status_code == 200 and stale.content == whole  # changed: the whole file
    cached = client.get(f"/v1/blobs/{sha}", headers={**me, "If-None-Match": f'"{sha}"'})
    assert cached.status_code == 304 and not cached.content


def test_refusals_name_the_problem(hub: tuple[TestClient, bytes], built: BuiltBundle) -> None:
    client, _ = hub
    files = _files(built.path)
    sha = hashlib.sha256(files["model.pte"]).hexdigest()
    assert client.put(f"/v1/admin/blobs/{sha}", content=b"x").status_code == 401
    bad = {"Authorization": "Bearer wrong"}
    assert client.put(f"/v1/admin/blobs/{sha}", content=b"x", headers=bad).status_code == 403
    wrong = client.put(f"/v1/admin/blobs/{sha}", content=b"other bytes", headers=AUTH)
    assert wrong.status_code == 400 and "mismatch" in wrong.json()["detail"]
    big = b"x" * ((4 << 20) + 1)
    too_big = client.put(
        f"/v1/admin/blobs/{hashlib.sha256(big).hexdigest()}", content=big, headers=AUTH
    )
    assert too_big.status_code == 413

    shas = _upload(client, {k: v for k, v in files.items() if k != "d0.npz"})
    missing = _publish(client, {**shas, "d0.npz": "0" * 64})
    assert missing.status_code == 422 and "d0.npz" in missing.json()["detail"]
    incomplete = _publish(client, shas)  # uploaded, but the manifest lists d0.npz
    assert incomplete.status_code == 422 and "d0.npz" in incomplete.json()["detail"]
    shas = _upload(client, files)
    assert _publish(client, shas, number=3).status_code == 201
    assert _publish(client, shas, number=2).status_code == 409  # never below a published one
    rollback = client.post(
        "/v1/admin/rollback",
        json={"family": "kws", "architecture": "tcresnet", "to": 3},
        headers=AUTH,
    )
    assert rollback.status_code == 201 and rollback.json()["number"] == 4
    release = {"channel": "stable", "family": "kws", "architecture": "tcresnet", "number": 9}
    assert (
        client.post("/v1/admin/releases", json={**release, "percent": 5}, headers=AUTH).status_code
        == 404
    )

    device = client.post("/v1/devices", json={"family": "kws", "architecture": "tcresnet"}).json()
    me = {"Authorization": f"Bearer {device['token']}"}
    assert client.get(f"/v1/blobs/{shas['model.pte']}", headers=me).status_code == 404  # unreleased
    assert client.get("/v1/blobs/../../etc/passwd", headers=me).status_code == 404
    assert client.get(f"/v1/blobs/{'A' * 64}", headers=me).status_code == 400
    assert client.post("/v1/devices/check-in", json={}, headers=bad).status_code == 403
    assert client.post("/v1/devices/check-in", json={"battery": 3}, headers=me).status_code == 422


def test_the_device_waits_for_storage_or_its_charger(
    hub: tuple[TestClient, bytes], built: BuiltBundle
) -> None:
    client, _ = hub
    _publish(client, _upload(client, _files(built.path)))
    release = {"channel": "beta", "family": "kws", "architecture": "tcresnet", "number": 1}
    client.post("/v1/admin/releases", json={**release, "percent": 100}, headers=AUTH)
    device = client.post(
        "/v1/devices", json={"family": "kws", "architecture": "tcresnet", "channel": "beta"}
    ).json()
    me = {"Authorization": f"Bearer {device['token']}"}
    low = client.post("/v1/devices/check-in", json={"free_bytes": 1000}, headers=me).json()
    assert low["offer"]["wait"] == "storage"
    ok = client.post("/v1/devices/check-in", json={"free_bytes": 10**10, "wifi": False}, headers=me)
    assert ok.json()["offer"]["wait"] is None  # a small bundle may come over a cellular link
    flat = {"free_bytes": 10**10, "battery": 0.1, "charging": False}
    assert client.post("/v1/devices/check-in", json=flat, headers=me).json()["offer"]["wait"] == (
        "charging"
    )
    plugged = {**flat, "charging": True}
    assert (
        client.post("/v1/devices/check-in", json=plugged, headers=me).json()["offer"]["wait"]
        is None
    )


def test_devices_and_registrations_are_rate_limited_and_no_origin_is_allowed(
    tmp_path: Path,
) -> None:
    core = make_hub(tmp_path, max_bytes=1024)
    limits = Limits(device_rate=0.01, device_burst=2, register_rate=0.01, register_burst=2)
    client = TestClient(create_app(core, ADMIN, limits))
    body = {"family": "kws", "architecture": "tcresnet"}
    tokens = [client.post("/v1/devices", json=body).json()["token"] for _ in range(2)]
    refused = client.post("/v1/devices", json=body)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    me = {"Authorization": f"Bearer {tokens[0]}"}
    assert [
        client.post("/v1/devices/check-in", json={}, headers=me).status_code for _ in range(3)
    ] == [
        200,
        200,
        429,
    ]
    other = {"Authorization": f"Bearer {tokens[1]}"}
    assert client.post("/v1/devices/check-in", json={}, headers=other).status_code == 200
    preflight = client.options(
        "/v1/devices/check-in",
        headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
