"""The hub's API fuzzed from its own OpenAPI schema (schemathesis): whatever a client sends, with
an admin's or a device's token, the hub answers without a server error."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from edgekit_server.hub.app import create_app
from edgekit_server.hub.limits import Limits
from tests.server.hub.served import make_hub

ADMIN = "admin-token-for-the-fuzzed-hub"
_HUB = make_hub(Path(tempfile.mkdtemp(prefix="edgekit-hub-fuzz-")), max_bytes=1 << 16)
_APP = create_app(_HUB, ADMIN, Limits(device_rate=1e6, device_burst=10**6))
_DEVICE = TestClient(_APP).post("/v1/devices", json={"family": "kws", "architecture": "tcresnet"})
_TOKENS = {"admin": ADMIN, "device": _DEVICE.json()["token"]}

SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", _APP)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_no_request_makes_a_server_error(operation: Any) -> None:
    # one test per operation, each with its own id (parallel workers tell them apart)
    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        who = "admin" if case.path.startswith(("/v1/admin", "/dashboard")) else "device"
        response = case.call(headers={"Authorization": f"Bearer {_TOKENS[who]}"})
        assert response.status_code < 500, (case.method, case.path, response.text[:300])

    check()


def test_every_route_is_fuzzed() -> None:
    routes = {r.path for r in _APP.routes if isinstance(r, APIRoute) and r.include_in_schema}
    assert {op.path for op in OPERATIONS} == routes
