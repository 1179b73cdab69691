"""The device side loads ExecuTorch's runtime without its compiler, and the compiler still loads
afterwards in the same process."""

from __future__ import annotations

import subprocess
import sys

from tests.bundle_fixture import BuiltBundle

SCRIPT = """
import sys
import numpy as np
from edgekit.device import Learner
learner = Learner(sys.argv[1])
learner.personalize(np.zeros((2, 16000), np.float32), [learner.labels[0]] * 2, epochs=1)
print(sorted(m for m in sys.modules if m.startswith("executorch.exir")))
from executorch.exir import to_edge_transform_and_lower
from executorch.exir._warnings import ExperimentalWarning
print(callable(to_edge_transform_and_lower), ExperimentalWarning.__name__)
"""


def test_a_learner_trains_without_importing_the_compiler(built: BuiltBundle) -> None:
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(built.path)], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    loaded, after = run.stdout.strip().splitlines()[-2:]
    assert loaded == "[]"  # runtime and training extension loaded; no module of the compiler
    assert after == "True ExperimentalWarning"
