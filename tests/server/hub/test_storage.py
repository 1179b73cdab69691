"""The hub's storage on SQLite and on a real PostgreSQL server, migrated by Alembic."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from edgekit_server.errors import StorageConflict
from edgekit_server.hub.rollout import Release
from edgekit_server.hub.schema import Base
from edgekit_server.hub.storage import CheckIn, Storage

SHA = hashlib.sha256(b"metadata").hexdigest()
FILES = {"model.pte": (hashlib.sha256(b"p").hexdigest(), 1), "d0.npz": (SHA, 12)}


def test_the_migrated_schema_is_the_models(database_url: str) -> None:
    storage = Storage(database_url)
    with storage.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    storage.close()
    Storage(database_url).close()  # opening again finds it at the newest migration


def test_versions_only_grow_and_keep_their_files(database_url: str) -> None:
    storage = Storage(database_url)
    published = storage.publish("kws", "tcresnet", 2, SHA, b"s" * 64, FILES)
    storage.publish("kws", "dscnn", 1, SHA, b"t" * 64, FILES)  # its own numbering
    for number in (1, 2):
        with pytest.raises(StorageConflict, match="publish a number above it"):
            storage.publish("kws", "tcresnet", number, SHA, b"s" * 64, FILES)
    storage.publish("kws", "tcresnet", 5, SHA, b"u" * 64, {"model.pte": FILES["model.pte"]})
    assert storage.numbers("kws", "tcresnet") == [2, 5]
    got = storage.version("kws", "tcresnet", 2)
    assert got is not None and got.files == FILES and got.signature == b"s" * 64
    assert abs(got.published_at - published.published_at) < timedelta(seconds=1)  # aware, UTC
    assert storage.version("kws", "tcresnet", 3) is None
    storage.close()


def test_concurrent_publishers_of_one_number_get_one_version(database_url: str) -> None:
    storage = Storage(database_url)

    def publish(i: int) -> bool:
        try:
            storage.publish("kws", "tcresnet", 1, SHA, bytes([i]) * 64, FILES)
        except StorageConflict:
            return False
        return True

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(publish, range(4)))
    assert results.count(True) == 1 and storage.numbers("kws", "tcresnet") == [1]
    storage.close()


def test_releases_carry_their_share_and_need_a_published_version(database_url: str) -> None:
    storage = Storage(database_url)
    storage.publish("kws", "tcresnet", 1, SHA, b"s" * 64, FILES)
    storage.publish("kws", "tcresnet", 2, SHA, b"s" * 64, FILES)
    storage.release("stable", "kws", "tcresnet", 1, 100.0)
    storage.release("stable", "kws", "tcresnet", 2, 10.0)
    storage.release("stable", "kws", "tcresnet", 2, 50.0)  # the share raised
    storage.release("beta", "kws", "tcresnet", 2, 100.0)
    assert storage.releases("stable", "kws", "tcresnet") == [Release(1, 100.0), Release(2, 50.0)]
    assert storage.releases("beta", "kws", "tcresnet") == [Release(2, 100.0)]
    with pytest.raises(StorageConflict, match="no version 3"):
        storage.release("stable", "kws", "tcresnet", 3, 10.0)
    with pytest.raises(ValueError, match="0-100"):
        storage.release("stable", "kws", "tcresnet", 2, 150.0)
    storage.close()


def test_devices_register_once_and_keep_their_last_check_in(database_url: str) -> None:
    storage = Storage(database_url)
    token = hashlib.sha256(b"secret token").hexdigest()
    storage.register("phone-1", token, "kws", "tcresnet", "stable")
    with pytest.raises(StorageConflict, match="registered"):
        storage.register("phone-1", hashlib.sha256(b"other").hexdigest(), "kws", "tcresnet", "beta")
    with pytest.raises(StorageConflict, match="registered"):
        storage.register("phone-2", token, "kws", "tcresnet", "beta")
    storage.check_in("phone-1", CheckIn("1.0", 3, 10**9, 0.8, True, False))
    device = storage.device_for_token(token)
    assert device is not None and device.id == "phone-1" and device.channel == "stable"
    assert (device.bundle_version, device.free_bytes, device.charging, device.wifi) == (
        3,
        10**9,
        True,
        False,
    )
    assert device.last_seen is not None
    assert storage.device_for_token(hashlib.sha256(b"unknown").hexdigest()) is None
    with pytest.raises(StorageConflict, match="no device"):
        storage.check_in("phone-9", CheckIn())
    storage.close()


def test_a_blob_is_readable_only_through_a_release_on_the_channel(database_url: str) -> None:
    storage = Storage(database_url)
    other = hashlib.sha256(b"other metadata").hexdigest()
    storage.publish("kws", "tcresnet", 1, SHA, b"s" * 64, {"model.pte": FILES["model.pte"]})
    storage.publish("kws", "tcresnet", 2, other, b"s" * 64, FILES)
    storage.release("beta", "kws", "tcresnet", 1, 10.0)
    for blob in (SHA, FILES["model.pte"][0]):  # the metadata and a file of version 1
        assert storage.released_blob("beta", "kws", "tcresnet", blob)
        assert not storage.released_blob("stable", "kws", "tcresnet", blob)
        assert not storage.released_blob("beta", "kws", "dscnn", blob)
    assert not storage.released_blob("beta", "kws", "tcresnet", other)  # version 2: unreleased
    storage.release("beta", "kws", "tcresnet", 2, 0.0)
    assert storage.released_blob("beta", "kws", "tcresnet", other)
    storage.close()
