"""Global dataset mixing (MoIL): every training batch mixes the user's clips with D0.

D0 clips are drawn uniformly, or (``filling_weights``) so that whole batches come out
class-balanced: the draws fill the classes the user's clips lack. Pure index arithmetic, so it
is tested without a runtime.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

import numpy as np

from edgekit.errors import ConfigError, DataError

__all__ = ["epochs_draws", "filling_weights", "mixed_batches", "split_batch"]


def split_batch(batch: int, mix_ratio: float, have_d0: bool) -> tuple[int, int]:
    """``(user clips, D0 clips)`` per batch; at least one user clip per batch."""
    if not 0.0 <= mix_ratio < 1.0:
        raise ConfigError(f"mix_ratio must be in [0, 1), got {mix_ratio}")
    n_d0 = min(batch - 1, round(batch * mix_ratio)) if have_d0 else 0
    return batch - n_d0, n_d0


def mixed_batches(
    n_user: int,
    n_d0: int,
    batch: int,
    mix_ratio: float,
    rng: np.random.Generator,
    d0_weights: np.ndarray | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of ``(user indices, D0 indices)`` batches, each exactly ``batch`` long.

    Every user clip is seen once per epoch; the last batch is topped up with random user clips
    (the program's batch is fixed). D0 clips are drawn at random: uniformly, or with
    probabilities ``d0_weights`` (``(n_d0,)``, non-negative, summing to 1).
    """
    user, d0 = epochs_draws(1, n_user, n_d0, batch, mix_ratio, rng, d0_weights)
    yield from zip(user[0], d0[0], strict=True)


def epochs_draws(
    epochs: int,
    n_user: int,
    n_d0: int,
    batch: int,
    mix_ratio: float,
    rng: np.random.Generator,
    d0_weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``epochs`` epochs of :func:`mixed_batches` one after the other, as two arrays: user
    indices ``(epochs, steps, per_user)`` and D0 indices ``(epochs, steps, per_d0)``.

    The draws of an epoch, in order: a permutation of the user's clips; each batch's D0 clips;
    the user clips that top up the last batch just before its D0 clips. A generator's stream
    does not depend on how its draws are split into calls, nor on whether one call's bounds
    differ (``integers`` with an array of bounds draws each entry as a call of that bound
    would), so an epoch is one call after the permutation where the draws are uniform: a call
    costs microseconds, as much as a training step of a small head.
    """
    if d0_weights is not None and d0_weights.shape != (n_d0,):
        raise DataError(f"d0_weights must have shape ({n_d0},), got {d0_weights.shape}")
    if n_user < 1:
        raise DataError("no user clips to train on: pass at least one clip")
    per_user, per_d0 = split_batch(batch, mix_ratio, n_d0 > 0)
    steps = math.ceil(n_user / per_user)
    short = steps * per_user - n_user  # user clips the last batch lacks
    untopped = (steps - 1 if short else steps) * per_d0  # D0 draws before the top-up
    user = np.empty((epochs, steps * per_user), dtype=np.int64)
    d0 = np.empty((epochs, steps * per_d0), dtype=np.int64)
    if d0_weights is None or not per_d0:
        bounds = np.full(steps * per_d0 + short, n_d0, dtype=np.int64)
        bounds[untopped : untopped + short] = n_user
        for e in range(epochs):
            user[e, :n_user] = rng.permutation(n_user)
            if len(bounds):
                drawn = rng.integers(0, bounds)
                d0[e, :untopped] = drawn[:untopped]
                user[e, n_user:] = drawn[untopped : untopped + short]
                d0[e, untopped:] = drawn[untopped + short :]
    else:  # rng.choice(n_d0, count, p=d0_weights): the same draws without its checks
        cdf = _cdf(d0_weights)
        for e in range(epochs):
            user[e, :n_user] = rng.permutation(n_user)
            d0[e, :untopped] = cdf.searchsorted(rng.random(untopped), side="right")
            if short:
                user[e, n_user:] = rng.integers(0, n_user, short)
                d0[e, untopped:] = cdf.searchsorted(rng.random(per_d0), side="right")
    return user.reshape(epochs, steps, per_user), d0.reshape(epochs, steps, per_d0)


def _cdf(p: np.ndarray) -> np.ndarray:
    """What ``Generator.choice`` draws from for probabilities ``p`` (checked here once per
    epoch instead of on every batch): their cumulative sum, scaled to end at exactly 1."""
    p = np.asarray(p, dtype=np.float64)
    atol = math.sqrt(np.finfo(np.float64).eps)  # choice's own tolerance
    if not (np.isfinite(p).all() and (p >= 0).all() and abs(float(p.sum()) - 1.0) <= atol):
        raise DataError("d0_weights must be finite, non-negative and sum to 1")
    cdf = p.cumsum()
    cdf /= cdf[-1]
    return cdf


def filling_weights(
    pool_labels: np.ndarray,
    user_labels: np.ndarray,
    user_share: float,
    mass: Mapping[int, float] | None = None,
) -> np.ndarray:
    """Draw probabilities for the pool that make whole batches class-balanced: the user's clips
    fill ``user_share`` of each batch with their own classes, the pool fills the rest toward an
    equal share for every class (or the relative ``mass`` given for it)."""
    pool_labels, user_labels = np.asarray(pool_labels), np.asarray(user_labels)
    if pool_labels.size == 0:
        raise DataError("no labels to balance")
    classes = np.union1d(pool_labels, user_labels)
    share = np.array([(mass or {}).get(int(c), 1.0) for c in classes], dtype=np.float64)
    target = share / share.sum()
    users = np.array([(user_labels == c).mean() if user_labels.size else 0.0 for c in classes])
    need = np.clip(target - user_share * users, 0.0, None)
    in_pool = np.isin(classes, pool_labels)
    need = np.where(in_pool, need, 0.0)
    if need.sum() <= 0:
        need = np.where(in_pool, target, 0.0)
    pool_classes, inverse, counts = np.unique(pool_labels, return_inverse=True, return_counts=True)
    per_class = need[np.searchsorted(classes, pool_classes)]
    weights = per_class[inverse] / counts[inverse]
    return weights / weights.sum()
