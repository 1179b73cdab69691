"""Export as explicit stages: torch module -> ExportedProgram -> edge (lowered) -> .pte bytes.

Each stage is a small function so that tests and later bundle builders can stop at any of them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import torch
from torch.export import Dim, ExportedProgram

from edgekit._quiet import quiet_loggers
from edgekit.errors import ExportError

__all__ = ["batch_dim", "export_method", "lower", "planned_bytes", "to_pte"]


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


def lower(
    methods: Mapping[str, ExportedProgram],
    xnnpack: bool | Collection[str] = True,
) -> Any:
    """Lower several methods into one ExecuTorch program (an ``ExecutorchProgramManager``).

    ``xnnpack``: True delegates every method to XNNPACK where it can, False none, or a collection
    of method names to delegate. Undelegated ops run on the portable kernels (slow for
    convolutions, fine and exactly measurable for small training graphs).
    """
    quiet_loggers()
    from executorch.exir import EdgeCompileConfig, to_edge_transform_and_lower

    if isinstance(xnnpack, bool):
        delegated = set(methods) if xnnpack else set()
    else:
        delegated = set(xnnpack)
    partitioners: dict[str, list[Any]] = {name: [] for name in methods}
    if delegated:
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

        for name in delegated & set(methods):
            partitioners[name] = [XnnpackPartitioner()]
    try:
        edge = to_edge_transform_and_lower(
            dict(methods),
            partitioner=partitioners,
            compile_config=EdgeCompileConfig(_check_ir_validity=False),
        )
        return edge.to_executorch()
    except Exception as exc:
        raise ExportError(f"lowering to ExecuTorch failed: {exc}") from exc


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
