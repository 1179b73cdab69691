"""FedAvg and label-wise consensus on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit_server.fl.aggregation import fedavg, label_overlap, label_wise_consensus, restrict


def test_fedavg_weighted_mean_matches_hand_result_and_keeps_float32() -> None:
    # Prepare
    a = {"w": np.array([[1.0, 2.0]], np.float32), "b": np.array([0.0], np.float32)}
    b = {"w": np.array([[5.0, 6.0]], np.float32), "b": np.array([4.0], np.float32)}

    # Execute
    avg = fedavg([a, b], [1.0, 3.0])

    # Assert: (1*a + 3*b) / 4
    np.testing.assert_allclose(avg["w"], [[4.0, 5.0]])
    np.testing.assert_allclose(avg["b"], [3.0])
    assert avg["w"].dtype == np.float32 and avg["b"].dtype == np.float32


def test_fedavg_zero_weight_client_is_ignored() -> None:
    a = {"w": np.array([1.0], np.float32)}
    b = {"w": np.array([100.0], np.float32)}

    avg = fedavg([a, b], [2.0, 0.0])

    np.testing.assert_allclose(avg["w"], [1.0])


def test_fedavg_rejects_mismatched_keys_shapes_and_weights() -> None:
    a = {"w": np.zeros(2, np.float32)}

    with pytest.raises(ValueError, match="'v'"):
        fedavg([a, {"v": np.zeros(2, np.float32)}], [1.0, 1.0])
    with pytest.raises(ValueError, match=r"key 'w' must have shape \(2,\)"):
        fedavg([a, {"w": np.zeros(3, np.float32)}], [1.0, 1.0])
    with pytest.raises(ValueError, match="sum to > 0"):
        fedavg([a, a], [0.0, 0.0])
    with pytest.raises(ValueError, match=">= 0"):
        fedavg([a, a], [2.0, -1.0])
    with pytest.raises(ValueError, match="one entry per update"):
        fedavg([a, a], [1.0])
    with pytest.raises(ValueError, match="finite"):
        fedavg([a, {"w": np.array([np.nan, 0.0], np.float32)}], [1.0, 1.0])


def test_label_overlap_is_share_of_global_labels() -> None:
    overlap = label_overlap([{"a", "b", "c"}, {"a", "b", "z"}], ["a", "b", "c"])

    np.testing.assert_allclose(overlap, [1.0, 2.0 / 3.0])


def _two_clients() -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    # Client A has labels {0, 1, 2}; client B lacks label 2 (its column is junk, and ignored).
    scores = [
        np.array([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]]),
        np.array([[0.5, 0.5, 9.0], [0.2, 0.8, np.nan]]),
    ]
    masks = [np.array([True, True, True]), np.array([True, True, False])]
    accuracy = [np.array([0.5, 0.5, 0.8]), np.array([0.75, 0.25, np.nan])]
    return scores, masks, accuracy


def test_label_wise_consensus_matches_hand_computation() -> None:
    # Prepare: overlap A = 1, B = 2/3; eps = 0 so w_A = [.5, .5, .8], w_B = [.5, 1/6, -].
    scores, masks, accuracy = _two_clients()
    overlap = [1.0, 2.0 / 3.0]

    # Execute
    consensus, covered = label_wise_consensus(scores, masks, accuracy, overlap, eps=0.0)

    # Assert. Label 0: (.5 sA + .5 sB) / 1 -> clip0 .35, clip1 .4.
    # Label 1: (.5 sA + sB/6) / (2/3) -> clip0 .35, clip1 .35. Label 2: A only -> .5, .2.
    # Rows [.35, .35, .5] / 1.2 and [.4, .35, .2] / .95.
    expected = np.array([[7 / 24, 7 / 24, 5 / 12], [8 / 19, 7 / 19, 4 / 19]])
    np.testing.assert_allclose(consensus, expected, rtol=1e-6)
    assert consensus.dtype == np.float32
    assert covered.tolist() == [True, True, True]


def test_label_wise_consensus_eps_keeps_zero_accuracy_votes_by_overlap() -> None:
    # Prepare: both clients have accuracy 0 on label 0, so w = overlap * eps: weights 1 : 1/2.
    scores = [np.array([[0.9, 0.1]]), np.array([[0.3, 0.7]])]
    masks = [np.array([True, True]), np.array([True, True])]
    accuracy = [np.array([0.0, 1.0]), np.array([0.0, 1.0])]

    # Execute
    consensus, _ = label_wise_consensus(scores, masks, accuracy, [1.0, 0.5])

    # Assert: label 0 = (.9 + .5*.3) / 1.5 = .7, label 1 = (.1 + .5*.7) / 1.5 = .3.
    np.testing.assert_allclose(consensus, [[0.7, 0.3]], rtol=1e-6)


def test_label_nobody_has_is_zero_and_not_covered() -> None:
    scores = [np.array([[0.25, 0.75, 0.0]]), np.array([[0.5, 0.5, 0.0]])]
    masks = [np.array([True, True, False]), np.array([True, True, False])]
    accuracy = [np.ones(3), np.ones(3)]

    consensus, covered = label_wise_consensus(scores, masks, accuracy, [1.0, 1.0], eps=0.0)

    assert covered.tolist() == [True, True, False]
    np.testing.assert_allclose(consensus, [[0.375, 0.625, 0.0]], rtol=1e-6)


def test_label_wise_consensus_rejects_nan_and_bad_shapes() -> None:
    scores, masks, accuracy = _two_clients()
    bad = [scores[0].copy(), scores[1]]
    bad[0][1, 0] = np.nan

    with pytest.raises(ValueError, match="scores\\[0\\] must be finite"):
        label_wise_consensus(bad, masks, accuracy, [1.0, 1.0])
    with pytest.raises(ValueError, match="label_accuracy\\[1\\] must be in"):
        label_wise_consensus(scores, masks, [accuracy[0], np.array([np.inf, 0, 0])], [1.0, 1.0])
    with pytest.raises(ValueError, match="scores\\[1\\] must have shape"):
        label_wise_consensus([scores[0], scores[1][:1]], masks, accuracy, [1.0, 1.0])
    with pytest.raises(ValueError, match="label_masks\\[0\\] must be bool"):
        label_wise_consensus(scores, [np.ones(3), masks[1]], accuracy, [1.0, 1.0])
    with pytest.raises(ValueError, match="overlap must have shape"):
        label_wise_consensus(scores, masks, accuracy, [1.0])


def test_restrict_renormalises_over_mask_and_uniform_on_zero_mass() -> None:
    consensus = np.array([[0.1, 0.6, 0.3], [0.0, 1.0, 0.0]])
    mask = np.array([True, False, True])

    targets = restrict(consensus, mask)

    np.testing.assert_allclose(targets, [[0.25, 0.0, 0.75], [0.5, 0.0, 0.5]])
    with pytest.raises(ValueError, match="at least one label"):
        restrict(consensus, np.zeros(3, bool))
