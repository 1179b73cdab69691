"""The feature-cache entry format: checksum, then the features as .npy float32."""

from __future__ import annotations

import numpy as np

from edgekit.plan.cache_entry import decode_entry, encode_entry, entry_bytes


def test_an_entry_reads_back_as_float32() -> None:
    # Prepare
    features = np.linspace(-1, 1, 24).reshape(2, 12)
    # Execute
    back = decode_entry(encode_entry(features))
    # Assert
    assert back is not None and back.dtype == np.float32
    np.testing.assert_array_equal(back, features.astype(np.float32))


def test_a_damaged_entry_reads_as_none() -> None:
    # Prepare
    blob = bytearray(encode_entry(np.ones(8)))
    # Execute: one bit of the payload, then the payload cut short
    blob[-1] ^= 0x01
    flipped = decode_entry(bytes(blob))
    cut = decode_entry(encode_entry(np.ones(8))[:-4])
    # Assert
    assert flipped is None and cut is None


def test_entry_bytes_is_the_size_of_a_written_entry() -> None:
    # Execute / Assert: the accounting matches what the cache writes, for several sizes
    for n in (1, 64, 1000):
        assert entry_bytes(n) == len(encode_entry(np.zeros(n)))
    assert entry_bytes(1000) - entry_bytes(64) == 4 * (1000 - 64)
