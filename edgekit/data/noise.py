"""Procedural background noise, and the pure signal maths of making a clip (trim, place, mix).

Pure numpy: every noise generator takes a sample count, a sample rate and a
``numpy.random.Generator``, and returns float32 samples peak-normalised to :data:`NOISE_PEAK`.
The same generator state gives the same samples.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "FRAME",
    "NOISE_KINDS",
    "NOISE_PEAK",
    "babble",
    "background_noises",
    "brown_noise",
    "colored_noise",
    "limit_peak",
    "mains_hum",
    "pink_noise",
    "place",
    "running_tap",
    "scale_to_snr",
    "trim_silence",
    "white_noise",
]

NOISE_PEAK = 0.5  # peak amplitude of every generated noise (full scale = 1.0)
FRAME = 160  # samples per frame of trim_silence (10 ms at 16 kHz)


def _peak(x: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(x)))
    return (x * (NOISE_PEAK / peak) if peak > 0 else x).astype(np.float32)


def _shape(x: np.ndarray, sample_rate: int, gain: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Filter ``x`` in the frequency domain by ``gain(frequencies_hz)`` (zero phase)."""
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(x.shape[0], d=1.0 / sample_rate)
    return np.fft.irfft(spectrum * gain(freqs), n=x.shape[0])


def _band(lo_hz: float, hi_hz: float) -> Callable[[np.ndarray], np.ndarray]:
    return lambda f: ((f >= lo_hz) & (f <= hi_hz)).astype(np.float64)


def _envelope(n: int, sample_rate: int, max_hz: float, rng: np.random.Generator) -> np.ndarray:
    """A smooth random envelope in [0, 1] whose fluctuations stay below ``max_hz``."""
    slow = _shape(rng.standard_normal(n), sample_rate, _band(0.0, max_hz))
    slow -= slow.min()
    top = slow.max()
    return slow / top if top > 0 else slow


def white_noise(n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian white noise (flat spectrum)."""
    return _peak(rng.standard_normal(n))


def colored_noise(
    n: int, sample_rate: int, rng: np.random.Generator, exponent: float, low_hz: float = 20.0
) -> np.ndarray:
    """Noise with power spectral density proportional to ``1 / f**exponent`` above ``low_hz``."""

    def gain(f: np.ndarray) -> np.ndarray:
        g = np.zeros_like(f)
        keep = f >= low_hz
        g[keep] = f[keep] ** (-exponent / 2.0)
        return g

    return _peak(_shape(rng.standard_normal(n), sample_rate, gain))


def pink_noise(n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """1/f noise (-3 dB per octave)."""
    return colored_noise(n, sample_rate, rng, exponent=1.0)


def brown_noise(n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """1/f² (Brownian) noise (-6 dB per octave), a rumble."""
    return colored_noise(n, sample_rate, rng, exponent=2.0)


def mains_hum(n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """50 Hz mains hum with harmonics up to 1 kHz, a slow level wobble and a faint hiss."""
    t = np.arange(n) / sample_rate
    fundamental = 50.0 * (1.0 + rng.uniform(-0.002, 0.002))
    hum = np.zeros(n)
    for k in range(1, 21):
        level = (1.0 / k**1.2) * (1.6 if k % 2 else 0.8)  # odd harmonics dominate (transformers)
        hum += level * np.sin(2 * np.pi * k * fundamental * t + rng.uniform(0, 2 * np.pi))
    wobble = 0.85 + 0.15 * _envelope(n, sample_rate, 0.5, rng)
    hiss = 0.01 * rng.standard_normal(n)
    return _peak(hum * wobble + hiss)


def running_tap(n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Running water: 400 Hz - 6 kHz noise with fast random gurgling (up to 40 Hz)."""
    splash = _shape(rng.standard_normal(n), sample_rate, _band(400.0, 6_000.0))
    gurgle = 0.4 + 0.6 * _envelope(n, sample_rate, 40.0, rng)
    return _peak(splash * gurgle)


def babble(n: int, sample_rate: int, rng: np.random.Generator, talkers: int = 6) -> np.ndarray:
    """Babble-like noise: several speech-band noises, each switched at syllable rate (~4 Hz)."""
    out = np.zeros(n)
    for _ in range(talkers):
        lo, hi = rng.uniform(150.0, 400.0), rng.uniform(2_500.0, 4_000.0)
        voice = _shape(rng.standard_normal(n), sample_rate, _band(lo, hi))
        syllables = _envelope(n, sample_rate, rng.uniform(3.0, 6.0), rng) ** 2
        out += voice * syllables
    return _peak(out)


NOISE_KINDS: dict[str, Callable[[int, int, np.random.Generator], np.ndarray]] = {
    "white_noise": white_noise,
    "pink_noise": pink_noise,
    "brown_noise": brown_noise,
    "mains_hum": mains_hum,
    "running_tap": running_tap,
    "babble": babble,
}  # file stem in _background_noise_ -> generator


def background_noises(seconds: float, sample_rate: int, seed: int) -> dict[str, np.ndarray]:
    """One noise of every kind, ``seconds`` long, each seeded from ``(seed, kind index)``."""
    n = round(seconds * sample_rate)
    return {
        name: make(n, sample_rate, np.random.default_rng([seed, i]))
        for i, (name, make) in enumerate(NOISE_KINDS.items())
    }


def scale_to_snr(signal: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``noise`` scaled so that mean power of ``signal`` / that of the result is ``snr_db``."""
    p_signal = float(np.mean(np.square(signal, dtype=np.float64)))
    p_noise = float(np.mean(np.square(noise, dtype=np.float64)))
    if p_noise == 0.0:
        return noise.astype(np.float32)
    factor = np.sqrt(p_signal / (p_noise * 10.0 ** (snr_db / 10.0)))
    return (noise * factor).astype(np.float32)


def trim_silence(pcm: np.ndarray, threshold_db: float = -40.0, margin: int = 2) -> np.ndarray:
    """Drop leading and trailing silence, keeping ``margin`` frames either side of the sound.

    Silence is a frame of ``FRAME`` samples whose RMS is more than ``-threshold_db`` dB below the
    loudest frame's.
    """
    n_frames = max(1, -(-pcm.shape[0] // FRAME))
    frames = np.pad(pcm, (0, n_frames * FRAME - pcm.shape[0])).reshape(n_frames, FRAME)
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    loud = np.flatnonzero(rms > rms.max() * 10.0 ** (threshold_db / 20.0))
    if loud.size == 0:
        return pcm
    start = max(0, loud[0] - margin) * FRAME
    return pcm[start : min(n_frames, loud[-1] + 1 + margin) * FRAME]


def place(speech: np.ndarray, n: int, u: float) -> tuple[np.ndarray, np.ndarray]:
    """Put ``speech`` at relative position ``u`` in [0, 1) of an ``n``-sample clip.

    Returns the clip and the part of the speech inside it: all of it when it fits, else a crop.
    """
    room = n - speech.shape[0]
    if room >= 0:
        start = int(u * (room + 1))
        clip = np.zeros(n, dtype=np.float32)
        clip[start : start + speech.shape[0]] = speech
        return clip, speech
    start = int(u * (1 - room))
    inside = speech[start : start + n]
    return inside.copy(), inside


def limit_peak(clip: np.ndarray, peak: float = 0.99) -> np.ndarray:
    """``clip`` as float32, scaled down to ``peak`` when it is louder (so it never clips)."""
    loudest = float(np.max(np.abs(clip))) if clip.size else 0.0
    scaled = clip * (peak / loudest) if loudest > peak else clip
    return scaled.astype(np.float32)
