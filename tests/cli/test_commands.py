"""The command line, run as a user runs it: a real process, real folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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


@pytest.mark.slow
def test_pretrain_export_enroll_predict_info(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path / "c", {"low": 3, "mid": 3, "high": 3})
    ckpt, bundle = tmp_path / "m.pt", tmp_path / "bundle"
    run = edgekit("pretrain", str(root), "--task", "all", "--epochs", "4", "--out", str(ckpt))
    assert run.returncode == 0, run.stderr
    assert "test on held-out speakers" in run.stdout and ckpt.exists()
    run = edgekit("export", str(ckpt), str(root), "--out", str(bundle), "--train-batch", "8")
    assert run.returncode == 0, run.stderr
    run = edgekit("personalize", str(bundle), str(root), "--speaker", "dd44", "--epochs", "2")
    assert run.returncode == 0, run.stderr
    assert "personalised on 9 clips" in run.stdout
    clips = sorted((root / "mid").glob("*.wav"))
    run = edgekit("enroll", str(bundle), "mid2", *map(str, clips[:5]), "--epochs", "2")
    assert run.returncode == 0, run.stderr
    run = edgekit("predict", str(bundle), str(clips[-1]))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().split("\t")[0] == str(clips[-1])
    run = edgekit("info", str(bundle))
    assert run.returncode == 0, run.stderr
    assert '"train_step_arena"' in run.stdout and '"mid2"' in run.stdout
    (bundle / "model.pte").write_bytes(b"tampered")
    run = edgekit("predict", str(bundle), str(clips[-1]))
    assert run.returncode == 2 and "sha256" in run.stderr


def test_a_budget_below_every_plan_names_the_smallest() -> None:
    run = edgekit("plan", "tcresnet", "--budget", "1KiB")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "smallest feasible training memory budget is" in run.stderr
    run = edgekit("plan", "tcresnet", "--budget", "lots")
    assert run.returncode == 2 and "256KiB" in run.stderr


@pytest.mark.slow
def test_plan_then_export_within_a_budget(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path / "c", {"low": 3, "mid": 3, "high": 3})
    ckpt, bundle, plan = tmp_path / "m.pt", tmp_path / "bundle", tmp_path / "plan.json"
    run = edgekit("pretrain", str(root), "--task", "all", "--epochs", "2", "--out", str(ckpt))
    assert run.returncode == 0, run.stderr
    run = edgekit("plan", str(ckpt), str(root), "--budget", "48KiB", "--out", str(plan))
    assert run.returncode == 0, run.stderr
    assert "importance:" in run.stdout and "(fisher-d0)" in run.stdout
    assert "budget 49,152 = 48.0 KiB: fits" in run.stdout and plan.is_file()
    run = edgekit("export", str(ckpt), str(root), "--out", str(bundle), "--plan", str(plan))
    assert run.returncode == 0, run.stderr
    run = edgekit("info", str(bundle))
    assert run.returncode == 0, run.stderr
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["memory"]["training"]["training_bytes"] <= 48 * 1024
    assert manifest["plan"]["budget_bytes"] == 48 * 1024 and "training memory" in run.stdout
