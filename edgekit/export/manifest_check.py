"""What a manifest must say before anything of its bundle reaches the runtime.

A manifest is read from disk, so every field is checked for type and range, and the fields that
must agree with each other do (labels within the slots, the clip length of the front-end, the
classifier's shape against the slot count, the detection keywords among the labels): a
hand-edited or damaged manifest raises :class:`~edgekit.errors.CorruptBundle` naming the field,
never reaches ExecuTorch (where a bad shape aborts the process). The content digest covers the
manifest itself: every field but the digest, serialised canonically (sorted keys, no spaces),
hashed with sha256; a signature of the bundle signs that digest.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edgekit.errors import ConfigError, CorruptBundle

__all__ = ["MAX_SLOTS", "check_files", "check_manifest_fields", "content_digest"]

MAX_SLOTS = 4096  # class slots of a head: far above any keyword spotter, a bound for a bad file
MAX_BATCH = 65_536  # rows of a method's batch
MAX_CLIP_SAMPLES = 16_000 * 60  # one minute at 16 kHz: a keyword clip is a second or two
_SHA256 = re.compile(r"[0-9a-f]{64}")


def content_digest(data: Mapping[str, Any]) -> str:
    """sha256 of the manifest ``data`` without its ``digest`` field, canonically serialised."""
    body = {k: v for k, v in data.items() if k != "digest"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _need(ok: object, path: Path, what: str) -> None:
    if not ok:
        raise CorruptBundle(f"{path}: {what}")


def _count(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _shape(value: Any) -> bool:
    return isinstance(value, list) and all(_count(d, 1, 1 << 24) for d in value)


def check_manifest_fields(data: Mapping[str, Any], path: Path) -> None:
    """Every field's type and range, and their agreement; CorruptBundle naming the first bad."""
    labels: Any = data.get("labels")
    slots: Any = data.get("max_classes")
    _need(_count(slots, 1, MAX_SLOTS), path, f"max_classes must be 1..{MAX_SLOTS}, got {slots!r}")
    _need(
        isinstance(labels, list) and all(isinstance(x, str) and x for x in labels),
        path,
        "labels must be a list of names",
    )
    _need(len(set(labels)) == len(labels), path, f"labels repeat a name: {labels}")
    _need(len(labels) <= slots, path, f"{len(labels)} labels do not fit the bundle's {slots} slots")
    clip: Any = data.get("clip_samples")
    _need(
        _count(clip, 1, MAX_CLIP_SAMPLES),
        path,
        f"clip_samples must be 1..{MAX_CLIP_SAMPLES}, got {clip!r}",
    )
    _check_frontend(data.get("frontend"), clip, path)
    for name, low in (("train_batch", 1), ("max_batch", 2)):
        value = data.get(name)
        _need(_count(value, low, MAX_BATCH), path, f"{name} must be {low}..{MAX_BATCH}")
    temperature = data.get("temperature")
    _need(
        isinstance(temperature, int | float) and math.isfinite(temperature) and temperature > 0,
        path,
        f"temperature must be a finite number > 0, got {temperature!r}",
    )
    for name in ("arch", "cut"):
        _need(isinstance(data.get(name), str) and data[name], path, f"{name} must be a name")
    _need(
        isinstance(data.get("backbone_hash"), str) and _SHA256.fullmatch(data["backbone_hash"]),
        path,
        "backbone_hash must be a sha256 in hex",
    )
    _need(isinstance(data.get("quantized", False), bool), path, "quantized must be true or false")
    parts = data.get("feature_parts")
    _need(
        isinstance(parts, list)
        and parts
        and all(isinstance(p, dict) and _shape(p.get("shape")) and p["shape"] for p in parts),
        path,
        "feature_parts must list each part's shape",
    )
    _check_trainable(data.get("trainable"), slots, path)
    _check_detection(data.get("detection"), labels, data["max_batch"], path)


def _check_detection(detection: Any, labels: list[str], max_batch: int, path: Path) -> None:
    from edgekit.export.detection import DetectConfig

    try:
        config = DetectConfig.from_dict(detection)
    except ConfigError as exc:
        raise CorruptBundle(f"{path}: the detection settings are invalid ({exc})") from exc
    _need(
        config.batch <= max_batch,
        path,
        f"detection batch {config.batch} is over the bundle's max_batch {max_batch}",
    )
    unknown = [k for k in config.keywords or () if k not in labels]
    _need(not unknown, path, f"detection keywords {unknown} are not labels of the bundle")


def _check_frontend(frontend: Any, clip: int, path: Path) -> None:
    from edgekit.audio.config import FrontendConfig

    _need(isinstance(frontend, dict), path, "frontend must be the front-end's settings")
    try:
        config = FrontendConfig.from_dict(frontend)
    except (ConfigError, TypeError, ValueError, LookupError) as exc:
        raise CorruptBundle(f"{path}: the front-end's settings are invalid ({exc})") from exc
    _need(
        config.clip_samples == clip,
        path,
        f"clip_samples {clip} contradicts the front-end's {config.clip_samples} samples per clip",
    )


def _check_trainable(trainable: Any, slots: int, path: Path) -> None:
    _need(
        isinstance(trainable, list)
        and trainable
        and all(
            isinstance(t, dict) and isinstance(t.get("name"), str) and _shape(t.get("shape"))
            for t in trainable
        ),
        path,
        "trainable must list each tensor's name and shape",
    )
    names = [t["name"] for t in trainable]
    _need(len(set(names)) == len(names), path, "trainable names repeat")
    # the classifier comes last: its weight (in, slots) and bias (slots,) have one column per slot
    classifier = trainable[-1].get("layer")
    for entry in (t for t in trainable if t.get("layer") == classifier):
        shape = entry["shape"]
        _need(
            bool(shape) and shape[-1] == slots,
            path,
            f"{entry['name']} has shape {shape}, not {slots} slots (max_classes)",
        )


def check_files(folder: Path, files: Any, required: set[str]) -> None:
    """The manifest lists exactly the bundle's files (``manifest.json`` aside), each with a
    sha256, and at least ``required``; a missing or an extra file is refused by name."""
    manifest = folder / "manifest.json"
    _need(
        isinstance(files, dict)
        and all(isinstance(v, str) and _SHA256.fullmatch(v) for v in files.values()),
        manifest,
        "files must map each file of the bundle to its sha256",
    )
    unlisted = sorted(required - set(files))
    _need(not unlisted, manifest, f"the manifest does not cover {unlisted}")
    present = {p.name for p in folder.iterdir()} - {manifest.name}
    missing = sorted(set(files) - present)
    if missing:
        raise CorruptBundle(f"{folder / missing[0]} is missing from the bundle")
    extra = sorted(present - set(files))
    if extra:
        raise CorruptBundle(
            f"{folder / extra[0]} is not part of the bundle (its manifest does not list it): "
            "remove it or export the bundle again"
        )
