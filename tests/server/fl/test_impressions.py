"""Data impressions: inputs that the model which made them takes for their class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from edgekit.models.pretrain import compute_logmel
from edgekit.models.tail import POOLED
from edgekit_server.fl.impressions import (
    Aligner,
    ImpressionConfig,
    class_feature_stats,
    synthesize,
)
from tests.bundle_fixture import train_model


@pytest.fixture(scope="module")
def tones(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    model, clips = train_model(tmp_path_factory.mktemp("tones"))
    return model, clips


def _stats(model: torch.nn.Module, pcm: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    logmel = compute_logmel(model.frontend, pcm).numpy()
    return (
        logmel.mean(axis=(0, 2)),
        logmel.std(axis=(0, 2)),
        float(logmel.min()),
        float(logmel.max()),
    )


@pytest.mark.parametrize("target", ["low", "mid", "high"])
def test_impressions_are_their_class_to_the_model_that_made_them(tones: tuple, target: str) -> None:
    model, clips = tones
    tail = model.tail(POOLED)  # the trained head as the device runs it (frozen here)
    slot = clips.label_names.index(target)
    live = list(range(len(clips.label_names)))
    config = ImpressionConfig(count=12, steps=150, seed=1)
    impressions = synthesize(model, tail, live, slot, _stats(model, clips.audio), config)
    assert impressions.shape == (12, 40, 101) and np.isfinite(impressions).all()
    with torch.no_grad():
        logits = tail(*model.features_at(POOLED, torch.from_numpy(impressions)))[:, live]
    assert float((logits.argmax(1) == slot).float().mean()) >= 0.9
    # the client's own clips are not what it sends: impressions start from noise
    real = compute_logmel(model.frontend, clips.audio).numpy()
    nearest = min(float(np.abs(real - x).mean()) for x in impressions[:3])
    assert nearest > 1.0  # dB: far from every clip


def test_a_class_that_is_not_live_is_refused(tones: tuple, tmp_path: Path) -> None:
    model, clips = tones
    with pytest.raises(ValueError, match="not among the live slots"):
        synthesize(model, model.tail(POOLED), [0, 1], 2, _stats(model, clips.audio))


def test_the_feature_prior_pulls_impressions_to_the_class_features(tones: tuple) -> None:
    """With the class's feature statistics, the impressions' features sit nearer the real clips'
    of that class (in units of their spread) than without, and are still the class."""
    model, clips = tones
    tail = model.tail(POOLED)
    slot = clips.label_names.index("mid")
    live = list(range(len(clips.label_names)))
    logmel = compute_logmel(model.frontend, clips.audio).numpy()
    mean, var = class_feature_stats(model, POOLED, logmel[clips.labels == slot])
    stats = _stats(model, clips.audio)
    distance = {}
    for weight in (0.0, 10.0):
        config = ImpressionConfig(count=12, steps=150, seed=1, feature_weight=weight)
        x = synthesize(model, tail, live, slot, stats, config, (mean, var))
        with torch.no_grad():
            features = model.features_at(POOLED, torch.from_numpy(x))
            logits = tail(*features)[:, live]
        assert float((logits.argmax(1) == slot).float().mean()) >= 0.9
        f = features[0].numpy()
        distance[weight] = float(np.sqrt(((f.mean(0) - mean) ** 2 / (var + 1e-6)).mean()))
    assert distance[10.0] < 0.5 * distance[0.0]


def test_the_cross_prior_makes_impressions_the_class_to_another_architecture_too(
    tones: tuple, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Another model (here: trained from another initialisation, so its feature space is
    another) embeds the impressions nearer its own features of the class's clips when it is
    an aligner; the maker still takes them for the class."""
    model, clips = tones
    other, _ = train_model(tmp_path_factory.mktemp("other"), seed=1)
    tail = model.tail(POOLED)
    slot = clips.label_names.index("high")
    live = list(range(len(clips.label_names)))
    logmel = compute_logmel(model.frontend, clips.audio).numpy()
    mine = logmel[clips.labels == slot]
    own = class_feature_stats(model, POOLED, mine)
    mean, var = class_feature_stats(other, POOLED, mine)
    stats = _stats(model, clips.audio)
    distance = {}
    for weight in (0.0, 10.0):
        config = ImpressionConfig(count=12, steps=80, seed=1, cross_weight=weight)
        x = synthesize(
            model, tail, live, slot, stats, config, own, [Aligner(other, POOLED, (mean, var))]
        )
        with torch.no_grad():
            logits = tail(*model.features_at(POOLED, torch.from_numpy(x)))[:, live]
            f = other.features_at(POOLED, torch.from_numpy(x))[0].numpy()
        assert float((logits.argmax(1) == slot).float().mean()) >= 0.9
        distance[weight] = float(np.sqrt(((f.mean(0) - mean) ** 2 / (var + 1e-6)).mean()))
    assert distance[10.0] < 0.5 * distance[0.0]


def test_class_feature_statistics_need_two_clips(tones: tuple) -> None:
    model, clips = tones
    logmel = compute_logmel(model.frontend, clips.audio[:1]).numpy()
    with pytest.raises(ValueError, match=">= 2 clips"):
        class_feature_stats(model, POOLED, logmel)
