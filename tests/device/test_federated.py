"""What a device needs to federate: label sets, the global set, distillation, scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgekit.device import Learner, LearnerConfig, NoFreeSlot
from edgekit.errors import DataError
from tests.bundle_fixture import BuiltBundle, build_bundle, noise_clip, tone_clip


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


@pytest.fixture(scope="module")
def roomy(tmp_path_factory: pytest.TempPathFactory) -> BuiltBundle:
    """A bundle of six slots: D0's three classes and three free ones."""
    return build_bundle(tmp_path_factory.mktemp("roomy"), max_classes=6)


@pytest.mark.slow
def test_swapping_two_slots_moves_what_they_hold(roomy: BuiltBundle, tmp_path: Path) -> None:
    # Prepare: "hiss" enrolled into slot 3, "hum" named in slot 4; global examples of both
    learner = _learner(roomy, tmp_path)
    hiss = np.stack([noise_clip(i) for i in range(10)])
    learner.enroll("hiss", hiss[:5], epochs=10)
    learner.set_labels([*roomy.manifest.labels, "hiss", "hum"])
    hum = np.stack([tone_clip(3_500.0, np.random.default_rng(i)) for i in range(2)])
    learner.add_global(learner.embed(hiss[5:7]), ["hiss", "hiss"])
    learner.add_global(learner.embed(hum), ["hum", "hum"])
    features = learner.embed(hiss[5:])
    before, weights = learner.logits(features), learner.get_trainable()
    # Execute
    learner.swap_slots(3, 5)
    # Assert: "hiss" and all it learned now sit in slot 5; slot 3 holds a placeholder, not live
    assert learner.labels == ("high", "low", "mid", "(slot 5)", "hum", "hiss")
    assert learner.live == ("high", "low", "mid", "hum", "hiss")
    after = learner.logits(features)
    np.testing.assert_allclose(after[:, [0, 1, 2, 4, 5]], before[:, [0, 1, 2, 4, 3]], atol=1e-6)
    moved, column = learner.get_trainable(), "head.fc2.weight_t"
    np.testing.assert_array_equal(moved[column][:, [3, 5]], weights[column][:, [5, 3]])
    np.testing.assert_array_equal(moved["head.fc2.bias"][[3, 5]], weights["head.fc2.bias"][[5, 3]])
    assert learner.predict(hiss[5:]) == ["hiss"] * 5
    assert set(learner.replay_labels.tolist()) - {0, 1, 2} == {5}  # the enrolled clips
    assert learner.global_labels.tolist() == [5, 5, 4, 4]
    # and it persists: a restart holds the swapped slots
    learner.save()
    again = _learner(roomy, tmp_path)
    assert again.labels == learner.labels
    np.testing.assert_array_equal(again.logits(features), after)


def test_d0_slots_cannot_be_swapped(built: BuiltBundle, tmp_path: Path) -> None:
    # Prepare
    learner = _learner(built, tmp_path)
    weights = learner.get_trainable()
    # Execute / Assert: slot 0 holds a D0 class; nothing moves
    with pytest.raises(DataError, match="hold classes of D0"):
        learner.swap_slots(0, 3)
    with pytest.raises(DataError, match="not one of the bundle's 4 slots"):
        learner.swap_slots(3, 4)
    assert learner.labels == tuple(built.manifest.labels)
    for name, array in learner.get_trainable().items():
        np.testing.assert_array_equal(array, weights[name])
