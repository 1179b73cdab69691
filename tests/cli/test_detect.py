"""`edgekit detect`: events of a recording written to a file, a bad file skipped."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from edgekit.audio.io import write_wav
from edgekit.cli import app
from edgekit.device import Learner
from edgekit.errors import ConfigError
from tests.bundle_fixture import BuiltBundle
from tests.cli.run import edgekit
from tests.device.test_detect import PLACED, keyword_not_silence, recording


def _files(built: BuiltBundle, tmp_path: Path) -> tuple[str, Path, Path]:
    """The keyword listened for, a WAV of it said at PLACED, and a file that is not audio."""
    keyword = keyword_not_silence(Learner(built.path, tmp_path / "probe", read_only=True))
    good, bad = tmp_path / "talk.wav", tmp_path / "broken.wav"
    write_wav(good, recording(built, keyword), 16_000)
    bad.write_bytes(b"RIFF not really a wave file")
    return keyword, good, bad


def test_detect_prints_each_event_and_skips_a_bad_file(built: BuiltBundle, tmp_path: Path) -> None:
    keyword, good, bad = _files(built, tmp_path)
    state = tmp_path / "state"
    result = edgekit(
        "detect", str(built.path), str(good), str(bad), "--keyword", keyword, "--state", str(state)
    )
    assert result.returncode == 1, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [(row[0], row[3]) for row in rows] == [(str(good), keyword)] * len(PLACED)
    for (_, start, end, _, score), at in zip(rows, PLACED, strict=True):
        assert float(start) <= at and at + 1.0 <= float(end) and 0.7 <= float(score) <= 1.0
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 1 and skipped[0].startswith(f"skipped {bad}: unreadable audio")
    assert "3 events in 1 of 2 files" in result.stderr and "real-time factor" in result.stderr
    assert not (state / "learner_state.npz").exists()  # only read
    assert not any((state / "cache").iterdir())


def test_detect_writes_json_lines_and_names_a_bad_flag(built: BuiltBundle, tmp_path: Path) -> None:
    keyword, good, _ = _files(built, tmp_path)
    args = ["detect", str(built.path), str(good), "--state", str(tmp_path / "state")]
    result = CliRunner().invoke(
        app, [*args, "--keyword", keyword, "--json", "--refractory-seconds", "9"]
    )
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [e["label"] for e in events] == [keyword]  # the refractory outlasts the recording
    assert set(events[0]) == {
        "file",
        "label",
        "start_seconds",
        "end_seconds",
        "peak_seconds",
        "score",
    }
    result = CliRunner().invoke(app, [*args, "--threshold", "2"])
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception) == "--threshold must be a number in (0, 1], got 2.0"
