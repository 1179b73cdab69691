"""The exported front-end runs in ExecuTorch, XNNPACK-delegated, with librosa's output."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from edgekit.audio.config import FrontendConfig
from edgekit.audio.frontend import LogMel, Mfcc
from edgekit.export.frontend import export_frontend
from edgekit.runtime import Program


@pytest.fixture(scope="module")
def program() -> Program:
    return Program(export_frontend(FrontendConfig(), max_batch=16))


def test_program_is_xnnpack_delegated() -> None:
    pte = export_frontend(FrontendConfig(), max_batch=4)
    assert b"XnnpackBackend" in pte


def test_runtime_matches_eager_and_librosa(program: Program, rng: np.random.Generator) -> None:
    cfg = FrontendConfig()
    clips = (rng.standard_normal((16, cfg.clip_samples)) * rng.uniform(1e-3, 1, (16, 1))).astype(
        np.float32
    )
    clips[0] = 0.0  # silence
    runtime = program.run("logmel", torch.from_numpy(clips))[0].numpy()
    eager = LogMel(cfg)(torch.from_numpy(clips)).numpy()
    np.testing.assert_allclose(runtime, eager, atol=1e-3)
    for i, clip in enumerate(clips):
        mel = librosa.feature.melspectrogram(y=clip, **cfg.librosa_kwargs())
        theirs = librosa.power_to_db(mel, ref=1.0, amin=cfg.amin, top_db=cfg.top_db)
        assert np.abs(runtime[i] - theirs).max() <= 0.05


@pytest.mark.parametrize("batch", [1, 3, 16])
def test_dynamic_batch(program: Program, batch: int, rng: np.random.Generator) -> None:
    clips = torch.from_numpy((rng.standard_normal((batch, 16_000)) * 0.1).astype(np.float32))
    out = program.run("mfcc", clips)[0]
    assert out.shape == (batch, 20, 101)
    np.testing.assert_allclose(out.numpy(), Mfcc()(clips).numpy(), atol=1e-3)


def test_batch_above_export_bound_is_rejected(program: Program) -> None:
    with pytest.raises(RuntimeError):
        program.run("logmel", torch.zeros(17, 16_000))
