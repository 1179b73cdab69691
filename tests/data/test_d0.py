"""The global set D0: a few random clips of every class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgekit.data.corpus import ClipSet
from edgekit.data.d0 import select_d0
from edgekit.errors import ConfigError, DataError


def clip_set(labels: list[int]) -> ClipSet:
    n = len(labels)
    return ClipSet(
        audio=np.arange(n, dtype=np.float32)[:, None] * np.ones((1, 4), dtype=np.float32),
        labels=np.array(labels, dtype=np.int64),
        label_names=("a", "b", "c"),
        speakers=np.array([f"s{i}" for i in range(n)]),
        splits=np.array(["train"] * n),
        paths=[Path(f"{i}.wav") for i in range(n)],
    )


def test_up_to_per_class_clips_of_every_class_in_their_order() -> None:
    # Prepare: five clips of class 0, two of class 1, none of class 2
    clips = clip_set([0, 1, 0, 0, 1, 0, 0])
    # Execute
    d0 = select_d0(clips, per_class=3, seed=0)
    # Assert
    assert np.bincount(d0.labels).tolist() == [3, 2]
    kept = [int(row[0]) for row in d0.audio]  # each clip's audio holds its index
    assert kept == sorted(kept) and set(kept) >= {1, 4}
    assert [p.name for p in d0.paths] == [f"{i}.wav" for i in kept]


def test_the_seed_decides_which_clips() -> None:
    # Prepare
    clips = clip_set([0] * 20)
    # Execute
    draws = {tuple(select_d0(clips, 5, seed).audio[:, 0].tolist()) for seed in range(4)}
    # Assert: the same seed gives the same clips, other seeds others
    assert select_d0(clips, 5, 1).audio.tolist() == select_d0(clips, 5, 1).audio.tolist()
    assert len(draws) > 1


def test_nothing_to_draw_from_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="train split is empty"):
        select_d0(clip_set([]), 3)
    with pytest.raises(ConfigError, match="clips per class of D0 must be >= 1"):
        select_d0(clip_set([0, 1]), 0)
