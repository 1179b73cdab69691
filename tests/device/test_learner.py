"""The device learner, only through the ExecuTorch runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edgekit.audio.io import fit_length, read_audio, resample
from edgekit.device import Learner, LearnerConfig, NoFreeSlot
from edgekit.device.state import read_state, write_state
from edgekit.errors import ConfigError, CorruptState, DataError
from tests.bundle_fixture import TONE_HZ, BuiltBundle, noise_clip, tone_clip


def _learner(built: BuiltBundle, state: Path, **kwargs: float) -> Learner:
    return Learner(built.path, state, LearnerConfig(**kwargs))  # type: ignore[arg-type]


def _labelled(built: BuiltBundle) -> tuple[np.ndarray, list[str]]:
    labels = built.manifest.labels
    return built.clips.audio, [labels[i] for i in built.clips.labels]


def test_loss_falls_with_sgd_in_the_runtime(built: BuiltBundle, tmp_path: Path) -> None:
    learner = _learner(built, tmp_path, lr=0.01, momentum=0.0)
    pcm, labels = _labelled(built)
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 3, len(pcm))  # random relabelling: there is something to learn
    history = learner.train_features(learner.embed(pcm), targets, epochs=15, mix_ratio=0.0)
    assert history[-1] < 0.8 * history[0]
    del labels


def test_personalize_uses_the_cache(built: BuiltBundle, tmp_path: Path) -> None:
    learner = _learner(built, tmp_path)
    pcm, labels = _labelled(built)
    learner.personalize(pcm, labels, epochs=1)
    misses = learner.cache.stats.misses
    learner.personalize(pcm, labels, epochs=1)
    assert learner.cache.stats.misses == misses and learner.cache.stats.hits >= len(pcm)
    again = _learner(built, tmp_path)  # a restart keeps the cache
    again.embed(pcm)
    assert again.cache.stats.hits == len(pcm) and again.cache.stats.misses == 0


def test_save_and_restore_reproduce_predictions_exactly(built: BuiltBundle, tmp_path: Path) -> None:
    learner = _learner(built, tmp_path)
    pcm, labels = _labelled(built)
    learner.personalize(pcm, labels, epochs=3)
    learner.enroll("hiss", np.stack([noise_clip(i) for i in range(5)]))
    learner.save()
    before = learner.logits(learner.embed(pcm))
    restored = _learner(built, tmp_path)
    assert restored.labels == learner.labels
    np.testing.assert_array_equal(restored.logits(restored.embed(pcm)), before)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_restart_continues_the_draws_instead_of_repeating_them(
    built: BuiltBundle, tmp_path: Path
) -> None:
    """Train, save, restart, train gives what training twice without a restart gives: the
    restored learner goes on with its batch order and D0 draws (not the seed's first ones)."""
    pcm, labels = _labelled(built)
    targets = np.array([built.manifest.labels.index(x) for x in labels])
    straight = _learner(built, tmp_path / "straight", momentum=0.0)
    features = straight.embed(pcm)
    straight.train_features(features, targets, epochs=1)
    straight.train_features(features, targets, epochs=1)
    first = _learner(built, tmp_path / "restarted", momentum=0.0)
    first.train_features(features, targets, epochs=1)
    first.save()
    restarted = _learner(built, tmp_path / "restarted", momentum=0.0)
    restarted.train_features(features, targets, epochs=1)
    for name, weight in straight.get_trainable().items():
        np.testing.assert_array_equal(restarted.get_trainable()[name], weight)
    fresh = _learner(built, tmp_path / "fresh", momentum=0.0)  # the seed's first draws again
    fresh.set_trainable(first.get_trainable())
    fresh.train_features(features, targets, epochs=1)
    differs = [
        not np.array_equal(fresh.get_trainable()[n], w) for n, w in straight.get_trainable().items()
    ]
    assert any(differs)


def test_a_damaged_draw_state_is_a_clear_error(built: BuiltBundle, tmp_path: Path) -> None:
    learner = _learner(built, tmp_path)
    path = learner.save()
    m = built.manifest
    shapes = {t["name"]: tuple(t["shape"]) for t in m.trainable}
    state = read_state(path, shapes, m.backbone_hash, m.feature_size, m.max_classes)
    state.rng = {"bit_generator": "PCG64", "state": "not a state"}
    write_state(path, state, m.backbone_hash)
    with pytest.raises(CorruptState, match="random-draw state"):
        _learner(built, tmp_path)


def test_enrolment_keeps_old_classes_and_fills_a_slot(built: BuiltBundle, tmp_path: Path) -> None:
    learner = _learner(built, tmp_path)
    pcm, labels = _labelled(built)
    assert learner.accuracy(pcm, labels) == 100.0
    new = np.stack([noise_clip(i) for i in range(10)])
    learner.enroll("hiss", new[:5], epochs=20)
    assert learner.labels[-1] == "hiss"
    assert learner.accuracy(pcm, labels) >= 90.0
    assert learner.predict(new[5:]) == ["hiss"] * 5
    with pytest.raises(NoFreeSlot, match="slots"):
        learner.enroll("another", new[:5])
    with pytest.raises(DataError, match="already exists"):
        learner.enroll("hiss", new[:5])


def test_formats_predict_as_their_16k_mono_equivalent(built: BuiltBundle, tmp_path: Path) -> None:
    learner = _learner(built, tmp_path / "state")
    rng = np.random.default_rng(2)
    clip = tone_clip(TONE_HZ["mid"], rng)
    left, right = clip, 0.5 * clip
    sf.write(tmp_path / "stereo.wav", np.stack([left, right], axis=1), 16_000, subtype="FLOAT")
    mono = (left + right) / 2
    stereo = fit_length(read_audio(tmp_path / "stereo.wav"), 16_000)
    np.testing.assert_allclose(stereo, mono, atol=1e-6)
    assert learner.predict(stereo) == learner.predict(mono)
    hi = resample(clip, 16_000, 44_100)
    sf.write(tmp_path / "hi.wav", hi, 44_100, subtype="FLOAT")
    assert learner.predict(fit_length(read_audio(tmp_path / "hi.wav"), 16_000)) == learner.predict(
        clip
    )
    sf.write(tmp_path / "lo.wav", resample(clip, 16_000, 8_000), 8_000)
    assert learner.predict(fit_length(read_audio(tmp_path / "lo.wav"), 16_000)) == ["mid"]


def test_bad_input_is_a_clear_error(built: BuiltBundle, tmp_path: Path) -> None:
    learner = _learner(built, tmp_path)
    with pytest.raises(DataError, match="pcm must be"):
        learner.predict(np.zeros((2, 8_000), dtype=np.float32))
    bad = np.zeros(16_000, dtype=np.float32)
    bad[3] = np.nan
    with pytest.raises(DataError, match="NaN"):
        learner.predict(bad)
    with pytest.raises(DataError, match="not live classes"):
        learner.personalize(np.zeros((1, 16_000), dtype=np.float32), ["nope"])
    with pytest.raises(ConfigError, match="mix_ratio"):
        LearnerConfig(mix_ratio=1.0)
    with pytest.raises(ConfigError, match="added_class_mass"):
        LearnerConfig(balanced_mix=True, added_class_mass=0.0)


def test_a_crash_mid_save_keeps_the_previous_state(
    built: BuiltBundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import edgekit.atomic

    learner = _learner(built, tmp_path)
    pcm, labels = _labelled(built)
    learner.save()
    saved = learner.logits(learner.embed(pcm))
    learner.personalize(pcm, labels, epochs=2)

    def crash(src: str, dst: str) -> None:
        raise OSError("power lost before the rename")

    monkeypatch.setattr(edgekit.atomic.os, "replace", crash)
    with pytest.raises(OSError, match="power lost"):
        learner.save()
    monkeypatch.undo()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    restored = _learner(built, tmp_path)
    np.testing.assert_array_equal(restored.logits(restored.embed(pcm)), saved)
