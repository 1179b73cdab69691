"""A bundle with new trainable weights: the same program, D0 and settings, a new ``weights.npz``
and a manifest whose file hash and content digest say so. The hub publishes aggregated phone
updates this way, as the next version of a bundle, without exporting again."""

from __future__ import annotations

import io
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from edgekit.atomic import atomic_write_bytes, building
from edgekit.errors import DataError
from edgekit.export.manifest import BUNDLE_FILES, Manifest, read_manifest, sha256_file

__all__ = ["reweighted"]


def reweighted(bundle: Path, weights: Mapping[str, np.ndarray], out: Path) -> Manifest:
    """Write ``bundle`` to ``out`` with ``weights`` as its trainable tensors (exactly the
    manifest's names and shapes, finite float32; anything else raises DataError). ``out`` is
    built aside and moved into place whole; the result is read back and checked."""
    manifest = read_manifest(bundle)
    expected = {t["name"]: tuple(t["shape"]) for t in manifest.trainable}
    if set(weights) != set(expected):
        diff = sorted(set(weights) ^ set(expected))
        raise DataError(f"the weights must be the bundle's trainable tensors; {diff} differ")
    for name, shape in expected.items():
        w = np.asarray(weights[name])
        if w.dtype != np.float32 or w.shape != shape or not np.isfinite(w).all():
            raise DataError(f"{name} must be finite float32 {shape}, got {w.dtype} {w.shape}")
    with np.load(bundle / BUNDLE_FILES["weights"], allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays.update({k: np.asarray(v) for k, v in weights.items()})
    with building(out) as folder:
        for name in manifest.files:
            if name != BUNDLE_FILES["weights"]:
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(bundle / name, folder / name)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write_bytes(folder / BUNDLE_FILES["weights"], buffer.getvalue())
        manifest.files[BUNDLE_FILES["weights"]] = sha256_file(folder / BUNDLE_FILES["weights"])
        manifest.write(folder)
    return read_manifest(out)
