"""A persistent feature cache on disk, bounded in bytes, least-recently-used eviction.

Keys are sha256(backbone hash + clip bytes): a new backbone never reads an old backbone's
features. Each entry file holds the sha256 of its payload, so a corrupt entry is detected,
deleted and recomputed. Recency is the file's mtime, so the order survives a restart.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgekit.atomic import atomic_write_bytes

__all__ = ["CacheStats", "FeatureCache"]

_SUFFIX = ".feat"
_DIGEST = 32


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
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.namespace = namespace.encode()
        self.stats = CacheStats()
        self._sizes: dict[str, int] = {}
        self._used: dict[str, float] = {}
        for path in self.folder.glob(f"*{_SUFFIX}"):
            stat = path.stat()
            self._sizes[path.stem] = stat.st_size
            self._used[path.stem] = stat.st_mtime
        self._evict()

    @property
    def bytes(self) -> int:
        return sum(self._sizes.values())

    def __len__(self) -> int:
        return len(self._sizes)

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
        payload = blob[_DIGEST:]
        try:
            if hashlib.sha256(payload).digest() != blob[:_DIGEST]:
                raise ValueError("checksum mismatch")
            features = np.load(io.BytesIO(payload), allow_pickle=False)
        except ValueError:
            self.stats.corrupt += 1
            self.stats.misses += 1
            path.unlink(missing_ok=True)
            self._forget(key)
            return None
        self.stats.hits += 1
        now = max(self._used.values(), default=0.0) + 1e-3  # strictly newest, also on coarse clocks
        os.utime(path, (now, now))
        self._used[key] = now
        return features

    def put(self, key: str, features: np.ndarray) -> None:
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(features, dtype=np.float32), allow_pickle=False)
        payload = buffer.getvalue()
        blob = hashlib.sha256(payload).digest() + payload
        if len(blob) > self.max_bytes:
            return
        path = self._path(key)
        atomic_write_bytes(path, blob)
        now = max(self._used.values(), default=0.0) + 1e-3
        os.utime(path, (now, now))
        self._sizes[key] = len(blob)
        self._used[key] = now
        self._evict()

    def _forget(self, key: str) -> None:
        self._sizes.pop(key, None)
        self._used.pop(key, None)

    def _evict(self) -> None:
        total = self.bytes
        for key in sorted(self._used, key=self._used.__getitem__):
            if total <= self.max_bytes:
                break
            total -= self._sizes[key]
            self._path(key).unlink(missing_ok=True)
            self._forget(key)
            self.stats.evictions += 1
