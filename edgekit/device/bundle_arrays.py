"""A bundle's arrays (initial trainable weights, D0), read and checked against its manifest.

The files' hashes are verified with the manifest; these checks catch what a hash cannot: a
bundle exported or edited into disagreement with its own manifest, NaN/Inf values, D0 labels
outside the bundle's classes. Anything wrong raises :class:`~edgekit.errors.CorruptBundle`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edgekit.device.inputs import examples_problem
from edgekit.device.state import DAMAGED_NPZ
from edgekit.errors import CorruptBundle
from edgekit.export.manifest import BUNDLE_FILES, Manifest

__all__ = ["load_d0", "load_weights"]


def _load_npz(path: Path, names: Sequence[str]) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in names}
    except DAMAGED_NPZ as exc:
        raise CorruptBundle(f"{path} is not a readable bundle array file ({exc})") from exc


def load_weights(folder: Path, manifest: Manifest) -> dict[str, np.ndarray]:
    """The initial trainable tensors: finite float32 of the manifest's shapes."""
    path = folder / BUNDLE_FILES["weights"]
    arrays = _load_npz(path, [t["name"] for t in manifest.trainable])
    for entry in manifest.trainable:
        w = arrays[entry["name"]]
        if w.dtype != np.float32 or w.shape != tuple(entry["shape"]):
            raise CorruptBundle(
                f"{path}: {entry['name']} is {w.dtype} {w.shape}, the manifest says float32 "
                f"{tuple(entry['shape'])}"
            )
        if not np.isfinite(w).all():
            raise CorruptBundle(f"{path}: {entry['name']} holds NaN or Inf")
    return arrays


def load_d0(folder: Path, manifest: Manifest) -> tuple[np.ndarray, np.ndarray]:
    """D0's ``(features (n, feature_size) finite float32, labels (n,) slot indices)``."""
    path = folder / BUNDLE_FILES["d0"]
    arrays = _load_npz(path, ["features", "labels"])
    features, labels = arrays["features"], arrays["labels"]
    if features.dtype != np.float32:
        raise CorruptBundle(f"{path}: features are {features.dtype}, not float32")
    problem = examples_problem(features, labels, manifest.feature_size, len(manifest.labels))
    if problem:  # D0's labels are slots of the bundle's classes
        raise CorruptBundle(f"{path}: D0's {problem}")
    return features, labels.astype(np.int64)
