"""Planning within a memory budget and exporting that plan through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.run import edgekit
from tests.data.sc_fixture import make_speech_commands


@pytest.mark.slow
def test_plan_then_export_within_a_budget(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path / "c", {"low": 3, "mid": 3, "high": 3})
    ckpt, bundle, plan = tmp_path / "m.pt", tmp_path / "bundle", tmp_path / "plan.json"
    run = edgekit("pretrain", str(root), "--task", "all", "--epochs", "2", "--out", str(ckpt))
    assert run.returncode == 0, run.stderr
    # one candidate batch (the default searches three): fewer programs to export and measure
    args = ("--budget", "48KiB", "--batch", "16", "--out", str(plan))
    run = edgekit("plan", str(ckpt), str(root), *args)
    assert run.returncode == 0, run.stderr
    assert "batch 16, scheme sparse" in run.stdout
    assert "importance:" in run.stdout and "(fisher-d0)" in run.stdout
    assert "budget 49,152 = 48.0 KiB: fits" in run.stdout and plan.is_file()
    run = edgekit("export", str(ckpt), str(root), "--out", str(bundle), "--plan", str(plan))
    assert run.returncode == 0, run.stderr
    run = edgekit("info", str(bundle))
    assert run.returncode == 0, run.stderr
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["memory"]["training"]["training_bytes"] <= 48 * 1024
    assert manifest["plan"]["budget_bytes"] == 48 * 1024 and "training memory" in run.stdout
