"""The bundle manifest: what a device needs to know about a ``.pte``, the files' hashes and a
digest of its own content (:mod:`edgekit.export.manifest_check` says what is checked on reading)."""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from edgekit.atomic import atomic_write_bytes
from edgekit.errors import CorruptBundle, FileFormatError
from edgekit.export.manifest_check import check_files, check_manifest_fields, content_digest
from edgekit.plan.reports import BundleMemory

__all__ = [
    "BUNDLE_FILES",
    "MANIFEST",
    "SCHEMA_VERSION",
    "Manifest",
    "read_manifest",
    "sha256_file",
]

SCHEMA_VERSION = 5  # bundles of another schema are refused: export them again
MANIFEST = "manifest.json"
BUNDLE_FILES = {"program": "model.pte", "weights": "weights.npz", "d0": "d0.npz"}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Manifest:
    """Everything about a bundle but the arrays. Written as ``manifest.json``."""

    labels: list[str]  # live classes, in slot order (slot i = labels[i])
    max_classes: int  # slots reserved at export; len(labels) <= max_classes
    arch: str  # model architecture name (edgekit.models.ARCHITECTURES)
    frontend: dict[str, Any]  # FrontendConfig as a dict
    clip_samples: int  # PCM samples per clip that ``embed`` takes
    cut: str  # where the frozen part ends (a cut point of the model; "pooled": the head alone)
    feature_parts: list[dict[str, Any]]  # [{"name", "shape"}]: tensors per clip at the cut
    trainable: list[dict[str, Any]]  # [{"name", "shape"}] in the order classify takes them
    train_batch: int  # fixed batch of train_step / distill_step (the plan's)
    max_batch: int  # upper bound of the dynamic batch of embed / embed_logmel / classify
    temperature: float  # distillation temperature of distill_step
    backbone_hash: str  # sha256 of front-end config + frozen weights: the feature cache key
    memory: BundleMemory  # planned bytes per method, training memory and cache reports
    plan: dict[str, Any]  # the TrainingPlan (edgekit.plan.spec) the program was exported for
    detection: dict[str, Any]  # DetectConfig as a dict: how the app listens continuously
    quantized: bool = False  # int8 backbone (PT2E + XNNPACK)
    files: dict[str, str] = field(default_factory=dict)  # every file but this one -> sha256
    schema: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)  # export-time facts (accuracy, sizes)
    digest: str = ""  # sha256 of every other field (content_digest); set when written

    @property
    def feature_size(self) -> int:
        """float32 values per clip at the cut (every part, flattened): one cache entry."""
        return sum(math.prod(part["shape"]) for part in self.feature_parts)

    def to_dict(self) -> dict[str, Any]:
        """The manifest as ``manifest.json`` holds it."""
        data = {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)}
        data["memory"] = self.memory.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        """The manifest ``data`` describes; FileFormatError for anything else."""
        try:
            return cls(**{**data, "memory": BundleMemory.from_dict(data["memory"])})
        except (LookupError, TypeError) as exc:
            raise FileFormatError(f"not a bundle manifest ({type(exc).__name__}: {exc})") from exc

    def write(self, folder: Path) -> None:
        """``manifest.json`` in ``folder``, its content digest set."""
        self.digest = content_digest(self.to_dict())
        atomic_write_bytes(folder / MANIFEST, json.dumps(self.to_dict(), indent=2).encode())


def read_manifest(folder: Path, verify: bool = True) -> Manifest:
    """Read and check a bundle's manifest: its schema, its content digest, every field (see
    :mod:`edgekit.export.manifest_check`) and, by default, the bundle's files: exactly those
    listed, each with its sha256. Anything wrong raises CorruptBundle naming the file."""
    folder = Path(folder)
    path = folder / MANIFEST
    if folder.exists() and not folder.is_dir():
        raise CorruptBundle(f"{folder} is a file: a bundle is a folder (from `edgekit export`)")
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise CorruptBundle(f"{path} not found: {folder} is not an edgekit bundle") from exc
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptBundle(f"{path} is not a valid manifest ({exc})") from exc
    if not isinstance(data, dict):
        raise CorruptBundle(f"{path} is not a valid manifest (not a JSON object)")
    if data.get("schema") != SCHEMA_VERSION:
        raise CorruptBundle(
            f"{path} has schema {data.get('schema')!r}; this edgekit reads schema "
            f"{SCHEMA_VERSION}: export the bundle again"
        )
    if data.get("digest") != content_digest(data):
        raise CorruptBundle(f"{path} was changed after export: its content digest does not match")
    check_manifest_fields(data, path)
    try:
        manifest = Manifest.from_dict(data)
    except FileFormatError as exc:
        raise CorruptBundle(f"{path} is not a valid manifest ({exc})") from exc
    if verify:
        check_files(folder, manifest.files, set(BUNDLE_FILES.values()))
        for name, expected in manifest.files.items():
            if sha256_file(folder / name) != expected:
                raise CorruptBundle(
                    f"{folder / name} does not match its sha256 in {MANIFEST}: tampered or "
                    "truncated"
                )
    return manifest
