"""XNNPACK's partitioner for inference methods, so that identical subgraphs serialise identically.

A bundle's ``embed`` (front-end and backbone) and ``embed_logmel`` (the backbone alone) each
hold an XNNPACK graph of the same backbone. ExecuTorch stores a delegate's blob once when two
methods' blobs are the same bytes, but these differ in one field per operator: its debug handle,
a number that counts the method's nodes from its first, so the backbone's operators in ``embed``
are numbered after the front-end's. Within one delegate the handles only name its operators in
a profile, so :func:`inference_partitioner` numbers each partition's handles from 1 in the
order XNNPACK sees them: the backbone's blob is then the same in both methods, and the file
holds it once. The values and the runtime's plan are unchanged.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

__all__ = ["inference_partitioner"]

_TAG = "delegation_tag"


def _relative_handles(program: Any) -> None:
    """Renumber the debug handles of each delegation tag's nodes from 1, keeping their order
    and which nodes share one."""
    by_tag: dict[str, list[Any]] = defaultdict(list)
    for node in program.graph_module.graph.nodes:
        if node.meta.get(_TAG) is not None and isinstance(node.meta.get("debug_handle"), int):
            by_tag[node.meta[_TAG]].append(node)
    for nodes in by_tag.values():
        handles = sorted({node.meta["debug_handle"] for node in nodes})
        number = {handle: i + 1 for i, handle in enumerate(handles)}
        for node in nodes:
            node.meta["debug_handle"] = number[node.meta["debug_handle"]]


def inference_partitioner() -> Any:
    """``XnnpackPartitioner`` whose partitions carry debug handles counted from 1."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

    class _Partitioner(XnnpackPartitioner):
        def partition(self, exported_program: Any) -> Any:
            result = super().partition(exported_program)
            _relative_handles(result.tagged_exported_program)
            return result

    return _Partitioner()
