"""The audio policy, in one place.

- Accepted files: whatever libsndfile reads (wav, flac, ogg, ...); extensions in any case.
- Every clip becomes 16 kHz (or the configured rate) mono float32: channels are averaged and the
  rate is converted with soxr (high quality).
- A file that is unreadable, empty or holds NaN/Inf samples raises :class:`AudioFormatError`
  naming the file: it is never trained on.
- Clips shorter than the clip length are zero-padded at the end; longer ones are cropped to their
  first ``clip length`` samples, or cut into windows where a caller asks (:func:`split_windows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from edgekit.atomic import atomic_open
from edgekit.errors import AudioFormatError, ConfigError

__all__ = [
    "AUDIO_EXTENSIONS",
    "fit_length",
    "is_audio_file",
    "read_audio",
    "read_clips",
    "resample",
    "split_windows",
    "write_wav",
]

AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif"})


def is_audio_file(path: Path) -> bool:
    """True for a file whose extension (any case) is one libsndfile reads."""
    return path.suffix.lower() in AUDIO_EXTENSIONS and not path.name.startswith(".")


def resample(pcm: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample a mono float32 signal; a no-op when the rates are equal."""
    if rate_in == rate_out:
        return pcm.astype(np.float32, copy=False)
    import soxr

    return np.asarray(soxr.resample(pcm, rate_in, rate_out, quality="HQ"), dtype=np.float32)


def read_audio(
    path: Path | str,
    sample_rate: int = 16_000,
    offset_seconds: float = 0.0,
    duration_seconds: float | None = None,
) -> np.ndarray:
    """Read a file (or a segment of it) as mono float32 at ``sample_rate``.

    Raises :class:`AudioFormatError` for an unreadable, empty or non-finite file.
    """
    path = Path(path)
    try:
        info = sf.info(str(path))
        start = round(offset_seconds * info.samplerate)
        frames = -1 if duration_seconds is None else round(duration_seconds * info.samplerate)
        data, native_rate = sf.read(
            str(path), start=start, frames=frames, dtype="float32", always_2d=True
        )
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
        raise AudioFormatError(path, f"unreadable audio ({exc})") from exc
    if data.shape[0] == 0:
        raise AudioFormatError(path, "empty audio (no samples)")
    if not np.isfinite(data).all():
        raise AudioFormatError(path, "contains NaN or Inf samples")
    mono = data.mean(axis=1, dtype=np.float32)
    return resample(mono, int(native_rate), sample_rate)


def fit_length(pcm: np.ndarray, n_samples: int) -> np.ndarray:
    """Zero-pad at the end, or crop to the first ``n_samples`` samples."""
    if pcm.shape[-1] >= n_samples:
        return pcm[..., :n_samples]
    pad = [(0, 0)] * (pcm.ndim - 1) + [(0, n_samples - pcm.shape[-1])]
    return np.pad(pcm, pad)


def read_clips(
    paths: Sequence[Path | str], n_samples: int, sample_rate: int = 16_000
) -> np.ndarray:
    """Read files as ``(clips, n_samples)`` float32 under the policy above (padded or cropped)."""
    return np.stack([fit_length(read_audio(p, sample_rate), n_samples) for p in paths])


def split_windows(pcm: np.ndarray, n_samples: int, hop: int | None = None) -> np.ndarray:
    """Cut a long signal into ``(windows, n_samples)``; the last window is zero-padded."""
    hop = hop or n_samples
    if hop <= 0:
        raise ConfigError(f"hop must be > 0, got {hop}")
    starts = range(0, max(1, pcm.shape[0] - n_samples + hop), hop)
    return np.stack([fit_length(pcm[s : s + n_samples], n_samples) for s in starts])


def write_wav(path: Path | str, pcm: np.ndarray, sample_rate: int, subtype: str = "PCM_16") -> None:
    """Write a WAV atomically (temp file, fsync, rename): a crash never leaves half a file."""
    with atomic_open(path) as handle:
        sf.write(handle, pcm, sample_rate, subtype=subtype, format="WAV")
