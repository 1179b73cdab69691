"""The app's saved state is the Python device's (``edgekit.device.state``): what the Kotlin side
saves (core/state, StateInteropTest), ``read_state`` and the Python learner read whole, its
weights the imprint Python computes and its random state continuing the draws Kotlin would make
next; a state the Python learner saved comes back from Kotlin with the same arrays and meta."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgekit.device.learner import STATE_FILE, Learner
from edgekit.device.program import BundleProgram
from edgekit.device.state import read_state
from edgekit.export.manifest import read_manifest
from tests.android.conftest import JvmRun
from tests.android.train_fixtures import imprint_case

pytestmark = pytest.mark.slow


def test_read_state_reads_what_kotlin_saved(jvm_run: JvmRun, bundle: Path) -> None:
    path = jvm_run.out / "kotlin_state" / STATE_FILE
    assert path.is_file(), jvm_run.output
    m = read_manifest(bundle)
    shapes = {t["name"]: tuple(t["shape"]) for t in m.trainable}
    state = read_state(path, shapes, m.backbone_hash, m.feature_size, m.max_classes)
    assert state.labels == [*m.labels, "noise"]
    assert state.live == state.labels
    expected = imprint_case(BundleProgram(bundle, m), bundle)  # the program is deterministic
    for name, w in state.weights.items():
        want = np.asarray(expected["imprinted"][name], dtype=np.float32)
        np.testing.assert_allclose(w.ravel(), want, rtol=1e-6, atol=1e-7, err_msg=name)
    features = np.asarray(expected["features"], dtype=np.float32).reshape(-1, m.feature_size)
    np.testing.assert_array_equal(state.replay_features, features)
    assert state.replay_labels.tolist() == [expected["slot"]] * len(features)
    assert state.global_features.shape == (0, m.feature_size)
    assert state.global_labels.shape == (0,)
    bits = np.random.PCG64()
    bits.state = state.rng  # type: ignore[assignment]  # numpy types it as a TypedDict
    next_raws = json.loads((jvm_run.out / "kotlin_state.json").read_text())["next_raws"]
    assert [int(r) for r in bits.random_raw(len(next_raws))] == next_raws


def test_the_python_learner_restores_what_kotlin_saved(
    jvm_run: JvmRun, bundle: Path, tmp_path: Path
) -> None:
    shutil.copyfile(jvm_run.out / "kotlin_state" / STATE_FILE, tmp_path / STATE_FILE)
    m = read_manifest(bundle)
    with Learner(bundle, tmp_path) as learner:
        assert learner.labels == (*m.labels, "noise")
        assert learner.live == learner.labels
        assert learner.class_mask.tolist() == [1.0] * m.max_classes
        probabilities = learner.probabilities(learner.replay_features)
        assert probabilities.shape == (len(learner.replay_features), m.max_classes)
        assert np.isfinite(probabilities).all()


def test_a_state_python_saved_comes_back_from_kotlin_unchanged(jvm_run: JvmRun) -> None:
    original_path = jvm_run.out / "python_state_original.npz"
    assert original_path.is_file(), jvm_run.output
    with (
        np.load(original_path) as original,
        np.load(jvm_run.out / "python_state_resaved" / STATE_FILE) as back,
    ):
        assert list(back.files) == list(original.files)
        for name in original.files:
            assert back[name].dtype == original[name].dtype, name
            np.testing.assert_array_equal(back[name], original[name], err_msg=name)
        assert back["meta"].tobytes() == original["meta"].tobytes()  # json.dumps' very text
