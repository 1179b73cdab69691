"""A persistent feature cache on disk, bounded in bytes, least-recently-used eviction.

Keys are sha256(backbone hash + clip bytes): a new backbone never reads an old backbone's
features. Each entry file holds the sha256 of its payload (:mod:`edgekit.plan.cache_entry`), so
a corrupt entry is detected, deleted and recomputed; so is an entry whose checksum holds but whose
features are not ``entry_size`` finite float32 values (a file written by something else).
Recency is the file's mtime, so the order survives a restart.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from edgekit.atomic import atomic_write_bytes
from edgekit.errors import ConfigError, NonFiniteInput
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

    def __init__(
        self, folder: Path | str, max_bytes: int, namespace: str, entry_size: int | None = None
    ) -> None:
        if max_bytes < 0:
            raise ConfigError(f"max_bytes must be >= 0, got {max_bytes}")
        self.entry_size = entry_size  # float32 values per entry (None: any)
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
        if features is None or not self._valid(features):
            self.stats.corrupt += 1
            self.stats.misses += 1
            path.unlink(missing_ok=True)
            self._forget(key)
            return None
        self.stats.hits += 1
        self._touch(path)
        self._lru.move_to_end(key)
        return features

    def _valid(self, features: np.ndarray) -> bool:
        size = self.entry_size
        return (
            features.dtype == np.float32
            and (size is None or features.shape == (size,))
            and bool(np.isfinite(features).all())
        )

    def embed(
        self,
        clips: np.ndarray,
        compute: Callable[[np.ndarray], np.ndarray],
        max_batch: int,
        progress: bool = False,
    ) -> np.ndarray:
        """Features of ``clips``: cached ones read, the others computed ``max_batch`` clips at a
        time by ``compute`` and cached. Clips whose features are not finite are never cached
        and raise :class:`NonFiniteInput` naming their positions (after the good ones are)."""
        keys = [self.key_for(c) for c in clips]
        out: list[np.ndarray | None] = [self.get(k) for k in keys]
        missing = [i for i, f in enumerate(out) if f is None]
        bad = []
        starts = range(0, len(missing), max_batch)
        for start in tqdm(starts, desc="embedding", unit="batch", disable=not progress):
            idx = missing[start : start + max_batch]
            for i, f in zip(idx, compute(clips[idx]), strict=True):
                if not np.isfinite(f).all():
                    bad.append(i)
                    continue
                out[i] = f
                self.put(keys[i], f)
        if bad:
            raise NonFiniteInput(sorted(bad))
        return np.stack([f for f in out if f is not None])

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
