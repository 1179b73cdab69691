"""Hostile input through the command line: one line per bad thing, the good work still done."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgekit.audio.io import write_wav
from edgekit.device.learner import STATE_FILE
from tests.bundle_fixture import BuiltBundle
from tests.cli.run import edgekit


def _skipped(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("skipped ")]


def test_a_clip_that_overflows_the_features_is_skipped_and_named(
    built: BuiltBundle, tmp_path: Path
) -> None:
    good = tmp_path / "good.wav"
    loud = tmp_path / "loud.wav"
    write_wav(good, built.clips.audio[0], 16_000)
    write_wav(loud, np.full(16_000, 1e20, dtype=np.float32), 16_000, subtype="FLOAT")
    run = edgekit("predict", str(built.path), str(loud), str(good), "--state", str(tmp_path / "s"))
    assert run.returncode == 1, run.stderr
    assert _skipped(run.stderr) == [
        f"skipped {loud}: its features are not finite (samples far outside [-1, 1]?)"
    ]
    assert run.stdout.splitlines() == [f"{good}\t{built.manifest.labels[built.clips.labels[0]]}"]


def test_a_damaged_state_stops_the_command_until_it_is_set_aside(
    built: BuiltBundle, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / STATE_FILE).write_bytes(b"PK\x03\x04 half a state")
    corpus = built.path.parent / "corpus"
    args = ("personalize", str(built.path), str(corpus), "--state", str(state), "--epochs", "1")
    run = edgekit(*args)
    assert run.returncode == 2
    assert run.stderr.count("error:") == 1 and "--reset-state" in run.stderr
    assert (state / STATE_FILE).read_bytes() == b"PK\x03\x04 half a state"
    run = edgekit(*args, "--reset-state")
    assert run.returncode == 0, run.stderr
    assert "set aside as" in run.stderr
    aside = [p for p in state.iterdir() if p.name.startswith(f"{STATE_FILE}.aside-")]
    assert len(aside) == 1 and aside[0].read_bytes() == b"PK\x03\x04 half a state"
    run = edgekit("info", str(state / STATE_FILE))  # a file where a bundle folder goes
    assert run.returncode == 2 and run.stderr.startswith("error:") and "is a file" in run.stderr
