"""The selection options on the command line: a manifest corpus, --speaker, --split, --shots,
--rest, --draw-seed, --max-per-label, and errors in the command line's own terms."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgekit.cli import app
from edgekit.errors import ConfigError
from tests.bundle_fixture import BuiltBundle
from tests.cli.run import edgekit
from tests.data.manifest_fixture import make_manifest

SPLITS = {"s1": "train", "s2": "train", "s3": "test"}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three words, three speakers (s3 in test), 12 clips of each word per speaker."""
    root = tmp_path_factory.mktemp("manifest")
    header = "path,speaker,label,split"
    return make_manifest(
        root, speakers=tuple(SPLITS), per_speaker=12, split_of=SPLITS, header=header
    )


def counts(stdout: str) -> dict[str, dict[str, int]]:
    """``{split: {label: clips}}`` from `data inspect`'s lines."""
    table = {}
    for line in stdout.splitlines()[1:]:
        split, _, _, *cells = line.split()  # "train  15 clips  yes=5 no=5 cat=5"
        table[split] = {k: int(v) for k, v in (cell.split("=") for cell in cells)}
    return table


def test_inspect_a_manifest_through_the_selection_options(manifest: Path) -> None:
    run = edgekit("data", "inspect", str(manifest))
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"{manifest}: 108 clips, 3 labels, 3 speakers/sources\n")
    shots = edgekit("data", "inspect", str(manifest), "--speaker", "s1", "--speaker", "s3",
                    "--shots", "5")  # fmt: skip
    assert shots.returncode == 0, shots.stderr
    assert shots.stdout.startswith(f"{manifest}: 30 clips (of 108), 3 labels, 2 speakers")
    assert counts(shots.stdout) == {s: {"yes": 5, "no": 5, "cat": 5} for s in ("test", "train")}
    args = ("--split", "train", "--shots", "5", "--rest", "--draw-seed", "3")
    rest = edgekit("data", "inspect", str(manifest / "manifest.csv"), *args)
    assert rest.returncode == 0, rest.stderr
    assert counts(rest.stdout) == {"train": {"yes": 14, "no": 14, "cat": 14}}  # 2 x (12 - 5)
    first = edgekit("data", "inspect", str(manifest), "--split", "all", "--max-per-label", "2")
    assert counts(first.stdout) == {"train": {"yes": 2, "no": 2, "cat": 2}}  # s1's, clip1-2


def test_a_selection_that_leaves_nothing_names_what_is_there(manifest: Path) -> None:
    run = edgekit("data", "inspect", str(manifest), "--split", "test", "--speaker", "s1")
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
    assert run.stderr.startswith(f"error: no clips in {manifest} match split test and speaker s1")
    for part in ("its splits are test, train", "its speakers in test are s3",
                 "speaker s1 is in train", "its labels in test are yes, no, cat",
                 "--split all takes every split"):  # fmt: skip
        assert part in run.stderr, part
    run = edgekit("data", "inspect", str(manifest), "--speaker", "s3", "--shots", "12", "--rest")
    assert run.returncode == 2 and "--shots 12 --rest leaves no clip" in run.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shots", "0"], "--shots must be >= 1, got 0"),
        (["--max-per-label", "0"], "--max-per-label must be >= 1, got 0"),
        (["--rest"], "--rest needs --shots"),
        (["--draw-seed", "1"], "--draw-seed needs --shots"),
    ],
)
def test_options_that_mean_nothing_are_refused_by_their_flags(
    manifest: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["data", "inspect", str(manifest), *args])
    assert isinstance(result.exception, ConfigError), result.output
    assert str(result.exception).startswith(message)


def test_enroll_takes_a_label_of_a_corpus_under_the_selection_options(
    built: BuiltBundle, manifest: Path, tmp_path: Path
) -> None:
    bundle, state = str(built.path), ["--state", str(tmp_path / "state")]
    for args, message in (
        (["x"], "no clips: pass FILE... or --corpus DIR --label WORD"),
        (["x", "--label", "cat"], "--label and the selection options"),
        (["x", "--shots", "2"], "--label and the selection options"),
        (["x", "--corpus", str(manifest)], "--corpus needs --label"),
        (["x", "a.wav", "--corpus", str(manifest), "--label", "cat"], "not both"),
        (["x", "--corpus", str(manifest), "--label", "dog"], "--label dog is not a label of"),
    ):
        result = CliRunner().invoke(app, ["enroll", bundle, *args, *state])
        assert isinstance(result.exception, ConfigError), result.output
        assert message in str(result.exception)
    args = ["--corpus", str(manifest), "--label", "cat", "--speaker", "s1", "--shots", "2"]
    result = CliRunner().invoke(app, ["enroll", bundle, "purr", *args, "--epochs", "1", *state])
    assert result.exit_code == 0, result.output
    assert f"enrolled 'purr' from 2 clips of 'cat' in {manifest}" in result.output
