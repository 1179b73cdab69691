"""The front-end configuration shared by every model, corpus loader and exported program."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from edgekit.errors import ConfigError

__all__ = ["FrontendConfig"]


@dataclass(frozen=True)
class FrontendConfig:
    """Log-mel / MFCC settings. Defaults follow the keyword-spotting literature (30 ms / 10 ms).

    The front-end reproduces ``librosa.feature.melspectrogram`` followed by
    ``librosa.power_to_db`` (and ``librosa.feature.mfcc``) with the same values, called per clip.
    """

    sample_rate: int = 16_000  # Hz; every clip is resampled to this rate, mono
    clip_seconds: float = 1.0  # clip length in seconds; shorter clips are zero-padded
    n_fft: int = 480  # FFT size in samples (30 ms at 16 kHz)
    win_length: int = 480  # Hann window length in samples, <= n_fft (centred in the frame)
    hop_length: int = 160  # frame step in samples (10 ms at 16 kHz)
    n_mels: int = 40  # mel bands (Slaney scale and area normalisation, as librosa's default)
    fmin: float = 0.0  # lowest band edge in Hz, >= 0
    fmax: float = 8_000.0  # highest band edge in Hz, <= sample_rate / 2
    power: float = 2.0  # 1 = magnitude, 2 = power spectrogram
    center: bool = True  # pad n_fft // 2 zeros on both sides (librosa 0.11's default framing)
    amin: float = 1e-10  # floor before the log: dB = 10 * log10(max(S, amin))
    top_db: float | None = 80.0  # per-clip dynamic range: dB >= max(dB) - top_db; None disables
    n_mfcc: int = 20  # MFCC coefficients kept (DCT-II, orthonormal)
    # How a clip is cut from a recording longer than clip_seconds: "first", "energy" or
    # "all-windows" (edgekit.audio.window); it does not change the features of a given clip.
    clip_window: str = "first"

    def __post_init__(self) -> None:
        def need(ok: bool, what: str, got: Any) -> None:
            if not ok:
                raise ConfigError(f"FrontendConfig.{what}, got {got!r}")

        need(self.sample_rate > 0, "sample_rate must be > 0", self.sample_rate)
        need(self.clip_seconds > 0, "clip_seconds must be > 0", self.clip_seconds)
        need(self.n_fft > 0, "n_fft must be > 0", self.n_fft)
        need(0 < self.win_length <= self.n_fft, "win_length must be in (0, n_fft]", self.win_length)
        need(self.hop_length > 0, "hop_length must be > 0", self.hop_length)
        need(self.n_mels > 0, "n_mels must be > 0", self.n_mels)
        need(self.fmin >= 0, "fmin must be >= 0", self.fmin)
        need(
            self.fmin < self.fmax <= self.sample_rate / 2,
            "fmax must be in (fmin, sample_rate / 2]",
            self.fmax,
        )
        need(self.power in (1.0, 2.0), "power must be 1.0 or 2.0", self.power)
        need(self.amin > 0, "amin must be > 0", self.amin)
        need(self.top_db is None or self.top_db >= 0, "top_db must be None or >= 0", self.top_db)
        need(0 < self.n_mfcc <= self.n_mels, "n_mfcc must be in (0, n_mels]", self.n_mfcc)
        need(
            self.clip_window in ("first", "energy", "all-windows"),
            "clip_window must be first, energy or all-windows",
            self.clip_window,
        )

    @property
    def clip_samples(self) -> int:
        """Samples in one clip."""
        return round(self.sample_rate * self.clip_seconds)

    @property
    def n_frames(self) -> int:
        """Frames the front-end produces for one clip."""
        if self.center:
            return 1 + self.clip_samples // self.hop_length
        return 1 + (self.clip_samples - self.n_fft) // self.hop_length

    def librosa_kwargs(self) -> dict[str, Any]:
        """The keyword arguments that make ``librosa.feature.melspectrogram`` compute the same."""
        return {
            "sr": self.sample_rate,
            "n_fft": self.n_fft,
            "win_length": self.win_length,
            "hop_length": self.hop_length,
            "n_mels": self.n_mels,
            "fmin": self.fmin,
            "fmax": self.fmax,
            "power": self.power,
            "center": self.center,
            "pad_mode": "constant",
            "window": "hann",
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrontendConfig:
        return cls(**data)
