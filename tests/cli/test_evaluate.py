"""What `edgekit evaluate` reports: per-class accuracy and the confusion matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from edgekit.cli import app
from edgekit.cli.confusion import confusion, confusion_table
from edgekit.errors import ConfigError
from tests.bundle_fixture import BuiltBundle


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
