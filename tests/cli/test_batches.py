"""A batch of files through the command line: a bad file is reported and the batch goes on."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit.audio.io import write_wav
from tests.bundle_fixture import TONE_HZ, BuiltBundle, tone_clip
from tests.cli.run import edgekit


def test_predict_labels_the_good_files_around_a_bad_one(built: BuiltBundle, tmp_path: Path) -> None:
    # Prepare: two clips of classes the bundle knows, and a folder named like audio between them
    rng = np.random.default_rng(0)
    low, high, bad = tmp_path / "low.wav", tmp_path / "high.wav", tmp_path / "bad.wav"
    write_wav(low, tone_clip(TONE_HZ["low"], rng), 16_000)
    write_wav(high, tone_clip(TONE_HZ["high"], rng), 16_000)
    bad.mkdir()
    # Execute
    run = edgekit(
        "predict", str(built.path), str(low), str(bad), str(high), "--state", str(tmp_path / "s")
    )
    # Assert: both good files labelled (in order, on stdout), one line for the bad one, status 1
    assert run.returncode == 1, run.stderr
    assert run.stdout.splitlines() == [f"{low}\tlow", f"{high}\thigh"]
    skipped = [line for line in run.stderr.splitlines() if line.startswith("skipped ")]
    assert skipped == [f"skipped {bad}: is a folder, not an audio file"]
    assert "error:" not in run.stderr and "Traceback" not in run.stderr
    # the runtime's own log lines (about the host CPU, refused resizes) are not shown
    native = [line for line in run.stderr.splitlines() if "cpuinfo" in line or ".cpp:" in line]
    assert native == [], run.stderr
