"""Dirichlet soft targets for data impressions (Nayak et al. 2019; Gudur & Perepu 2021).

A client that reports a new class synthesises inputs its own model maps to soft targets drawn
from a Dirichlet whose concentration follows the class similarity in its final layer: classes
whose weight rows point the same way share mass. :func:`class_similarity` builds that matrix,
:func:`dirichlet_targets` samples one class's targets and :func:`impression_targets` mixes the
two concentration scales Nayak et al. use.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["class_similarity", "dirichlet_targets", "impression_targets"]

ZERO_FLOOR = 1e-6  # a zero concentration entry becomes ZERO_FLOOR * beta so sampling is defined


def class_similarity(weights: np.ndarray) -> np.ndarray:
    """Class similarity (C, C) float64 from final-layer weight rows ``weights`` (C, H).

    Cosine similarity of every pair of rows, then each row min-max normalised to [0, 1] as in
    Nayak et al.; the diagonal is therefore 1 and each row's least similar class 0. A row whose
    values are all equal (e.g. C == 1) becomes all ones.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] < 1 or w.shape[1] < 1:
        raise ValueError(f"weights must be 2-D (C, H) with C, H >= 1, got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError("weights must be finite, got NaN/Inf")
    norms = np.linalg.norm(w, axis=1)
    if np.any(norms == 0):
        raise ValueError(
            f"weights rows must be non-zero (cosine undefined), got zero rows "
            f"{np.flatnonzero(norms == 0).tolist()}"
        )
    unit = w / norms[:, None]
    cos = np.clip(unit @ unit.T, -1.0, 1.0)
    lo = cos.min(axis=1, keepdims=True)
    span = cos.max(axis=1, keepdims=True) - lo
    flat = span <= 1e-12
    out = np.where(flat, 1.0, (cos - lo) / np.where(flat, 1.0, span))
    return np.asarray(out, dtype=np.float64)


def dirichlet_targets(
    similarity_row: np.ndarray, beta: float, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` soft targets (n, C) float32 sampled from ``Dir(beta * similarity_row)``.

    ``similarity_row`` is one row of :func:`class_similarity` (values >= 0, own class 1); beta is
    applied after that normalisation. Entries equal to 0 (at least the least similar class) get
    the floor ``1e-6 * beta``, so they almost never receive mass.

    What beta does, measured rather than assumed: the *mean* target is
    ``similarity_row / sum(similarity_row)`` for every beta, so the own class gets the largest
    expected mass but not "most" of it when several classes are similar. Beta only sets the
    spread. With beta = 0.1 samples are spiky, nearly one-hot on one class drawn with
    probability about proportional to its similarity (for the row [1, .8, .3, 0] about 3 in 4
    samples have a max > 0.9 and the own class wins about half). With beta = 1.0 samples are
    smoother and mix classes. Nayak et al. use both scales to cover both kinds of input.
    """
    row = np.asarray(similarity_row, dtype=np.float64)
    if row.ndim != 1 or row.size < 1:
        raise ValueError(f"similarity_row must be 1-D and non-empty, got shape {row.shape}")
    if not np.all(np.isfinite(row)) or np.any(row < 0):
        raise ValueError(f"similarity_row must be finite and >= 0, got {row.tolist()}")
    if not np.isfinite(beta) or beta <= 0:
        raise ValueError(f"beta must be finite and > 0, got {beta}")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    alpha = beta * row
    alpha[alpha == 0] = ZERO_FLOOR * beta
    samples = rng.dirichlet(alpha, size=int(n))
    samples /= samples.sum(axis=1, keepdims=True)  # guard the last ulp before the float32 cast
    return samples.astype(np.float32)


def impression_targets(
    weights: np.ndarray,
    class_index: int,
    n: int,
    betas: Sequence[float] = (1.0, 0.1),
    seed: int = 0,
) -> np.ndarray:
    """``n`` soft targets (n, C) float32 for class ``class_index``, split evenly over ``betas``.

    ``weights`` (C, H) are the final-layer rows of the live classes. The first ``n % len(betas)``
    betas get one extra target; rows come in the order of ``betas``. Deterministic for ``seed``.
    """
    w = np.asarray(weights)
    if w.ndim != 2:
        raise ValueError(f"weights must be 2-D (C, H), got shape {w.shape}")
    if isinstance(class_index, bool) or not isinstance(class_index, int | np.integer):
        raise ValueError(f"class_index must be an int, got {class_index!r}")
    if not 0 <= class_index < w.shape[0]:
        raise ValueError(f"class_index must be in [0, {w.shape[0] - 1}], got {class_index}")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    if len(betas) == 0:
        raise ValueError("betas must be non-empty, got ()")
    if not all(np.isfinite(b) and b > 0 for b in betas):
        raise ValueError(f"betas must be finite and > 0, got {list(betas)}")
    row = class_similarity(w)[class_index]
    rng = np.random.default_rng(seed)
    base, extra = divmod(int(n), len(betas))
    parts = [
        dirichlet_targets(row, float(beta), base + (i < extra), rng)
        for i, beta in enumerate(betas)
        if base + (i < extra) > 0
    ]
    return np.concatenate(parts, axis=0)
