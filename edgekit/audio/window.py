"""Finding the word: which window of a recording longer than the model's clip is the clip.

Real recordings are not aligned: a 2 s recording holds a 0.5 s word anywhere inside, with room
noise, silence and often a key click around it. The policies (the ``clip_window`` of
:class:`~edgekit.audio.config.FrontendConfig`, so training, personalisation, enrolment and
prediction cut clips alike):

- ``first``: the first clip length of the file (zero-padded when shorter). Right for corpora
  cut to one word per clip (Speech Commands), and the cheapest.
- ``energy``: the clip-length window with the most speech-band energy, centred on it when the
  word is shorter than the window (see :func:`loudest_start`).
- ``all-windows``: every window at a quarter-clip hop whose energy is at least
  :data:`ALL_WINDOWS_SHARE` of the loudest one's, the loudest always included: more examples of
  each word in training, and prediction averages the class probabilities over a file's windows.

Searching reads at most :data:`MAX_SEARCH_SECONDS` of a file from its offset (bounded memory);
a file no longer than the clip gives the same clip under every policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edgekit.audio.io import fit_length, read_audio, read_clip
from edgekit.errors import AudioFormatError, ConfigError

__all__ = [
    "ALL_WINDOWS_SHARE",
    "CLIP_WINDOWS",
    "MAX_SEARCH_SECONDS",
    "check_clip_window",
    "loudest_start",
    "measure_window",
    "read_windows",
    "read_windows_lenient",
    "word_windows",
]

CLIP_WINDOWS = ("first", "energy", "all-windows")
# Longest stretch of a file searched for its word: isolated-word recordings are a few seconds;
# longer audio is a stream (`edgekit detect`), not a clip.
MAX_SEARCH_SECONDS = 30.0
# all-windows keeps the windows holding at least this share of the loudest window's energy: a
# window with half of the word's energy still holds most of the word.
ALL_WINDOWS_SHARE = 0.5


def check_clip_window(policy: str) -> str:
    """``policy`` when it is one of :data:`CLIP_WINDOWS`; ConfigError naming them otherwise."""
    if policy not in CLIP_WINDOWS:
        raise ConfigError(f"clip window must be one of {', '.join(CLIP_WINDOWS)}, got {policy!r}")
    return policy


def measure_window(policy: str) -> str:
    """The policy that cuts one clip per recording for measuring and predicting: ``energy``
    for ``all-windows`` (whose extra windows are training examples), else ``policy``."""
    return "energy" if check_clip_window(policy) == "all-windows" else policy


def _window_energy(pcm: np.ndarray, n: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """``(start samples, energy of the window at each start)`` for windows of ``n`` at ``hop``.

    Energy is the sum of squares after a first-difference pre-emphasis, which weighs speech
    (hundreds of Hz to kHz) over DC offset, rumble and hum."""
    x = np.diff(pcm.astype(np.float64), prepend=pcm[:1].astype(np.float64))
    power = np.concatenate([[0.0], np.cumsum(x * x)])
    starts = np.arange(0, len(pcm) - n + 1, hop)
    if starts[-1] != len(pcm) - n:  # the last window ends at the file's end
        starts = np.append(starts, len(pcm) - n)
    return starts, power[starts + n] - power[starts]


def loudest_start(pcm: np.ndarray, n: int, hop: int = 160) -> int:
    """Start (in samples) of the ``n``-sample window with the most energy (``hop`` resolution),
    moved to centre the energy inside it when the file leaves room (a word shorter than the
    window fits in many windows; the centred one keeps its onset and its tail). 0 when ``pcm``
    is not longer than ``n``."""
    if len(pcm) <= n:
        return 0
    starts, energy = _window_energy(pcm, n, hop)
    best = int(starts[int(np.argmax(energy))])
    segment = pcm[best : best + n].astype(np.float64)
    x = np.diff(segment, prepend=segment[:1])
    weight = x * x
    if weight.sum() <= 0:
        return best
    centre = best + float((np.arange(n) * weight).sum() / weight.sum())
    return int(np.clip(round(centre - n / 2), 0, len(pcm) - n))


def word_windows(pcm: np.ndarray, n: int, policy: str = "energy") -> np.ndarray:
    """The clips of one recording under ``policy``: ``(windows, n)`` float32, one window for
    ``first`` and ``energy``, one or more for ``all-windows``."""
    check_clip_window(policy)
    pcm = np.asarray(pcm, dtype=np.float32)
    if policy == "first" or len(pcm) <= n:
        return fit_length(pcm, n)[None]
    if policy == "energy":
        start = loudest_start(pcm, n)
        return pcm[None, start : start + n]
    starts, energy = _window_energy(pcm, n, max(1, n // 4))
    keep = energy >= energy.max() * ALL_WINDOWS_SHARE
    return np.stack([pcm[s : s + n] for s in starts[keep]])


def read_windows(
    path: Path | str,
    n_samples: int,
    sample_rate: int = 16_000,
    policy: str = "first",
    offset_seconds: float = 0.0,
) -> np.ndarray:
    """The clips of one file under ``policy`` as ``(windows, n_samples)`` float32.

    ``first`` decodes only the clip's frames; the others decode at most
    :data:`MAX_SEARCH_SECONDS` from the offset. Raises AudioFormatError like ``read_clip``."""
    check_clip_window(policy)
    if policy == "first":
        return read_clip(path, n_samples, sample_rate, offset_seconds)[None]
    pcm = read_audio(path, sample_rate, offset_seconds, MAX_SEARCH_SECONDS)
    return word_windows(pcm, n_samples, policy)


def read_windows_lenient(
    paths: Sequence[Path | str], n_samples: int, sample_rate: int = 16_000, policy: str = "first"
) -> tuple[np.ndarray, np.ndarray, list[Path], list[AudioFormatError]]:
    """Every good file's clips under ``policy``; a bad file does not stop the batch.

    Returns ``(clips (N, n_samples), owner (N,) index into the kept paths, kept paths, one
    AudioFormatError per bad file)``: with ``first`` and ``energy`` owner is ``arange(N)``."""
    clips: list[np.ndarray] = []
    owner: list[int] = []
    kept: list[Path] = []
    failures: list[AudioFormatError] = []
    for path in paths:
        try:
            windows = read_windows(path, n_samples, sample_rate, policy)
        except AudioFormatError as exc:
            failures.append(exc)
            continue
        clips.append(windows)
        owner.extend([len(kept)] * len(windows))
        kept.append(Path(path))
    pcm = np.concatenate(clips) if clips else np.zeros((0, n_samples), dtype=np.float32)
    return pcm, np.asarray(owner, dtype=np.int64), kept, failures
