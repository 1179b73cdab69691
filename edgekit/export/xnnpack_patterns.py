"""Skip XNNPACK's pattern-rewrite passes whose patterns a program cannot contain.

Two of the XNNPACK delegate's preprocessing passes look for decomposed subgraphs to fuse back:
bilinear upsampling and scaled-dot-product attention. Before they can match anything they build
their pattern graphs by exporting and lowering reference modules, about 4 s (upsampling) and 3 s
(attention) of every process that lowers once, whatever the model. Keyword-spotting models have
neither op, so for them both passes search for something that cannot be there.

:func:`skip_absent_patterns` empties those pattern lists while a set of methods is lowered, but
only when none of the methods contains the op a pattern stands for: an upsampling op for the
first, attention or a softmax beside a matrix product (attention written by hand) for the second.
A model with either keeps the passes exactly as XNNPACK ships them. Skipping is exact: a pass
with no pattern rewrites nothing, and the ops it would have fused are absent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from torch.export import ExportedProgram

__all__ = ["skip_absent_patterns"]


def _targets(programs: Mapping[str, ExportedProgram]) -> set[str]:
    """The names of every operator the programs call."""
    return {
        str(node.target)
        for program in programs.values()
        for node in program.graph.nodes
        if node.op == "call_function"
    }


def _has_upsampling(targets: set[str]) -> bool:
    return any("upsample" in t or "interpolate" in t or "grid_sampler" in t for t in targets)


def _has_attention(targets: set[str]) -> bool:
    if any("scaled_dot_product" in t for t in targets):
        return True
    softmax = any("softmax" in t for t in targets)
    product = any(t.split(".")[1:2] in (["bmm"], ["matmul"], ["baddbmm"]) for t in targets)
    return softmax and product


@contextmanager
def skip_absent_patterns(programs: Mapping[str, ExportedProgram]) -> Iterator[None]:
    """While the block lowers ``programs`` (the methods given to the XNNPACK partitioner),
    the upsampling and attention passes get no patterns when the programs hold no such op."""
    from executorch.backends.xnnpack.partition.graphs import bilinear_2d, sdpa

    targets = _targets(programs)
    saved = (bilinear_2d.get_graphs_dict, sdpa.get_graphs)
    if not _has_upsampling(targets):
        bilinear_2d.get_graphs_dict = dict  # no pattern: no rewrite
    if not _has_attention(targets):
        sdpa.get_graphs = list
    try:
        yield
    finally:
        bilinear_2d.get_graphs_dict, sdpa.get_graphs = saved
