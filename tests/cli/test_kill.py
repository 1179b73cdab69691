"""SIGKILL `edgekit personalize` at points spread over its training and its save: the state it
leaves always loads and is the old one or the new one, never a mix, never lost."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from edgekit.device import Learner
from edgekit.device.learner import STATE_FILE
from tests.bundle_fixture import BuiltBundle

pytestmark = pytest.mark.slow
EPOCHS = 40  # about half a second of training on the fixture bundle
SPREAD = 12  # kills spread evenly over training, from its first progress line
AROUND_SAVE = 10  # kills spread evenly from the last epoch's progress to the command's end


class Forker:
    """tests/cli/forker.py in a process of its own."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.cli.forker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def start(self, argv: list[str], log: Path) -> int:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps([argv, str(log)]) + "\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


def _wait_for(log: Path, text: str, timeout: float = 120.0) -> float:
    """Poll the log until it holds ``text``; the time it appeared."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if log.exists() and text in log.read_text(errors="replace"):
            return time.monotonic()
        time.sleep(0.002)
    raise AssertionError(f"{text!r} never appeared in {log}: {log.read_text()[-2000:]}")


def _weights(bundle: Path, state: Path) -> dict[str, np.ndarray]:
    return Learner(bundle, state, read_only=True).get_trainable()


def test_a_killed_personalize_leaves_the_old_or_the_new_state(
    built: BuiltBundle, tmp_path: Path
) -> None:
    corpus = built.path.parent / "corpus"
    state, old_copy = tmp_path / "state", tmp_path / "old.npz"
    argv = ["personalize", str(built.path), str(corpus), "--state", str(state)]
    argv += ["--epochs", str(EPOCHS)]
    forker = Forker()
    try:
        # the old state, then the new one and the run's timing from an uninterrupted run
        log = tmp_path / "first.log"  # every run its own log: none reads another's lines
        forker.start(argv, log)
        _wait_for(log, "EXIT 0")
        shutil.copy(state / STATE_FILE, old_copy)
        old = _weights(built.path, state)
        log = tmp_path / "second.log"
        forker.start(argv, log)
        began = _wait_for(log, "training")
        last = _wait_for(log, f"{EPOCHS}/{EPOCHS}")
        done = _wait_for(log, "EXIT 0")
        new = _weights(built.path, state)
        assert any(not np.array_equal(old[n], new[n]) for n in old)

        delays = [("training", (i + 0.5) / SPREAD * (last - began)) for i in range(SPREAD)]
        delays += [
            (f"{EPOCHS}/{EPOCHS}", (i + 0.5) / AROUND_SAVE * (done - last))
            for i in range(AROUND_SAVE)
        ]
        outcomes = []
        for i, (mark, delay) in enumerate(delays):
            shutil.copy(old_copy, state / STATE_FILE)
            log = tmp_path / f"kill{i}.log"
            pid = forker.start(argv, log)
            time.sleep(max(0.0, _wait_for(log, mark) + delay - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):  # it may have just finished
                os.kill(pid, signal.SIGKILL)
            while Path(f"/proc/{pid}").exists():  # gone (the fork server reaps it)
                time.sleep(0.001)
            got = _weights(built.path, state)  # a writer's start would also clean its temp file
            is_old = all(np.array_equal(got[n], old[n]) for n in old)
            is_new = all(np.array_equal(got[n], new[n]) for n in new)
            assert is_old or is_new, (mark, delay)
            outcomes.append("new" if is_new else "old")
    finally:
        forker.close()
    assert outcomes.count("old") >= SPREAD // 2  # most kills land before the save
    Learner(built.path, state).close()  # a writer's start removes what killed saves left
    assert not list(state.glob(".*.tmp"))
