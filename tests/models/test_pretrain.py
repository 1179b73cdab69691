"""Models and eager pre-training on tiny real folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from edgekit.data.speech_commands import load_speech_commands
from edgekit.errors import ConfigError
from edgekit.models import HeadConfig, build_model
from edgekit.models.pretrain import (
    PretrainConfig,
    compute_logmel,
    load_checkpoint,
    pretrain,
    pretrain_corpus,
    recalibrate_batchnorm,
    save_checkpoint,
)
from tests.data.sc_fixture import make_speech_commands


@pytest.mark.parametrize("arch", ["dscnn", "resnet"])
def test_shapes_at_the_cut(arch: str) -> None:
    model = build_model(arch, head=HeadConfig(hidden=32, max_classes=12)).eval()
    pcm = torch.randn(3, 16_000) * 0.1
    features = model.embed(pcm)
    assert features.shape == (3, model.feature_dim)
    assert model(pcm).shape == (3, 12)
    torch.testing.assert_close(model.head(features), model(pcm))


def test_unknown_arch_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="arch must be one of"):
        build_model("transformer")


def test_pretrain_learns_and_checkpoint_round_trips(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path / "c", {"low": 4, "mid": 4, "high": 4})
    corpus = load_speech_commands(root, task="all")
    cfg = PretrainConfig(epochs=6, batch_size=8, lr=1e-2)
    model, report = pretrain_corpus(corpus, "dscnn", cfg, progress=False)
    assert report.n_test == 12 and report.test_speakers == ["dd44"]
    assert report.history[-1]["loss"] < report.history[0]["loss"]
    assert report.test_acc == 100.0  # three pure tones: must be separable
    save_checkpoint(model, tmp_path / "m.pt", report.label_names, note="x")
    again, labels, extra = load_checkpoint(tmp_path / "m.pt")
    assert labels == report.label_names and extra == {"note": "x"}
    pcm = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 16_000)).astype("float32"))
    torch.testing.assert_close(again(pcm), model.eval()(pcm), rtol=0, atol=0)


def test_too_many_classes_for_the_head(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path / "c", {"a": 1, "b": 1, "c": 1})
    corpus = load_speech_commands(root, task="all")
    with pytest.raises(ConfigError, match="max_classes"):
        pretrain_corpus(corpus, head=HeadConfig(max_classes=2), progress=False)


@pytest.mark.parametrize(("field", "value"), [("epochs", 0), ("lr", 0.0), ("batch_size", 0)])
def test_config_validation(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=field):
        PretrainConfig(**{field: value})


def test_same_seed_gives_the_same_model(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path / "c", {"a": 2, "b": 2})
    corpus = load_speech_commands(root, task="all")
    cfg = PretrainConfig(epochs=2, batch_size=4, seed=7)
    torch.manual_seed(123)  # whatever the process did before must not matter
    first, _ = pretrain_corpus(corpus, "tcresnet", cfg, progress=False)
    torch.manual_seed(456)
    second, _ = pretrain_corpus(corpus, "tcresnet", cfg, progress=False)
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_without_validation_the_model_ends_calibrated(tmp_path: Path) -> None:
    # pretraining skips the per-epoch BatchNorm recalibration when no epoch is scored: the
    # model must still end with exact statistics
    root = make_speech_commands(tmp_path / "c", {"low": 3, "high": 3})
    clips = load_speech_commands(root, task="all").load(progress=False)
    model = build_model("dscnn", head=HeadConfig(hidden=16, max_classes=4), channels=8, blocks=1)
    pretrain(model, clips, None, PretrainConfig(epochs=2, batch_size=4), progress=False)
    before = {k: v.clone() for k, v in model.state_dict().items() if "running_" in k}
    recalibrate_batchnorm(model, compute_logmel(model.frontend, clips.audio))
    for name, value in before.items():
        torch.testing.assert_close(model.state_dict()[name], value, rtol=1e-5, atol=1e-6)
