"""Phone updates in: check an uploaded update (:mod:`edgekit.device.hub_update`) against the
bundle version it was trained from and keep it; :mod:`~edgekit_server.hub.flushing` turns kept
updates into new versions.

Nothing accepted is lost: an update is stored before the device hears it was accepted.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from edgekit.device.hub_update import unpack_update
from edgekit.errors import DataError
from edgekit.export.manifest import BUNDLE_FILES
from edgekit_server.hub.schema import Device
from edgekit_server.hub.service import Hub, RefusedUpdate
from edgekit_server.hub.storage import PublishedVersion

__all__ = ["receive", "trainable_shapes", "weights_of_blob"]


def _manifest(hub: Hub, version: PublishedVersion) -> dict[str, Any]:
    sha, _ = version.files["manifest.json"]
    return dict(json.loads(hub.blobs.path(sha).read_bytes()))


def trainable_shapes(hub: Hub, version: PublishedVersion) -> dict[str, tuple[int, ...]]:
    """The trainable tensors' names and shapes, from the version's manifest."""
    return {t["name"]: tuple(t["shape"]) for t in _manifest(hub, version)["trainable"]}


def _d0_slots(hub: Hub, version: PublishedVersion) -> np.ndarray:
    """The slot of each of the version's D0 clips."""
    with np.load(hub.blobs.path(version.files[BUNDLE_FILES["d0"]][0]), allow_pickle=False) as d0:
        return np.asarray(d0["labels"])


def weights_of_blob(
    hub: Hub, sha256: str, names: dict[str, tuple[int, ...]]
) -> dict[str, np.ndarray]:
    """The tensors ``names`` of a stored .npz (a version's weights or an update)."""
    with np.load(hub.blobs.path(sha256), allow_pickle=False) as data:
        return {name: data[name] for name in names}


def receive(hub: Hub, device: Device, version: int, examples: int, body: bytes) -> int:
    """Check and keep an update (:mod:`edgekit.device.hub_update`'s .npz); its id. A bad one
    raises RefusedUpdate and is counted."""
    try:
        return _receive(hub, device, version, examples, body)
    except RefusedUpdate as exc:
        hub.storage.reject(device.id, exc.reason, str(exc))
        raise


def _receive(hub: Hub, device: Device, version: int, examples: int, body: bytes) -> int:
    base = hub.storage.version(device.family, device.architecture, version)
    if base is None:
        raise RefusedUpdate(
            "version", f"{device.family}/{device.architecture} has no version {version}"
        )
    if examples < 1:
        raise RefusedUpdate("examples", f"an update is trained on >= 1 clip, got {examples}")
    manifest = _manifest(hub, base)
    shapes = {t["name"]: tuple(t["shape"]) for t in manifest["trainable"]}
    try:
        arrays, slot_labels, scores = unpack_update(body)
    except DataError as exc:
        raise RefusedUpdate("format", str(exc)) from exc
    if set(arrays) != set(shapes):
        raise RefusedUpdate(
            "tensors", f"{sorted(set(arrays) ^ set(shapes))} differ from version {version}'s"
        )
    for name, shape in shapes.items():
        a = arrays[name]
        if a.dtype != np.float32 or a.shape != shape:
            raise RefusedUpdate("shape", f"{name} is {a.dtype} {a.shape}, not float32 {shape}")
        if not np.isfinite(a).all():
            raise RefusedUpdate("not-finite", f"{name} holds NaN or Inf")
    _check_labels(slot_labels, manifest["labels"], int(manifest["max_classes"]), version)
    d0_slots = _d0_slots(hub, base)
    _check_scores(scores, (len(d0_slots), int(manifest["max_classes"])))
    d0_accuracy = float((scores.argmax(axis=1) == d0_slots).mean()) if len(d0_slots) else None
    blob = hub.blobs.put([body])
    return hub.storage.add_update(
        device.id,
        device.family,
        device.architecture,
        version,
        blob.sha256,
        examples,
        d0_accuracy,
    )


def _check_labels(slots: list[str], known: list[str], max_classes: int, version: int) -> None:
    """Every slot the device trained holds the version's label of that slot: an update that
    trained a slot for a word of its own (or moved a word) would spread it to every phone."""
    if len(slots) != max_classes:
        raise RefusedUpdate("labels", f"{len(slots)} slot labels, the bundle has {max_classes}")
    for i, name in enumerate(slots):
        if name and (i >= len(known) or known[i] != name):
            expected = repr(known[i]) if i < len(known) else "no label (a free slot)"
            raise RefusedUpdate(
                "labels", f"slot {i} is {name!r} on the device; version {version} has {expected}"
            )


def _check_scores(scores: np.ndarray, shape: tuple[int, int]) -> None:
    """Softmax rows over the D0 clips: finite, in [0, 1], each summing to at most 1."""
    if scores.dtype != np.float32 or scores.shape != shape:
        raise RefusedUpdate(
            "d0-scores", f"scores are {scores.dtype} {scores.shape}, not float32 {shape}"
        )
    if not np.isfinite(scores).all() or scores.min(initial=0) < 0 or scores.max(initial=0) > 1:
        raise RefusedUpdate("d0-scores", "scores must be probabilities in [0, 1]")
    if (scores.sum(axis=1) > 1 + 1e-3).any():
        raise RefusedUpdate("d0-scores", "a row of scores sums to more than 1")
