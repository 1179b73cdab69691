"""Phone updates back into new versions: checked, counted when refused, buffered, aggregated
into a signed version that devices are offered; nothing accepted is lost over a restart."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from edgekit.device.hub_update import pack_update, unpack_update, update_body
from edgekit.device.learner import Learner
from edgekit.device.signed import load_public_key, verify_files, verify_metadata
from edgekit_server.hub.app import create_app
from edgekit_server.hub.buffered import BufferConfig
from edgekit_server.hub.storage import Storage
from tests.bundle_fixture import BuiltBundle
from tests.server.hub.served import make_hub, upload_bundle

ADMIN = "admin-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN}"}


def _client(root: Path) -> TestClient:
    return TestClient(create_app(make_hub(root, buffer=BufferConfig(k=2, exponent=0.5)), ADMIN))


SLOTS: list[str] = []  # the bundle's slot labels, as a device that trained them all says
SCORES: list[np.ndarray] = []  # its D0 scores


def _npz(arrays: dict[str, np.ndarray], slots: list[str] | None = None) -> bytes:
    return pack_update(arrays, SLOTS if slots is None else slots, SCORES[0])


def _raw(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.fixture
def published(built: BuiltBundle, tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    client = _client(tmp_path)
    shas = upload_bundle(client, built.path, AUTH)
    body = {"family": "kws", "architecture": "tcresnet", "files": shas}
    assert client.post("/v1/admin/versions", json=body, headers=AUTH).status_code == 201
    release = {"channel": "stable", "family": "kws", "architecture": "tcresnet", "number": 1}
    client.post("/v1/admin/releases", json={**release, "percent": 100}, headers=AUTH)
    with Learner(built.path, tmp_path / "state", read_only=True) as learner:
        _, labels, scores = unpack_update(update_body(learner))
        SLOTS[:], SCORES[:] = labels, [scores]
        return tmp_path, learner.get_trainable()


def _device(client: TestClient) -> dict[str, str]:
    reply = client.post("/v1/devices", json={"family": "kws", "architecture": "tcresnet"})
    return {"Authorization": f"Bearer {reply.json()['token']}"}


def _post(client: TestClient, me: dict, body: bytes, version: int = 1, examples: int = 5):  # type: ignore[no-untyped-def]
    return client.post(
        f"/v1/devices/updates?version={version}&examples={examples}", content=body, headers=me
    )


def test_k_updates_become_a_signed_version_that_devices_get(
    published: tuple[Path, dict[str, np.ndarray]],
) -> None:
    root, base = published
    client = _client(root)
    a, b = _device(client), _device(client)
    plus = {k: v + np.float32(1.0) for k, v in base.items()}
    minus = {k: v - np.float32(0.5) for k, v in base.items()}
    first = _post(client, a, _npz(plus), examples=3)
    assert first.status_code == 202 and first.json()["new_version"] is None  # buffer of 2
    second = _post(client, b, _npz(minus), examples=1)
    assert second.status_code == 202 and second.json()["new_version"] == 2
    assert client.get("/v1/admin/stats", headers=AUTH).json()["updates"] == {"applied": 2}

    offer = client.post("/v1/devices/check-in", json={"bundle_version": 1}, headers=a).json()
    offer = offer["offer"]
    assert offer["number"] == 2  # released where version 1 was
    pinned = load_public_key((root / "key.pub").read_text())
    meta = verify_metadata(
        client.get(offer["metadata"], headers=a).content, bytes.fromhex(offer["signature"]), pinned
    )
    out = root / "device-bundle"
    for entry in offer["files"]:
        (out / entry["path"]).parent.mkdir(parents=True, exist_ok=True)
        (out / entry["path"]).write_bytes(client.get(entry["url"], headers=a).content)
    verify_files(meta, out)
    with Learner(out, root / "device-state", read_only=True) as learner:
        got = learner.get_trainable()
    for name, w in base.items():  # both fresh: (3 * 1.0 + 1 * -0.5) / 4 = 0.625
        np.testing.assert_allclose(got[name], w + 0.625, rtol=1e-5, atol=1e-6)


def test_malformed_updates_are_refused_by_name_and_counted(
    published: tuple[Path, dict[str, np.ndarray]],
) -> None:
    root, base = published
    client = _client(root)
    me = _device(client)
    name = next(iter(base))
    cases = [
        (_npz({**base, name: np.full_like(base[name], np.nan)}), 1, "not-finite"),
        (_npz({**base, name: base[name][:1]}), 1, "shape"),
        (_npz({k: v for k, v in base.items() if k != name}), 1, "tensors"),
        (b"not an npz", 1, "format"),
        (_raw(base), 1, "format"),  # no labels, no D0 scores
        (_npz(base), 7, "version"),
        (_npz(base, ["my-word", *SLOTS[1:]]), 1, "labels"),  # a word of its own
        (_npz(base, SLOTS[:-1]), 1, "labels"),
        (pack_update(base, SLOTS, SCORES[0] * 2), 1, "d0-scores"),
        (pack_update(base, SLOTS, SCORES[0][:-1]), 1, "d0-scores"),
    ]
    for body, version, reason in cases:
        reply = _post(client, me, body, version=version)
        assert reply.status_code == 422 and reason in reply.json()["detail"]
    assert _post(client, me, _npz(base), examples=0).status_code == 422
    stats = client.get("/v1/admin/stats", headers=AUTH).json()
    assert sum(stats["rejected"].values()) == len(cases) + 1 and stats["updates"] == {}
    assert _post(client, AUTH, _npz(base)).status_code == 403  # an admin is not a device
    assert client.get("/v1/admin/stats", headers=me).status_code == 403  # nor the reverse


def test_an_accepted_update_survives_a_restart(
    published: tuple[Path, dict[str, np.ndarray]],
) -> None:
    root, base = published
    client = _client(root)
    me = _device(client)
    assert _post(client, me, _npz(base)).json()["new_version"] is None
    client = _client(root)  # the hub again, over the same database and blobs
    reply = _post(client, me, _npz({k: v + np.float32(2) for k, v in base.items()}))
    assert reply.json()["new_version"] == 2
    assert client.get("/v1/admin/stats", headers=AUTH).json()["updates"] == {"applied": 2}


def test_an_aggregation_that_fails_before_its_version_is_recorded_loses_no_update(
    published: tuple[Path, dict[str, np.ndarray]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, base = published
    client = _client(root)
    me = _device(client)
    assert _post(client, me, _npz(base)).json()["new_version"] is None

    def dies(*args: object, **kwargs: object) -> None:  # e.g. the database goes away
        raise OSError("lost the database while recording the version")

    with monkeypatch.context() as patch:
        patch.setattr(Storage, "publish", dies)
        reply = _post(client, me, _npz(base))  # its blobs written, no version recorded
        assert reply.status_code == 202 and reply.json()["new_version"] is None  # still kept
    client = _client(root)  # the hub again, over the same database and blobs
    assert client.get("/v1/admin/stats", headers=AUTH).json()["updates"] == {"pending": 2}
    reply = _post(client, me, _npz({k: v + np.float32(3) for k, v in base.items()}))
    assert reply.json()["new_version"] == 2  # the two kept, and this one
    assert client.get("/v1/admin/stats", headers=AUTH).json()["updates"] == {"applied": 3}
