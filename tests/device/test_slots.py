"""Class slots: the label each slot holds, the live ones, and the class mask."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.device.slots import ClassSlots, swap_indices
from edgekit.errors import DataError, NoFreeSlot


def test_only_live_labels_are_in_the_mask() -> None:
    # Prepare
    slots = ClassSlots(["yes", "no"], max_classes=4)
    # Execute
    slots.set(["yes", "no", "go"], live=["go", "yes"])
    # Assert: live labels keep slot order; free and not-live slots are masked off
    assert slots.labels == ("yes", "no", "go") and slots.live == ("yes", "go")
    assert slots.mask().tolist() == [1.0, 0.0, 1.0, 0.0]
    assert slots.live_slots().tolist() == [0, 2]
    assert slots.slots_of(["go", "yes", "go"]).tolist() == [2, 0, 2]
    assert slots.slots_of(["no"], live_only=False).tolist() == [1]


def test_enrolment_takes_the_next_free_slot_until_none_is_left() -> None:
    # Prepare
    slots = ClassSlots(["yes", "no"], max_classes=3)
    # Execute
    slot = slots.enrol("go")
    # Assert
    assert slot == 2 and slots.labels[2] == "go" and "go" in slots.live
    with pytest.raises(NoFreeSlot, match="all 3 class slots are in use"):
        slots.enrol("stop")
    with pytest.raises(DataError, match="already exists"):
        ClassSlots(["yes"], max_classes=3).enrol("yes")


def test_renaming_keeps_the_slot_and_its_liveness() -> None:
    # Prepare
    slots = ClassSlots(["yes", "mine"], max_classes=4)
    slots.set(["yes", "mine"], live=["mine"])
    # Execute
    slots.rename("mine", "global-7")
    # Assert
    assert slots.labels == ("yes", "global-7") and slots.live == ("global-7",)
    with pytest.raises(DataError, match="no slot holds"):
        slots.rename("absent", "x")
    with pytest.raises(DataError, match="already holds a slot"):
        slots.rename("yes", "global-7")


def test_swapping_past_the_labels_pads_with_placeholders() -> None:
    # Prepare
    slots = ClassSlots(["yes", "no", "go"], max_classes=6)
    # Execute
    slots.swap(2, 4)
    # Assert: "go" moved to slot 4 and stays live; slot 2 holds a placeholder that is not
    assert slots.labels == ("yes", "no", "(slot 4)", "(slot 3)", "go")
    assert slots.live == ("yes", "no", "go") and slots.live_slots().tolist() == [0, 1, 4]
    with pytest.raises(DataError, match="not one of the bundle's 6 slots"):
        slots.swap(1, 6)


def test_swap_indices_exchanges_two_values_only() -> None:
    # Execute / Assert
    moved = swap_indices(np.array([0, 2, 4, 2, 1]), 2, 4)
    assert moved.tolist() == [0, 4, 2, 4, 1]


@pytest.mark.parametrize(
    ("labels", "live", "error", "message"),
    [
        (["a", "a"], None, DataError, "distinct"),
        (["a", "b"], ["c"], DataError, "not among the labels"),
        (["a", "b", "c", "d", "e"], None, NoFreeSlot, "4 slots"),
    ],
)
def test_bad_label_sets_are_refused(
    labels: list[str], live: list[str] | None, error: type[Exception], message: str
) -> None:
    slots = ClassSlots(["a"], max_classes=4)
    with pytest.raises(error, match=message):
        slots.set(labels, live)
    assert slots.labels == ("a",)  # a refused set changes nothing


def test_a_label_without_a_live_slot_is_a_data_error() -> None:
    slots = ClassSlots(["a", "b"], max_classes=4)
    slots.set(["a", "b"], live=["a"])
    with pytest.raises(DataError, match="not live classes"):
        slots.slots_of(["b"])
    with pytest.raises(DataError, match="no slot here"):
        slots.slots_of(["z"], live_only=False)
