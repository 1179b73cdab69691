"""The front-end matches librosa per clip, in eager PyTorch."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from edgekit.audio.config import FrontendConfig
from edgekit.audio.frontend import LogMel, Mfcc, mel_filterbank
from edgekit.errors import ConfigError


def _clips(rng: np.random.Generator, n_random: int = 40) -> np.ndarray:
    t = np.arange(16_000) / 16_000
    fixed = [
        np.zeros(16_000),  # digital silence
        1e-6 * rng.standard_normal(16_000),  # very quiet noise
        1e-4 * np.sin(2 * np.pi * 300 * t),  # quiet tone
        np.clip(4.0 * np.sin(2 * np.pi * 440 * t), -1.0, 1.0),  # hard-clipped tone
        np.sign(rng.standard_normal(16_000)),  # full-scale square noise
        np.concatenate([np.zeros(8_000), 0.5 * rng.standard_normal(8_000)]),  # half silent
    ]
    chirp = 0.5 * np.sin(2 * np.pi * (50 + 3_900 * t) * t)
    rand = [rng.standard_normal(16_000) * rng.uniform(1e-3, 1.0) for _ in range(n_random)]
    tones = [0.3 * np.sin(2 * np.pi * f * t) for f in (60, 250, 1_000, 3_999, 7_900)]
    return np.stack([*fixed, chirp, *rand, *tones]).astype(np.float32)


def _librosa_db(clip: np.ndarray, cfg: FrontendConfig) -> np.ndarray:
    mel = librosa.feature.melspectrogram(y=clip, **cfg.librosa_kwargs())
    return librosa.power_to_db(mel, ref=1.0, amin=cfg.amin, top_db=cfg.top_db)


def test_filterbank_equals_librosa() -> None:
    ours = mel_filterbank(16_000, 480, 40, 0.0, 8_000.0)
    theirs = librosa.filters.mel(sr=16_000, n_fft=480, n_mels=40, fmin=0.0, fmax=8_000.0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)


def test_logmel_matches_librosa_per_clip(rng: np.random.Generator) -> None:
    cfg = FrontendConfig()
    clips = _clips(rng)
    ours = LogMel(cfg)(torch.from_numpy(clips)).numpy()
    assert ours.shape == (len(clips), cfg.n_mels, cfg.n_frames)
    worst = max(np.abs(ours[i] - _librosa_db(c, cfg)).max() for i, c in enumerate(clips))
    assert worst <= 0.05, f"max |ours - librosa| = {worst} dB"


def test_top_db_is_applied_per_clip(rng: np.random.Generator) -> None:
    cfg = FrontendConfig()
    loud = 0.9 * rng.standard_normal(16_000).astype(np.float32)
    quiet = 1e-5 * rng.standard_normal(16_000).astype(np.float32)
    both = LogMel(cfg)(torch.from_numpy(np.stack([loud, quiet]))).numpy()
    alone = LogMel(cfg)(torch.from_numpy(quiet[None])).numpy()
    # a batch-wide floor would lift the quiet clip to the loud clip's max - 80 dB
    np.testing.assert_allclose(both[1], alone[0], atol=1e-4)
    np.testing.assert_allclose(both[1], _librosa_db(quiet, cfg), atol=0.05)


@pytest.mark.parametrize(
    "cfg",
    [
        FrontendConfig(n_fft=512, win_length=400, hop_length=128, n_mels=64, fmin=20.0),
        FrontendConfig(top_db=None, fmax=7_600.0),
        FrontendConfig(sample_rate=8_000, fmax=4_000.0, n_fft=256, win_length=256, hop_length=80),
    ],
)
def test_other_configurations_match(cfg: FrontendConfig, rng: np.random.Generator) -> None:
    clips = (rng.standard_normal((4, cfg.clip_samples)) * 0.2).astype(np.float32)
    ours = LogMel(cfg)(torch.from_numpy(clips)).numpy()
    for i, clip in enumerate(clips):
        assert np.abs(ours[i] - _librosa_db(clip, cfg)).max() <= 0.05


def test_mfcc_matches_librosa(rng: np.random.Generator) -> None:
    cfg = FrontendConfig()
    clips = _clips(rng, n_random=10)
    ours = Mfcc(cfg)(torch.from_numpy(clips)).numpy()
    for i, clip in enumerate(clips):
        theirs = librosa.feature.mfcc(y=clip, n_mfcc=cfg.n_mfcc, **cfg.librosa_kwargs())
        np.testing.assert_allclose(ours[i], theirs, atol=0.05 * np.sqrt(cfg.n_mels))


@pytest.mark.parametrize(
    ("field", "value"),
    [("hop_length", 0), ("win_length", 1000), ("fmax", 9_000.0), ("power", 3.0), ("n_mfcc", 99)],
)
def test_config_rejects_bad_values(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=field):
        FrontendConfig(**{field: value})


def test_a_checkpoint_from_the_convolution_front_end_still_loads(rng: np.random.Generator) -> None:
    """Models saved when the STFT was a convolution hold its kernels ("frontend.dft") and no
    window: they load, and compute what a fresh front-end computes."""
    from edgekit.models import TcResNet

    model = TcResNet().eval()
    state = model.state_dict()
    for name in ("window", "mel_values", "mel_index", "pair_sum"):
        del state[f"frontend.{name}"]
    state["frontend.dft"] = torch.zeros(482, 1, 480)  # the old kernels' shape; values unused
    state["frontend.mel"] = torch.zeros(40, 241)  # the dense filterbank of later ones
    loaded = TcResNet()
    loaded.load_state_dict(state)  # strict
    clip = torch.from_numpy(rng.standard_normal((2, 16_000)).astype(np.float32) * 0.1)
    torch.testing.assert_close(loaded.frontend(clip), LogMel()(clip))
    with pytest.raises(RuntimeError, match="Unexpected"):  # any other unknown key still fails
        loaded.load_state_dict({**state, "frontend.other": torch.zeros(1)})


def test_the_filterbank_is_stored_as_its_nonzeros() -> None:
    """The module keeps only the filterbank's nonzero weights and their positions, and rebuilds
    exactly librosa's matrix from them."""
    cfg = FrontendConfig()
    logmel = LogMel(cfg)
    dense = mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax)
    assert logmel.mel_values.numel() == np.count_nonzero(dense) < dense.size // 10
    assert "mel" not in logmel.state_dict()
    np.testing.assert_array_equal(logmel.mel.numpy(), dense)
