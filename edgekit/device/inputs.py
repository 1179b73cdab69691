"""Checks of what a user hands a learner: clips, feature rows, labels, epochs.

Each returns the value as the learner uses it, or raises :class:`~edgekit.errors.DataError`
(:class:`~edgekit.errors.ConfigError` for a setting) saying what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from edgekit.errors import ConfigError, DataError

__all__ = [
    "check_clips",
    "check_epochs",
    "check_features",
    "check_one_label_per_clip",
    "check_trainable",
    "examples_problem",
]


def check_clips(pcm: np.ndarray, clip_samples: int) -> np.ndarray:
    """``(clips >= 1, clip_samples)`` finite float32 PCM (one clip may come as ``(samples,)``)."""
    pcm = np.asarray(pcm, dtype=np.float32)
    if pcm.ndim == 1:
        pcm = pcm[None]
    if pcm.ndim != 2 or pcm.shape[1] != clip_samples:
        raise DataError(f"pcm must be (clips, {clip_samples}) float32 at 16 kHz, got {pcm.shape}")
    if not len(pcm):
        raise DataError("pcm holds no clips")
    if not np.isfinite(pcm).all():
        raise DataError("pcm holds NaN or Inf samples")
    return pcm


def check_features(features: np.ndarray, feature_size: int) -> np.ndarray:
    """``(rows >= 1, feature_size)`` finite float32 features (rows at a bundle's cut)."""
    x = np.asarray(features, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != feature_size or not len(x):
        raise DataError(f"features must be (rows >= 1, {feature_size}), got {x.shape}")
    if not np.isfinite(x).all():
        raise DataError("features hold NaN or Inf")
    return x


def check_one_label_per_clip(pcm: np.ndarray, labels: Sequence[str]) -> None:
    clips = 1 if np.ndim(pcm) == 1 else len(pcm)
    if clips != len(labels):
        raise DataError(f"{clips} clips but {len(labels)} labels: give one label per clip")


def check_epochs(epochs: int) -> None:
    if epochs < 1:
        raise ConfigError(f"epochs must be >= 1, got {epochs}")


def check_trainable(
    arrays: Mapping[str, np.ndarray], expected: Mapping[str, tuple[int, ...]]
) -> dict[str, torch.Tensor]:
    """Trainable tensors handed in (e.g. a federated average): exactly the ``expected`` names
    and shapes, finite; returned as float32 tensors (copies)."""
    if set(arrays) != set(expected):
        want, got = sorted(expected), sorted(arrays)
        raise DataError(f"trainable arrays must be exactly {want}, got {got}")
    out = {}
    for name, array in arrays.items():
        value = np.asarray(array, dtype=np.float32)
        if value.shape != expected[name]:
            raise DataError(f"{name} must have shape {expected[name]}, got {value.shape}")
        if not np.isfinite(value).all():
            raise DataError(f"{name} holds NaN or Inf")
        out[name] = torch.from_numpy(value.copy())
    return out


def examples_problem(
    features: np.ndarray, slots: np.ndarray, feature_size: int, n_slots: int
) -> str | None:
    """What is wrong with stored examples (a bundle's D0, a state's replay or added set), or
    None: they must be finite ``(n, feature_size)`` rows with one integer slot in
    ``[0, n_slots)`` each."""
    if features.ndim != 2 or features.shape[1] != feature_size or slots.shape != (len(features),):
        return (
            f"features {features.shape} and slots {slots.shape} are not (n, {feature_size}) "
            "and (n,)"
        )
    if not np.isfinite(features).all():
        return "features hold NaN or Inf"
    if not np.issubdtype(slots.dtype, np.integer) or (
        len(slots) and not 0 <= slots.min() <= slots.max() < n_slots
    ):
        return f"slots are not integers below {n_slots}"
    return None
