"""Export as explicit stages: torch module -> ExportedProgram -> edge (lowered) -> .pte bytes.

Each stage is a small function so that tests and later bundle builders can stop at any of them.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from typing import Any

import torch
from torch.export import Dim, ExportedProgram

from edgekit._quiet import quiet_loggers
from edgekit.errors import ConfigError, ExportError

__all__ = [
    "LoweredCache",
    "assemble",
    "batch_dim",
    "export_method",
    "lower",
    "lower_edge",
    "planned_bytes",
    "to_pte",
    "warm_up",
]


def batch_dim(max_batch: int) -> Dim:
    """A dynamic batch dimension in [1, max_batch]."""
    if max_batch < 2:
        raise ExportError(f"max_batch must be >= 2 for a dynamic batch, got {max_batch}")
    return Dim("batch", min=1, max=max_batch)


def export_method(
    module: torch.nn.Module,
    example_inputs: Sequence[torch.Tensor],
    max_batch: int | None = None,
    dynamic_shapes: Any = None,
) -> ExportedProgram:
    """``torch.export`` one method.

    ``max_batch`` makes dim 0 of every input dynamic in [1, max_batch]; ``dynamic_shapes`` (in
    ``torch.export``'s form) is for methods where only some inputs carry the batch.
    """
    module = module.eval()
    if max_batch is not None and dynamic_shapes is None:
        batch = batch_dim(max_batch)
        dynamic_shapes = tuple({0: batch} for _ in example_inputs)
    try:
        return torch.export.export(module, tuple(example_inputs), dynamic_shapes=dynamic_shapes)
    except Exception as exc:  # torch raises many unrelated types here
        raise ExportError(f"torch.export failed for {type(module).__name__}: {exc}") from exc


def _compile_config() -> Any:
    from executorch.exir import EdgeCompileConfig

    return EdgeCompileConfig(_check_ir_validity=False)


def lower_edge(
    methods: Mapping[str, ExportedProgram],
    xnnpack: bool | Collection[str] = True,
    joint: bool = False,
) -> Any:
    """Lower several methods to the edge dialect (an ``EdgeProgramManager``), delegating where
    asked: the expensive stage, whose result :func:`assemble` can combine with others.

    ``xnnpack``: True delegates every method to XNNPACK where it can, False none, or a collection
    of method names to delegate. Undelegated ops run on the portable kernels (slow for
    convolutions, fine and exactly measurable for small training graphs). ``joint``: the
    methods are joint training graphs, whose trainable weights must stay inputs of a delegate
    (:func:`edgekit.export.training_kernels.training_partitioner`).
    """
    quiet_loggers()
    from executorch.exir import to_edge_transform_and_lower

    if isinstance(xnnpack, bool):
        delegated = set(methods) if xnnpack else set()
    else:
        delegated = set(xnnpack)
    partitioners: dict[str, list[Any]] = {name: [] for name in methods}
    if delegated:
        from edgekit.export.shared_delegates import inference_partitioner
        from edgekit.export.training_kernels import training_partitioner

        for name in delegated & set(methods):
            partitioners[name] = [training_partitioner() if joint else inference_partitioner()]
    from edgekit.export.xnnpack_patterns import skip_absent_patterns

    try:
        with skip_absent_patterns({n: p for n, p in methods.items() if partitioners[n]}):
            return to_edge_transform_and_lower(
                dict(methods), partitioner=partitioners, compile_config=_compile_config()
            )
    except Exception as exc:
        raise ExportError(f"lowering to ExecuTorch failed: {exc}") from exc


def assemble(*edges: Any) -> Any:
    """One ExecuTorch program (``ExecutorchProgramManager``) from edge managers' methods.

    Memory is planned per method, so a method's arena is the same whichever program holds it.
    The edge programs are copied first: lowering to ExecuTorch rewrites graphs in place, and a
    cached edge program must stay reusable.
    """
    from executorch.exir.program._program import EdgeProgramManager

    programs = {
        name: copy.deepcopy(edge.exported_program(name)) for edge in edges for name in edge.methods
    }
    try:
        # EdgeProgramManager is ExecuTorch's own container of edge methods (what to_edge
        # returns); building one from already-lowered methods is how they are combined.
        return EdgeProgramManager(programs, compile_config=_compile_config()).to_executorch()
    except Exception as exc:
        raise ExportError(f"lowering to ExecuTorch failed: {exc}") from exc


def lower(
    methods: Mapping[str, ExportedProgram],
    xnnpack: bool | Collection[str] = True,
) -> Any:
    """Lower several methods into one ExecuTorch program (an ``ExecutorchProgramManager``)."""
    return assemble(lower_edge(methods, xnnpack))


class LoweredCache:
    """Edge-lowered method groups by key, so that what was lowered once is not lowered again.

    The planner lowers every plan's training methods to measure them; exporting that plan's
    bundle reuses them (and a bench that exports many plans of one model reuses the front-end
    and backbone methods of each cut). Keys must capture everything the methods depend on.
    """

    def __init__(self, max_entries: int = 64) -> None:
        if max_entries < 1:
            raise ConfigError(f"max_entries must be >= 1, got {max_entries}")
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(
        self,
        key: Hashable,
        build: Callable[[], Mapping[str, ExportedProgram]],
        xnnpack: bool | Collection[str] = False,
        joint: bool = False,
    ) -> Any:
        """The edge manager for ``key``, built (exported and lowered) on first use."""
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        edge = lower_edge(build(), xnnpack, joint)
        self._entries[key] = edge
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return edge


def planned_bytes(program: Any) -> dict[str, int]:
    """Bytes of each method's planned memory arena(s), read from the serialised program."""
    return {
        plan.name: int(sum(plan.non_const_buffer_sizes))
        for plan in program.executorch_program.execution_plan
    }


def to_pte(
    methods: Mapping[str, ExportedProgram],
    xnnpack: bool | Collection[str] = True,
) -> bytes:
    """Lower several methods into one ExecuTorch program and serialise it."""
    return bytes(lower(methods, xnnpack).buffer)


def warm_up() -> None:
    """Pay the lowering stack's one-time costs in this process (importing ExecuTorch, XNNPACK's
    pattern graphs, first-call setup: about 10 s on one core) on a one-convolution model, e.g. in
    a worker process while the inputs of its real exports are still being made."""
    module = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8, 2)
    )
    lower_edge({"forward": export_method(module, (torch.zeros(2, 1, 4, 4),), 4)}, xnnpack=True)
