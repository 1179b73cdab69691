"""The whole flow through the command line: pretrain, export, personalise, enrol, predict, info
(a file of its own so that parallel test workers can balance it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.run import edgekit
from tests.data.sc_fixture import make_speech_commands


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
