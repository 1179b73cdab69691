"""The gradient of ``train_steps``' loss at the logits, from one-hot targets made once a call.

Autograd writes the backward of ``-mean(log_softmax(z).gather(1, labels))`` as, every step:

    t = scatter_add(zeros(B, C), 1, labels[:, None], expand(-1 / B))   # -onehot(labels) / B
    dz = t - exp(log_softmax(z)) * sum(t, dim=1, keepdim=True)

a dozen small ops (``full``, ``full_like``, ``neg``, ``div``, ``expand``, ``scatter_add``,
``sum``) that the runtime runs one by one between XNNPACK's delegates. ``t`` depends only on
the labels, and every row of it sums to exactly ``-1/B`` (one entry ``-1/B``, zeros), so
:func:`targets_as_input` makes ``t`` an input of the step's graph and the row sums the number
``-1/B``: ``dz = t + exp(log_softmax(z)) / B``, the same values. ``train_steps`` computes ``t``
for all its steps at once (:func:`label_targets`) and hands each step its own.
"""

from __future__ import annotations

from typing import Any

import torch

from edgekit.export.joint_rewrites import _calls

__all__ = ["label_targets", "targets_as_input"]

_aten = torch.ops.aten


def _picked_gradient(src: Any) -> float | None:
    """``-1/n`` when ``src`` is ``expand``/``div(·, n)`` (either order) of ``neg(ones)`` (the
    mean's backward of a negated loss whose gradient is 1), else None."""
    divisor = None
    while True:
        if _calls(src, _aten.expand.default):
            src = src.args[0]
        elif _calls(src, _aten.div.Scalar) and divisor is None:
            src, divisor = src.args
        else:
            break
    if divisor is None or not _calls(src, _aten.neg.default):
        return None
    ones = src.args[0]
    if not (_calls(ones, _aten.full_like.default) and ones.args[1] == 1):
        return None
    return -1.0 / float(divisor)


def targets_as_input(graph_module: Any, labels: Any) -> bool:
    """Rewrite, in place, the graph's one-hot gradient of ``labels`` (a placeholder, ``(B,)``
    slots) into a new last placeholder ``targets`` ``(B, C)`` = ``-onehot(labels) / B``, and its
    row sums into ``-1/B``. False (and the graph as it was) where the pattern is not there."""
    graph = graph_module.graph
    for node in list(graph.nodes):
        if not _calls(node, _aten.scatter_add.default):
            continue
        base, dim, index, src = node.args
        if dim != 1 or not (_calls(index, _aten.unsqueeze.default) and index.args[0] is labels):
            continue
        if not (_calls(base, _aten.full.default) and base.args[1] == 0):
            continue
        value = _picked_gradient(src)
        sums = [u for u in node.users if _is_row_sum(u, node)]
        products = [p for s in sums for p in s.users]
        if value is None or not all(_calls(p, _aten.mul.Tensor) for p in products):
            continue
        last = [n for n in graph.nodes if n.op == "placeholder"][-1]
        with graph.inserting_after(last):
            targets = graph.placeholder("targets")
        targets.meta["val"] = node.meta["val"]
        for product in products:  # x * sum(t, 1) -> x * (-1/B)
            other = product.args[1] if product.args[0] in sums else product.args[0]
            with graph.inserting_before(product):
                scaled = graph.call_function(_aten.mul.Tensor, (other, value))
            scaled.meta["val"] = product.meta["val"]
            product.replace_all_uses_with(scaled)
        node.replace_all_uses_with(targets)
        graph.eliminate_dead_code()
        graph_module.recompile()
        return True
    return False


def _is_row_sum(node: Any, of: Any) -> bool:
    """``sum(of, [1], keepdim=True)``."""
    if not _calls(node, _aten.sum.dim_IntList) or node.args[0] is not of:
        return False
    dims, keep = node.args[1], node.args[2] if len(node.args) > 2 else node.kwargs.get("keepdim")
    return list(dims or ()) in ([1], [-1]) and bool(keep) and not node.kwargs.get("dtype")


def label_targets(labels: torch.Tensor, classes: int) -> torch.Tensor:
    """``(..., B)`` slots -> ``(..., B, classes)``: ``-onehot / B``, what
    :func:`targets_as_input`'s placeholder takes. A scatter: the runtime's portable compare and
    bool-to-float kernels cost tens of microseconds here."""
    zeros = torch.zeros(*labels.shape, classes)
    return zeros.scatter(-1, labels.unsqueeze(-1), -1.0 / labels.shape[-1])
