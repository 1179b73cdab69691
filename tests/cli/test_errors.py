"""The command line's error contract: a user's mistake is one ``error:`` line on stderr and exit
status 2; anything else is a bug in edgekit and keeps its traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from edgekit.cli import main
from edgekit.data import loaders
from edgekit.errors import CorpusLayoutError
from tests.cli.run import edgekit


def assert_one_error_line(result: subprocess.CompletedProcess[str], says: str) -> None:
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert says in lines[0]


def test_a_missing_bundle(tmp_path: Path) -> None:
    # Prepare
    missing = tmp_path / "nonexistent"
    # Execute
    result = edgekit("personalize", str(missing), str(tmp_path))
    # Assert
    assert_one_error_line(result, f"{missing} is not an edgekit bundle")


def test_a_budget_in_unknown_units() -> None:
    # Execute
    result = edgekit("plan", "tcresnet", "--budget", "12parsecs")
    # Assert
    assert_one_error_line(result, "a size must look like 256KiB")


def test_an_unknown_scheme() -> None:
    # Execute
    result = edgekit("plan", "tcresnet", "--scheme", "random")
    # Assert
    assert_one_error_line(result, "scheme must be one of ['sparse', 'last-k'], got 'random'")


def test_unknown_training_kernels() -> None:
    # Execute
    result = edgekit("plan", "tcresnet", "--training-kernels", "gpu")
    # Assert
    assert_one_error_line(
        result, "--training-kernels must be one of ['portable', 'xnnpack'], got 'gpu'"
    )


@pytest.mark.parametrize("steps", ["0", "65"])
def test_steps_per_call_out_of_range(tmp_path: Path, steps: str) -> None:
    # Execute: refused before the checkpoint is read
    result = edgekit("export", str(tmp_path / "model.pt"), str(tmp_path), "--steps-per-call", steps)
    # Assert
    assert_one_error_line(result, f"--steps-per-call must be in [1, 64], got {steps}")


def test_a_corrupt_bundle(tmp_path: Path) -> None:
    # Prepare: a bundle folder whose manifest is not JSON
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "manifest.json").write_text("{not json")
    # Execute
    result = edgekit("info", str(bundle))
    # Assert
    assert_one_error_line(result, "is not a valid manifest")


def test_a_missing_checkpoint(tmp_path: Path) -> None:
    # Execute
    result = edgekit("export", str(tmp_path / "model.pt"), str(tmp_path))
    # Assert
    assert_one_error_line(result, "model.pt not found")


def test_a_checkpoint_that_is_not_one(tmp_path: Path) -> None:
    # Prepare
    (tmp_path / "model.pt").write_bytes(b"not a checkpoint")
    # Execute
    result = edgekit("export", str(tmp_path / "model.pt"), str(tmp_path))
    # Assert
    assert_one_error_line(result, "is not an edgekit checkpoint")


def test_a_multi_line_message_prints_as_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Prepare: the corpus loader fails with a user error whose message spans lines
    def fail(folder: Path, layout: str = "auto") -> None:
        raise CorpusLayoutError("first line\nsecond line")

    monkeypatch.setattr(loaders, "load_corpus", fail)
    # Execute
    with pytest.raises(SystemExit) as exited:
        main(["data", "inspect", str(tmp_path)])
    # Assert
    assert exited.value.code == 2
    assert capsys.readouterr().err == "error: first line second line\n"


@pytest.mark.parametrize("bug", [ValueError, RuntimeError, KeyError])
def test_an_error_that_is_not_edgekits_keeps_its_traceback(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    bug: type[Exception],
) -> None:
    # Prepare: the corpus loader fails as a bug would
    def fail(folder: Path, layout: str = "auto") -> None:
        raise bug("a bug in edgekit")

    monkeypatch.setattr(loaders, "load_corpus", fail)
    # Execute / Assert: the exception leaves main() as it is; no error line is printed
    with pytest.raises(bug, match="a bug in edgekit"):
        main(["data", "inspect", str(tmp_path)])
    assert "error:" not in capsys.readouterr().err
