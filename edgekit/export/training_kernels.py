"""What runs a plan's training methods (``TrainingPlan.kernels``), and a delegate's memory.

- ``portable`` (the default): ExecuTorch's portable and optimised kernels. Every byte the method
  uses lies in its planned arena, which the plan reads from the program.
- ``xnnpack``: the joint graph, rewritten so that XNNPACK can run its backward
  (:mod:`edgekit.export.joint_rewrites`), is delegated by :func:`training_partitioner`, which
  keeps float32 linear weights as inputs of the delegate
  (``force_non_static_weights_for_f32_linear``). By default XNNPACK packs every weight as a
  constant, which for a trainable weight drops its parameter output, so the optimizer would
  update nothing.

  XNNPACK holds its intermediate values and packed constants in its own memory, outside the
  arena. :func:`delegate_workspace` measures that memory by loading the program and running the
  method (the heap's growth beyond the arena), so that plans count it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.export import ExportedProgram

from edgekit.errors import ExportError

__all__ = ["delegate_workspace", "training_partitioner"]

_aten = torch.ops.aten


def training_partitioner() -> Any:
    """XNNPACK's partitioner for a joint graph: trainable linear weights stay inputs, and a
    matrix product with a dimension of 1 other than its first operand's rows stays on the
    portable kernels. XNNPACK's shape propagation refuses an inner or output width of 1 at run
    time (a plan training one row of a layer has such products), and a product with one
    output row (a sum as ``ones @ g``) runs faster on the runtime's own matmul than through
    XNNPACK, which packs ``g`` as weights at every call."""
    from executorch.backends.xnnpack.partition.config import ALL_PARTITIONER_CONFIGS
    from executorch.backends.xnnpack.partition.config.gemm_configs import (
        AddmmConfig,
        LinearConfig,
        MMConfig,
    )
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

    def without_unit_dims(config: Any) -> Any:
        def check_constraints(self: Any, node: Any, program: ExportedProgram) -> bool:
            first = node.args[1] if node.target == _aten.addmm.default else node.args[0]
            for each in (node, *node.all_input_nodes):
                value = each.meta.get("val")
                if not isinstance(value, torch.Tensor):
                    continue
                shape = tuple(value.shape)
                if (shape[1:] if each is first else shape).count(1):
                    return False
            return bool(config.check_constraints(self, node, program))

        return type(
            f"Training{config.__name__}", (config,), {"check_constraints": check_constraints}
        )

    gemms = (AddmmConfig, LinearConfig, MMConfig)
    configs = [without_unit_dims(c) if c in gemms else c for c in ALL_PARTITIONER_CONFIGS]
    return XnnpackPartitioner(configs=configs, force_non_static_weights_for_f32_linear=True)


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


@functools.cache
def _mallinfo2() -> Any:
    """glibc's ``mallinfo2`` (2.33 and later), or None where the C library has none."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        function = libc.mallinfo2
    except (OSError, AttributeError, TypeError):
        return None
    function.restype = _MallInfo2
    return function


def _heap_bytes() -> int:
    """Bytes the C heap has handed out (small blocks plus mmap'd large ones)."""
    function = _mallinfo2()
    if function is None:
        raise ExportError(
            "measuring an XNNPACK-delegated training method needs glibc's mallinfo2, which this "
            "platform lacks: export with the portable training kernels"
        )
    info = function()
    return int(info.uordblks + info.hblkhd)


def delegate_workspace(
    pte: bytes, methods: Mapping[str, tuple[Sequence[torch.Tensor], int]]
) -> dict[str, int]:
    """The bytes each delegated training method holds beyond its planned arena, for ``methods``
    = ``{name: (inputs, arena)}``: the C heap's growth while a fresh process loads the method
    and runs it once, less the arena. The processes run side by side.

    A fresh process, because XNNPACK may share one workspace among the delegates a process has
    loaded: measured after others, a method would look smaller than it is alone. The growth also
    holds the runtime's own bookkeeping and XNNPACK's first-use setup (tens of KB), so the figure
    errs high.
    """
    _heap_bytes()  # refuse early where the heap cannot be measured
    with tempfile.TemporaryDirectory(prefix="edgekit-delegate-") as folder:
        root = Path(folder)
        (root / "program.pte").write_bytes(pte)
        running = {}
        for name, (inputs, _) in methods.items():
            torch.save(list(inputs), root / f"{name}.pt")
            command = [sys.executable, "-m", __name__, folder, name]
            running[name] = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        finished = {name: process.communicate() for name, process in running.items()}
    grown = {}
    for name, (out, err) in finished.items():
        if running[name].returncode != 0:
            raise ExportError(f"measuring {name}'s delegate memory failed: {err[-2000:]}")
        grown[name] = max(0, int(out.strip().splitlines()[-1]) - methods[name][1])
    return grown


def _measure(folder: Path, method: str) -> int:
    """The heap's growth while ``method`` of ``folder``'s program loads and runs once."""
    from edgekit.runtime import Program, native_calls

    program = Program((folder / "program.pte").read_bytes())
    inputs = tuple(torch.load(folder / f"{method}.pt"))
    gc.collect()
    before = _heap_bytes()
    with native_calls():  # the first call loads the method, then runs it
        outputs = program.module.run_method(method, inputs, clone_outputs=False)
    grown = _heap_bytes() - before
    del outputs
    return grown


if __name__ == "__main__":
    print(_measure(Path(sys.argv[1]), sys.argv[2]))
