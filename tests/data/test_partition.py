"""Partitioners as pure functions."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.data.partition import by_speaker, dirichlet, new_classes_split
from edgekit.errors import ConfigError, DataError


def _covers_exactly(parts: list[np.ndarray], n: int) -> bool:
    joined = np.concatenate(parts)
    return joined.size == n and np.array_equal(np.sort(joined), np.arange(n))


def test_by_speaker_never_splits_a_speaker() -> None:
    speakers = np.array([f"s{i % 7}" for i in range(70)] + ["big"] * 30)
    parts = by_speaker(speakers, 3, seed=1)
    assert _covers_exactly(parts, speakers.size)
    owners: dict[str, set[int]] = {}
    for client, idx in enumerate(parts):
        for s in speakers[idx]:
            owners.setdefault(str(s), set()).add(client)
    assert all(len(o) == 1 for o in owners.values())
    sizes = sorted(p.size for p in parts)
    assert sizes == [30, 30, 40]  # greedy balancing: big alone, 7 speakers of 10 over two


def test_by_speaker_rejects_more_clients_than_speakers() -> None:
    with pytest.raises(ConfigError, match="number of speakers"):
        by_speaker(np.array(["a", "b"]), 3)


def test_dirichlet_small_alpha_skews_labels() -> None:
    labels = np.repeat(np.arange(10), 100)
    skewed = dirichlet(labels, 5, alpha=0.05, seed=0)
    flat = dirichlet(labels, 5, alpha=1000.0, seed=0)
    assert _covers_exactly(skewed, labels.size) and _covers_exactly(flat, labels.size)

    def dominant_share(parts: list[np.ndarray]) -> float:
        return float(np.mean([np.bincount(labels[p]).max() / p.size for p in parts]))

    assert dominant_share(skewed) > 0.4 > 0.15 > dominant_share(flat)


def test_dirichlet_is_deterministic_and_respects_min_size() -> None:
    labels = np.repeat(np.arange(4), 25)
    a = dirichlet(labels, 4, alpha=0.5, seed=3, min_size=5)
    b = dirichlet(labels, 4, alpha=0.5, seed=3, min_size=5)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert min(p.size for p in a) >= 5
    with pytest.raises(ConfigError, match="alpha"):
        dirichlet(labels, 4, alpha=0.0)


def test_new_classes_split_keeps_new_classes_at_owners_only() -> None:
    labels = np.repeat(np.arange(6), 50)
    speakers = np.array([f"s{i % 10}" for i in range(labels.size)])
    split = new_classes_split(
        labels, new_classes=[4, 5], n_clients=5, owners={4: [0, 1], 5: [1, 3]}, speakers=speakers
    )
    assert not np.isin(labels[split.initial], [4, 5]).any()
    assert _covers_exactly([split.initial, *split.clients], labels.size)
    for client, idx in enumerate(split.clients):
        has = set(np.unique(labels[idx]).tolist())
        assert (4 in has) == (client in (0, 1))
        assert (5 in has) == (client in (1, 3))
    assert split.initial.size == round(0.2 * 200)


def test_new_classes_split_default_owners_and_errors() -> None:
    labels = np.repeat(np.arange(3), 20)
    split = new_classes_split(labels, new_classes=[2], n_clients=4, seed=7)
    assert len(split.owners[2]) == 2
    with pytest.raises(DataError, match="new_classes"):
        new_classes_split(labels, new_classes=[9], n_clients=2)
    with pytest.raises(ConfigError, match="owners"):
        new_classes_split(labels, new_classes=[2], n_clients=2, owners={2: [5]})
