"""Global dataset mixing as index arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.device.mixing import mixed_batches, split_batch


def test_every_user_clip_once_per_epoch_and_fixed_batches() -> None:
    rng = np.random.default_rng(0)
    batches = list(mixed_batches(n_user=50, n_d0=100, batch=32, mix_ratio=0.5, rng=rng))
    users = np.concatenate([u for u, _ in batches])
    assert all(len(u) + len(d) == 32 for u, d in batches)
    assert set(users.tolist()) == set(range(50))
    assert all(len(d) == 16 and d.max() < 100 for _, d in batches)


def test_no_d0_means_user_only() -> None:
    rng = np.random.default_rng(0)
    for u, d in mixed_batches(n_user=10, n_d0=0, batch=8, mix_ratio=0.5, rng=rng):
        assert len(u) == 8 and len(d) == 0


def test_split_batch_bounds() -> None:
    assert split_batch(32, 0.0, True) == (32, 0)
    assert split_batch(32, 0.9, True) == (3, 29)
    with pytest.raises(ValueError, match="mix_ratio"):
        split_batch(32, 1.0, True)
