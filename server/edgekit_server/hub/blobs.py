"""Content-addressed blobs on disk: every file the hub serves, named by its sha256.

A blob lives at ``<root>/<first two hex digits>/<all 64>`` and never changes once there. Writes
stream into a temporary file beside the blobs (hashing and counting as they go), are flushed to
disk and renamed into place, so a reader never sees half a blob and a crash leaves at most a
temporary file, which :meth:`BlobStore.clean` removes. An upload over ``max_bytes`` stops as soon
as it passes the limit; one whose hash is not the one announced is dropped. The same content
stored twice is one blob.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from edgekit_server.errors import BlobRejected

__all__ = ["Blob", "BlobStore"]

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TEMP = ".incoming"  # folder of unfinished writes under the root


@dataclass(frozen=True)
class Blob:
    sha256: str
    size: int  # bytes


class BlobStore:
    """Blobs under ``root``, each at most ``max_bytes``."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError(f"max_bytes must be >= 1, got {max_bytes}")
        self.root = root
        self.max_bytes = max_bytes
        (root / _TEMP).mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        """Where blob ``sha256`` lives (whether or not it is there); a name that is not 64
        lowercase hex digits raises BlobRejected, so no name reaches outside the store."""
        if not _HEX64.match(sha256):
            raise BlobRejected("name", f"{sha256!r} is not a sha256 (64 lowercase hex digits)")
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> Blob:
        """Store the bytes of ``chunks``; with ``expected_sha256`` they must hash to it. Over
        ``max_bytes`` or another hash raises BlobRejected (``too-large`` / ``mismatch``) and
        nothing is stored."""
        if expected_sha256 is not None:
            self.path(expected_sha256)  # a malformed name is refused before reading anything
        digest, size = hashlib.sha256(), 0
        fd, tmp = tempfile.mkstemp(dir=self.root / _TEMP)
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise BlobRejected("too-large", f"more than {self.max_bytes} bytes")
                    digest.update(chunk)
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            sha = digest.hexdigest()
            if expected_sha256 is not None and sha != expected_sha256:
                raise BlobRejected("mismatch", f"the bytes hash to {sha}, not {expected_sha256}")
            final = self.path(sha)
            final.parent.mkdir(exist_ok=True)
            os.chmod(tmp, 0o644)
            os.replace(tmp, final)  # the same content may land twice: same bytes, same name
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return Blob(sha, size)

    def put_file(self, path: Path, expected_sha256: str | None = None) -> Blob:
        """Store a file's bytes (read in 1 MiB chunks)."""
        with path.open("rb") as handle:
            return self.put(iter(lambda: handle.read(1 << 20), b""), expected_sha256)

    def verify(self, sha256: str) -> bool:
        """Whether blob ``sha256`` is there and still hashes to its name."""
        path = self.path(sha256)
        if not path.is_file():
            return False
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest() == sha256

    def clean(self) -> int:
        """Remove what interrupted writes left behind; how many entries."""
        leftovers = list((self.root / _TEMP).iterdir())
        for path in leftovers:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        return len(leftovers)

    def scratch(self) -> Path:
        """A folder for temporary work beside the blobs (same file system: links work), removed
        by :meth:`clean` if a crash leaves it."""
        return self.root / _TEMP
