"""The global set D0: a few clips of every class, drawn at random from labelled clips.

A bundle ships D0's features; training on the device mixes them into every batch so that old
classes are not forgotten. The planner ranks units by their importance on the same clips.
"""

from __future__ import annotations

import numpy as np

from edgekit.data.corpus import ClipSet
from edgekit.errors import ConfigError, DataError

__all__ = ["select_d0"]


def select_d0(clips: ClipSet, per_class: int, seed: int = 0) -> ClipSet:
    """Up to ``per_class`` random clips of each class (the global set D0), in their order."""
    if len(clips) == 0:
        raise DataError("no clips to draw D0 from: the corpus' train split is empty")
    if per_class < 1:
        raise ConfigError(f"clips per class of D0 must be >= 1, got {per_class}")
    rng = np.random.default_rng(seed)
    keep = [
        rng.permutation(np.flatnonzero(clips.labels == c))[:per_class]
        for c in np.unique(clips.labels)
    ]
    return clips.take(np.sort(np.concatenate(keep)))
