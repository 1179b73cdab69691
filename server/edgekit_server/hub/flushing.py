"""Kept phone updates into new versions.

- :func:`maybe_flush`: when an architecture's buffer holds ``k`` updates, aggregate them
  (:mod:`~edgekit_server.hub.buffered`) and publish the result as the next signed version,
  released where the current one is.
- :func:`aggregate_now` and :func:`adopt` are the hub's side of the Flower bridge
  (:mod:`edgekit_server.fl.hub_bridge`): the current version with every pending update applied
  as a flush would, without waiting for the buffer to fill; and the federation's result
  published as the next version, settling the updates it was sent.

The updates a new version applies are marked in the same transaction that records it, so a
hub stopped at any point flushes them again, or not at all, after its restart.
"""

from __future__ import annotations

import dataclasses
import functools
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.export.reweight import reweighted
from edgekit_server.hub.buffered import PendingUpdate, flush
from edgekit_server.hub.service import Hub
from edgekit_server.hub.storage import PublishedVersion
from edgekit_server.hub.updates import trainable_shapes, weights_of_blob

__all__ = ["Aggregate", "adopt", "aggregate_now", "maybe_flush"]

Weights = dict[str, np.ndarray]


@dataclass(frozen=True)
class _Buffer:
    current: PublishedVersion
    names: dict[str, tuple[int, ...]]
    updates: list[PendingUpdate]
    weights_of: Callable[[int], Weights]  # a version's trainable weights, each read once


def _buffer(hub: Hub, family: str, architecture: str) -> _Buffer | None:
    numbers = hub.storage.numbers(family, architecture)
    if not numbers:
        return None
    current = hub.storage.version(family, architecture, numbers[-1])
    assert current is not None
    names = trainable_shapes(hub, current)

    @functools.cache
    def weights_of(number: int) -> Weights:
        version = (
            current
            if number == current.number
            else hub.storage.version(family, architecture, number)
        )
        assert version is not None
        return weights_of_blob(hub, version.files["weights.npz"][0], names)

    updates = [
        PendingUpdate(
            u.update_id, u.version, weights_of_blob(hub, u.weights_sha256, names), u.examples
        )
        for u in hub.storage.pending(family, architecture)
    ]
    return _Buffer(current, names, updates, weights_of)


def _publish_weights(
    hub: Hub,
    current: PublishedVersion,
    weights: Mapping[str, np.ndarray],
    settles: tuple[Sequence[int], Sequence[int]],
) -> PublishedVersion:
    """``current``'s bundle with ``weights``, signed as the next version and released on every
    channel (and share) that ``current`` is."""
    with tempfile.TemporaryDirectory(dir=hub.blobs.scratch()) as tmp:
        folder = hub.materialise(
            Path(tmp) / "current", {p: sha for p, (sha, _) in current.files.items()}
        )
        reweighted(folder, weights, Path(tmp) / "next")
        files = {
            p.relative_to(Path(tmp) / "next").as_posix(): hub.blobs.put_file(p).sha256
            for p in sorted((Path(tmp) / "next").rglob("*"))
            if p.is_file()
        }
    family, architecture = current.family, current.architecture
    made = hub.publish(family, architecture, files, settles=settles)
    for channel, percent in hub.storage.channels_of(family, architecture, current.number):
        hub.storage.release(channel, family, architecture, made.number, percent)
    return made


def maybe_flush(hub: Hub, family: str, architecture: str) -> int | None:
    """Aggregate the pending updates once there are enough; the new version's number, or None."""
    buffer = _buffer(hub, family, architecture)
    if buffer is None or len(buffer.updates) < hub.buffer.k:
        return None
    current = buffer.current
    result = flush(
        buffer.weights_of(current.number), current.number, buffer.updates, buffer.weights_of,
        hub.buffer,
    )  # fmt: skip
    assert result is not None
    if not result.applied:
        hub.storage.settle(result.dropped)
        return None
    return _publish_weights(hub, current, result.weights, (result.applied, result.dropped)).number


@dataclass(frozen=True)
class Aggregate:
    """An architecture's weights as the hub would publish them now."""

    weights: Weights
    based_on: int  # the current version's number
    examples: int  # clips behind the pending updates applied (0: none)
    updates: tuple[int, ...]  # their ids


def aggregate_now(hub: Hub, family: str, architecture: str) -> Aggregate | None:
    """The current version with every pending update applied (staleness-weighted, as a flush
    of the whole buffer would; too stale ones left out); None when nothing is published."""
    buffer = _buffer(hub, family, architecture)
    if buffer is None:
        return None
    current = buffer.current
    weights = buffer.weights_of(current.number)
    if not buffer.updates:
        return Aggregate(dict(weights), current.number, 0, ())
    config = dataclasses.replace(hub.buffer, k=1)
    result = flush(weights, current.number, buffer.updates, buffer.weights_of, config)
    assert result is not None
    applied = set(result.applied)
    examples = sum(u.examples for u in buffer.updates if u.update_id in applied)
    return Aggregate(result.weights, current.number, examples, result.applied)


def adopt(
    hub: Hub,
    family: str,
    architecture: str,
    weights: Mapping[str, np.ndarray],
    updates: Sequence[int],
) -> PublishedVersion | None:
    """Publish the federation's ``weights`` as the next version, marking ``updates`` (those of
    :func:`aggregate_now` it was sent) applied, unless a flush applied them meanwhile; None when
    ``weights`` are the current version's own (nothing to publish). The weights must be the
    bundle's trainable tensors (DataError otherwise)."""
    buffer = _buffer(hub, family, architecture)
    if buffer is None:
        return None
    current = buffer.weights_of(buffer.current.number)
    if set(weights) == set(current) and all(
        np.array_equal(weights[k], current[k]) for k in current
    ):
        return None
    pending = {u.update_id for u in buffer.updates}
    applied = [i for i in updates if i in pending]
    return _publish_weights(hub, buffer.current, weights, (applied, ()))
