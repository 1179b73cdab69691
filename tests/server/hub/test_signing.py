"""The hub signs a real bundle's version; a device accepts it with the pinned key and refuses
it once anything changes (the command line, as real processes)."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edgekit.device.signed import load_public_key, verify_files, verify_metadata
from edgekit.errors import UpdateRefused
from edgekit.export.manifest import read_manifest
from edgekit_server.errors import SigningKeyError
from edgekit_server.hub.signing import (
    generate_key,
    load_private_key,
    public_key_of,
    sign,
    version_metadata,
)
from tests.bundle_fixture import BuiltBundle


def _hub(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from edgekit_server.hub.cli import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_keygen_writes_a_private_key_for_its_owner_only_and_never_replaces_it(
    tmp_path: Path,
) -> None:
    public = generate_key(tmp_path / "keys" / "hub")
    assert stat.S_IMODE((tmp_path / "keys" / "hub").stat().st_mode) == 0o600
    key = load_private_key(tmp_path / "keys" / "hub")
    assert load_public_key(public.read_text()) == public_key_of(key)
    with pytest.raises(SigningKeyError, match="never replaced"):
        generate_key(tmp_path / "keys" / "hub")
    (tmp_path / "bad").write_text("not a key")
    with pytest.raises(SigningKeyError, match="not a readable signing key"):
        load_private_key(tmp_path / "bad")


def test_a_signed_bundle_is_accepted_and_refused_once_changed(
    built: BuiltBundle, tmp_path: Path
) -> None:
    key_path = tmp_path / "hub"
    pinned = load_public_key(generate_key(key_path).read_text())
    key = load_private_key(key_path)
    expires = datetime.now(UTC) + timedelta(days=1)
    metadata = version_metadata(built.path, "kws", "tcresnet", 4, expires)
    signature = sign(metadata, key)
    meta = verify_metadata(metadata, signature, pinned, installed=3, architecture="tcresnet")
    assert meta.manifest_digest == read_manifest(built.path).digest
    verify_files(meta, built.path)

    copy = tmp_path / "bundle"
    shutil.copytree(built.path, copy)
    data = bytearray((copy / "weights.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte changed
    (copy / "weights.npz").write_bytes(bytes(data))
    with pytest.raises(UpdateRefused, match=r"weights\.npz does not match"):
        verify_files(meta, copy)
    with pytest.raises(UpdateRefused, match="rollback"):
        verify_metadata(metadata, signature, pinned, installed=5)


def test_the_command_line_signs_what_the_device_verifies(
    built: BuiltBundle, tmp_path: Path
) -> None:
    run = _hub("keygen", str(tmp_path / "hub"))
    assert run.returncode == 0, run.stderr
    pinned = load_public_key((tmp_path / "hub.pub").read_text())
    args = ["--key", str(tmp_path / "hub"), "--family", "kws", "--architecture", "tcresnet"]
    run = _hub("sign", str(built.path), *args, "--version", "2", "--out", str(tmp_path / "v2"))
    assert run.returncode == 0, run.stderr
    data = (tmp_path / "v2" / "metadata.json").read_bytes()
    meta = verify_metadata(data, (tmp_path / "v2" / "metadata.sig").read_bytes(), pinned)
    assert meta.version == 2 and meta.expires > datetime.now(UTC) + timedelta(days=29)
    verify_files(meta, built.path)

    run = _hub("keygen", str(tmp_path / "hub"))
    assert run.returncode == 2 and "never replaced" in run.stderr
    run = _hub("sign", str(tmp_path / "nowhere"), *args, "--version", "3", "--out", str(tmp_path))
    assert run.returncode == 2 and "error:" in run.stderr
