"""The hub's side of the Flower bridge: its aggregate now (pending updates applied without
waiting for the buffer) and the federation's weights adopted as the next version."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from edgekit.device.hub_update import update_body
from edgekit.device.learner import Learner
from edgekit_server.hub.app import create_app
from edgekit_server.hub.buffered import BufferConfig
from tests.bundle_fixture import BuiltBundle
from tests.server.hub.served import make_hub, upload_bundle

ADMIN = "admin-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
PATH = "/v1/admin/aggregates/kws/tcresnet"


def _npz(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _arrays(body: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(body), allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture
def client(built: BuiltBundle, tmp_path: Path) -> TestClient:
    app = create_app(make_hub(tmp_path, buffer=BufferConfig(k=10, exponent=0.5)), ADMIN)
    client = TestClient(app)
    shas = upload_bundle(client, built.path, AUTH)
    body = {"family": "kws", "architecture": "tcresnet", "files": shas}
    assert client.post("/v1/admin/versions", json=body, headers=AUTH).status_code == 201
    release = {"channel": "beta", "family": "kws", "architecture": "tcresnet", "number": 1}
    client.post("/v1/admin/releases", json={**release, "percent": 100}, headers=AUTH)
    return client


def _phone_update(built: BuiltBundle, state: Path, shift: float) -> tuple[bytes, dict]:
    """An update whose weights are the bundle's moved by ``shift``."""
    with Learner(built.path, state) as learner:
        base = learner.get_trainable()
        learner.set_trainable({k: v + np.float32(shift) for k, v in base.items()})
        return update_body(learner), base


def test_the_aggregate_applies_pending_updates_and_adoption_settles_them(
    client: TestClient, built: BuiltBundle, tmp_path: Path
) -> None:
    devices = []
    for _ in range(2):
        reply = client.post(
            "/v1/devices", json={"family": "kws", "architecture": "tcresnet", "channel": "beta"}
        )
        devices.append({"Authorization": f"Bearer {reply.json()['token']}"})
    first, base = _phone_update(built, tmp_path / "a", 1.0)
    second, _ = _phone_update(built, tmp_path / "b", -1.0)
    for me, body, examples in [(devices[0], first, 3), (devices[1], second, 1)]:
        url = f"/v1/devices/updates?version=1&examples={examples}"
        assert client.post(url, content=body, headers=me).json()["new_version"] is None

    now = client.get(PATH, headers=AUTH)
    assert now.status_code == 200
    assert now.headers["X-Based-On"] == "1" and now.headers["X-Examples"] == "4"
    ids = now.headers["X-Updates"]
    assert len(ids.split(",")) == 2
    for name, w in _arrays(now.content).items():  # (3 * 1 + 1 * -1) / 4 = 0.5, both fresh
        np.testing.assert_allclose(w, base[name] + 0.5, rtol=1e-5, atol=1e-6)

    federated = {k: v + np.float32(0.25) for k, v in base.items()}
    adopted = client.post(f"{PATH}?updates={ids}", content=_npz(federated), headers=AUTH)
    assert adopted.status_code == 201 and adopted.json() == {"number": 2}
    assert client.get("/v1/admin/stats", headers=AUTH).json()["updates"] == {"applied": 2}
    offer = client.post("/v1/devices/check-in", json={"bundle_version": 1}, headers=devices[0])
    assert offer.json()["offer"]["number"] == 2  # released on beta, as version 1 was

    again = client.get(PATH, headers=AUTH)
    assert again.headers["X-Based-On"] == "2" and again.headers["X-Examples"] == "0"
    for name, w in _arrays(again.content).items():
        np.testing.assert_array_equal(w, federated[name])
    same = client.post(PATH, content=_npz(federated), headers=AUTH)
    assert same.status_code == 201 and same.json() == {"number": None}  # nothing new


def test_adoption_refuses_what_is_not_the_bundles_weights(
    client: TestClient, built: BuiltBundle
) -> None:
    base = _arrays(client.get(PATH, headers=AUTH).content)
    name = next(iter(base))
    cases = [
        (PATH, _npz({**base, name: base[name][:1]}), AUTH, 422),
        (PATH, _npz({**base, name: np.full_like(base[name], np.inf)}), AUTH, 422),
        (PATH, b"not an npz", AUTH, 422),
        (PATH, _npz({**base, "extra": base[name]}), AUTH, 422),
        ("/v1/admin/aggregates/kws/resnet", _npz(base), AUTH, 404),
        (PATH, _npz(base), {"Authorization": "Bearer nope"}, 403),
    ]
    for url, body, headers, status in cases:
        reply = client.post(url, content=body, headers=headers)
        assert reply.status_code == status, (url, reply.text)
    assert client.get("/v1/admin/aggregates/kws/resnet", headers=AUTH).status_code == 404
    assert client.get(PATH).status_code == 401
