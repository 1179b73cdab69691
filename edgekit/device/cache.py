"""A persistent feature cache on disk, bounded in bytes, least-recently-used eviction.

Keys are sha256(backbone hash + clip bytes): a new backbone never reads an old backbone's
features. Each entry file holds the sha256 of its payload (:mod:`edgekit.plan.cache_entry`), so
a corrupt entry is detected, deleted and recomputed. Recency is the file's mtime, so the order
survives a restart.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.atomic import atomic_write_bytes
from edgekit.errors import ConfigError
from edgekit.plan.cache_entry import decode_entry, encode_entry

__all__ = ["CacheStats", "FeatureCache"]

_SUFFIX = ".feat"


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    corrupt: int = 0  # entries found damaged (then deleted and recomputed)
    evictions: int = 0


class FeatureCache:
    """``get(key)`` / ``put(key, features)``, with ``key_for(pcm)`` making keys."""

    def __init__(self, folder: Path | str, max_bytes: int, namespace: str) -> None:
        if max_bytes < 0:
            raise ConfigError(f"max_bytes must be >= 0, got {max_bytes}")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.namespace = namespace.encode()
        self.stats = CacheStats()
        stats = [(p.stem, p.stat()) for p in self.folder.glob(f"*{_SUFFIX}")]
        found = [(st.st_mtime, key, st.st_size) for key, st in stats]
        # key -> size, least recently used first: every operation is O(1)
        self._lru: OrderedDict[str, int] = OrderedDict((k, size) for _, k, size in sorted(found))
        self._bytes = sum(self._lru.values())
        self._clock = max([time.time(), *(m for m, _, _ in found)])
        self._evict()

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._lru)

    def key_for(self, pcm: np.ndarray) -> str:
        digest = hashlib.sha256(self.namespace)
        digest.update(np.ascontiguousarray(pcm, dtype=np.float32).tobytes())
        return digest.hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}{_SUFFIX}"

    def get(self, key: str) -> np.ndarray | None:
        path = self._path(key)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            self._forget(key)
            self.stats.misses += 1
            return None
        features = decode_entry(blob)
        if features is None:
            self.stats.corrupt += 1
            self.stats.misses += 1
            path.unlink(missing_ok=True)
            self._forget(key)
            return None
        self.stats.hits += 1
        self._touch(path)
        self._lru.move_to_end(key)
        return features

    def put(self, key: str, features: np.ndarray) -> None:
        blob = encode_entry(features)
        if len(blob) > self.max_bytes:
            return
        path = self._path(key)
        atomic_write_bytes(path, blob)
        self._touch(path)
        self._forget(key)
        self._lru[key] = len(blob)
        self._bytes += len(blob)
        self._evict()

    def _touch(self, path: Path) -> None:
        """Stamp ``path`` as the newest entry (mtime carries the LRU order across restarts)."""
        self._clock = max(self._clock + 1e-3, time.time())  # strictly increasing
        os.utime(path, (self._clock, self._clock))

    def _forget(self, key: str) -> None:
        self._bytes -= self._lru.pop(key, 0)

    def _evict(self) -> None:
        while self._bytes > self.max_bytes and self._lru:
            key, size = self._lru.popitem(last=False)
            self._bytes -= size
            self._path(key).unlink(missing_ok=True)
            self.stats.evictions += 1
