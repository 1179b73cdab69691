"""The whole flow through the command line: pretrain, plan within a budget, export that plan,
personalise, enrol, predict, info (a file of its own so that parallel test workers can balance
it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.run import edgekit
from tests.data.sc_fixture import make_speech_commands


@pytest.mark.slow
def test_pretrain_plan_export_personalize_enroll_predict_info(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path / "c", {"low": 3, "mid": 3, "high": 3})
    ckpt, bundle, plan = tmp_path / "m.pt", tmp_path / "bundle", tmp_path / "plan.json"
    run = edgekit("pretrain", str(root), "--task", "all", "--epochs", "4", "--out", str(ckpt))
    assert run.returncode == 0, run.stderr
    assert "test on held-out speakers" in run.stdout and ckpt.exists()

    # one candidate batch (the default searches three): fewer programs to export and measure
    args = ("--budget", "48KiB", "--batch", "16", "--out", str(plan))
    run = edgekit("plan", str(ckpt), str(root), *args)
    assert run.returncode == 0, run.stderr
    assert "batch 16, scheme sparse" in run.stdout
    assert "importance:" in run.stdout and "(fisher-d0)" in run.stdout
    assert "budget 49,152 = 48.0 KiB: fits" in run.stdout and plan.is_file()
    run = edgekit("export", str(ckpt), str(root), "--out", str(bundle), "--plan", str(plan))
    assert run.returncode == 0, run.stderr
    assert "stage 2/8: lowering train_step" in run.stderr  # a status line names each stage
    assert "stage 7/8: computing the features of D0" in run.stderr
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["memory"]["training"]["training_bytes"] <= 48 * 1024
    assert manifest["plan"]["budget_bytes"] == 48 * 1024 and manifest["train_batch"] == 16

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
    assert "training memory" in run.stdout
    (bundle / "model.pte").write_bytes(b"tampered")
    run = edgekit("predict", str(bundle), str(clips[-1]))
    assert run.returncode == 2 and "sha256" in run.stderr
