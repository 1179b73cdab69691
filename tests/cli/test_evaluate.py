"""What `edgekit evaluate` reports: per-class accuracy and the confusion matrix."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgekit.cli import app
from edgekit.cli.confusion import confusion, confusion_table, plot_confusion
from edgekit.errors import ConfigError, ToolMissingError
from tests.bundle_fixture import BuiltBundle
from tests.cli.run import edgekit


def test_the_confusion_matrix_counts_labels_against_predictions() -> None:
    truth = ["a", "a", "b", "c", "c", "c"]
    predicted = ["a", "b", "b", "c", "a", "c"]
    np.testing.assert_array_equal(
        confusion(truth, predicted, ["a", "b", "c", "d"]),
        [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]],
    )
    table = confusion_table(truth, predicted, ["a", "b", "c", "d"]).splitlines()
    assert table[1:4] == ["a      2     50.0%", "b      1    100.0%", "c      3     66.7%"]
    assert not any(line.startswith("d ") for line in table)  # a class with no clip, no guess
    assert table[-1].split() == ["2", "c", "1", "0", "2"]


def test_evaluate_prints_each_class_and_the_confusion_matrix(
    built: BuiltBundle, tmp_path: Path
) -> None:
    corpus = built.path.parent / "corpus"
    args = ["evaluate", str(built.path), str(corpus), "--state", str(tmp_path), "--split", "test"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("accuracy "))  # after progress
    assert lines[at].endswith(" clips") and lines[at + 1].split() == ["class", "clips", "accuracy"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[at + 2 : at + 5]}
    assert set(rows) == set(built.manifest.labels)
    assert sum(int(clips) for clips, _ in rows.values()) == int(lines[at].split()[-2])
    assert "confusion (row: label, column: predicted)" in lines


def test_a_mix_ratio_out_of_range_is_named_by_its_flag(built: BuiltBundle, tmp_path: Path) -> None:
    corpus = built.path.parent / "corpus"
    for args in (
        ["personalize", str(built.path), str(corpus), "--mix-ratio", "1.5"],
        ["enroll", str(built.path), "x", str(next(corpus.rglob("*.wav"))), "--mix-ratio", "-1"],
    ):
        result = CliRunner().invoke(app, [*args, "--state", str(tmp_path)])
        assert isinstance(result.exception, ConfigError), result.output
        assert str(result.exception).startswith("--mix-ratio must be in [0, 1)")


def _per_class(stdout: str) -> dict[str, int]:
    """``{class: clips}`` from evaluate's per-class rows."""
    lines = stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("class "))
    rows = [line.split() for line in lines[at + 1 : lines.index("", at)]]
    return {row[0]: int(row[1]) for row in rows}


def test_evaluate_on_the_shots_and_on_their_rest_with_a_plot(
    built: BuiltBundle, tmp_path: Path
) -> None:
    # Prepare: the bundle's corpus, 4 speakers x 3 words x 4 clips, every split
    corpus = built.path.parent / "corpus"
    args = ("evaluate", str(built.path), str(corpus), "--state", str(tmp_path), "--split", "all")
    png = tmp_path / "plots" / "confusion.png"
    # Execute: one clip of each word of each speaker, then every other clip
    shots = edgekit(*args, "--shots", "1", "--draw-seed", "5", "--plot", str(png))
    rest = edgekit(*args, "--shots", "1", "--draw-seed", "5", "--rest")
    # Assert: 12 + 36 clips, the 48 of the corpus; the plot is a PNG image
    assert shots.returncode == 0 and rest.returncode == 0, shots.stderr + rest.stderr
    assert "on 12 clips" in shots.stdout and "on 36 clips" in rest.stdout
    assert _per_class(shots.stdout) == dict.fromkeys(built.manifest.labels, 4)
    assert _per_class(rest.stdout) == dict.fromkeys(built.manifest.labels, 12)
    assert f"confusion matrix written to {png}" in shots.stdout
    assert png.read_bytes().startswith(b"\x89PNG\r\n")


def test_a_plot_without_matplotlib_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails as if absent
    with pytest.raises(
        ToolMissingError, match=r"--plot needs matplotlib: pip install 'edgekit\[plot\]'"
    ):
        plot_confusion(["a"], ["a"], ["a"], tmp_path / "c.png")
    assert not (tmp_path / "c.png").exists()
