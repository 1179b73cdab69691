"""Export as explicit stages: torch module -> ExportedProgram -> edge (lowered) -> .pte bytes.

Each stage is a small function so that tests and later bundle builders can stop at any of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch.export import Dim, ExportedProgram

from edgekit.errors import ExportError

__all__ = ["export_method", "to_pte"]


def export_method(
    module: torch.nn.Module,
    example_inputs: Sequence[torch.Tensor],
    max_batch: int | None = None,
) -> ExportedProgram:
    """``torch.export`` one method. ``max_batch`` makes dim 0 of every input dynamic in [1, max]."""
    module = module.eval()
    dynamic_shapes = None
    if max_batch is not None:
        if max_batch < 2:
            raise ExportError(f"max_batch must be >= 2 for a dynamic batch, got {max_batch}")
        batch = Dim("batch", min=1, max=max_batch)
        dynamic_shapes = tuple({0: batch} for _ in example_inputs)
    try:
        return torch.export.export(module, tuple(example_inputs), dynamic_shapes=dynamic_shapes)
    except Exception as exc:  # torch raises many unrelated types here
        raise ExportError(f"torch.export failed for {type(module).__name__}: {exc}") from exc


def to_pte(
    methods: Mapping[str, ExportedProgram],
    xnnpack: bool = True,
) -> bytes:
    """Lower several methods into one ExecuTorch program and serialise it.

    With ``xnnpack`` the XNNPACK partitioner delegates what it supports; everything else runs on
    the portable kernels (which are slow for convolutions: see docs/stack notes).
    """
    from executorch.exir import EdgeCompileConfig, to_edge_transform_and_lower

    partitioners = []
    if xnnpack:
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

        partitioners.append(XnnpackPartitioner())
    try:
        edge = to_edge_transform_and_lower(
            dict(methods),
            partitioner=partitioners,
            compile_config=EdgeCompileConfig(_check_ir_validity=False),
        )
        return bytes(edge.to_executorch().buffer)
    except Exception as exc:
        raise ExportError(f"lowering to ExecuTorch failed: {exc}") from exc
