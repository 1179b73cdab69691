"""Feature-cache accounting of a cut: a deeper cut stores more bytes per clip.

On the device, cached features are the global set D0 (shipped in the bundle, held while training)
and the user's clips in the device's feature cache (entries as :mod:`edgekit.plan.cache_entry`
writes them). A cache budget bounds both together:
``d0_clips * clip_bytes + user clips * entry_bytes <= budget``.
"""

from __future__ import annotations

import numpy as np

from edgekit.models.base import KwsModel
from edgekit.plan.cache_entry import entry_bytes
from edgekit.plan.reports import CacheReport

__all__ = ["cache_report", "feature_floats"]


def feature_floats(model: KwsModel, cut: str) -> int:
    """float32 values cached per clip at ``cut`` (every part, flattened)."""
    return sum(int(np.prod(shape)) for _, shape in model.feature_parts(cut))


def cache_report(model: KwsModel, cut: str, d0_clips: int, cache_budget: int | None) -> CacheReport:
    """Bytes per clip at ``cut`` and how many user clips a cache budget holds beside D0."""
    floats = feature_floats(model, cut)
    clip_bytes = 4 * floats  # float32
    d0_bytes = d0_clips * clip_bytes
    entry = entry_bytes(floats)
    capacity = None if cache_budget is None else max(0, (cache_budget - d0_bytes) // entry)
    return CacheReport(
        cut=cut,
        clip_bytes=clip_bytes,
        entry_bytes=entry,
        d0_clips=d0_clips,
        d0_bytes=d0_bytes,
        budget_bytes=cache_budget,
        user_clip_capacity=capacity,
    )
