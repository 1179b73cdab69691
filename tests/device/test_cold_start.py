"""A device's first prediction in a fresh process: nothing is downloaded, nothing compiled, and
nothing written outside the state folder (the cold-start path bench/cold_start.py times)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.bundle_fixture import BuiltBundle

pytestmark = pytest.mark.slow

CHILD = """
import json, socket, sys
def refused(*args, **kwargs):
    raise OSError("no network at cold start")
socket.socket.connect = refused
socket.create_connection = refused
import numpy as np
import edgekit
learner = edgekit.Learner(sys.argv[2], sys.argv[3])
labels = learner.predict(np.load(sys.argv[1]))
heavy = ("torch._dynamo", "torch._inductor", "executorch.exir", "librosa", "numba")
print(json.dumps({"labels": labels, "loaded": [m for m in heavy if m in sys.modules]}))
"""


def test_the_first_prediction_downloads_compiles_and_writes_nothing_else(
    built: BuiltBundle, tmp_path: Path
) -> None:
    clips = tmp_path / "clips.npy"
    np.save(clips, np.asarray(built.clips.audio[:3], dtype=np.float32))
    home, state = tmp_path / "home", tmp_path / "state"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    env.pop("TORCH_HOME", None)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(clips), str(built.path), str(state)],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(report["labels"]) == 3 and set(report["labels"]) <= set(built.manifest.labels)
    assert report["loaded"] == [], f"the first prediction loaded {report['loaded']}"
    assert list(home.rglob("*")) == [], "the first prediction wrote under HOME"
    written = {p.name for p in tmp_path.iterdir()}
    assert written == {"clips.npy", "home", "state"}, written
