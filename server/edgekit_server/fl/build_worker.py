"""Preloaded by the workspace build's fork server: importing this module pays the export
stack's one-time costs (ExecuTorch's import, XNNPACK's pattern graphs, first-call setup: about
10 s on one core) once, and every build worker forked from the server starts warm.

The server must not start OpenMP threads before it forks (GNU OpenMP is not fork-safe), hence
one torch thread; the workers run single-threaded anyway (one architecture per core).
"""

from __future__ import annotations

import torch

from edgekit._quiet import quiet_dependencies
from edgekit.export.stages import warm_up

quiet_dependencies()  # torch pytree notices while unpickling jobs are noise
torch.set_num_threads(1)
warm_up()
