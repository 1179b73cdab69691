"""The device commands cut clips from longer recordings by the bundle's clip window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgekit.audio.io import write_wav
from edgekit.cli import app
from edgekit.device import Learner
from tests.bundle_fixture import BuiltBundle
from tests.device.faults import copy_bundle, edit_manifest

RATE = 16_000


def with_window(built: BuiltBundle, tmp_path: Path, policy: str) -> Path:
    bundle = copy_bundle(built.path, tmp_path / f"bundle-{policy}")
    edit_manifest(bundle, lambda data: data["frontend"].update(clip_window=policy))
    return bundle


def late_word(clip: np.ndarray) -> np.ndarray:
    """1.5 s of silence, then ``clip``: the recording's first second holds no word, its last
    second is the clip exactly (the tiny fixture model tells its tones apart only aligned)."""
    return np.concatenate([np.zeros(round(1.5 * RATE), dtype=np.float32), clip])


@pytest.fixture
def recordings(built: BuiltBundle, tmp_path: Path) -> tuple[list[Path], list[str]]:
    """A late-word recording of the first clip of each of three classes, and what the bundle
    predicts for that clip alone (aligned)."""
    index = [int(np.flatnonzero(built.clips.labels == label)[0]) for label in range(3)]
    paths = []
    for i in index:
        path = tmp_path / f"late-{i}.wav"
        write_wav(path, late_word(built.clips.audio[i]), RATE, subtype="FLOAT")
        paths.append(path)
    with Learner(built.path, tmp_path / "aligned", read_only=True) as learner:
        return paths, learner.predict(built.clips.audio[index])


def test_predict_finds_the_word_under_energy_and_misses_it_under_first(
    built: BuiltBundle, tmp_path: Path, recordings: tuple[list[Path], list[str]]
) -> None:
    paths, labels = recordings
    energy = with_window(built, tmp_path, "energy")
    result = CliRunner().invoke(
        app, ["predict", str(energy), *map(str, paths), "--state", str(tmp_path / "s1")]
    )
    assert result.exit_code == 0, result.output
    found = [line.split("\t")[1] for line in result.output.splitlines() if "\t" in line]
    assert found == labels
    result = CliRunner().invoke(
        app, ["predict", str(built.path), *map(str, paths), "--state", str(tmp_path / "s2")]
    )
    assert result.exit_code == 0, result.output
    missed = [line.split("\t")[1] for line in result.output.splitlines() if "\t" in line]
    assert missed != labels  # the first second of each is silence


def test_enroll_under_all_windows_counts_files_and_trains_on_more_clips(
    built: BuiltBundle, tmp_path: Path, recordings: tuple[list[Path], list[str]]
) -> None:
    paths, _ = recordings
    bundle = with_window(built, tmp_path, "all-windows")
    state = tmp_path / "state"
    args = ["enroll", str(bundle), "late", *map(str, paths), "--epochs", "1", "--state", str(state)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "enrolled 'late' from 3 clips" in result.output
    with Learner(bundle, state, read_only=True) as learner:
        slot = learner.labels.index("late")
        assert int((learner.replay_labels == slot).sum()) > len(paths)  # several windows each
