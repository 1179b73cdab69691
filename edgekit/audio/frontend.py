"""Log-mel and MFCC front-end as torch modules that export to ExecuTorch.

``torch.stft`` does not lower to ExecuTorch, so the STFT is written out: frames (``unfold``,
stride = hop) times the window, then a real FFT (``torch.fft.rfft``, which the runtime's
optimised kernel library runs with pocketfft) and the squared magnitude through
``view_as_real``. The mel filterbank is librosa's (Slaney scale, area-normalised), computed here
in numpy so that building a front-end needs no librosa import; ``tests/audio`` checks both
against librosa.

A program stores the filterbank as its nonzero weights and their positions: each triangular
filter covers a few FFT bins, so about 95% of the dense matrix is zeros (38,560 bytes at the
default 40 x 241). The program writes the weights into a zero matrix at every call (the same
float32 values, so the product is the dense one's) and multiplies the frames by it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from edgekit.audio.config import FrontendConfig

__all__ = ["LogMel", "Mfcc", "dct_matrix", "hann_window", "mel_filterbank"]

_F_SP = 200.0 / 3  # Slaney mel scale: Hz per mel below 1 kHz
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = math.log(6.4) / 27.0


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    mel = hz / _F_SP
    log_region = hz >= _MIN_LOG_HZ
    mel[log_region] = _MIN_LOG_MEL + np.log(hz[log_region] / _MIN_LOG_HZ) / _LOGSTEP
    return mel


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    hz = _F_SP * mel
    log_region = mel >= _MIN_LOG_MEL
    hz[log_region] = _MIN_LOG_HZ * np.exp(_LOGSTEP * (mel[log_region] - _MIN_LOG_MEL))
    return hz


def mel_filterbank(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float
) -> np.ndarray:
    """Slaney-normalised triangular filters, shape ``(n_mels, 1 + n_fft // 2)``, float32.

    Same values as ``librosa.filters.mel(sr=..., n_fft=..., n_mels=..., fmin=..., fmax=...)``.
    """
    fft_freqs = np.linspace(0.0, sample_rate / 2.0, 1 + n_fft // 2)
    mel_edges = np.linspace(
        _hz_to_mel(np.array([fmin], dtype=np.float64))[0],
        _hz_to_mel(np.array([fmax], dtype=np.float64))[0],
        n_mels + 2,
    )
    hz_edges = _mel_to_hz(mel_edges)
    widths = np.diff(hz_edges)
    ramps = hz_edges[:, None] - fft_freqs[None, :]
    weights = np.zeros((n_mels, fft_freqs.size), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / widths[i]
        upper = ramps[i + 2] / widths[i + 1]
        weights[i] = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (hz_edges[2 : n_mels + 2] - hz_edges[:n_mels]))[:, None]
    return weights


def hann_window(win_length: int, n_fft: int) -> np.ndarray:
    """Periodic Hann window of ``win_length``, zero-padded (centred) to ``n_fft``, float64."""
    n = np.arange(win_length)
    window = 0.5 - 0.5 * np.cos(2.0 * math.pi * n / win_length)
    left = (n_fft - win_length) // 2
    return np.pad(window, (left, n_fft - win_length - left))


def dct_matrix(n_mfcc: int, n_mels: int) -> np.ndarray:
    """Orthonormal DCT-II rows, shape ``(n_mfcc, n_mels)`` (``scipy.fft.dct(norm='ortho')``)."""
    k = np.arange(n_mfcc)[:, None]
    n = np.arange(n_mels)[None, :]
    basis = np.cos(math.pi * k * (2 * n + 1) / (2 * n_mels)) * math.sqrt(2.0 / n_mels)
    basis[0] /= math.sqrt(2.0)
    return basis.astype(np.float32)


class LogMel(nn.Module):
    """``(batch, samples)`` float32 PCM in, ``(batch, n_mels, frames)`` log-mel dB out.

    dB is ``10·log10(max(S, amin))`` with ref 1.0, then, per clip, floored at ``max - top_db``.
    """

    window: torch.Tensor  # (n_fft,) Hann window, zero-padded to n_fft
    mel_values: torch.Tensor  # (nnz,) the filterbank's nonzero weights
    mel_index: torch.Tensor  # (nnz,) int64 flat positions in the (n_freq, n_mels) transpose
    pair_sum: torch.Tensor  # (1, 2) ones: a complex value's (re^2, im^2) -> their sum

    def __init__(self, config: FrontendConfig | None = None) -> None:
        super().__init__()
        self.config = config or FrontendConfig()
        cfg = self.config
        window = hann_window(cfg.win_length, cfg.n_fft).astype(np.float32)
        # Persistent buffers: XNNPACK lowering rejects non-persistent ones (SpecViolationError).
        self.register_buffer("window", torch.from_numpy(window))
        fbank = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax).T
        flat = np.flatnonzero(fbank)
        self.register_buffer("mel_values", torch.from_numpy(fbank.reshape(-1)[flat]))
        # int64, the scatter's index type: a cast in the program would cost more than it saves
        self.register_buffer("mel_index", torch.from_numpy(flat.astype(np.int64)))
        self.register_buffer("pair_sum", torch.ones(1, 2))
        self.n_freq = 1 + cfg.n_fft // 2
        self.log_scale = 10.0 / math.log(10.0)

    @property
    def mel(self) -> torch.Tensor:
        """The ``(n_mels, n_freq)`` filterbank, dense (a new tensor)."""
        return self._filterbank().T.contiguous()

    def _filterbank(self) -> torch.Tensor:
        """The ``(n_freq, n_mels)`` transposed filterbank from its nonzeros: exact values."""
        n_mels = self.config.n_mels
        dense = torch.zeros(self.n_freq * n_mels, dtype=self.mel_values.dtype)
        return dense.scatter(0, self.mel_index, self.mel_values).view(self.n_freq, n_mels)

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
        # Every buffer is fixed by the config. Older checkpoints held the STFT as convolution
        # kernels ("dft") or the dense filterbank ("mel"), and lack the buffers that replaced
        # them: those are dropped, and a missing buffer is the config's.
        for legacy in ("dft", "mel"):
            state_dict.pop(f"{prefix}{legacy}", None)
        for name, buffer in self.named_buffers(recurse=False):
            state_dict.setdefault(f"{prefix}{name}", buffer.clone())
        super()._load_from_state_dict(state_dict, prefix, *args)

    def power_spectrogram(self, pcm: torch.Tensor) -> torch.Tensor:
        """``(batch, samples)`` -> ``(batch, 1 + n_fft // 2, frames)`` |STFT|^power."""
        return self._power_frames(pcm).transpose(1, 2)

    def _power_frames(self, pcm: torch.Tensor) -> torch.Tensor:
        """``(batch, samples)`` -> ``(batch, frames, 1 + n_fft // 2)`` |STFT|^power."""
        cfg = self.config
        x = pcm
        if cfg.center:
            pad = cfg.n_fft // 2
            x = F.pad(x, (pad, pad))
        frames = x.unfold(1, cfg.n_fft, cfg.hop_length) * self.window  # (batch, frames, n_fft)
        spec = torch.view_as_real(torch.fft.rfft(frames, dim=-1))  # (batch, frames, n_freq, 2)
        # re^2 + im^2 as a product with (1, 1): XNNPACK runs it, where a sum over the pair
        # would run on the runtime's generic reduction (the same value: a sum of two terms)
        power = F.linear(spec * spec, self.pair_sum).squeeze(-1)
        if cfg.power == 1.0:
            return torch.sqrt(power)
        return power

    def forward(self, pcm: torch.Tensor) -> torch.Tensor:
        power = self._power_frames(pcm)  # (batch, frames, n_freq)
        # a batched product: XNNPACK takes it with a computed right operand, a 2-D one not
        fbank = self._filterbank().expand(power.shape[0], self.n_freq, self.config.n_mels)
        mel = torch.bmm(power, fbank).transpose(1, 2)
        db = torch.log(torch.clamp(mel, min=self.config.amin)) * self.log_scale
        if self.config.top_db is not None:
            # max(db) - top_db as max(db - top_db) (the same number: rounding is monotonic) and
            # the floor as a clamp with a tensor bound: both run on the runtime's kernels, so
            # that a program's backbone begins at the log-mel, as ``embed_logmel``'s does, and
            # the two methods share one XNNPACK graph in the file
            floor = torch.amax(db - self.config.top_db, dim=(1, 2), keepdim=True)
            db = torch.clamp(db, min=floor)
        return db


class Mfcc(nn.Module):
    """``(batch, samples)`` PCM in, ``(batch, n_mfcc, frames)`` MFCC out (DCT-II of the log-mel)."""

    dct: torch.Tensor  # (n_mfcc, n_mels) orthonormal DCT-II rows

    def __init__(self, config: FrontendConfig | None = None) -> None:
        super().__init__()
        self.logmel = LogMel(config)
        self.config = self.logmel.config
        dct = dct_matrix(self.config.n_mfcc, self.config.n_mels)
        self.register_buffer("dct", torch.from_numpy(dct))

    def forward(self, pcm: torch.Tensor) -> torch.Tensor:
        return torch.matmul(self.dct, self.logmel(pcm))
