"""One feature-cache entry file: the sha256 of its payload, then the payload (``.npy`` float32).

The device's :class:`~edgekit.device.cache.FeatureCache` writes and reads entries in this form;
the cache accounting (:mod:`edgekit.plan.cache`) needs their size to know how many user clips a
cache budget holds.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np

__all__ = ["DIGEST_BYTES", "decode_entry", "encode_entry", "entry_bytes"]

DIGEST_BYTES = 32  # sha256


def encode_entry(features: np.ndarray) -> bytes:
    """An entry file's bytes for ``features`` (stored as float32)."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(features, dtype=np.float32), allow_pickle=False)
    payload = buffer.getvalue()
    return hashlib.sha256(payload).digest() + payload


def decode_entry(blob: bytes) -> np.ndarray | None:
    """The features an entry file holds; None when it is damaged (checksum or format)."""
    payload = blob[DIGEST_BYTES:]
    if hashlib.sha256(payload).digest() != blob[:DIGEST_BYTES]:
        return None
    try:
        return np.load(io.BytesIO(payload), allow_pickle=False)
    except ValueError:  # a payload whose checksum matches but that is no .npy array
        return None


def entry_bytes(n_floats: int) -> int:
    """Bytes one entry of ``n_floats`` features takes (checksum and header included)."""
    return len(encode_entry(np.zeros(n_floats, dtype=np.float32)))
