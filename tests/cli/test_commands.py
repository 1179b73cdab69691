"""The command line, run as a user runs it: a real process, real folders."""

from __future__ import annotations

from pathlib import Path

from tests.cli.run import edgekit
from tests.data.sc_fixture import make_speech_commands


def test_help_lists_the_commands() -> None:
    result = edgekit("--help")
    assert result.returncode == 0
    for command in ("data", "pretrain", "export", "personalize", "predict", "enroll", "info"):
        assert command in result.stdout


def test_layout_error_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = edgekit("data", "inspect", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith("error: no <word>/<file>.wav folders found")
    assert "Traceback" not in result.stderr


def test_inspect_check_reports_bad_files(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path / "c", {"yes": 1, "no": 1})
    (root / "yes" / "zz99_nohash_0.wav").write_bytes(b"")
    result = edgekit("data", "inspect", str(root), "--check")
    assert result.returncode == 0, result.stderr
    assert "1 could not be used" in result.stdout and "zz99_nohash_0.wav" in result.stdout


def test_a_budget_below_every_plan_names_the_smallest() -> None:
    # one candidate batch (the default searches three): the floor of batch 8 is the smallest
    run = edgekit("plan", "tcresnet", "--budget", "1KiB", "--batch", "8")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "smallest feasible training memory budget is" in run.stderr
    run = edgekit("plan", "tcresnet", "--budget", "lots")
    assert run.returncode == 2 and "256KiB" in run.stderr
