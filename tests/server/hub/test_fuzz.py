"""The hub's API fuzzed from its own OpenAPI schema (schemathesis): whatever a client sends, with
an admin's or a device's token, the hub answers without a server error."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from edgekit_server.hub.app import create_app
from edgekit_server.hub.limits import Limits
from tests.server.hub.served import make_hub

ADMIN = "admin-token-for-the-fuzzed-hub"
_HUB = make_hub(Path(tempfile.mkdtemp(prefix="edgekit-hub-fuzz-")), max_bytes=1 << 16)
_APP = create_app(_HUB, ADMIN, Limits(device_rate=1e6, device_burst=10**6))
_DEVICE = TestClient(_APP).post("/v1/devices", json={"family": "kws", "architecture": "tcresnet"})
_TOKENS = {"admin": ADMIN, "device": _DEVICE.json()["token"]}

schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_a_server_error(case: schemathesis.Case) -> None:
    who = "admin" if case.path.startswith("/v1/admin") else "device"
    response = case.call(headers={"Authorization": f"Bearer {_TOKENS[who]}"})
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
