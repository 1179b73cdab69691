"""k-medoids, cluster-count estimation and impression clustering on synthetic blobs."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit_server.fl.clustering import (
    cluster_groups,
    estimate_clusters,
    impression_ari,
    joint_space,
    kmedoids,
)


def _blobs(centres: np.ndarray, per: int, scale: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    points = np.concatenate([c + scale * rng.normal(size=(per, centres.shape[1])) for c in centres])
    return points, np.repeat(np.arange(len(centres)), per)


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = {(int(x), int(y)) for x, y in zip(a, b, strict=True)}
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_kmedoids_recovers_two_separated_blobs_deterministically() -> None:
    # Prepare
    points, truth = _blobs(np.array([[0.0, 0.0], [10.0, 10.0]]), per=15, scale=0.5, seed=0)

    # Execute
    labels, medoids = kmedoids(points, 2, seed=1)
    again, medoids_again = kmedoids(points, 2, seed=1)

    # Assert: the partition is the truth, the medoids are points of different blobs.
    assert _same_partition(labels, truth)
    assert medoids.shape == (2,) and truth[medoids[0]] != truth[medoids[1]]
    assert labels[medoids].tolist() == [0, 1]
    np.testing.assert_array_equal(labels, again)
    np.testing.assert_array_equal(medoids, medoids_again)


def test_kmedoids_hand_case_picks_central_members() -> None:
    # Prepare: on a line, the medoid of {0, 1, 2} is 1 and of {10, 11, 12} is 11.
    points = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]])

    labels, medoids = kmedoids(points, 2, seed=0)

    assert sorted(points[medoids, 0].tolist()) == [1.0, 11.0]
    assert _same_partition(labels, np.array([0, 0, 0, 1, 1, 1]))


def test_kmedoids_rejects_bad_k() -> None:
    with pytest.raises(ValueError, match=r"k must be in \[1, 2\]"):
        kmedoids(np.zeros((2, 2)), 3)
    with pytest.raises(ValueError, match="finite"):
        kmedoids(np.array([[np.inf, 0.0]]), 1)


@pytest.mark.parametrize("n_blobs", [2, 3])
def test_estimate_clusters_counts_separated_blobs(n_blobs: int) -> None:
    centres = 10.0 * np.eye(8)[:n_blobs]
    points, _ = _blobs(centres, per=10, scale=0.5, seed=n_blobs)

    assert estimate_clusters(points, k_max=6) == n_blobs


def test_estimate_clusters_single_blob_and_tiny_inputs_give_one() -> None:
    # A single Gaussian blob in embedding-like dimension (16): best split silhouette ~0.1.
    blob = np.random.default_rng(0).normal(size=(30, 16))

    assert estimate_clusters(blob, k_max=6) == 1
    assert estimate_clusters(blob[:2], k_max=6) == 1
    assert estimate_clusters(blob, k_max=1) == 1


def test_cluster_groups_recovers_classes_and_ari_is_one() -> None:
    # Prepare: 2 groups of class "dog" near one direction, 3 of "siren" near another, noisy,
    # with different group sizes and an offset scale that normalisation removes.
    rng = np.random.default_rng(4)
    dims = 16
    dog, siren = np.eye(dims)[0], np.eye(dims)[1]
    true = ["dog", "siren", "dog", "siren", "siren"]
    sizes = [6, 4, 8, 5, 7]
    groups = [
        (3.0 if name == "dog" else 1.0) * (dog if name == "dog" else siren)
        + 0.1 * rng.normal(size=(m, dims))
        for name, m in zip(true, sizes, strict=True)
    ]

    # Execute
    clusters = cluster_groups(groups, seed=0)

    # Assert: ids renumbered by first appearance.
    assert clusters.tolist() == [0, 1, 0, 1, 1]
    assert impression_ari(clusters, sizes, true) == pytest.approx(1.0)
    np.testing.assert_array_equal(cluster_groups(groups, k=2, seed=0), clusters)


def test_impression_ari_is_low_for_a_wrong_assignment() -> None:
    true = ["dog", "dog", "siren", "siren", "siren"]
    wrong = np.array([0, 1, 0, 1, 0])

    ari = impression_ari(wrong, [10, 10, 10, 10, 10], true)

    assert ari < 0.5


def test_impression_ari_weights_by_group_size() -> None:
    # One tiny misplaced group barely matters; a big one does.
    true = ["a", "a", "b"]
    clusters = np.array([0, 1, 1])

    small = impression_ari(clusters, [50, 1, 50], true)
    big = impression_ari(clusters, [1, 50, 50], true)

    assert small > 0.9 > 0.1 > big
    with pytest.raises(ValueError, match="one entry per group"):
        impression_ari(clusters, [1, 2], true)


def test_the_joint_space_puts_architectures_on_one_scale_so_a_loud_one_does_not_decide() -> None:
    # Prepare: "quiet" separates two classes (3 groups each); "loud" carries no class at all,
    # on a scale 1000 times larger and with 8 times the dimensions
    rng = np.random.default_rng(0)
    reference = {"quiet": rng.normal(size=(200, 8)), "loud": 1000 * rng.normal(size=(200, 64))}
    classes = [0, 0, 0, 1, 1, 1]
    quiet = [rng.normal(size=(50, 8)) + (3.0 if c else -3.0) * np.eye(8)[0] for c in classes]
    loud = [1000 * rng.normal(size=(50, 64)) for _ in classes]

    # Execute
    joint = joint_space({"quiet": quiet, "loud": loud}, reference)
    raw = [np.concatenate([q, x], axis=1) for q, x in zip(quiet, loud, strict=True)]

    # Assert: each group in (standardised quiet | standardised loud), the classes found there
    # and not in the raw concatenation
    mean, std = reference["quiet"].mean(axis=0), reference["quiet"].std(axis=0) + 1e-6
    np.testing.assert_allclose(joint[0][:, :8], (quiet[0] - mean) / std)
    assert joint[0].shape == (50, 72)
    assert _same_partition(cluster_groups(joint, k=2), np.array(classes))
    assert not _same_partition(cluster_groups(raw, k=2), np.array(classes))


def test_the_joint_space_needs_every_architecture_to_embed_every_group() -> None:
    reference = {"a": np.ones((4, 2)), "b": np.ones((4, 3))}
    with pytest.raises(ValueError, match="every architecture must embed every group"):
        joint_space({"a": [np.ones((2, 2))], "b": []}, reference)
