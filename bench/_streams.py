"""Long recordings for the detection benchmark, and the background class a spotter needs.

A stream is a held-out speaker's whole recordings (the word somewhere inside each, with its room
noise) laid end to end with gaps of silence or noise between them. Where each word sits is known
from the energy window of its recording (:func:`edgekit.audio.window.loudest_start`), so an event
can be scored as a hit when it names the right keyword within a tolerance of the word's centre.

The background class (``_silence_``): a spotter run over a stream sees room noise and silence
most of the time, which no word class describes. Its clips are generated noise (white, pink,
brown, mains hum) at random levels, mixed with room tone: the quietest quarter second of a
training recording, tiled. Nothing of a test speaker goes into it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekit.audio.io import read_audio
from edgekit.audio.window import loudest_start
from edgekit.data.noise import brown_noise, mains_hum, pink_noise, white_noise

__all__ = ["Stream", "background_clips", "make_stream", "room_tone", "score_events"]

RATE = 16_000
_NOISES = (white_noise, pink_noise, brown_noise, mains_hum)


def room_tone(pcm: np.ndarray, n: int, piece: int = RATE // 4) -> np.ndarray:
    """``n`` samples of the quietest ``piece`` of a recording, tiled (its room noise)."""
    if len(pcm) <= piece:
        return np.resize(pcm, n).astype(np.float32)
    power = np.concatenate([[0.0], np.cumsum(pcm.astype(np.float64) ** 2)])
    starts = np.arange(0, len(pcm) - piece, piece // 4)
    quiet = int(starts[np.argmin(power[starts + piece] - power[starts])])
    return np.resize(pcm[quiet : quiet + piece], n).astype(np.float32)


def _noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """One generated noise of ``n`` samples at a level from -60 to -20 dBFS (RMS)."""
    kind = _NOISES[int(rng.integers(len(_NOISES)))]
    x = kind(n, RATE, rng).astype(np.float64)
    x /= max(float(np.sqrt(np.mean(x * x))), 1e-9)
    return (x * 10 ** (rng.uniform(-60, -20) / 20)).astype(np.float32)


def background_clips(
    recordings: Sequence[np.ndarray], count: int, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``(count, n)`` background clips: generated noise plus the room tone of a recording drawn
    from ``recordings`` (training speakers' only), at a random gain."""
    out = np.zeros((count, n), dtype=np.float32)
    for i in range(count):
        tone = room_tone(recordings[int(rng.integers(len(recordings)))], n)
        out[i] = _noise(n, rng) + tone * rng.uniform(0.0, 1.5)
    return out


@dataclass
class Stream:
    """A long recording and where its words are."""

    pcm: np.ndarray  # float32 mono at RATE
    words: list[tuple[str, float]] = field(default_factory=list)  # (label, centre in seconds)

    @property
    def minutes(self) -> float:
        return len(self.pcm) / RATE / 60.0


def _word_centre(pcm: np.ndarray, n: int) -> float:
    """Centre (seconds) of the word in a recording: the middle of its energy window."""
    start = loudest_start(pcm, n)  # 0 for a recording no longer than the window
    return (start + min(n, len(pcm)) / 2) / RATE


def make_stream(
    paths: Sequence[Path],
    labels: Sequence[str],
    rng: np.random.Generator,
    clip_samples: int = RATE,
    gap_seconds: tuple[float, float] = (0.5, 2.5),
) -> Stream:
    """The recordings ``paths`` (labelled ``labels``) in a random order with gaps between them:
    silence with the recording's own room tone, or generated noise, each half the time."""
    order = rng.permutation(len(paths))
    pieces: list[np.ndarray] = []
    words: list[tuple[str, float]] = []
    at = 0
    for i in order:
        pcm = read_audio(paths[i], RATE)
        gap = round(rng.uniform(*gap_seconds) * RATE)
        filler = room_tone(pcm, gap) if rng.random() < 0.5 else _noise(gap, rng)
        pieces.append(filler)
        at += gap
        words.append((labels[i], at / RATE + _word_centre(pcm, clip_samples)))
        pieces.append(pcm)
        at += len(pcm)
    pieces.append(_noise(RATE, rng))
    return Stream(np.concatenate(pieces).astype(np.float32), words)


def score_events(
    stream: Stream, events: Sequence[tuple[str, float]], keywords: Sequence[str], tolerance: float
) -> tuple[int, int, int]:
    """``(hits, keyword occurrences, false alarms)``: an event ``(label, seconds)`` is a hit when
    it names a not-yet-found keyword occurrence within ``tolerance`` seconds of its centre;
    every other event is a false alarm."""
    wanted = [(label, t) for label, t in stream.words if label in keywords]
    found = [False] * len(wanted)
    false_alarms = 0
    for label, seconds in events:
        match = next(
            (
                k
                for k, (word, centre) in enumerate(wanted)
                if not found[k] and word == label and abs(seconds - centre) <= tolerance
            ),
            None,
        )
        if match is None:
            false_alarms += 1
        else:
            found[match] = True
    return sum(found), len(wanted), false_alarms
