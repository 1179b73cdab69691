"""A bundle with new trainable weights is a whole, valid bundle that runs them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgekit.device.learner import Learner
from edgekit.errors import DataError
from edgekit.export.manifest import read_manifest
from edgekit.export.reweight import reweighted
from tests.bundle_fixture import BuiltBundle


def test_new_weights_make_a_valid_bundle_that_runs_them(built: BuiltBundle, tmp_path: Path) -> None:
    with Learner(built.path, tmp_path / "a", read_only=True) as learner:
        weights = learner.get_trainable()
        before = learner.logits(learner.embed(built.clips.audio[:4]))
    scaled = {k: (v * 2).astype(np.float32) for k, v in weights.items()}
    manifest = reweighted(built.path, scaled, tmp_path / "b")
    old = read_manifest(built.path)
    assert manifest.files["model.pte"] == old.files["model.pte"]
    assert manifest.files["weights.npz"] != old.files["weights.npz"]
    assert manifest.digest != old.digest
    with Learner(tmp_path / "b", tmp_path / "b-state", read_only=True) as learner:
        got = learner.get_trainable()
        assert all(np.array_equal(got[k], scaled[k]) for k in scaled)
        after = learner.logits(learner.embed(built.clips.audio[:4]))
    assert not np.allclose(before, after)


def test_weights_that_do_not_fit_are_refused_and_nothing_is_written(
    built: BuiltBundle, tmp_path: Path
) -> None:
    with Learner(built.path, tmp_path / "a", read_only=True) as learner:
        weights = learner.get_trainable()
    name = next(iter(weights))
    for bad, says in (
        ({k: v for k, v in weights.items() if k != name}, "differ"),
        ({**weights, name: weights[name].astype(np.float64)}, "float32"),
        ({**weights, name: np.full_like(weights[name], np.nan)}, "finite"),
        ({**weights, name: weights[name][:1]}, "float32"),
    ):
        with pytest.raises(DataError, match=says):
            reweighted(built.path, bad, tmp_path / "b")
        assert not (tmp_path / "b").exists()
