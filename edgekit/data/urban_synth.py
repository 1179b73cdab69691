"""Procedural sounds of the ten UrbanSound8K classes, in pure numpy.

Every synthesiser has the signature ``(src, rng, n, sr) -> float64 signal of n samples``: ``src``
is the *source recording's* generator (seeded per fsID: the same pitch, rate and timbre for every
slice of a recording), drawn from first; ``rng`` is the *slice's* generator (which events happen,
where, small variations). :func:`background` is the street ambience mixed under every event.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["SYNTHS", "background"]

Rng = np.random.Generator
Synth = Callable[[Rng, Rng, int, int], np.ndarray]
_TAU = 2 * np.pi


def _harmonics(freq: np.ndarray, sr: int, weights: np.ndarray, rng: Rng) -> np.ndarray:
    """A harmonic stack following ``freq`` (Hz per sample); partials above 0.45 sr are left out."""
    phase, top, out = _TAU * np.cumsum(freq) / sr, float(freq.max()), np.zeros(freq.shape[0])
    for k, weight in enumerate(weights, start=1):
        if k * top >= 0.45 * sr:
            break
        out += weight * np.sin(k * phase + rng.uniform(0, _TAU))
    return out


def _formant(freqs: np.ndarray, centre: float, width: float) -> np.ndarray:
    """Gaussian spectral peak (linear gain in (0, 1]) used to shape harmonic weights."""
    return np.exp(-0.5 * ((freqs - centre) / width) ** 2)


def _fft_size(n: int) -> int:
    """The power of two >= n (FFTs of prime lengths are slow)."""
    return 1 << max(n - 1, 1).bit_length()


def _filter(x: np.ndarray, sr: int, lo: float = 0.0, hi: float | None = None) -> np.ndarray:
    """Zero-phase 2nd-order-like band-pass (high-pass above ``lo``, low-pass below ``hi``)."""
    size = _fft_size(x.shape[0] + x.shape[0] // 4)
    f = np.fft.rfftfreq(size, 1 / sr)
    gain = np.ones_like(f)
    if lo > 0:
        gain /= np.sqrt(1 + (lo / np.maximum(f, 1e-3)) ** 4)
    if hi is not None:
        gain /= np.sqrt(1 + (f / hi) ** 4)
    return np.fft.irfft(np.fft.rfft(x, size) * gain, size)[: x.shape[0]]


def _colored(rng: Rng, n: int, slope: float) -> np.ndarray:
    """Noise whose power falls as 1/f**slope (0 white, 1 pink, 2 brown), unit RMS."""
    size = _fft_size(n)
    spec = np.fft.rfft(rng.standard_normal(size))
    f = np.arange(spec.shape[0], dtype=np.float64)
    spec *= np.maximum(f, 1.0) ** (-slope / 2)
    x = np.fft.irfft(spec, size)[:n]
    return x / (np.sqrt(np.mean(x**2)) + 1e-12)


def _convolve(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    size = _fft_size(x.shape[0] + kernel.shape[0])
    return np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(kernel, size), size)[: x.shape[0]]


def _smooth(x: np.ndarray, sr: int, tau: float) -> np.ndarray:
    """One-pole low-pass with time constant ``tau`` seconds (spin-up, slow envelopes)."""
    t = np.arange(int(5 * tau * sr) + 1) / sr
    kernel = np.exp(-t / tau)
    return _convolve(x, kernel / kernel.sum())


def _gate(
    rng: Rng, n: int, sr: int, on: tuple[float, float], off: tuple[float, float]
) -> np.ndarray:
    """0/1 activity: alternating on and off stretches of uniform random length (seconds)."""
    gate, pos, active = np.zeros(n), 0, rng.random() < 0.7
    while pos < n:
        span = int(rng.uniform(*(on if active else off)) * sr)
        gate[pos : pos + span] = float(active)
        pos, active = pos + max(span, 1), not active
    return gate


def _add(out: np.ndarray, event: np.ndarray, at: int) -> None:
    """Add ``event`` into ``out`` starting at sample ``at`` (cropped at the end)."""
    if 0 <= at < out.shape[0]:
        stop = min(out.shape[0], at + event.shape[0])
        out[at:stop] += event[: stop - at]


def _unit(x: np.ndarray) -> np.ndarray:
    """Scaled to peak 1 (silence stays silent)."""
    return x / (np.abs(x).max() + 1e-12)


def _decay(n: int, sr: int, attack: float, tau: float) -> np.ndarray:
    t = np.arange(n) / sr
    return np.minimum(t / attack, 1.0) * np.exp(-np.maximum(t - attack, 0) / tau)


def background(src: Rng, rng: Rng, n: int, sr: int) -> np.ndarray:
    """Street ambience: low-heavy coloured noise with a slowly breathing level (traffic)."""
    slope, cutoff, depth = src.uniform(0.8, 2.0), src.uniform(1500, 7000), src.uniform(0.1, 0.5)
    t = np.arange(n) / sr
    swell = 1 + depth * np.sin(_TAU * rng.uniform(0.05, 0.3) * t + rng.uniform(0, _TAU))
    return _filter(_colored(rng, n, slope), sr, 20.0, cutoff) * swell


def air_conditioner(src: Rng, rng: Rng, n: int, sr: int) -> np.ndarray:
    """Steady band-limited noise, mains/motor hum harmonics, blade-pass tone, slight fan wobble."""
    slope, lo, hi = src.uniform(0.2, 1.2), src.uniform(60, 250), src.uniform(1500, 8000)
    hum_f0, blade, hum_level = src.uniform(45, 125), src.uniform(150, 700), src.uniform(0.1, 0.5)
    hum_w = src.uniform(0.2, 1.0, size=int(src.integers(2, 7)))
    rate, depth = src.uniform(1, 10), src.uniform(0.0, 0.15)
    t, drift = np.arange(n) / sr, rng.uniform(0.99, 1.01)
    noise = _filter(_colored(rng, n, slope), sr, lo, hi)
    hum = _harmonics(np.full(n, hum_f0 * drift), sr, hum_w, rng)
    hum += 0.5 * np.sin(_TAU * blade * drift * t)
    wobble = 1 + depth * np.sin(_TAU * rate * t + rng.uniform(0, _TAU))
    return (noise + hum_level * hum / (np.sqrt(np.mean(hum**2)) + 1e-12)) * wobble


def car_horn(src: Rng, rng: Rng, n: int, sr: int) -> np.ndarray:
    """Two detuned tones (a third apart), bright harmonic stacks, 1-3 short blasts."""
    f1, ratio, tilt = src.uniform(300, 520), src.uniform(1.18, 1.34), src.uniform(0.5, 1.4)
    centre, drive, typical = src.uniform(1500, 3200), src.uniform(1, 4), src.uniform(0.2, 1.2)
    k = np.arange(1, 16)
    detune = rng.uniform(0.99, 1.01)
    tone = np.zeros(n)
    for f in (f1 * detune, f1 * ratio * detune):
        weights = k**-tilt * (0.3 + _formant(k * f, centre, 800))
        tone += _harmonics(np.full(n, f), sr, weights, rng)
    env = np.zeros(n)
    for _ in range(int(rng.integers(1, 4))):
        length = int(np.clip(typical * rng.uniform(0.5, 1.6), 0.1, 2.0) * sr)
        edge = np.minimum(np.arange(length), np.arange(length)[::-1])  # samples to either end
        _add(env, np.minimum(1.0, edge / (0.015 * sr)), int(rng.uniform(0, max(n - 0.3 * sr, 1))))
    return np.tanh(drive * _unit(tone)) * np.minimum(env, 1.0)


def children_playing(src: Rng, rng: Rng, n: int, sr: int) -> np.ndarray:
    """Babble of several child voices (gliding f0, syllables, vowel formants) plus shrieks."""
    kids, base, chirps = int(src.integers(3, 7)), src.uniform(250, 450), src.uniform(0.3, 1.5)
    t, out = np.arange(n) / sr, np.zeros(n)
    k = np.arange(1, 13)
    for _ in range(kids):
        f0 = base * rng.uniform(0.8, 1.4)
        contour = sum(
            rng.uniform(0.03, 0.12) * np.sin(_TAU * rng.uniform(0.2, 2) * t + rng.uniform(0, _TAU))
            for _ in range(3)
        )
        freq = f0 * (1 + contour + 0.02 * np.sin(_TAU * rng.uniform(4, 7) * t))
        weights = k**-1.0 * (
            _formant(k * f0, rng.uniform(600, 1200), 250)
            + _formant(k * f0, rng.uniform(1500, 3000), 400)
        )
        syllables = _smooth(_gate(rng, n, sr, (0.08, 0.3), (0.05, 0.35)), sr, 0.02)
        out += _harmonics(freq, sr, weights, rng) * syllables * rng.uniform(0.3, 1.0)
    for _ in range(int(rng.poisson(chirps * n / sr))):
        length = int(rng.uniform(0.2, 0.7) * sr)
        glide = np.linspace(rng.uniform(700, 1500), rng.uniform(700, 1700), length)
        shriek = _harmonics(glide, sr, np.array([1.0, 0.5, 0.25]), rng) * np.hanning(length)
        _add(out, shriek * rng.uniform(0.5, 1.5), int(rng.uniform(0, n)))
    return out


def dog_bark(src: Rng, rng: Rng, n: int, sr: int) -> np.ndarray:
    """1-4 barks: short harmonic bursts with a rise-fall pitch, a formant and a noisy edge."""
    size = src.uniform(0, 1)
    f0, centre = 900 - 550 * size, src.uniform(600, 1800) * (1.2 - 0.4 * size)
    length, noisiness = src.uniform(0.12, 0.3), src.uniform(0.1, 0.5)
    out, k = np.zeros(n), np.arange(1, 20)
    at = rng.uniform(0.0, 0.4) * n / sr
    for _ in range(int(rng.integers(1, 5))):
        m = int(length * rng.uniform(0.8, 1.25) * sr)
        u = np.linspace(0, 1, m)
        freq = f0 * rng.uniform(0.9, 1.1) * (1 + 0.35 * np.sin(np.pi * u**0.7))
        weights = k**-0.7 * (0.15 + _formant(k * f0, centre, 500))
        voiced = _harmonics(freq, sr, weights, rng)
        rough = _filter(rng.standard_normal(m), sr, centre * 0.5, centre * 2.5)
        bark = _unit(voiced) + noisiness * _unit(rough)
        bark *= _decay(m, sr, 0.012, length / 3)
        _add(out, bark * rng.uniform(0.6, 1.0), int(at * sr))
        at += rng.uniform(0.25, 0.8)
    return out


def drilling(src: Rng, rng: Rng, n: int, sr: int) -> np.ndarray:
    """Motor whine (bright harmonics) that spins up and down, plus band-passed grinding noise."""
    f0, tilt, grind = src.uniform(250, 900), src.uniform(0.3, 1.0), src.uniform(2000, 6000)
    chatter, grind_level = src.uniform(20, 70), src.uniform(0.1, 0.6)
    t = np.arange(n) / sr
    gate = _gate(rng, n, sr, (0.6, 3.0), (0.1, 0.8))
    speed = _smooth(gate, sr, rng.uniform(0.08, 0.25))
    freq = f0 * (0.55 + 0.45 * speed) * (1 + 0.02 * np.sin(_TAU * rng.uniform(1, 6) * t))
    whine = _harmonics(freq, sr, np.arange(1, 25) ** -tilt, rng)
    whine *= 0.8 + 0.2 * np.sin(_TAU * chatter * t)
    noise = _filter(rng.standard_normal(n), sr, grind / 1.5, grind * 1.5)
    return (_unit(whine) + grind_level * _unit(noise)) * speed**2


def engine_idling(src: Rng, rng: Rng, n: int, sr: int) -> np.ndarray:
    """Firing-rate pulses (20-60 Hz) through a low body resonance, harmonics, a little mechanics."""
    f0, body, ring = src.uniform(20, 60), src.uniform(60, 220), src.uniform(0.008, 0.03)
    tilt, mech = src.uniform(0.5, 1.5), src.uniform(0.02, 0.2)
    t = np.arange(n) / sr
    freq = f0 * (1 + 0.03 * np.sin(_TAU * rng.uniform(0.2, 1.0) * t) + rng.uniform(-0.03, 0.03))
    cycles = np.cumsum(freq) / sr
    pulses = np.zeros(n)
    fires = np.flatnonzero(np.diff(np.floor(cycles)) > 0)
    pulses[fires] = rng.uniform(0.6, 1.0, size=fires.shape[0])
    kt = np.arange(int(6 * ring * sr)) / sr
    kernel = np.exp(-kt / ring) * np.sin(_TAU * body * kt)
    rumble = _convolve(pulses, kernel)
    tonal = _harmonics(freq, sr, np.arange(1, 30) ** -tilt, rng)
    clank = _filter(rng.standard_normal(n), sr, 500, 3000)
    mix = _unit(rumble) + 0.5 * _unit(tonal)
    return _filter(mix, sr, 15, 1200) + mech * _unit(clank)


def gun_shot(src: Rng, rng: Rng, n: int, sr: int) -> np.ndarray:
    """A sharp N-wave transient, decaying low-passed noise, discrete echoes and a reverb tail."""
    tau, cutoff = src.uniform(0.03, 0.25), src.uniform(1500, 8000)
    delay, echo, reverb = src.uniform(0.05, 0.4), src.uniform(0.2, 0.6), src.uniform(0.1, 0.6)
    m = int(min(1.6, n / sr) * sr)
    blast = _filter(rng.standard_normal(m), sr, 80, cutoff) * _decay(m, sr, 0.001, tau)
    blast = _unit(blast)
    width = min(max(int(0.002 * sr), 2), m)
    blast[:width] += np.linspace(1.5, -1.5, width)
    tail = _filter(rng.standard_normal(m), sr, 100, cutoff / 2) * np.exp(
        -np.arange(m) / (reverb * sr)
    )
    shot = blast + 0.1 * tail
    for i in range(1, int(src.integers(2, 4))):
        _add(shot, _filter(blast, sr, 100, cutoff / (1 + i)) * echo**i, int(i * delay * sr))
    out = np.zeros(n)
    at = rng.uniform(0.02, 0.5) * n / sr
    for _ in range(int(rng.choice([1, 1, 1, 2, 3]))):
        _add(out, shot * rng.uniform(0.7, 1.0), int(at * sr))
        at += rng.uniform(0.1, 0.8)
    return out


def jackhammer(src: Rng, rng: Rng, n: int, sr: int) -> np.ndarray:
    """Rapid (15-25 Hz) impulsive broadband bursts with a metallic ring, in work stretches."""
    rate, ring_f, ring_tau = src.uniform(15, 25), src.uniform(800, 3000), src.uniform(0.004, 0.02)
    burst, rumble_level = src.uniform(0.004, 0.012), src.uniform(0.05, 0.3)
    gate = _gate(rng, n, sr, (0.8, 3.0), (0.2, 1.2))
    times = np.cumsum(rng.normal(1 / rate, 0.04 / rate, size=int(n / sr * rate) + 2))
    idx = (times * sr).astype(np.int64)
    idx = idx[idx < n]
    hits = np.zeros(n)
    hits[idx] = rng.uniform(0.6, 1.0, size=idx.shape[0]) * gate[idx]
    kt = np.arange(int(0.06 * sr)) / sr
    noise_burst = rng.standard_normal(kt.shape[0]) * np.exp(-kt / burst)
    ring = np.sin(_TAU * ring_f * kt) * np.exp(-kt / ring_tau)
    hammer = _convolve(hits, noise_burst + 0.7 * ring)
    rumble = _filter(rng.standard_normal(n), sr, 30, 200)
    return _unit(hammer) + rumble_level * _unit(rumble)


def siren(src: Rng, rng: Rng, n: int, sr: int) -> np.ndarray:
    """Wail (slow sweep), yelp (fast sweep) or hi-lo (two tones), with a Doppler pass-by."""
    mode = src.choice(["wail", "yelp", "hilo"], p=[0.5, 0.3, 0.2])
    lo = src.uniform(450, 800)
    hi = lo * src.uniform(1.5, 2.2)
    period = {
        "wail": src.uniform(2.5, 6.0),
        "yelp": src.uniform(0.15, 0.4),
        "hilo": src.uniform(0.8, 1.6),
    }[mode]
    k = np.arange(1, 9)
    weights = k ** -src.uniform(0.8, 1.8) * np.where(k % 2 == 1, src.uniform(1.0, 2.0), 1.0)
    t = np.arange(n) / sr
    cycle = (t / period + rng.uniform(0, 1)) % 1
    shape = {
        "wail": 0.5 - 0.5 * np.cos(_TAU * cycle),
        "yelp": cycle**0.7,
        "hilo": (cycle < 0.5) * 1.0,
    }[mode]
    t0, spread = rng.uniform(0, 1.5) * n / sr, rng.uniform(0.5, 2.0)
    doppler = 1 - rng.uniform(0.0, 0.04) * np.tanh((t - t0) / spread)
    level = 1 / np.sqrt(1 + ((t - t0) / rng.uniform(1.5, 6.0)) ** 2)
    return _harmonics((lo + (hi - lo) * shape) * doppler, sr, weights, rng) * level


def street_music(src: Rng, rng: Rng, n: int, sr: int) -> np.ndarray:
    """Notes from a scale with a harmonic timbre and rhythm, sometimes chords, sometimes drums."""
    scale = [(0, 2, 4, 5, 7, 9, 11), (0, 3, 5, 7, 10), (0, 2, 4, 7, 9)][int(src.integers(3))]
    root, beat = src.uniform(110, 330), 60 / src.uniform(80, 160)
    weights = np.arange(1, 11) ** -src.uniform(0.5, 2.0) * src.uniform(0.5, 1.0, size=10)
    pluck, chords, drums = src.uniform(0.1, 0.8), src.random() < 0.4, src.random() < 0.5
    out, at, degree = np.zeros(n), rng.uniform(0, beat), int(rng.integers(len(scale)))
    while at < n / sr:
        length = beat * float(rng.choice([0.5, 1, 1, 2]))
        degree = int(np.clip(degree + rng.integers(-2, 3), 0, 2 * len(scale) - 1))
        for offset in (0, 2, 4) if chords else (0,):
            d = degree + offset
            f = root * 2 ** ((scale[d % len(scale)] + 12 * (d // len(scale))) / 12)
            m = int(length * sr)
            note = _harmonics(np.full(m, f), sr, weights, rng) * _decay(m, sr, 0.01, pluck)
            _add(out, note / (1 + offset), int(at * sr))
        at += length
    out = _unit(out)
    if drums:
        kick_m = int(0.25 * sr)
        kt = np.arange(kick_m) / sr
        kick = np.sin(_TAU * np.cumsum(50 + 70 * np.exp(-kt / 0.03)) / sr) * np.exp(-kt / 0.1)
        snare = _filter(rng.standard_normal(kick_m), sr, 1500) * np.exp(-kt / 0.05)
        snare = 0.5 * _unit(snare)
        for i, beat_at in enumerate(np.arange(rng.uniform(0, beat), n / sr, beat)):
            _add(out, 0.8 * kick if i % 2 == 0 else snare, int(beat_at * sr))
    return out


# classID order of the real corpus
SYNTHS: dict[str, Synth] = {
    "air_conditioner": air_conditioner,
    "car_horn": car_horn,
    "children_playing": children_playing,
    "dog_bark": dog_bark,
    "drilling": drilling,
    "engine_idling": engine_idling,
    "gun_shot": gun_shot,
    "jackhammer": jackhammer,
    "siren": siren,
    "street_music": street_music,
}
