"""Making a bundle or a device state bad, as a damaged disk, a hand edit or a hostile file would."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.export.manifest import MANIFEST, sha256_file
from edgekit.export.manifest_check import content_digest


def copy_bundle(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def edit_manifest(
    bundle: Path, change: Callable[[dict[str, Any]], None], sign: bool = True
) -> None:
    """Apply ``change`` to the manifest's JSON; ``sign`` recomputes its digest (as a tool that
    knows the format would), so that the check after the digest is the one exercised."""
    path = bundle / MANIFEST
    data = json.loads(path.read_text())
    change(data)
    if sign:
        data["digest"] = content_digest(data)
    path.write_text(json.dumps(data))


def replace_array_file(bundle: Path, name: str, arrays: dict[str, np.ndarray]) -> None:
    """Write ``name`` (an .npz of the bundle) with ``arrays`` and list its new hash, signed."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    (bundle / name).write_bytes(buffer.getvalue())
    digest = sha256_file(bundle / name)
    edit_manifest(bundle, lambda m: m["files"].__setitem__(name, digest))


def flip_byte(path: Path, at: float = 0.5) -> None:
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
