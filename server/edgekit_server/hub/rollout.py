"""Staged rollout: which published version a device on a channel is offered.

A channel (``stable``, ``beta``, ...) holds releases, each a version number and the share of
devices it reaches (``percent``, 0-100). Whether a device is in a release's share is decided by
a hash of the channel, the version and the device id, so it is the same at every check-in, grows
monotonically as the share is raised (a device once in stays in), and picks different early
devices for each release. A device is offered the newest release that reaches it, never one
below what it runs: a rollback is published as the earlier files under a new, higher number
(:func:`rollback_number`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Release", "bucket", "offered", "rollback_number"]


@dataclass(frozen=True)
class Release:
    version: int  # >= 1
    percent: float  # share of the channel's devices it reaches, 0-100

    def __post_init__(self) -> None:
        if self.version < 1:
            raise ValueError(f"a version number is >= 1, got {self.version}")
        if not 0 <= self.percent <= 100:
            raise ValueError(f"a rollout share is within 0-100 percent, got {self.percent}")


def bucket(channel: str, version: int, device_id: str) -> float:
    """The device's place in ``[0, 100)`` for one release: uniform over device ids."""
    digest = hashlib.sha256(f"{channel}\0{version}\0{device_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100


def offered(
    channel: str, releases: Iterable[Release], device_id: str, installed: int | None
) -> int | None:
    """The version to offer a device running ``installed`` (None: nothing yet), or None when
    it should stay as it is."""
    reaching = [
        r.version
        for r in releases
        if r.percent > 0 and bucket(channel, r.version, device_id) < r.percent
    ]
    best = max(reaching, default=None)
    if best is None or (installed is not None and best <= installed):
        return None
    return best


def rollback_number(published: Iterable[int]) -> int:
    """The number a rollback is published under: above every number ever published, so that
    devices, which never accept a lower number, take it."""
    return max(published, default=0) + 1
