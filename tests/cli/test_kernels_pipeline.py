"""`--training-kernels xnnpack` through the command line: a plan made for XNNPACK counts its
delegate's memory, and a portable plan exported with XNNPACK is measured again and refused where
that memory breaks its budget (a file of its own so that parallel test workers can balance it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.run import edgekit
from tests.data.sc_fixture import make_speech_commands


@pytest.mark.slow
def test_plan_and_export_with_the_xnnpack_training_kernels(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path / "c", {"low": 3, "mid": 3, "high": 3})
    ckpt = tmp_path / "m.pt"
    run = edgekit("pretrain", str(root), "--task", "all", "--epochs", "2", "--out", str(ckpt))
    assert run.returncode == 0, run.stderr

    # a portable plan that fits 48 KiB, exported on XNNPACK: the delegate breaks the budget
    tight = tmp_path / "tight.json"
    args = ("--budget", "48KiB", "--batch", "16", "--out", str(tight))
    assert edgekit("plan", str(ckpt), str(root), *args).returncode == 0
    out = tmp_path / "refused"
    run = edgekit(
        "export", str(ckpt), str(root), "--out", str(out), "--plan", str(tight),
        "--training-kernels", "xnnpack",
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert "over the plan's budget of 49152" in run.stderr

    # planned for XNNPACK: its delegate memory is in the plan, and the bundle is exported with it
    plan = tmp_path / "plan.json"
    args = ("--budget", "512KiB", "--batch", "16", "--training-kernels", "xnnpack")
    run = edgekit("plan", str(ckpt), str(root), *args, "--out", str(plan))
    assert run.returncode == 0, run.stderr
    assert "(xnnpack: measured in the runtime)" in run.stdout
    assert json.loads(plan.read_text())["kernels"] == "xnnpack"
    bundle = tmp_path / "bundle"
    run = edgekit("export", str(ckpt), str(root), "--out", str(bundle), "--plan", str(plan))
    assert run.returncode == 0, run.stderr
    assert "(xnnpack kernels)" in run.stderr
    manifest = json.loads((bundle / "manifest.json").read_text())
    training = manifest["memory"]["training"]
    assert manifest["plan"]["kernels"] == "xnnpack"
    assert 0 < training["components"]["delegate_workspace"] <= training["training_bytes"]
    assert training["training_bytes"] <= 512 * 1024
    run = edgekit("personalize", str(bundle), str(root), "--epochs", "2")
    assert run.returncode == 0, run.stderr
