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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.atomic import atomic_write_bytes
from edgekit.errors import CorruptBundle

__all__ = ["LearnerState", "read_state", "write_state"]


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


def read_state(path: Path, names: list[str], backbone_hash: str, feature_size: int) -> LearnerState:
    """The state at ``path``; a damaged file or one of another backbone raises CorruptBundle."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(arrays["meta"].tobytes())
        weights = {n: arrays[f"w:{n}"] for n in names}
        owner, labels, live = meta["backbone_hash"], list(meta["labels"]), list(meta["live"])
        replay = arrays["replay_features"], arrays["replay_labels"]
        added = arrays["global_features"], arrays["global_labels"]
        rng = meta["rng"]
    except (OSError, ValueError, LookupError, TypeError, AttributeError) as exc:
        raise CorruptBundle(f"{path} is not a readable learner state ({exc})") from exc
    if owner != backbone_hash:
        raise CorruptBundle(f"{path} belongs to another bundle (backbone hash differs)")
    for features, slots in (replay, added):
        if features.ndim != 2 or features.shape[1] != feature_size or len(slots) != len(features):
            raise CorruptBundle(
                f"{path} holds features of shape {features.shape} for {len(slots)} labels; "
                f"this bundle's are (n, {feature_size})"
            )
    try:  # the learner's draws (numpy's default PCG64) must load as they are
        np.random.default_rng().bit_generator.state = rng
    except (TypeError, ValueError, KeyError) as exc:
        raise CorruptBundle(f"{path} holds a damaged random-draw state ({exc})") from exc
    return LearnerState(
        weights=weights,
        labels=labels,
        live=live,
        replay_features=replay[0],
        replay_labels=replay[1],
        global_features=added[0],
        global_labels=added[1],
        rng=rng,
    )
