"""What a device needs to federate: label sets, the global set, distillation, scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgekit.device import Learner, LearnerConfig, NoFreeSlot
from edgekit.errors import DataError
from tests.device.bundle_fixture import BuiltBundle, noise_clip


def _learner(built: BuiltBundle, state: Path) -> Learner:
    return Learner(built.path, state, LearnerConfig(seed=0))


def _labelled(built: BuiltBundle) -> tuple[np.ndarray, list[str]]:
    return built.clips.audio, [built.manifest.labels[i] for i in built.clips.labels]


def test_a_label_that_is_not_live_is_never_predicted(built: BuiltBundle, tmp_path: Path) -> None:
    learner = _learner(built, tmp_path)
    pcm, labels = _labelled(built)
    learner.set_labels(built.manifest.labels, live=["low", "mid"])
    predicted = learner.predict(pcm)
    assert "high" not in predicted
    high = [i for i, x in enumerate(labels) if x == "high"]
    assert learner.accuracy(pcm[high], ["high"] * len(high)) == 0.0
    probs = learner.probabilities(learner.embed(pcm))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert float(probs[:, built.manifest.labels.index("high")].max()) < 1e-6
    with pytest.raises(DataError, match="not live"):
        learner.personalize(pcm[high], ["high"] * len(high), epochs=1)
    with pytest.raises(DataError, match="not among the labels"):
        learner.set_labels(["low"], live=["mid"])
    with pytest.raises(NoFreeSlot):
        learner.set_labels([f"c{i}" for i in range(built.manifest.max_classes + 1)])


def test_a_class_learnt_from_the_global_set_alone(built: BuiltBundle, tmp_path: Path) -> None:
    # zero-shot for this device: "hiss" reaches it only as global examples (as impressions do)
    source = _learner(built, tmp_path / "source")
    hiss = np.stack([noise_clip(i) for i in range(12)])
    learner = _learner(built, tmp_path / "device")
    learner.set_labels([*built.manifest.labels, "hiss"])
    learner.add_global(source.embed(hiss[:6]), ["hiss"] * 6)
    pcm, labels = _labelled(built)
    learner.personalize(pcm, labels, epochs=10)  # its own clips hold no "hiss"
    assert learner.predict(hiss[6:]) == ["hiss"] * 6
    assert learner.accuracy(pcm, labels) >= 90.0
    learner.save()
    again = _learner(built, tmp_path / "device")
    assert again.labels == learner.labels and again.live == learner.live
    np.testing.assert_array_equal(again.global_features, learner.global_features)
    with pytest.raises(DataError, match="no slot here"):
        learner.add_global(source.embed(hiss[:1]), ["hum"])


def test_distillation_moves_toward_the_targets(built: BuiltBundle, tmp_path: Path) -> None:
    learner = _learner(built, tmp_path)
    features = learner.d0_features
    slots = built.manifest.max_classes
    targets = np.zeros((len(features), slots), dtype=np.float32)
    targets[:, built.manifest.labels.index("mid")] = 1.0  # everything is "mid"
    before = learner.probabilities(features)[:, 2].mean()
    history = learner.distill(features, targets, epochs=5)
    assert history[-1] < history[0]
    assert learner.probabilities(features)[:, 2].mean() > before + 0.2
    with pytest.raises(DataError, match="targets must be finite"):
        learner.distill(features, targets[:, :2], epochs=1)
