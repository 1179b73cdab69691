"""What the hub does, apart from HTTP: publish a bundle version from stored blobs (checked whole
and signed), roll back, and choose what a device should download and when.

The HTTP layer (:mod:`edgekit_server.hub.app`) only maps requests to these calls and their
errors to status codes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from edgekit.errors import CorruptBundle
from edgekit.export.manifest import read_manifest
from edgekit_server.errors import StorageConflict
from edgekit_server.hub.blobs import BlobStore
from edgekit_server.hub.buffered import BufferConfig
from edgekit_server.hub.rollout import offered, rollback_number
from edgekit_server.hub.signing import sign, version_metadata
from edgekit_server.hub.storage import CheckIn, PublishedVersion, Storage

__all__ = ["BadBundle", "Hub", "Offer", "RefusedUpdate"]

CELLULAR_BYTES = 8 << 20  # larger downloads wait for Wi-Fi
HEADROOM = 2.0  # a device needs twice the download free (the new bundle beside the last good one)
LOW_BATTERY = 0.2  # below this share of charge, a device not charging waits for its charger


class RefusedUpdate(ValueError):
    """A device's update that cannot be used; ``reason`` is one word, counted by the hub."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(f"update refused ({reason}): {detail}")


class BadBundle(ValueError):
    """The files named for a version are not a whole, valid bundle; the message says why."""


@dataclass(frozen=True)
class Offer:
    """A version a device should fetch, and whether now (``wait`` says for what, else None)."""

    version: PublishedVersion
    total_bytes: int
    wait: str | None


class Hub:
    """The hub's state: its storage, its blobs and its signing key."""

    def __init__(
        self,
        storage: Storage,
        blobs: BlobStore,
        key: Any,
        expires_days: float,
        buffer: BufferConfig | None = None,
    ) -> None:
        self.storage, self.blobs, self.key = storage, blobs, key
        self.expires_days = expires_days
        self.buffer = buffer or BufferConfig()

    def publish(
        self,
        family: str,
        architecture: str,
        files: Mapping[str, str],
        number: int | None = None,
        settles: tuple[Sequence[int], Sequence[int]] | None = None,
    ) -> PublishedVersion:
        """Publish the bundle made of stored blobs ``files`` (path -> sha256) as ``number``
        (default: above every published number), with signed metadata; ``settles``: the
        updates (applied, dropped) it is made of, marked in the same transaction."""
        published = self.storage.numbers(family, architecture)
        number = rollback_number(published) if number is None else number
        if published and number <= published[-1]:
            raise StorageConflict(
                f"{family}/{architecture} has version {published[-1]}: publish a number above it"
            )
        with tempfile.TemporaryDirectory(dir=self.blobs.scratch()) as tmp:
            folder = self.materialise(Path(tmp) / "bundle", files)
            try:
                read_manifest(folder)  # schema, digest and every file's sha256
            except CorruptBundle as exc:
                raise BadBundle(str(exc)) from exc
            expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=self.expires_days)
            metadata = version_metadata(folder, family, architecture, number, expires)
        blob = self.blobs.put([metadata])
        sizes = {path: (sha, self.blobs.path(sha).stat().st_size) for path, sha in files.items()}
        return self.storage.publish(
            family, architecture, number, blob.sha256, sign(metadata, self.key), sizes, settles
        )

    def rollback(self, family: str, architecture: str, to: int) -> PublishedVersion:
        """Publish version ``to``'s files again under a new, higher number."""
        earlier = self.storage.version(family, architecture, to)
        if earlier is None:
            raise StorageConflict(f"{family}/{architecture} has no version {to}")
        files = {path: sha for path, (sha, _) in earlier.files.items()}
        return self.publish(family, architecture, files)

    def materialise(self, folder: Path, files: Mapping[str, str]) -> Path:
        """The bundle as a folder of links to its blobs (copies where links cannot be made)."""
        missing = sorted(path for path, sha in files.items() if not self.blobs.has(sha))
        if missing:
            raise BadBundle(f"no uploaded blob for {', '.join(missing)}")
        for path, sha in files.items():
            parts = PurePosixPath(path).parts
            if not parts or PurePosixPath(path).is_absolute() or ".." in parts:
                raise BadBundle(f"file path {path!r} leaves the bundle")
            target = folder.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(self.blobs.path(sha), target)
            except OSError:
                shutil.copyfile(self.blobs.path(sha), target)
        return folder

    def offer(
        self, channel: str, family: str, architecture: str, device_id: str, report: CheckIn
    ) -> Offer | None:
        """What the device should download (None: nothing), and whether it should wait for free
        storage, for its charger (a low battery) or for Wi-Fi, from what it reported."""
        releases = self.storage.releases(channel, family, architecture)
        number = offered(channel, releases, device_id, report.bundle_version)
        if number is None:
            return None
        version = self.storage.version(family, architecture, number)
        if version is None:  # a release always names a published version
            return None
        total = sum(size for _, size in version.files.values())
        wait = None
        if report.free_bytes is not None and report.free_bytes < HEADROOM * total:
            wait = "storage"
        elif (
            report.charging is False and report.battery is not None and report.battery < LOW_BATTERY
        ):
            wait = "charging"
        elif total > CELLULAR_BYTES and report.wifi is False:
            wait = "wifi"
        return Offer(version, total, wait)
