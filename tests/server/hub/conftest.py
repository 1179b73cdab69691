"""The hub's storage tests run on both databases it supports: a SQLite file and a real
PostgreSQL server (one throw-away cluster per test worker)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edgekit_server.hub.pgtemp import Cluster
from edgekit_server.hub.storage import sqlite_url


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    cluster = Cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    cluster: Cluster = request.getfixturevalue("postgres")
    return cluster.database()
