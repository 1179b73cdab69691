"""The audio policy, in one place.

- Accepted files: whatever libsndfile reads (wav, flac, ogg, ...); extensions in any case.
- Every clip becomes 16 kHz (or the configured rate) mono float32: channels are averaged and the
  rate is converted with soxr (high quality).
- A path that is not a readable regular file (missing, a folder, a broken link, a link loop, a
  device or pipe) and a file that is unreadable, empty or holds NaN/Inf samples raise
  :class:`AudioFormatError` naming the file and the reason: it is never trained on.
- Clips shorter than the clip length are zero-padded at the end; longer ones are cropped to their
  first ``clip length`` samples, or cut into windows where a caller asks (:func:`split_windows`).
- Reads are bounded: a fixed-length clip (:func:`read_clip`, :func:`read_clips`, corpus loading)
  decodes only the frames it needs (plus :data:`RESAMPLE_MARGIN` output samples for the
  resampler's filter), so memory does not grow with the file's length; samples past them are
  never read, nor checked. A whole-file read (:func:`read_audio` without a duration) refuses a
  file longer than :data:`MAX_AUDIO_SECONDS`; read longer recordings in segments
  (``offset_seconds`` / ``duration_seconds``).
- Batches: :func:`read_clips` stops at the first bad file;
  :func:`edgekit.audio.window.read_windows_lenient` reads the good ones (under any clip window)
  and returns the errors of the others.
"""

from __future__ import annotations

import errno
import math
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from edgekit.atomic import atomic_open
from edgekit.errors import AudioFormatError, ConfigError

__all__ = [
    "AUDIO_EXTENSIONS",
    "MAX_AUDIO_SECONDS",
    "NO_SUCH_FILE",
    "RESAMPLE_MARGIN",
    "file_problem",
    "fit_length",
    "is_audio_file",
    "read_audio",
    "read_clip",
    "read_clips",
    "resample",
    "split_windows",
    "write_wav",
]

AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif"})
# Longest file a whole-file read decodes: 10 minutes (48 kHz stereo float32 is 230 MB decoded).
MAX_AUDIO_SECONDS = 600.0
# Output samples read past a clip's end when resampling: soxr's HQ filter reaches about 256
# output samples ahead, so the clip matches a whole-file read to within 1e-7.
RESAMPLE_MARGIN = 512
NO_SUCH_FILE = "no such file"  # the reason file_problem gives for a path that does not exist


def is_audio_file(path: Path) -> bool:
    """True for a name whose extension (any case) is one libsndfile reads (not a hidden file).

    It looks at the name only; :func:`file_problem` says whether the path is a usable file."""
    return path.suffix.lower() in AUDIO_EXTENSIONS and not path.name.startswith(".")


def file_problem(path: Path | str) -> str | None:
    """Why ``path`` cannot be opened as an audio file, or None for a readable regular file.

    Reasons: ``no such file``, ``broken link``, ``link loop``, ``is a folder, not an audio file``,
    ``not a regular file``, ``permission denied``. Never hangs on a link loop (the OS stops
    following links after a fixed depth)."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "link loop (a symbolic link that leads back to itself)"
        if path.is_symlink():
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            return f"broken link (it points to {target}, which does not exist)"
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return NO_SUCH_FILE
        if exc.errno == errno.EACCES:
            return "permission denied"
        return f"cannot be opened ({exc.strerror or exc})"
    if stat.S_ISDIR(mode):
        return "is a folder, not an audio file"
    if not stat.S_ISREG(mode):
        return "not a regular file (a device, pipe or socket)"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None


def resample(pcm: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample a mono float32 signal; a no-op when the rates are equal."""
    if rate_in == rate_out:
        return pcm.astype(np.float32, copy=False)
    import soxr

    return np.asarray(soxr.resample(pcm, rate_in, rate_out, quality="HQ"), dtype=np.float32)


def _read_mono(
    path: Path, offset_seconds: float, frames_to_read: Callable[[int, int], int]
) -> tuple[np.ndarray, int]:
    """``(mono float32 at the file's rate, that rate)``; ``frames_to_read(rate, frames_left)``
    says how many frames to decode from the offset (-1: to the end)."""
    problem = file_problem(path)
    if problem is not None:
        raise AudioFormatError(path, problem)
    try:
        info = sf.info(str(path))
        start = round(offset_seconds * info.samplerate)
        frames = frames_to_read(int(info.samplerate), max(0, int(info.frames) - start))
        data, native_rate = sf.read(
            str(path), start=start, frames=frames, dtype="float32", always_2d=True
        )
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
        raise AudioFormatError(path, f"unreadable audio ({exc})") from exc
    if data.shape[0] == 0:
        where = f" after {offset_seconds:g} s" if offset_seconds else ""
        raise AudioFormatError(path, f"empty audio (no samples{where})")
    if not np.isfinite(data).all():
        raise AudioFormatError(path, "contains NaN or Inf samples")
    return data.mean(axis=1, dtype=np.float32), int(native_rate)


def read_audio(
    path: Path | str,
    sample_rate: int = 16_000,
    offset_seconds: float = 0.0,
    duration_seconds: float | None = None,
) -> np.ndarray:
    """Read a file (or a segment of it) as mono float32 at ``sample_rate``.

    Without ``duration_seconds`` everything from the offset is decoded, which is refused for more
    than :data:`MAX_AUDIO_SECONDS`. Raises :class:`AudioFormatError` naming the file and why.
    """
    path = Path(path)

    def frames(rate: int, left: int) -> int:
        if duration_seconds is not None:
            return round(duration_seconds * rate)
        if left > MAX_AUDIO_SECONDS * rate:
            raise AudioFormatError(
                path,
                f"too long to read whole ({left / rate:.0f} s; the limit is "
                f"{MAX_AUDIO_SECONDS:g} s): read it in segments with offset_seconds and "
                "duration_seconds",
            )
        return -1

    mono, native_rate = _read_mono(path, offset_seconds, frames)
    return resample(mono, native_rate, sample_rate)


def read_clip(
    path: Path | str, n_samples: int, sample_rate: int = 16_000, offset_seconds: float = 0.0
) -> np.ndarray:
    """One clip of exactly ``n_samples`` at ``sample_rate`` from ``offset_seconds``: padded or
    cropped, and decoding only the frames it needs (see the module's policy)."""
    if n_samples < 1:
        raise ConfigError(f"n_samples must be >= 1, got {n_samples}")

    def frames(rate: int, left: int) -> int:
        if rate == sample_rate:
            return n_samples
        return math.ceil((n_samples + RESAMPLE_MARGIN) * rate / sample_rate)

    mono, native_rate = _read_mono(Path(path), offset_seconds, frames)
    return fit_length(resample(mono, native_rate, sample_rate), n_samples)


def fit_length(pcm: np.ndarray, n_samples: int) -> np.ndarray:
    """Zero-pad at the end, or crop to the first ``n_samples`` samples."""
    if pcm.shape[-1] >= n_samples:
        return pcm[..., :n_samples]
    pad = [(0, 0)] * (pcm.ndim - 1) + [(0, n_samples - pcm.shape[-1])]
    return np.pad(pcm, pad)


def read_clips(
    paths: Sequence[Path | str], n_samples: int, sample_rate: int = 16_000
) -> np.ndarray:
    """Read files as ``(clips, n_samples)`` float32 under the policy above (padded or cropped).

    Strict: the first bad file raises its :class:`AudioFormatError`."""
    clips = [read_clip(p, n_samples, sample_rate) for p in paths]
    return np.stack(clips) if clips else np.zeros((0, n_samples), dtype=np.float32)


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
