"""The feature cache: hits, misses, corruption, LRU eviction in bytes, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgekit.device.cache import FeatureCache
from edgekit.errors import ConfigError


def _feature(i: int) -> np.ndarray:
    return np.full(16, i, dtype=np.float32)


def test_miss_then_hit(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path, 1 << 20, "backbone-a")
    key = cache.key_for(np.ones(100, dtype=np.float32))
    assert cache.get(key) is None
    cache.put(key, _feature(3))
    np.testing.assert_array_equal(cache.get(key), _feature(3))
    assert (cache.stats.hits, cache.stats.misses) == (1, 1)


def test_keys_depend_on_backbone_and_content(tmp_path: Path) -> None:
    pcm = np.ones(100, dtype=np.float32)
    a, b = FeatureCache(tmp_path / "a", 1024, "A"), FeatureCache(tmp_path / "b", 1024, "B")
    assert a.key_for(pcm) != b.key_for(pcm)
    assert a.key_for(pcm) != a.key_for(pcm * 2)


def test_corrupt_entry_is_detected_and_dropped(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path, 1 << 20, "x")
    cache.put("k", _feature(1))
    path = tmp_path / "k.feat"
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 0xFF
    path.write_bytes(bytes(blob))
    assert cache.get("k") is None
    assert cache.stats.corrupt == 1 and not path.exists()
    path.write_bytes(b"short")
    cache.put("k", _feature(2))
    np.testing.assert_array_equal(cache.get("k"), _feature(2))


def test_lru_eviction_keeps_bytes_bounded(tmp_path: Path) -> None:
    probe = FeatureCache(tmp_path / "probe", 1 << 20, "x")
    probe.put("p", _feature(0))
    entry = probe.bytes
    cache = FeatureCache(tmp_path / "c", 3 * entry, "x")
    for i in range(3):
        cache.put(f"k{i}", _feature(i))
    assert cache.get("k0") is not None  # k0 is now the most recently used
    cache.put("k3", _feature(3))
    assert cache.bytes <= 3 * entry and cache.stats.evictions == 1
    assert cache.get("k1") is None  # the least recently used went
    assert cache.get("k0") is not None and cache.get("k3") is not None


def test_survives_a_restart_with_its_order(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path, 1 << 20, "x")
    for i in range(3):
        cache.put(f"k{i}", _feature(i))
    cache.get("k0")
    entry = cache.bytes // 3
    again = FeatureCache(tmp_path, 2 * entry, "x")  # smaller bound: evicts on open
    assert len(again) == 2 and again.get("k1") is None
    np.testing.assert_array_equal(again.get("k0"), _feature(0))


def test_negative_bound_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="max_bytes"):
        FeatureCache(tmp_path, -1, "x")
