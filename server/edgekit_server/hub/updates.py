"""Phone updates into new versions: check an uploaded update against the bundle version it was
trained from, keep it, and when the buffer is full aggregate (:mod:`~edgekit_server.hub.buffered`)
and publish the result as the next signed version, released where the current one is.

Nothing accepted is lost: an update is stored before the device hears it was accepted, and the
updates a flush applies are marked in the same transaction that records the new version, so a
hub stopped at any point flushes them again, or not at all, after its restart.
"""

from __future__ import annotations

import functools
import io
import json
import tempfile
from pathlib import Path

import numpy as np

from edgekit.device.state import DAMAGED_NPZ
from edgekit.export.reweight import reweighted
from edgekit_server.hub.buffered import PendingUpdate, flush
from edgekit_server.hub.schema import Device
from edgekit_server.hub.service import Hub, RefusedUpdate
from edgekit_server.hub.storage import PublishedVersion

__all__ = ["maybe_flush", "receive"]


def _trainable(hub: Hub, version: PublishedVersion) -> dict[str, tuple[int, ...]]:
    """The trainable tensors' names and shapes, from the version's manifest."""
    sha, _ = version.files["manifest.json"]
    manifest = json.loads(hub.blobs.path(sha).read_bytes())
    return {t["name"]: tuple(t["shape"]) for t in manifest["trainable"]}


def _weights(hub: Hub, sha256: str, names: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    with np.load(hub.blobs.path(sha256), allow_pickle=False) as data:
        return {name: data[name] for name in names}


def receive(hub: Hub, device: Device, version: int, examples: int, body: bytes) -> int:
    """Check and keep an update (an .npz of the trainable tensors); its id. A bad one raises
    RefusedUpdate and is counted."""
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
    shapes = _trainable(hub, base)
    try:
        with np.load(io.BytesIO(body), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except DAMAGED_NPZ as exc:
        raise RefusedUpdate("format", f"not a readable .npz ({exc})") from exc
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
    blob = hub.blobs.put([body])
    return hub.storage.add_update(
        device.id, device.family, device.architecture, version, blob.sha256, examples
    )


def maybe_flush(hub: Hub, family: str, architecture: str) -> int | None:
    """Aggregate the pending updates once there are enough; the new version's number, or None."""
    pending = hub.storage.pending(family, architecture)
    numbers = hub.storage.numbers(family, architecture)
    if len(pending) < hub.buffer.k or not numbers:
        return None
    current = hub.storage.version(family, architecture, numbers[-1])
    assert current is not None
    names = _trainable(hub, current)

    @functools.cache  # each version's weights read once per flush, however many updates use it
    def weights_of(number: int) -> dict[str, np.ndarray]:
        version = (
            current
            if number == current.number
            else hub.storage.version(family, architecture, number)
        )
        assert version is not None
        return _weights(hub, version.files["weights.npz"][0], names)

    buffered = [
        PendingUpdate(u.update_id, u.version, _weights(hub, u.weights_sha256, names), u.examples)
        for u in pending
    ]
    result = flush(weights_of(current.number), current.number, buffered, weights_of, hub.buffer)
    assert result is not None
    if not result.applied:
        hub.storage.settle(result.dropped)
        return None
    with tempfile.TemporaryDirectory(dir=hub.blobs.scratch()) as tmp:
        folder = hub.materialise(
            Path(tmp) / "current", {p: sha for p, (sha, _) in current.files.items()}
        )
        reweighted(folder, result.weights, Path(tmp) / "next")
        files = {
            p.relative_to(Path(tmp) / "next").as_posix(): hub.blobs.put_file(p).sha256
            for p in sorted((Path(tmp) / "next").rglob("*"))
            if p.is_file()
        }
    made = hub.publish(family, architecture, files, settles=(result.applied, result.dropped))
    for channel, percent in hub.storage.channels_of(family, architecture, current.number):
        hub.storage.release(channel, family, architecture, made.number, percent)
    return made.number
