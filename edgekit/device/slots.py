"""The class slots of a bundle's head on one device: which label each slot holds, which are live.

A bundle reserves ``max_classes`` output slots at export. Slot i holds ``labels[i]``; slots past
the labels are free (a new class is enrolled into the next one). Live labels are the ones this
device predicts and trains; the others keep their slots, and their weights, untouched (a label
the federation knows but this device has no data of yet). The class mask gives the program's
methods the live slots.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from edgekit.errors import ConfigError, DataError, NoFreeSlot

__all__ = ["ClassSlots", "classifier_entries", "swap_columns", "swap_indices"]


def classifier_entries(trainable: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The manifest's trainable entries of the classifier (it comes last), which must train
    whole (its ``weight_t`` and ``bias``) for slots to move."""
    classifier = trainable[-1]["layer"]
    entries = [t for t in trainable if t["layer"] == classifier]
    if sorted(t["kind"] for t in entries) != ["bias", "weight_t"]:
        raise ConfigError(
            f"the bundle's plan does not train all of {classifier}: its slots cannot move"
        )
    return entries


def swap_columns(
    weights: Mapping[str, torch.Tensor], entries: Sequence[dict[str, Any]], a: int, b: int
) -> dict[str, torch.Tensor]:
    """``weights`` with slots ``a`` and ``b`` swapped in the classifier's ``entries``: the last
    dimension of weight_t ``(in, slots)`` and bias ``(slots,)``."""
    out = dict(weights)
    for entry in entries:
        tensor = out[entry["name"]].clone()
        tensor[..., [a, b]] = tensor[..., [b, a]]
        out[entry["name"]] = tensor
    return out


def swap_indices(slots: np.ndarray, a: int, b: int) -> np.ndarray:
    """``slots`` with every ``a`` turned into ``b`` and every ``b`` into ``a``."""
    return np.where(slots == a, b, np.where(slots == b, a, slots))


def live_rows(
    features: np.ndarray, slots: np.ndarray, is_live: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``(features, slots)`` whose slot is live (``is_live``: a table per slot, from
    :meth:`ClassSlots.is_live`); the arrays themselves, not copies, when every row is."""
    keep = is_live[slots]
    return (features, slots) if keep.all() else (features[keep], slots[keep])


class ClassSlots:
    """Labels of the slots in use, in slot order, and the live ones among them."""

    def __init__(self, labels: Sequence[str], max_classes: int) -> None:
        self.max_classes = max_classes  # slots reserved at export
        self._labels: list[str] = []
        self._live: set[str] = set()
        self.set(labels)

    @property
    def labels(self) -> tuple[str, ...]:
        """The label of each slot in use (slot i holds ``labels[i]``)."""
        return tuple(self._labels)

    @property
    def live(self) -> tuple[str, ...]:
        """The labels predicted and trained, in slot order."""
        return tuple(x for x in self._labels if x in self._live)

    def set(self, labels: Sequence[str], live: Collection[str] | None = None) -> None:
        """Name the slots (``labels[i]`` is slot i) and choose the live ones (default: all)."""
        labels = list(labels)
        if len(set(labels)) != len(labels):
            raise DataError(f"labels must be distinct, got {labels}")
        if len(labels) > self.max_classes:
            raise NoFreeSlot(f"{len(labels)} labels but the bundle has {self.max_classes} slots")
        unknown = sorted(set(live or ()) - set(labels))
        if unknown:
            raise DataError(f"live labels {unknown} are not among the labels {labels}")
        self._labels = labels
        self._live = set(labels if live is None else live)

    def enrol(self, name: str) -> int:
        """Put a new live class into the next free slot; returns the slot."""
        if name in self._labels:
            raise DataError(f"class {name!r} already exists; use personalize() to add clips")
        if len(self._labels) >= self.max_classes:
            raise NoFreeSlot(
                f"all {self.max_classes} class slots are in use ({self._labels}); "
                "export the bundle with a larger HeadConfig.max_classes"
            )
        self._labels.append(name)
        self._live.add(name)
        return len(self._labels) - 1

    def rename(self, old: str, new: str) -> None:
        """Give slot ``old`` the label ``new`` (live if ``old`` was); what it learned stays."""
        if old not in self._labels:
            raise DataError(f"no slot holds {old!r}; the labels are {self._labels}")
        if new in self._labels and new != old:
            raise DataError(f"{new!r} already holds a slot; the labels are {self._labels}")
        self._labels[self._labels.index(old)] = new
        if old in self._live:
            self._live = (self._live - {old}) | {new}

    def check(self, *slots: int) -> None:
        """Refuse a slot index outside ``[0, max_classes)``."""
        for slot in slots:
            if not 0 <= slot < self.max_classes:
                raise DataError(f"slot {slot} is not one of the bundle's {self.max_classes} slots")

    def swap(self, a: int, b: int) -> None:
        """Swap the labels of slots ``a`` and ``b``. A slot past the labels in use gets a
        placeholder label ``"(slot i)"`` (not live) so that both slots hold one."""
        self.check(a, b)
        upto = max(a, b) + 1
        self._labels += [f"(slot {i})" for i in range(len(self._labels), upto)]
        self._labels[a], self._labels[b] = self._labels[b], self._labels[a]

    def live_slots(self) -> np.ndarray:
        """Indices of the live labels' slots."""
        return np.array([i for i, x in enumerate(self._labels) if x in self._live], dtype=np.int64)

    def is_live(self) -> np.ndarray:
        """``(max_classes,)`` bool, True at the slots of live labels: ``is_live()[slots]``
        tells which of ``slots`` are live (a lookup, where ``np.isin`` sorts)."""
        table = np.zeros(self.max_classes, dtype=bool)
        table[self.live_slots()] = True
        return table

    def mask(self) -> torch.Tensor:
        """``(max_classes,)``: 1 for the slots of live labels, 0 elsewhere."""
        return torch.from_numpy(self.is_live().astype(np.float32))

    def slots_of(self, labels: Sequence[str], live_only: bool = True) -> np.ndarray:
        """The slot of each label; a label without a slot (or not live) raises DataError."""
        unknown = sorted(set(labels) - (self._live if live_only else set(self._labels)))
        if unknown and live_only:
            raise DataError(f"labels {unknown} are not live classes of this learner ({self.live})")
        if unknown:
            raise DataError(f"labels {unknown} have no slot here; set_labels() first")
        return np.array([self._labels.index(x) for x in labels], dtype=np.int64)
