"""What a learner keeps on the device between runs, in one file written atomically.

Trained tensors, the label of every slot and which labels are live, the user's replay set and
the global examples added after export (e.g. data impressions of new classes), where the
learner's random draws (batch order, D0 mixing) stand so that the next run continues them
rather than repeating the same ones, plus the backbone hash so that a state never loads into
another bundle. Every write is write, fsync, rename.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.atomic import atomic_write_bytes
from edgekit.device.inputs import examples_problem
from edgekit.errors import CorruptState, DataError

__all__ = ["DAMAGED_NPZ", "LearnerState", "read_state", "write_state"]


@dataclass
class LearnerState:
    weights: dict[str, np.ndarray]  # trainable tensors by name
    labels: list[str]  # the label of each slot in use, in slot order
    live: list[str]  # the labels this device predicts and trains (a subset of labels)
    replay_features: np.ndarray  # (n, feature_size) the user's clips kept for mixing
    replay_labels: np.ndarray  # (n,) slot indices
    global_features: np.ndarray  # (m, feature_size) examples added to D0 after export
    global_labels: np.ndarray  # (m,) slot indices
    rng: dict[str, Any]  # numpy's bit-generator state of the learner's draws


def write_state(path: Path, state: LearnerState, backbone_hash: str) -> Path:
    """Write ``state`` atomically; a state holding NaN or Inf is refused (DataError) and the
    file keeps what it held."""
    bad = [n for n, w in state.weights.items() if not np.isfinite(w).all()]
    for name in ("replay_features", "global_features"):
        if not np.isfinite(getattr(state, name)).all():
            bad.append(name)
    if bad:
        raise DataError(f"the learner's {', '.join(bad)} hold NaN or Inf: state not saved")
    arrays = {f"w:{n}": w for n, w in state.weights.items()}
    arrays |= {
        "replay_features": state.replay_features,
        "replay_labels": state.replay_labels,
        "global_features": state.global_features,
        "global_labels": state.global_labels,
    }
    meta = {
        "labels": state.labels,
        "live": state.live,
        "backbone_hash": backbone_hash,
        "rng": state.rng,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    atomic_write_bytes(path, buffer.getvalue())
    return path


DAMAGED_NPZ = (
    OSError,
    EOFError,
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
    zipfile.BadZipFile,
)  # what a truncated, bit-flipped, empty or foreign file raises while it is read


def read_state(
    path: Path,
    shapes: Mapping[str, tuple[int, ...]],
    backbone_hash: str,
    feature_size: int,
    max_classes: int,
) -> LearnerState:
    """The state at ``path``, checked whole: a damaged file, one of another bundle, or one whose
    arrays do not fit the bundle (``shapes`` of the trainable tensors, features of
    ``feature_size``, slots below ``max_classes``) or hold NaN/Inf raises CorruptState."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(arrays["meta"].tobytes())
        weights = {n: arrays[f"w:{n}"] for n in shapes}
        owner, labels, live = meta["backbone_hash"], list(meta["labels"]), list(meta["live"])
        replay = arrays["replay_features"], arrays["replay_labels"]
        added = arrays["global_features"], arrays["global_labels"]
        rng = meta["rng"]
    except DAMAGED_NPZ as exc:
        raise CorruptState(f"{path} is not a readable learner state ({exc})") from exc
    if owner != backbone_hash:
        raise CorruptState(f"{path} belongs to another bundle (backbone hash differs)")
    for name, w in weights.items():
        if w.shape != tuple(shapes[name]) or w.dtype != np.float32 or not np.isfinite(w).all():
            raise CorruptState(
                f"{path}: {name} is {w.dtype} {w.shape}, not finite float32 {tuple(shapes[name])}"
            )
    if not all(isinstance(x, str) for x in [*labels, *live]) or len(labels) > max_classes:
        raise CorruptState(f"{path}: its labels are not {max_classes} or fewer names")
    for name, (features, slots) in (("replay set", replay), ("added global set", added)):
        problem = examples_problem(features, slots, feature_size, max_classes)
        if problem:
            raise CorruptState(f"{path}: its {name}'s {problem}")
    try:  # the learner's draws (numpy's default PCG64) must load as they are
        np.random.default_rng().bit_generator.state = rng
    except (TypeError, ValueError, KeyError) as exc:
        raise CorruptState(f"{path} holds a damaged random-draw state ({exc})") from exc
    return LearnerState(
        weights={n: w.astype(np.float32) for n, w in weights.items()},
        labels=labels,
        live=live,
        replay_features=replay[0].astype(np.float32),
        replay_labels=replay[1].astype(np.int64),
        global_features=added[0].astype(np.float32),
        global_labels=added[1].astype(np.int64),
        rng=rng,
    )
