"""Checks of what a user hands a learner: clips, feature rows, labels, epochs.

Each returns the value as the learner uses it, or raises :class:`~edgekit.errors.DataError`
(:class:`~edgekit.errors.ConfigError` for a setting) saying what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgekit.errors import ConfigError, DataError

__all__ = ["check_clips", "check_epochs", "check_features", "check_one_label_per_clip"]


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
