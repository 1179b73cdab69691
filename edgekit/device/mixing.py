"""Global dataset mixing (MoIL): every training batch mixes the user's clips with D0.

Pure index arithmetic, so it is tested without a runtime.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

__all__ = ["mixed_batches", "split_batch"]


def split_batch(batch: int, mix_ratio: float, have_d0: bool) -> tuple[int, int]:
    """``(user clips, D0 clips)`` per batch; at least one user clip per batch."""
    if not 0.0 <= mix_ratio < 1.0:
        raise ValueError(f"mix_ratio must be in [0, 1), got {mix_ratio}")
    n_d0 = min(batch - 1, round(batch * mix_ratio)) if have_d0 else 0
    return batch - n_d0, n_d0


def mixed_batches(
    n_user: int, n_d0: int, batch: int, mix_ratio: float, rng: np.random.Generator
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of ``(user indices, D0 indices)`` batches, each exactly ``batch`` long.

    Every user clip is seen once per epoch; the last batch is topped up with random user clips
    (the program's batch is fixed). D0 clips are drawn at random.
    """
    if n_user < 1:
        raise ValueError("no user clips to train on")
    per_user, per_d0 = split_batch(batch, mix_ratio, n_d0 > 0)
    order = rng.permutation(n_user)
    for step in range(math.ceil(n_user / per_user)):
        idx = order[step * per_user : (step + 1) * per_user]
        if idx.size < per_user:
            idx = np.concatenate([idx, rng.integers(0, n_user, per_user - idx.size)])
        yield idx, rng.integers(0, n_d0, per_d0) if per_d0 else np.zeros(0, dtype=np.int64)
