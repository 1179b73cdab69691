"""Write the signed-version test vectors (tests/vectors/signing): metadata files, signatures, a
pinned public key, bundles of files and ``cases.json`` with the verdict each case must get.

Both the Python device (tests/device/test_signed.py) and the phone app run every case. The keys
are test keys made from fixed seeds (Ed25519 signing is deterministic), so running this again
writes the same bytes; a test checks that the committed files are exactly what it writes.

    .venv/bin/python tests/vectors/make_signing_vectors.py tests/vectors/signing
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

NOW = "2026-12-01T00:00:00+00:00"  # the device's clock in every case
DIGEST = hashlib.sha256(b"manifest of the test bundle").hexdigest()
FILES = {
    "v2": {"model.pte": b"program of version 2", "weights/head.npz": b"weights of version 2"},
    "v3": {"model.pte": b"program of version 3", "weights/head.npz": b"weights of version 3"},
}


def _key(name: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(name.encode()).digest())


def _metadata(version: int, files: dict[str, bytes], **changes: Any) -> bytes:
    meta: dict[str, Any] = {
        "family": "kws",
        "architecture": "tcresnet",
        "version": version,
        "expires": "2027-06-01T00:00:00+00:00",
        "files": {
            name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, data in sorted(files.items())
        },
        "manifest_digest": DIGEST,
    }
    meta.update(changes)
    return (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode()


def write(out: Path) -> None:
    pinned, other = _key("edgekit test vector key"), _key("another hub's key")
    public = pinned.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pinned.pub").write_text(public.hex() + "\n")
    bundles = {
        "files_v3": FILES["v3"],
        "files_mixed": {**FILES["v3"], "weights/head.npz": FILES["v2"]["weights/head.npz"]},
        "files_extra": {**FILES["v3"], "notes.txt": b"not part of the version"},
        "files_short": {k: v for k, v in FILES["v3"].items() if k != "weights/head.npz"},
    }
    for folder, files in bundles.items():
        for name, data in files.items():
            (out / folder / name).parent.mkdir(parents=True, exist_ok=True)
            (out / folder / name).write_bytes(data)
    v3 = _metadata(3, FILES["v3"])
    documents = {
        "v3.json": v3,
        "v2.json": _metadata(2, FILES["v2"]),
        "expired.json": _metadata(3, FILES["v3"], expires="2026-11-30T23:59:59+00:00"),
        "dscnn.json": _metadata(3, FILES["v3"], architecture="dscnn"),
        "tampered.json": v3.replace(b'"version": 3', b'"version": 9'),
        "not_json.json": b"version 3, trust me\n",
        "no_files.json": _metadata(3, {}),
        "escape.json": _metadata(3, {"../outside.bin": b"x"}),
        "naive_time.json": _metadata(3, FILES["v3"], expires="2027-06-01T00:00:00"),
    }
    for name, data in documents.items():
        (out / name).write_bytes(data)
    signatures = {
        "v3.sig": pinned.sign(v3),
        "v2.sig": pinned.sign(documents["v2.json"]),
        "expired.sig": pinned.sign(documents["expired.json"]),
        "dscnn.sig": pinned.sign(documents["dscnn.json"]),
        "v3_other_key.sig": other.sign(v3),
        "not_json.sig": pinned.sign(documents["not_json.json"]),
        "no_files.sig": pinned.sign(documents["no_files.json"]),
        "escape.sig": pinned.sign(documents["escape.json"]),
        "naive_time.sig": pinned.sign(documents["naive_time.json"]),
        "truncated.sig": pinned.sign(v3)[:63],
    }
    for name, data in signatures.items():
        (out / name).write_bytes(data)
    cases = [
        _case("a newer version", "v3.json", "v3.sig", 2, "files_v3", "accept"),
        _case("the installed version again", "v3.json", "v3.sig", 3, "files_v3", "accept"),
        _case("a first install", "v3.json", "v3.sig", None, "files_v3", "accept"),
        _case("an older version", "v2.json", "v2.sig", 3, None, "rollback"),
        _case("expired", "expired.json", "expired.sig", 2, None, "expired"),
        _case("another architecture", "dscnn.json", "dscnn.sig", 2, None, "other-model"),
        _case("no signature", "v3.json", None, 2, None, "unsigned"),
        _case("a truncated signature", "v3.json", "truncated.sig", 2, None, "unsigned"),
        _case("signed by another key", "v3.json", "v3_other_key.sig", 2, None, "signature"),
        _case("edited after signing", "tampered.json", "v3.sig", 2, None, "signature"),
        _case("signed but not metadata", "not_json.json", "not_json.sig", 2, None, "malformed"),
        _case("no files", "no_files.json", "no_files.sig", 2, None, "malformed"),
        _case("a path out of the bundle", "escape.json", "escape.sig", 2, None, "malformed"),
        _case(
            "an expiry without offset", "naive_time.json", "naive_time.sig", 2, None, "malformed"
        ),
        _case("a file of another version", "v3.json", "v3.sig", 2, "files_mixed", "files"),
        _case("a file not in the version", "v3.json", "v3.sig", 2, "files_extra", "files"),
        _case("a missing file", "v3.json", "v3.sig", 2, "files_short", "files"),
    ]
    (out / "cases.json").write_text(json.dumps(cases, indent=2) + "\n")


def _case(
    name: str,
    metadata: str,
    signature: str | None,
    installed: int | None,
    files: str | None,
    expect: str,
) -> dict[str, Any]:
    return {
        "name": name,
        "metadata": metadata,
        "signature": signature,
        "installed": installed,
        "family": "kws",
        "architecture": "tcresnet",
        "now": NOW,
        "files": files,
        "expect": expect,
    }


if __name__ == "__main__":
    write(Path(sys.argv[1]))
