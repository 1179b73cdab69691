"""Global dataset mixing as index arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.device.mixing import (
    epochs_draws,
    filling_weights,
    mixed_batches,
    split_batch,
)
from edgekit.errors import ConfigError, DataError


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
    with pytest.raises(ConfigError, match="mix_ratio"):
        split_batch(32, 1.0, True)


def test_weighted_d0_draws_follow_the_weights() -> None:
    labels = np.array([0] * 90 + [1] * 10)
    balanced = filling_weights(labels, np.zeros(0, dtype=np.int64), 0.5)
    rng = np.random.default_rng(0)
    drawn = np.concatenate(
        [d for _ in range(20) for _, d in mixed_batches(64, 100, 32, 0.5, rng, balanced)]
    )
    share = (labels[drawn] == 1).mean()  # uniform draws would give the rare class 10%
    assert 0.45 < share < 0.55, share
    with pytest.raises(DataError, match="d0_weights"):
        next(mixed_batches(8, 100, 8, 0.5, rng, np.full(99, 1 / 99)))


def test_weighted_draws_are_exactly_the_generators_choice() -> None:
    """The Android port and saved random states rely on the draws of ``Generator.choice``."""
    weights = np.random.default_rng(3).random(37) ** 3
    weights /= weights.sum()
    for seed in range(5):
        theirs = np.random.default_rng(seed)  # 10 user rows and 6 drawn rows per batch
        reference = []
        order = theirs.permutation(45)
        for step in range(5):
            idx = order[step * 10 : (step + 1) * 10]
            if idx.size < 10:
                idx = np.concatenate([idx, theirs.integers(0, 45, 10 - idx.size)])
            reference.append((idx, theirs.choice(37, 6, p=weights)))
        ours = mixed_batches(45, 37, 16, 0.4, np.random.default_rng(seed), weights)
        for (u, d), (ru, rd) in zip(ours, reference, strict=True):
            assert np.array_equal(u, ru) and np.array_equal(d, rd) and d.dtype == np.int64
    with pytest.raises(DataError, match="sum to 1"):
        next(mixed_batches(8, 37, 8, 0.5, np.random.default_rng(0), weights * 1.01))


@pytest.mark.parametrize(
    ("n_user", "n_d0", "batch", "mix"),
    [(45, 37, 16, 0.4), (40, 37, 16, 0.5), (1, 37, 8, 0.5), (7, 0, 4, 0.5), (50, 9, 32, 0.9)],
)
def test_uniform_draws_are_one_call_per_batch(
    n_user: int, n_d0: int, batch: int, mix: float
) -> None:
    """An epoch's draws are those of one ``integers`` call per batch, in the same order (the
    Android port draws that way), whether or not the last batch is topped up."""
    per_user = batch - (min(batch - 1, round(batch * mix)) if n_d0 else 0)
    for seed in range(5):
        theirs, rng = np.random.default_rng(seed), np.random.default_rng(seed)
        for _ in range(3):  # epochs, each from where the last left the generator
            reference = []
            order = theirs.permutation(n_user)
            for step in range(-(-n_user // per_user)):
                idx = order[step * per_user : (step + 1) * per_user]
                if idx.size < per_user:
                    idx = np.concatenate([idx, theirs.integers(0, n_user, per_user - idx.size)])
                drawn = theirs.integers(0, n_d0, batch - per_user) if n_d0 else np.zeros(0)
                reference.append((idx, drawn))
            ours = list(mixed_batches(n_user, n_d0, batch, mix, rng))
            assert len(ours) == len(reference)
            for (u, d), (ru, rd) in zip(ours, reference, strict=True):
                assert np.array_equal(u, ru) and np.array_equal(d, rd) and d.dtype == np.int64
        assert rng.random() == theirs.random()  # the generators end in the same state


@pytest.mark.parametrize("weighted", [False, True])
def test_several_epochs_at_once_are_the_epochs_one_by_one(weighted: bool) -> None:
    """train_steps draws every epoch first: the same draws as epoch by epoch."""
    weights = np.random.default_rng(3).random(37) if weighted else None
    if weights is not None:
        weights /= weights.sum()
    for seed in range(3):
        rng, theirs = np.random.default_rng(seed), np.random.default_rng(seed)
        user, d0 = epochs_draws(4, 45, 37, 16, 0.4, rng, weights)
        assert user.shape == (4, 5, 10) and d0.shape == (4, 5, 6)
        for e in range(4):
            batches = list(mixed_batches(45, 37, 16, 0.4, theirs, weights))
            assert np.array_equal(user[e], [u for u, _ in batches])
            assert np.array_equal(d0[e], [d for _, d in batches])
        assert rng.random() == theirs.random()


def test_filling_weights_make_whole_batches_balanced() -> None:
    # the user's clips hold classes 0 and 1 and fill half of each batch; the pool holds 0-3
    pool = np.array([0] * 20 + [1] * 20 + [2] * 20 + [3] * 96 + [0] * 100 + [1] * 100)
    user = np.array([0] * 50 + [1] * 50)
    weights = filling_weights(pool, user, 0.5, {3: 0.5})  # class 3: half a class's share
    # whole batch: 2/7, 2/7, 2/7, 1/7; the user's half gives classes 0 and 1 a quarter each
    expected = np.array([2 / 7 - 1 / 4, 2 / 7 - 1 / 4, 2 / 7, 1 / 7]) * 2
    for c in range(4):
        assert weights[pool == c].sum() == pytest.approx(expected[c])
    # a user share that covers its classes already: the pool gives them nothing
    weights = filling_weights(pool, np.array([0, 1]), 0.9)
    assert weights[pool <= 1].sum() == pytest.approx(0.0)
    assert weights[pool == 2].sum() == pytest.approx(0.5)
    with pytest.raises(DataError, match="no labels"):
        filling_weights(np.zeros(0, dtype=np.int64), user, 0.5)
