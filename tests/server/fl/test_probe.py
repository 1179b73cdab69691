"""Probe signals: seeded, sliceable, bounded, and varied enough to be worth fitting a bridge on."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit_server.fl.probe import probe_signals


def test_any_slice_is_the_same_as_in_the_whole_set_and_the_seed_changes_it() -> None:
    whole = probe_signals(12, 4000, 16000, seed=3)
    assert whole.shape == (12, 4000) and whole.dtype == np.float32
    np.testing.assert_array_equal(probe_signals(5, 4000, 16000, seed=3, start=7), whole[7:])
    assert not np.allclose(probe_signals(12, 4000, 16000, seed=4), whole)


def test_signals_are_finite_bounded_and_not_silent() -> None:
    x = probe_signals(40, 8000, 16000)
    peaks = np.abs(x).max(axis=1)
    assert np.all(np.isfinite(x))
    assert np.all(peaks >= 0.05 - 1e-6) and np.all(peaks <= 0.9 + 1e-6)


def test_the_set_spans_many_spectral_shapes() -> None:
    """Each signal's spectral centroid; a set of one kind of sound would bunch up."""
    x = probe_signals(60, 16000, 16000)
    power = np.abs(np.fft.rfft(x, axis=1)) ** 2
    freqs = np.fft.rfftfreq(x.shape[1], 1 / 16000)
    centroid = (power * freqs).sum(axis=1) / power.sum(axis=1)
    assert centroid.min() < 500 and centroid.max() > 2000
    assert np.unique(np.round(centroid, -1)).size > 50


def test_bad_sizes_are_errors() -> None:
    with pytest.raises(ValueError, match="count and start must be >= 0"):
        probe_signals(-1, 100, 16000)
    with pytest.raises(ValueError, match="n_samples >= 2"):
        probe_signals(3, 1, 16000)
    assert probe_signals(0, 100, 16000).shape == (0, 100)
