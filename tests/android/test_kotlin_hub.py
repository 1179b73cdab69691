"""The app's hub client against a real hub (HubClientTest.kt, run by ``jvm_run``), checked from
the hub's side afterwards: the update Kotlin posted is kept as it was sent and reads as Python's
own update format, the refused one is counted, and each device's check-in report and
registration are what the client sent and kept."""

from __future__ import annotations

import hashlib
import json
import re
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from edgekit.device.hub_update import unpack_update, update_body
from edgekit.export.manifest import read_manifest
from edgekit_server.hub.schema import Device
from edgekit_server.hub.storage import StoredUpdate
from tests.android.conftest import JvmRun
from tests.android.hub_served import FAMILIES, HubLaunch, ServedHub
from tests.android.update_fixtures import case_learner

pytestmark = pytest.mark.slow
CASES = 5  # the @Test methods of HubClientTest


def _pending(served: ServedHub, family: str) -> list[StoredUpdate]:
    """The updates the served hub holds pending for ``family`` (its architecture)."""
    storage = served.storage()
    try:
        return storage.pending(family, served.architecture)
    finally:
        storage.close()


def test_every_case_of_the_hub_client_ran_and_passed(jvm_run: JvmRun) -> None:
    ran = re.findall(r"^  HubClientTest\.(.+) \(\d+ ms\)$", jvm_run.output, re.MULTILINE)
    assert len(ran) == CASES, jvm_run.output
    failed = [line for line in jvm_run.output.splitlines() if "FAILED" in line and "Hub" in line]
    assert not failed, jvm_run.output


def test_the_hub_keeps_the_update_kotlin_posted_as_sent(
    jvm_run: JvmRun, hub: HubLaunch, bundle: Path
) -> None:
    record_file, body_file = jvm_run.out / "hub_update.json", jvm_run.out / "hub_update.npz"
    assert record_file.is_file() and body_file.is_file(), jvm_run.output
    record: dict[str, Any] = json.loads(record_file.read_text())
    body = body_file.read_bytes()
    assert hashlib.sha256(body).hexdigest() == record["sha256"]
    served = hub.ready(bundle)
    pending = _pending(served, FAMILIES["post"])
    assert [(u.update_id, u.device_id, u.version, u.examples) for u in pending] == [
        (record["update_id"], record["device_id"], record["version"], record["examples"])
    ]
    sha = pending[0].weights_sha256
    assert sha == record["sha256"]
    assert (served.root / "data" / "blobs" / sha[:2] / sha).read_bytes() == body

    manifest = read_manifest(bundle)
    arrays, slot_labels, scores = unpack_update(body)
    assert slot_labels == manifest.labels + [""] * (manifest.max_classes - len(manifest.labels))
    with np.load(bundle / "weights.npz") as weights, np.load(bundle / "d0.npz") as d0:
        assert set(arrays) == {t["name"] for t in manifest.trainable}
        for name, trained in arrays.items():
            np.testing.assert_array_equal(trained, weights[name] + np.float32(record["delta"]))
        assert scores.shape == (len(d0["labels"]), manifest.max_classes)
    assert np.allclose(scores.sum(axis=1), 1.0, atol=1e-6)
    # the update for a word the version lacks was refused and counted, not kept
    # pending: this update and the one of HubSyncTest (family "sync")
    assert served.stats() == {"updates": {"pending": 2}, "rejected": {"labels": 1}}


def test_the_update_a_sync_posted_is_pythons_update_body_of_the_state(
    jvm_run: JvmRun, hub: HubLaunch, bundle: Path, tmp_path: Path
) -> None:
    """HubSyncTest posted the update of the state of update case "personal" (built from the
    Python runtime's logits, replayed): the hub keeps it, and it is what Python's own
    ``update_body`` makes of that state."""
    record_file = jvm_run.out / "hub_sync.json"
    assert record_file.is_file(), jvm_run.output
    record: dict[str, Any] = json.loads(record_file.read_text())
    served = hub.ready(bundle)
    pending = _pending(served, FAMILIES["sync"])
    assert [(u.update_id, u.device_id, u.version, u.examples) for u in pending] == [
        (record["update_id"], record["device_id"], 1, record["examples"])
    ]
    sha = pending[0].weights_sha256
    arrays, slot_labels, scores = unpack_update(
        (served.root / "data" / "blobs" / sha[:2] / sha).read_bytes()
    )
    with case_learner(bundle, tmp_path / "state", record["case"]) as learner:
        expected = unpack_update(update_body(learner))
    assert slot_labels == expected[1]
    assert list(arrays) == list(expected[0])
    for name, trained in arrays.items():
        np.testing.assert_array_equal(trained, expected[0][name], err_msg=name)
    np.testing.assert_allclose(scores, expected[2], rtol=1e-6, atol=1e-7)


def test_the_hub_keeps_what_each_device_reported_and_its_registration(
    jvm_run: JvmRun, hub: HubLaunch, bundle: Path
) -> None:
    served = hub.ready(bundle)
    identities = {}
    for name in ("installer", "waiter", "poster"):
        path = jvm_run.out / "hub" / name / "hub.json"
        assert path.is_file(), jvm_run.output
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the token is the device's password
        identities[name] = json.loads(path.read_text())
        assert set(identities[name]) == {
            "hub", "device_id", "token", "family", "architecture", "channel"
        }  # fmt: skip
        assert identities[name]["hub"] == served.url + "/"
    storage = served.storage()
    try:
        with storage.session() as s:
            devices = {d.id: d for d in s.scalars(select(Device))}
            s.expunge_all()
    finally:
        storage.close()
    for ident in identities.values():
        device = devices[ident["device_id"]]
        assert device.token_sha256 == hashlib.sha256(ident["token"].encode()).hexdigest()
        assert (device.family, device.architecture, device.channel) == (
            ident["family"], served.architecture, "stable"
        )  # fmt: skip
    installer = devices[identities["installer"]["device_id"]]
    assert (installer.bundle_version, installer.battery, installer.charging, installer.wifi) == (
        2, 0.9, True, True
    )  # fmt: skip
    waiter = devices[identities["waiter"]["device_id"]]
    assert (waiter.bundle_version, waiter.battery, waiter.charging, waiter.wifi) == (
        None, 0.1, False, True
    )  # fmt: skip
    assert waiter.free_bytes is not None and waiter.free_bytes > 0  # the client's own figure
    assert identities["installer"]["family"] == FAMILIES["install"]
