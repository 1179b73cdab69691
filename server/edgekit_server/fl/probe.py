"""Probe signals: class-agnostic synthetic audio the server owns, to align the architectures.

The feature bridge (:mod:`edgekit_server.fl.bridge`) is fitted on pairs of embeddings of the
same inputs by two architectures. Fitted on the public clips alone (old classes only) it aligns
the architectures where the old classes lie and nowhere else, and a new class lies elsewhere: on
the urban benchmark federation the real siren clips of a tcresnet owner and of a dscnn owner met
in the joint space at cosine 0.44, less than the tcresnet siren and the resnet street_music
(0.55), and the server merged the four new-class groups into one class. Probe signals cover more
of the input space: each is one to three layers of a harmonic stack on a random pitch path
(random walk or vibrato) whose partials each fall off at their own rate, coloured noise of a
random slope, or a train of ringing impulses, each under a random envelope or none: sound
primitives drawn from no class's synthesiser, with no label; no client's audio is involved.
The irregular spectral envelopes matter: with one fall-off rate for all partials the server's
clustering of the urban groups stayed one class (silhouette 0.13; 0.27-0.28 with three probe
seeds as here; the siren clips above then meet at 0.68); band-limited noise or 8000 signals
instead of 4000 did not help further. A deployment would use an unlabelled public corpus
instead (any broad collection of sounds); these stand in for one offline. Caveat: the
primitives are also the building blocks of the generated urban corpus, so they cover its
classes more closely than an arbitrary corpus would cover real ones.

Every signal has its own generator seeded by ``(seed, index)``: any slice of the probe set can
be made on its own (:func:`probe_signals` with ``start``) and is the same as in the whole.
"""

from __future__ import annotations

import numpy as np

__all__ = ["probe_signal", "probe_signals"]

_TAU = 2 * np.pi


def _harmonic(g: np.random.Generator, n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    f0 = np.exp(g.uniform(np.log(60.0), np.log(2000.0)))
    if g.random() < 0.5:  # a random walk of the log pitch
        path = np.exp(np.cumsum(g.normal(0.0, g.uniform(0.0, 0.004), n)))
    else:  # vibrato or a slow sweep up and down
        rate = np.exp(g.uniform(np.log(0.1), np.log(8.0)))
        path = 1 + g.uniform(0.0, 1.0) * np.sin(_TAU * rate * t + g.uniform(0, _TAU))
    freq = np.clip(f0 * path, 30.0, 0.45 * sr)
    phase = _TAU * np.cumsum(freq) / sr
    top, out = float(freq.max()), np.zeros(n)
    for k in range(1, 11):  # each partial its own fall-off: irregular spectral envelopes
        if k * top >= 0.45 * sr:
            break
        out += k ** -g.uniform(0.3, 2.5) * np.sin(k * phase + g.uniform(0, _TAU))
    return out


def _noise(g: np.random.Generator, n: int) -> np.ndarray:
    size = 1 << max(n - 1, 1).bit_length()
    spec = np.fft.rfft(g.standard_normal(size))
    spec *= np.maximum(np.arange(spec.shape[0]), 1.0) ** (-g.uniform(0.0, 2.0) / 2)
    return np.fft.irfft(spec, size)[:n]


def _impulses(g: np.random.Generator, n: int, sr: int) -> np.ndarray:
    rate = np.exp(g.uniform(np.log(0.5), np.log(30.0)))  # impulses per second
    times = np.cumsum(g.exponential(1 / rate, size=int(rate * n / sr * 3) + 4))
    at = (times[times < n / sr] * sr).astype(np.int64)
    if at.size == 0:  # a slow train in a short clip: one impulse, never silence
        at = g.integers(0, n, size=1)
    hits = np.zeros(n)
    hits[at] = g.normal(size=at.size)
    m = int(0.05 * sr)
    kt = np.arange(m) / sr
    ring = np.sin(_TAU * g.uniform(100.0, 4000.0) * kt) * np.exp(-kt / g.uniform(0.002, 0.03))
    return np.convolve(hits, ring)[:n]


def probe_signal(g: np.random.Generator, n: int, sample_rate: int) -> np.ndarray:
    """One probe signal of ``n`` samples (float32, peak in [0.05, 0.9]) drawn from ``g``."""
    t = np.arange(n) / sample_rate
    out = np.zeros(n)
    for _ in range(int(g.integers(1, 4))):
        kind = int(g.integers(3))
        if kind == 0:
            x = _harmonic(g, n, sample_rate)
        elif kind == 1:
            x = _noise(g, n)
        else:
            x = _impulses(g, n, sample_rate)
        x = x / (np.abs(x).max() + 1e-12)
        if g.random() < 0.5:  # a random envelope through six points
            x = x * np.interp(t, np.linspace(0, t[-1], 6), g.uniform(0.0, 1.0, 6) ** 2)
        out += g.uniform(0.2, 1.0) * x
    out *= g.uniform(0.05, 0.9) / (np.abs(out).max() + 1e-12)
    return out.astype(np.float32)


def probe_signals(
    count: int, n_samples: int, sample_rate: int, seed: int = 0, start: int = 0
) -> np.ndarray:
    """Probe signals ``start .. start + count - 1`` of the set seeded by ``seed``:
    float32 ``(count, n_samples)``."""
    if count < 0 or start < 0 or n_samples < 2 or sample_rate < 1:
        raise ValueError(
            "count and start must be >= 0, n_samples >= 2 and sample_rate >= 1, got "
            f"{count}, {start}, {n_samples}, {sample_rate}"
        )
    out = np.zeros((count, n_samples), dtype=np.float32)
    for i in range(count):
        out[i] = probe_signal(np.random.default_rng([seed, start + i]), n_samples, sample_rate)
    return out
