"""A bundle with train_steps: the learner trains several batches per runtime call, with the
updates, refusals and history of one train_step call per batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from edgekit.device.learner import Learner, LearnerConfig
from edgekit.export.bundle import ExportConfig, export_bundle
from tests.bundle_fixture import BuiltBundle

pytestmark = pytest.mark.slow
STEPS = 3


@pytest.fixture(scope="module")
def fused(built: BuiltBundle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture's model exported with train_steps of three batches, on XNNPACK."""
    out = tmp_path_factory.mktemp("fused") / "bundle"
    config = ExportConfig(
        train_batch=8, d0_per_class=4, steps_per_call=STEPS, training_kernels="xnnpack"
    )
    export_bundle(built.model, built.clips.label_names, out, built.clips, config)
    return out


class _Calls:
    """Counts the runtime calls of each method (a spy: every call still runs)."""

    def __init__(self, learner: Learner) -> None:
        self.names: list[str] = []
        module = learner.program.module
        run = module.run_method

        def counted(name: str, *args: object, **kwargs: object) -> object:
            self.names.append(name)
            return run(name, *args, **kwargs)

        module.run_method = counted


def _features(learner: Learner, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((n, learner.manifest.feature_size)).astype(np.float32)
    return features, np.arange(n) % len(learner.labels)


def _pair(fused: Path, tmp_path: Path, **config: object) -> tuple[Learner, Learner]:
    """Two learners of the same bundle and seed: one through train_steps, one stepping."""
    return (
        Learner(fused, tmp_path / "fused", LearnerConfig(**config)),  # type: ignore[arg-type]
        Learner(fused, tmp_path / "stepped", LearnerConfig(fused_steps=False, **config)),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("config", [{}, {"momentum": 0.0, "clip_norm": None, "lr": 0.2}])
def test_fused_training_is_stepping_train_step(
    fused: Path, tmp_path: Path, config: dict[str, object]
) -> None:
    a, b = _pair(fused, tmp_path, **config)
    calls = _Calls(a)
    features, targets = _features(a, 18, seed=0)  # 4 user rows a batch: 5 batches an epoch
    history_a = a.train_features(features, targets, epochs=3)
    history_b = b.train_features(features, targets, epochs=3)
    steps = 15  # 3 epochs of 5 batches in 5 calls of 3
    assert calls.names.count("train_steps") == steps // STEPS
    assert "train_step" not in calls.names
    np.testing.assert_allclose(history_a, history_b, rtol=1e-5)
    assert history_a[-1] < history_a[0]
    for name, weight in b.weights.items():
        torch.testing.assert_close(a.weights[name], weight, atol=1e-5, rtol=1e-4)
        assert not torch.equal(weight, Learner(fused, tmp_path / "fresh").weights[name])
    assert a.refused_steps == b.refused_steps == 0


def test_a_last_call_is_padded_with_skipped_steps(fused: Path, tmp_path: Path) -> None:
    a, b = _pair(fused, tmp_path)
    calls = _Calls(a)
    features, targets = _features(a, 9, seed=1)  # 3 batches an epoch: 2 epochs, 2 calls
    a.train_features(features, targets, epochs=2)
    b.train_features(features, targets, epochs=2)
    assert calls.names.count("train_steps") == 2
    features, targets = _features(a, 5, seed=2)  # 2 batches: one call, its last step skipped
    history_a = a.train_features(features, targets, epochs=1)
    history_b = b.train_features(features, targets, epochs=1)
    assert calls.names.count("train_steps") == 3
    np.testing.assert_allclose(history_a, history_b, rtol=1e-5)
    for name, weight in b.weights.items():
        torch.testing.assert_close(a.weights[name], weight, atol=1e-5, rtol=1e-4)


def test_non_finite_steps_are_refused_as_train_step_refuses_them(
    fused: Path, tmp_path: Path
) -> None:
    a, b = _pair(fused, tmp_path)
    features, targets = _features(a, 21, seed=3)
    features[[2, 13]] = np.float32(1e30)  # finite rows whose batches overflow to Inf/NaN
    history_a = a.train_features(features, targets, epochs=2)
    history_b = b.train_features(features, targets, epochs=2)
    assert a.refused_steps == b.refused_steps > 0
    np.testing.assert_allclose(history_a, history_b, rtol=1e-5)
    for name, weight in b.weights.items():
        assert torch.isfinite(a.weights[name]).all()
        torch.testing.assert_close(a.weights[name], weight, atol=1e-5, rtol=1e-4)


def test_the_manifest_counts_train_steps(fused: Path) -> None:
    learner = Learner(fused, fused.parent / "state")
    memory = learner.manifest.memory
    parts = memory.training.components
    assert parts.train_steps_arena == memory.planned_bytes["train_steps"] > 0
    assert parts.delegate_workspace > 0
    assert memory.training.training_bytes >= parts.train_steps_arena + parts.delegate_workspace
    assert learner.manifest.plan["steps_per_call"] == STEPS


def test_progress_shows_every_epoch(
    fused: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    learner = Learner(fused, tmp_path / "state")
    features, targets = _features(learner, 9, seed=4)
    learner.train_features(features, targets, epochs=3, progress=True)
    assert "3/3" in capfd.readouterr().err  # the runtime's calls are silenced, not the bar
