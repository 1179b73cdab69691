"""Clustering of data impressions: which new classes reported by different clients are the same.

Each client sends the impressions of each new class it reports (a "group"); the server embeds
them, clusters the group centroids with k-medoids (:func:`cluster_groups`, k from the best
silhouette when not given) and scores a clustering against known classes with the adjusted Rand
index per impression (:func:`impression_ari`). Distances are full pairwise matrices, O(n^2)
memory: meant for group centroids (tens to hundreds), not for every impression.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import adjusted_rand_score, silhouette_score

__all__ = [
    "SILHOUETTE_THRESHOLD",
    "cluster_groups",
    "estimate_clusters",
    "impression_ari",
    "joint_space",
    "kmedoids",
]

# Kaufman & Rousseeuw: a best silhouette <= 0.25 means "no substantial structure", so one cluster.
# Caveat: a single Gaussian blob in 2-4 dimensions still scores 0.2-0.45 when split in two; in
# embedding dimensions (>= 16) it scores about 0.05-0.2, so the threshold holds there.
SILHOUETTE_THRESHOLD = 0.25


def _check_points(points: np.ndarray) -> np.ndarray:
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"points must be 2-D (n, D) with n, D >= 1, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("points must be finite, got NaN/Inf")
    return x


def _check_int(name: str, value: int, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {bounds}, got {value}")
    return int(value)


def kmedoids(
    points: np.ndarray, k: int, seed: int = 0, max_iter: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """k-medoids with Euclidean distances; returns (labels (n,), medoid indices (k,)) as int64.

    Seeding is k-means++-style (first medoid uniform, each next one drawn with probability
    proportional to the squared distance to the nearest chosen medoid, uniform among unchosen
    points when all those distances are 0) from ``np.random.default_rng(seed)``. Then assignment
    (ties to the lowest medoid) and medoid update (the member with the least summed distance to
    its cluster, ties to the lowest index) alternate until the medoids stop changing or
    ``max_iter`` rounds pass. Deterministic for a seed. ``labels[i]`` indexes ``medoids``.
    """
    x = _check_points(points)
    n = x.shape[0]
    k = _check_int("k", k, 1, n)
    max_iter = _check_int("max_iter", max_iter, 1)
    sq = (x**2).sum(axis=1)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * (x @ x.T), 0.0))
    np.fill_diagonal(dist, 0.0)
    rng = np.random.default_rng(seed)
    medoids = [int(rng.integers(n))]
    for _ in range(1, k):
        d2 = dist[:, medoids].min(axis=1) ** 2
        d2[medoids] = 0.0
        if d2.sum() > 0:
            medoids.append(int(rng.choice(n, p=d2 / d2.sum())))
        else:
            free = np.setdiff1d(np.arange(n), medoids)
            medoids.append(int(rng.choice(free)))
    med = np.array(medoids, dtype=np.int64)
    labels = np.argmin(dist[:, med], axis=1)
    for _ in range(max_iter):
        new = med.copy()
        for j in range(k):
            members = np.flatnonzero(labels == j)
            if members.size:  # an empty cluster (duplicate points) keeps its medoid
                new[j] = members[np.argmin(dist[np.ix_(members, members)].sum(axis=1))]
        labels = np.argmin(dist[:, new], axis=1)
        if np.array_equal(new, med):
            break
        med = new
    return labels.astype(np.int64), med


def estimate_clusters(
    points: np.ndarray, k_max: int, seed: int = 0, *, min_silhouette: float = SILHOUETTE_THRESHOLD
) -> int:
    """Number of clusters in ``points``: the k with the best silhouette over [2, min(k_max, n-1)].

    Each candidate k is clustered with :func:`kmedoids` (same seed). Returns 1 when n < 3, when
    no k is a candidate, or when the best silhouette is below ``min_silhouette`` (see
    :data:`SILHOUETTE_THRESHOLD`). The silhouette is undefined at k = n, so n points can never
    come out as n clusters.
    """
    x = _check_points(points)
    k_max = _check_int("k_max", k_max, 1)
    if not np.isfinite(min_silhouette) or not -1.0 <= min_silhouette <= 1.0:
        raise ValueError(f"min_silhouette must be in [-1, 1], got {min_silhouette}")
    n = x.shape[0]
    best_k, best_score = 1, -np.inf
    for k in range(2, min(k_max, n - 1) + 1):
        labels, _ = kmedoids(x, k, seed=seed)
        if np.unique(labels).size < 2:  # duplicates collapsed the clusters
            continue
        score = float(silhouette_score(x, labels))
        if score > best_score:
            best_k, best_score = k, score
    return best_k if best_score >= min_silhouette else 1


def joint_space(
    groups: Mapping[str, Sequence[np.ndarray]], reference: Mapping[str, np.ndarray]
) -> list[np.ndarray]:
    """Every group in one space: ``groups[arch][j]`` (m_j, D_arch) is group j embedded by
    architecture ``arch``; each architecture's embedding is standardised per dimension by the
    mean and standard deviation (+1e-6) of ``reference[arch]`` (n, D_arch: the same public clips
    embedded by it), then the architectures are concatenated: (m_j, sum of D_arch), float64.

    Standardising puts the architectures on one scale, so none outweighs the others in the
    distances because its features are larger or more numerous per unit of spread."""
    archs = list(groups)
    if not archs or set(archs) != set(reference):
        raise ValueError(
            f"groups and reference must name the same architectures, got {archs}, {list(reference)}"
        )
    counts = {a: len(groups[a]) for a in archs}
    if len(set(counts.values())) != 1:
        raise ValueError(f"every architecture must embed every group, got counts {counts}")
    scaled = {}
    for arch in archs:
        ref = np.asarray(reference[arch], dtype=np.float64)
        if ref.ndim != 2 or ref.shape[0] < 2 or not np.all(np.isfinite(ref)):
            raise ValueError(f"reference[{arch!r}] must be finite (n >= 2, D), got {ref.shape}")
        mean, scale = ref.mean(axis=0), ref.std(axis=0) + 1e-6
        scaled[arch] = [(np.asarray(g, dtype=np.float64) - mean) / scale for g in groups[arch]]
    return [np.concatenate([scaled[a][j] for a in archs], axis=1) for j in range(counts[archs[0]])]


def cluster_groups(
    embeddings: Sequence[np.ndarray], k: int | None = None, seed: int = 0
) -> np.ndarray:
    """Cluster id (int64, renumbered 0..k-1 by first appearance) of each group of impressions.

    ``embeddings[j]`` (m_j, D) holds the embedded impressions of one new class reported by one
    client. Each group becomes its L2-normalised mean; the centroids are clustered with
    :func:`kmedoids`, with ``k`` from :func:`estimate_clusters` (k_max = number of groups)
    when None.
    """
    if len(embeddings) == 0:
        raise ValueError("embeddings must hold at least one group, got 0")
    centroids = []
    for j, group in enumerate(embeddings):
        g = np.asarray(group, dtype=np.float64)
        if g.ndim != 2 or g.shape[0] < 1:
            raise ValueError(f"embeddings[{j}] must be 2-D (m, D) with m >= 1, got {g.shape}")
        if g.shape[1] != np.shape(embeddings[0])[1]:
            raise ValueError(
                f"embeddings[{j}] must have D = {np.shape(embeddings[0])[1]}, got {g.shape[1]}"
            )
        if not np.all(np.isfinite(g)):
            raise ValueError(f"embeddings[{j}] must be finite, got NaN/Inf")
        mean = g.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        if norm == 0:
            raise ValueError(f"embeddings[{j}] must have a non-zero mean, got a zero centroid")
        centroids.append(mean / norm)
    c = np.stack(centroids)
    if k is None:
        k = estimate_clusters(c, k_max=len(embeddings), seed=seed)
    k = _check_int("k", k, 1, len(embeddings))
    labels, _ = kmedoids(c, k, seed=seed)
    _, first = np.unique(labels, return_index=True)
    order = labels[np.sort(first)]
    remap = {int(old): new for new, old in enumerate(order)}
    return np.array([remap[int(v)] for v in labels], dtype=np.int64)


def impression_ari(
    group_clusters: np.ndarray, group_sizes: Sequence[int], true_labels: Sequence[str]
) -> float:
    """Adjusted Rand index between per-impression clusters and true class names.

    Impression ``i`` of group ``j`` inherits ``group_clusters[j]`` and ``true_labels[j]``; each
    group counts ``group_sizes[j]`` times (sizes >= 0, total > 0).
    """
    clusters = np.asarray(group_clusters)
    sizes = np.asarray(group_sizes)
    if clusters.ndim != 1:
        raise ValueError(f"group_clusters must be 1-D, got shape {clusters.shape}")
    if sizes.shape != clusters.shape or len(true_labels) != clusters.size:
        raise ValueError(
            f"group_sizes and true_labels must have one entry per group ({clusters.size}), "
            f"got {sizes.size} and {len(true_labels)}"
        )
    if not np.issubdtype(sizes.dtype, np.integer) or np.any(sizes < 0) or sizes.sum() == 0:
        raise ValueError(f"group_sizes must be ints >= 0 with total > 0, got {sizes.tolist()}")
    pred = np.repeat(clusters, sizes)
    true = np.repeat(np.asarray(true_labels, dtype=object), sizes)
    return float(adjusted_rand_score(true, pred))
