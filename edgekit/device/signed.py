"""What a device accepts as a new bundle version: signed metadata checked against a pinned key.

A version is published as a metadata file (JSON) and its Ed25519 signature over the file's exact
bytes. The device checks the signature over the bytes it received *before* it parses them, so the
JSON needs no canonical form and a parser never sees unsigned input. Then, in order:

1. ``unsigned``: no signature, or one that is not 64 bytes;
2. ``signature``: not made by the pinned key over these bytes (tampered, or signed by another
   key, which is the same thing to a device that pins one key);
3. ``malformed``: signed, but not the metadata this module reads (fields below);
4. ``expired``: its ``expires`` time has passed (a frozen or replayed hub is not trusted forever);
5. ``other-model``: another family or architecture than the device runs;
6. ``rollback``: a lower version number than the one installed (the same number is accepted:
   a device may fetch its own version again to repair it);
7. ``files``: once downloaded, a file missing, of another size or hash, or a file the metadata
   does not list (files of two versions cannot be mixed: every file is bound to this version).

The metadata: ``{"family": str, "architecture": str, "version": int >= 1, "expires":
ISO-8601 time with its UTC offset, "files": {relative path: {"sha256": 64 hex, "size": int}},
"manifest_digest": 64 hex}``; other keys are ignored. The rules are shared with the phone app
through the test vectors in ``tests/vectors/signing``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from edgekit.errors import UpdateRefused

__all__ = ["FileEntry", "VersionMetadata", "load_public_key", "verify_files", "verify_metadata"]

SIGNATURE_BYTES = 64  # Ed25519
KEY_BYTES = 32
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class FileEntry:
    sha256: str  # 64 lowercase hex digits
    size: int  # bytes


@dataclass(frozen=True)
class VersionMetadata:
    """A bundle version as its signed metadata describes it."""

    family: str
    architecture: str
    version: int
    expires: datetime  # timezone-aware
    files: dict[str, FileEntry]  # relative POSIX path -> its hash and size
    manifest_digest: str


def load_public_key(text: str) -> bytes:
    """The 32 bytes of an Ed25519 public key written as 64 hex digits (``edgekit-hub keygen``'s
    ``.pub`` file); anything else raises UpdateRefused."""
    value = text.strip().lower()
    if not _HEX64.match(value):
        raise UpdateRefused("key", "the pinned public key is not 64 hex digits (32 bytes)")
    return bytes.fromhex(value)


def verify_metadata(
    metadata: bytes,
    signature: bytes | None,
    public_key: bytes,
    *,
    installed: int | None = None,
    family: str | None = None,
    architecture: str | None = None,
    now: datetime | None = None,
) -> VersionMetadata:
    """The version ``metadata`` describes, if the pinned ``public_key`` signed exactly these bytes
    and the version may replace ``installed`` (the version number the device runs, None when it
    runs none) for a device of ``family`` / ``architecture`` (None: any) at ``now`` (default: the
    clock). Every refusal raises UpdateRefused with its ``reason`` (see the module's list)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if len(public_key) != KEY_BYTES:
        raise UpdateRefused("key", f"the pinned public key must be {KEY_BYTES} bytes")
    if not signature or len(signature) != SIGNATURE_BYTES:
        raise UpdateRefused("unsigned", "the metadata carries no Ed25519 signature (64 bytes)")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, metadata)
    except InvalidSignature:
        raise UpdateRefused(
            "signature", "the metadata's signature is not the pinned key's: tampered or re-signed"
        ) from None
    meta = _parse(metadata)
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if meta.expires <= moment:
        raise UpdateRefused("expired", f"version {meta.version} expired at {meta.expires}")
    for what, wanted, got in (
        ("family", family, meta.family),
        ("architecture", architecture, meta.architecture),
    ):
        if wanted is not None and got != wanted:
            raise UpdateRefused("other-model", f"the version is for {what} {got!r}, not {wanted!r}")
    if installed is not None and meta.version < installed:
        raise UpdateRefused(
            "rollback", f"version {meta.version} is older than the installed {installed}"
        )
    return meta


def verify_files(meta: VersionMetadata, folder: Path) -> None:
    """Every file of ``meta`` is in ``folder`` with its size and sha256, and nothing else is;
    otherwise UpdateRefused (``files``) names the first file that differs."""
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    extra = sorted(present - set(meta.files))
    if extra:
        raise UpdateRefused("files", f"{extra[0]} is not a file of version {meta.version}")
    for name, entry in sorted(meta.files.items()):
        path = folder / name
        if not path.is_file():
            raise UpdateRefused("files", f"{name} of version {meta.version} is missing")
        size = path.stat().st_size
        if size != entry.size:
            raise UpdateRefused("files", f"{name} is {size} bytes, version says {entry.size}")
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != entry.sha256:
            raise UpdateRefused("files", f"{name} does not match version {meta.version}'s sha256")


def _parse(metadata: bytes) -> VersionMetadata:
    """The signed bytes as metadata; anything unexpected raises UpdateRefused (``malformed``)."""
    try:
        raw = json.loads(metadata.decode("utf-8"))
        return _fields(raw)
    except (UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise UpdateRefused("malformed", f"the signed metadata is not readable ({exc})") from exc


def _fields(raw: Any) -> VersionMetadata:
    if not isinstance(raw, dict):
        raise TypeError("not a JSON object")
    family, arch, version = raw["family"], raw["architecture"], raw["version"]
    if not (isinstance(family, str) and family and isinstance(arch, str) and arch):
        raise ValueError("family and architecture must be non-empty strings")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"version must be an integer >= 1, got {version!r}")
    expires = datetime.fromisoformat(raw["expires"])
    if expires.tzinfo is None:
        raise ValueError("expires must carry its UTC offset")
    files = {}
    for name, entry in raw["files"].items():
        path = PurePosixPath(name)
        if path.is_absolute() or ".." in path.parts or not name or "\\" in name:
            raise ValueError(f"file path {name!r} leaves the bundle")
        size, sha = entry["size"], entry["sha256"]
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"{name}: size must be an integer >= 0")
        if not isinstance(sha, str) or not _HEX64.match(sha):
            raise ValueError(f"{name}: sha256 must be 64 lowercase hex digits")
        files[name] = FileEntry(sha, size)
    if not files:
        raise ValueError("a version lists at least one file")
    digest = raw["manifest_digest"]
    if not isinstance(digest, str) or not _HEX64.match(digest):
        raise ValueError("manifest_digest must be 64 lowercase hex digits")
    return VersionMetadata(family, arch, version, expires, files, digest)
