"""The global set on one device: D0, shipped in the bundle, and the examples added after export.

Every example is a row of features at the bundle's cut and the slot of its class. D0 is the
bundle's own (reloaded from it at every start, its slots those of the bundle's labels); added
examples (``add``: e.g. data impressions of a class another client reported, embedded by this
architecture) are part of the learner's saved state. Training mixes the examples of live slots
into every batch (global dataset mixing).
"""

from __future__ import annotations

import numpy as np

from edgekit.device.slots import live_rows, swap_indices
from edgekit.errors import DataError

__all__ = ["GlobalSet"]


class GlobalSet:
    """D0 and the examples added to it, as features and slot indices."""

    def __init__(self, d0_features: np.ndarray, d0_labels: np.ndarray, feature_size: int) -> None:
        self.feature_size = feature_size  # float32 values per example (the bundle's cut)
        self._d0 = (np.asarray(d0_features, dtype=np.float32), d0_labels.astype(np.int64))
        self._added = (np.zeros((0, feature_size), dtype=np.float32), np.zeros(0, dtype=np.int64))

    @property
    def d0_features(self) -> np.ndarray:
        """``(n, feature_size)`` features of D0's clips."""
        return self._d0[0]

    @property
    def d0_labels(self) -> np.ndarray:
        """``(n,)`` slot of each D0 clip."""
        return self._d0[1]

    @property
    def added_features(self) -> np.ndarray:
        """``(m, feature_size)`` features of the examples added after export."""
        return self._added[0]

    @property
    def added_labels(self) -> np.ndarray:
        """``(m,)`` slot of each added example."""
        return self._added[1]

    def add(self, features: np.ndarray, slots: np.ndarray) -> None:
        """Add examples: ``(m, feature_size)`` finite features and the slot of each."""
        features = np.asarray(features, dtype=np.float32)
        slots = np.asarray(slots, dtype=np.int64)
        if features.ndim != 2 or features.shape[1] != self.feature_size:
            raise DataError(f"features must be (n, {self.feature_size}), got {features.shape}")
        if slots.shape != (len(features),) or not np.isfinite(features).all():
            raise DataError("features and labels must match in length and be finite")
        self._added = (
            np.concatenate([self._added[0], features]),
            np.concatenate([self._added[1], slots]),
        )

    def restore(self, features: np.ndarray, slots: np.ndarray) -> None:
        """Replace the added examples with saved ones."""
        self._added = (np.asarray(features, dtype=np.float32), slots.astype(np.int64))

    def examples(self, is_live: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """D0's and the added examples whose slot is live (``is_live``: a table per slot,
        :meth:`~edgekit.device.slots.ClassSlots.is_live`): ``(features, slots)`` of each."""
        return [live_rows(x, y, is_live) for x, y in (self._d0, self._added)]

    def swap(self, a: int, b: int) -> None:
        """Move the added examples of slot ``a`` to slot ``b`` and those of ``b`` to ``a``.

        D0's slots cannot move (D0 is reloaded from the bundle at every start), so neither slot
        may hold a D0 class."""
        held = sorted({a, b} & set(self._d0[1].tolist()))
        if held:
            raise DataError(
                f"slots {held} hold classes of D0, which ships with the bundle: they cannot move"
            )
        self._added = (self._added[0], swap_indices(self._added[1], a, b))
