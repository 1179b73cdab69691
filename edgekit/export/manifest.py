"""The bundle manifest: what a device needs to know about a ``.pte``, and the files' hashes."""

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
from edgekit.plan.reports import BundleMemory

__all__ = ["MANIFEST", "SCHEMA_VERSION", "Manifest", "read_manifest", "sha256_file"]

SCHEMA_VERSION = 3  # bundles of another schema are refused: export them again
MANIFEST = "manifest.json"


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
    quantized: bool = False  # int8 backbone (PT2E + XNNPACK)
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    schema: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)  # export-time facts (accuracy, sizes)

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
        atomic_write_bytes(folder / MANIFEST, json.dumps(self.to_dict(), indent=2).encode())


def read_manifest(folder: Path, verify: bool = True) -> Manifest:
    """Read and (by default) verify a bundle: every listed file must exist with its sha256."""
    path = folder / MANIFEST
    try:
        manifest = Manifest.from_dict(json.loads(path.read_text()))
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise CorruptBundle(f"{path} not found: {folder} is not an edgekit bundle") from exc
    except (OSError, json.JSONDecodeError, UnicodeDecodeError, FileFormatError) as exc:
        raise CorruptBundle(f"{path} is not a valid manifest ({exc})") from exc
    if manifest.schema != SCHEMA_VERSION:
        raise CorruptBundle(
            f"{path} has schema {manifest.schema}; this edgekit reads schema {SCHEMA_VERSION}"
        )
    if verify:
        for name, expected in manifest.files.items():
            file = folder / name
            if not file.is_file():
                raise CorruptBundle(f"{file} is missing from the bundle")
            if sha256_file(file) != expected:
                raise CorruptBundle(
                    f"{file} does not match its sha256 in {MANIFEST}: tampered or truncated"
                )
    return manifest
