"""Signing bundle versions: an Ed25519 key pair, the metadata of a version, its signature.

The metadata is the JSON file a device checks with :func:`edgekit.device.signed.verify_metadata`:
family, architecture, version number, expiry, the sha256 and size of every file of the bundle and
the manifest's digest. The signature covers the file's exact bytes, so the bytes written here are
the bytes served: nothing is re-serialised between signing and delivery.

Keys: the private key is a PKCS#8 PEM file readable by its owner only (0600), never overwritten;
the public key, which devices pin, is 64 hex digits in a ``.pub`` file beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from edgekit.device.signed import load_public_key
from edgekit.export.manifest import read_manifest
from edgekit_server.errors import SigningKeyError

__all__ = [
    "generate_key",
    "load_private_key",
    "public_key_of",
    "sign",
    "version_metadata",
]


def generate_key(path: Path) -> Path:
    """Write a new private key to ``path`` (0600) and its public key to ``path.pub``; returns
    the public key's path. An existing key is never replaced."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public_path = path.with_name(path.name + ".pub")
    for existing in (path, public_path):
        if existing.exists():
            raise SigningKeyError(f"{existing} exists: a signing key is never replaced in place")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    _write_private(path, pem)
    public_path.write_text(raw.hex() + "\n")
    return public_path


def _write_private(path: Path, data: bytes) -> None:
    """``data`` into ``path`` atomically, readable by its owner only from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)  # fails if path appeared meanwhile: never replaces a key
    finally:
        os.unlink(tmp)


def load_private_key(path: Path) -> Any:
    """The Ed25519 private key in ``path`` (PKCS#8 PEM, unencrypted)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path} is not a readable signing key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def public_key_of(key: Any) -> bytes:
    """The 32 raw bytes a device pins."""
    from cryptography.hazmat.primitives import serialization

    raw: bytes = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return load_public_key(raw.hex())


def version_metadata(
    bundle: Path, family: str, architecture: str, version: int, expires: datetime
) -> bytes:
    """The metadata bytes of ``bundle`` (checked whole first) published as ``version``."""
    manifest = read_manifest(bundle)
    if expires.tzinfo is None:
        raise ValueError("expires must be timezone-aware")
    files = {}
    for path in sorted(p for p in bundle.rglob("*") if p.is_file()):
        data = path.read_bytes()
        name = path.relative_to(bundle).as_posix()
        files[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    meta = {
        "family": family,
        "architecture": architecture,
        "version": version,
        "expires": expires.isoformat(),
        "files": files,
        "manifest_digest": manifest.digest,
    }
    return (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode()


def sign(metadata: bytes, key: Any) -> bytes:
    """The 64-byte Ed25519 signature of ``metadata``'s exact bytes."""
    signature: bytes = key.sign(metadata)
    return signature
