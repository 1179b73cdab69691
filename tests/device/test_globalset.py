"""The global set: D0 from the bundle and the examples added after export."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.device.globalset import GlobalSet
from edgekit.errors import DataError


def global_set() -> GlobalSet:
    """D0 of two classes (slots 0 and 1), three rows of four features."""
    features = np.arange(12, dtype=np.float32).reshape(3, 4)
    return GlobalSet(features, np.array([0, 1, 0]), feature_size=4)


def test_examples_are_those_of_live_slots() -> None:
    # Prepare
    gs = global_set()
    gs.add(np.full((2, 4), 7.0), np.array([3, 4]))
    # Execute
    is_live = np.array([True, False, False, True, False])
    (d0_x, d0_y), (added_x, added_y) = gs.examples(is_live)
    # Assert: D0's rows of slot 0, then the added row of slot 3
    assert d0_y.tolist() == [0, 0] and added_y.tolist() == [3]
    assert d0_x[:, 0].tolist() == [0.0, 8.0] and added_x[:, 0].tolist() == [7.0]
    # every row live: the arrays themselves, not copies
    (d0_x, _), _ = gs.examples(np.ones(5, dtype=bool))
    assert d0_x is gs.d0_features


def test_swap_moves_the_added_examples_and_never_d0() -> None:
    # Prepare
    gs = global_set()
    gs.add(np.ones((3, 4)), np.array([3, 4, 3]))
    # Execute
    gs.swap(3, 5)
    # Assert
    assert gs.added_labels.tolist() == [5, 4, 5]
    assert gs.d0_labels.tolist() == [0, 1, 0]
    with pytest.raises(DataError, match="hold classes of D0"):
        gs.swap(1, 4)
    assert gs.added_labels.tolist() == [5, 4, 5]  # a refused swap changes nothing


@pytest.mark.parametrize(
    ("features", "slots", "message"),
    [
        (np.ones((2, 3)), np.array([2, 2]), "features must be"),
        (np.ones((2, 4)), np.array([2]), "match in length"),
        (np.full((1, 4), np.nan), np.array([2]), "finite"),
    ],
)
def test_bad_examples_are_refused(features: np.ndarray, slots: np.ndarray, message: str) -> None:
    gs = global_set()
    with pytest.raises(DataError, match=message):
        gs.add(features, slots)
    assert len(gs.added_labels) == 0
