"""Class similarity and Dirichlet soft targets for data impressions."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit_server.fl.soft_targets import (
    class_similarity,
    dirichlet_targets,
    impression_targets,
)


def test_class_similarity_orthogonal_antiparallel_and_diagonal_rows() -> None:
    # Prepare: row 1 points against row 0, row 2 is orthogonal to both.
    weights = np.array([[1.0, 0.0], [-2.0, 0.0], [0.0, 3.0]])

    # Execute
    sim = class_similarity(weights)

    # Assert: cosines of row 0 are [1, -1, 0] -> min-max [1, 0, .5]; row 2 is [0, 0, 1].
    np.testing.assert_allclose(sim[0], [1.0, 0.0, 0.5], atol=1e-12)
    np.testing.assert_allclose(sim[2], [0.0, 0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(np.diag(sim), 1.0)


def test_class_similarity_parallel_rows_are_all_ones() -> None:
    sim = class_similarity(np.array([[1.0, 1.0], [3.0, 3.0]]))

    np.testing.assert_allclose(sim, np.ones((2, 2)))


def test_class_similarity_rejects_zero_rows_and_nan() -> None:
    with pytest.raises(ValueError, match="non-zero"):
        class_similarity(np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="finite"):
        class_similarity(np.array([[1.0, np.nan]]))


def test_dirichlet_targets_are_distributions_and_seeded() -> None:
    row = np.array([1.0, 0.8, 0.3, 0.0])

    a = dirichlet_targets(row, 1.0, 50, np.random.default_rng(7))
    b = dirichlet_targets(row, 1.0, 50, np.random.default_rng(7))
    c = dirichlet_targets(row, 1.0, 50, np.random.default_rng(8))

    assert a.shape == (50, 4) and a.dtype == np.float32
    np.testing.assert_allclose(a.sum(axis=1), 1.0, atol=1e-6)
    assert np.all(a >= 0)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_small_beta_favours_own_class_over_dissimilar_and_is_spiky() -> None:
    # Prepare: class 0's own entry is 1, class 3 is the least similar (0 -> tiny floor).
    row = np.array([1.0, 0.8, 0.3, 0.0])

    # Execute
    spiky = dirichlet_targets(row, 0.1, 4000, np.random.default_rng(0))
    smooth = dirichlet_targets(row, 1.0, 4000, np.random.default_rng(0))

    # Assert: own mass beats the dissimilar class; the mean is row / sum(row) for both betas,
    # beta only changes the spread (beta = 0.1 is nearly one-hot far more often).
    assert spiky[:, 0].mean() > 0.3 > 1e-3 > spiky[:, 3].mean()
    np.testing.assert_allclose(spiky.mean(axis=0), row / row.sum(), atol=0.03)
    np.testing.assert_allclose(smooth.mean(axis=0), row / row.sum(), atol=0.03)
    assert (spiky.max(axis=1) > 0.9).mean() > 0.6 > 0.3 > (smooth.max(axis=1) > 0.9).mean()


def test_dirichlet_targets_rejects_bad_input() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="beta must be"):
        dirichlet_targets(np.ones(3), 0.0, 2, rng)
    with pytest.raises(ValueError, match="n must be"):
        dirichlet_targets(np.ones(3), 1.0, 0, rng)
    with pytest.raises(ValueError, match="similarity_row must be finite and >= 0"):
        dirichlet_targets(np.array([1.0, -0.1]), 1.0, 2, rng)


def test_impression_targets_split_over_betas_and_seeded() -> None:
    # Prepare
    weights = np.array([[1.0, 0.0], [0.6, 0.8], [-1.0, 0.0]])

    # Execute
    targets = impression_targets(weights, 1, 5, betas=(1.0, 0.1), seed=3)

    # Assert: 3 rows with beta 1.0 then 2 with beta 0.1, drawn from one rng seeded 3.
    rng = np.random.default_rng(3)
    row = class_similarity(weights)[1]
    expected = np.concatenate(
        [dirichlet_targets(row, 1.0, 3, rng), dirichlet_targets(row, 0.1, 2, rng)]
    )
    np.testing.assert_array_equal(targets, expected)
    np.testing.assert_array_equal(targets, impression_targets(weights, 1, 5, seed=3))
    with pytest.raises(ValueError, match="class_index must be in"):
        impression_targets(weights, 3, 5)
    with pytest.raises(ValueError, match="betas must be finite and > 0"):
        impression_targets(weights, 0, 1, betas=(1.0, -1.0))
