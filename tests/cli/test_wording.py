"""What the commands say and do with the options a user passes, run in this process (typer's
runner): excluded words, budgets, missing splits, errors in the command line's own terms, file
formats, and stderr kept free of the runtime's log lines."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner, Result

from edgekit.cli import app
from edgekit.errors import ConfigError, CorpusLayoutError, DataError, EdgekitError
from edgekit.models.pretrain import load_checkpoint
from tests.bundle_fixture import BuiltBundle
from tests.data.sc_fixture import make_speech_commands


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def error_of(result: Result) -> EdgekitError:
    """The user error a command ended with (main() prints it as one ``error:`` line)."""
    assert isinstance(result.exception, EdgekitError), result.output
    return result.exception


def test_an_excluded_word_leaves_the_classes_and_a_run_without_validation_says_so(
    tmp_path: Path,
) -> None:
    # Prepare: three words; no speaker in the validation list (cc33 is the fixture's only one)
    root = make_speech_commands(
        tmp_path / "c", {"eight": 1, "one": 1, "two": 1}, speakers=("aa11", "bb22", "dd44")
    )
    ckpt = tmp_path / "m.pt"
    # Execute
    result = invoke(
        "pretrain", str(root), "--task", "all", "--exclude-word", "eight", "--epochs", "1",
        "--out", str(ckpt),
    )  # fmt: skip
    # Assert: the checkpoint's classes are the other words; no "nan" for the missing split
    assert result.exit_code == 0, result.output
    assert load_checkpoint(ckpt)[1] == ("one", "two")
    assert "2 classes" in result.stdout and "no validation split" in result.stdout
    assert "nan" not in result.stdout and "test on held-out speakers" in result.stdout


def test_an_excluded_word_that_is_no_folder_is_refused(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path / "c", {"eight": 1, "one": 1})
    result = invoke("pretrain", str(root), "--task", "all", "--exclude-word", "eigth")
    error = error_of(result)
    assert isinstance(error, ConfigError)
    assert "['eigth']" in str(error) and "['eight', 'one']" in str(error)


def test_export_plans_for_any_budget_unbounded_included() -> None:
    from edgekit.cli.model import plans
    from edgekit.plan.sizes import parse_bytes

    assert parse_bytes("unbounded") is None  # so 'unbounded' must not read as "no budget"
    assert plans("unbounded", None) and plans("48KiB", None) and plans(None, 8 << 20)
    assert not plans(None, None)  # no budget at all: the default pooled head


def test_errors_name_the_command_line_flags(tmp_path: Path) -> None:
    # Prepare: a corpus without the default keywords, and one without background noise
    words = make_speech_commands(tmp_path / "w", {"cat": 1, "dog": 1})
    quiet = make_speech_commands(tmp_path / "q", {"yes": 1, "no": 1}, noise_seconds=0)
    # Execute / Assert: the settings the command line has are named by their flags
    message = str(error_of(invoke("pretrain", str(words))))
    assert "--keyword" in message and "--task all" in message and "keywords=" not in message
    message = str(error_of(invoke("pretrain", str(words), "--task", "all", "--epochs", "0")))
    assert message == "--epochs must be >= 1, got 0"
    args = ("export", str(tmp_path / "m.pt"), str(words), "--d0-per-class", "0")
    assert str(error_of(invoke(*args))) == "--d0-per-class must be >= 1, got 0"
    message = str(error_of(invoke("data", "kws", str(tmp_path / "k"), "--speakers", "1")))
    assert message.startswith("--speakers must be in [3, ") and message.endswith("got 1")
    args = ("data", "urban", str(tmp_path / "u"), "--clips-per-class", "3")
    assert str(error_of(invoke(*args))).startswith("--clips-per-class must be >= n_folds, the 10")
    # ... and one it does not have in plain words
    error = error_of(invoke("pretrain", str(quiet), "--keyword", "yes", "--keyword", "no"))
    assert isinstance(error, CorpusLayoutError) and "_background_noise_/" in str(error)
    assert "silence_fraction" not in str(error)


def test_a_speaker_filter_that_matches_nothing_names_the_splits_and_speakers(
    built: BuiltBundle, tmp_path: Path
) -> None:
    corpus = built.path.parent / "corpus"  # the corpus the bundle was trained on
    args = ("--state", str(tmp_path / "s"), "--speaker", "zz99")
    error = error_of(invoke("evaluate", str(built.path), str(corpus), *args))
    assert isinstance(error, DataError)
    message = str(error)
    assert "split test and speaker zz99" in message
    assert "its splits are test, train, validation" in message
    assert "its speakers in test are dd44" in message


def test_inspect_check_reports_rates_channels_and_durations(tmp_path: Path) -> None:
    # Prepare: 1 s mono 16 kHz clips, and one 0.5 s stereo 8 kHz clip
    root = make_speech_commands(tmp_path / "c", {"yes": 1}, speakers=("aa11", "dd44"))
    stereo = np.zeros((4_000, 2), dtype=np.float32) + 0.1
    sf.write(root / "yes" / "ee55_nohash_0.wav", stereo, 8_000)
    # Execute
    result = invoke("data", "inspect", str(root), "--check")
    # Assert: the background noise file (5 s) is not a clip of the 'all' task
    assert result.exit_code == 0, result.output
    assert "3 files; sample rates: 16000 Hz (2 files), 8000 Hz (1 file)" in result.stdout
    assert "channels: 1 (2 files), 2 (1 file)" in result.stdout
    assert "seconds per file: min 0.50, median 1.00, max 1.00" in result.stdout


def test_native_log_silencing_restores_stderr_around_errors(
    capfd: pytest.CaptureFixture[str],
) -> None:
    from edgekit.runtime import native_stderr_silenced

    def native_call() -> None:  # logs on descriptor 2 as the C++ runtime does, then fails
        with native_stderr_silenced():
            os.write(2, b"[method.cpp:1] native noise\n")
            raise RuntimeError("refused")

    # nested blocks share one redirection; the exception leaves through both
    with pytest.raises(RuntimeError, match="refused"), native_stderr_silenced():
        native_call()
    os.write(2, b"a later line\n")
    err = capfd.readouterr().err
    assert "native noise" not in err and "a later line" in err
