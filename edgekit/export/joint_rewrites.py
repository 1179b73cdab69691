"""Rewrites of a joint (forward + backward) graph that keep its values, for the training methods
that XNNPACK runs (:mod:`edgekit.export.training_kernels`), on the ATen graph before lowering.

:func:`mask_relu_backward` puts ReLU's backward in ops XNNPACK has: ``where(le(y, 0), 0, g)``
over the ReLU's output ``y`` becomes ``g * ceil(clamp(y, 0, 1))`` (XNNPACK has no comparison or
select). For ``y >= 0`` both are the same function: ``ceil(clamp(y, 0, 1))`` is 1 where ``y > 0``
and 0 where ``y == 0``. Only a NaN or an infinite gradient differs, and a step with one of those
is never applied.

:func:`simplify_joint` drops copies; each rewrite leaves every graph output's value as it was:

- **aliases**: the joint graph wraps the values it keeps for backward in ``aten.alias``, which
  ExecuTorch turns into ``alias_copy``, a full copy of each (a ReLU's output over every position
  of a deeper cut). The graph is functional, so a use of ``alias(x)`` can read ``x`` itself;
- **identity views**: ``view(x, shape)`` where ``x`` has that shape already (the joint graph
  has several around every matrix product), which XNNPACK would run as a reshape, a copy;
- **a mean's backward**: ``div(expand(g), n)`` divides the expanded gradient, every position;
  ``expand(div(g, n))`` divides ``g`` once, then expands it;
- **broadcasts**: ``mul(expand(g), m)`` with ``m`` already of the expanded shape is
  ``mul(g, m)``, which broadcasts without copying (XNNPACK's multiply broadcasts; the runtime's
  ``expand_copy`` would materialise every position);
- **reductions as products**: a sum over the batch and positions (a bias's gradient) and a mean
  over positions (the pooling before the head) become products with a vector of ones, which run
  at matmul speed where the reductions ran elementwise;
- **biases inside products**: ``add(mm(x, w), b)`` is ``addmm(b, x, w)``, which XNNPACK runs as
  one fully connected operator with its bias instead of two operators (XNNPACK prepares every
  operator at every call, so on a small head the count is the cost).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.export import ExportedProgram

__all__ = ["mask_relu_backward", "simplify_joint"]

_aten = torch.ops.aten


def _calls(node: Any, target: Any) -> bool:
    return getattr(node, "op", None) == "call_function" and node.target == target


def _nodes(graph: Any, target: Any) -> list[Any]:
    """The graph's calls of ``target``, listed first (rewrites insert nodes as they go)."""
    return [node for node in graph.nodes if _calls(node, target)]


def _shape(node: Any) -> tuple[int, ...] | None:
    value = getattr(node, "meta", {}).get("val")
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


def _through_aliases(node: Any) -> Any:
    while _calls(node, _aten.alias.default):
        node = node.args[0]
    return node


def _is_zero(arg: Any) -> bool:
    if isinstance(arg, int | float):
        return arg == 0
    return _calls(arg, _aten.scalar_tensor.default) and arg.args[0] == 0


def mask_relu_backward(program: ExportedProgram) -> int:
    """Rewrite, in place, every ReLU backward ``where(le(y, 0), 0, g)`` of a joint graph (``y``
    a ReLU's output, through aliases) as ``g * ceil(clamp(y, 0, 1))``; the number rewritten."""
    graph = program.graph_module.graph
    rewritten = 0
    for node in _nodes(graph, _aten.where.self):
        cond, zero, grad = node.args
        if not (_calls(cond, _aten.le.Scalar) and cond.args[1] == 0 and _is_zero(zero)):
            continue
        if not _calls(_through_aliases(cond.args[0]), _aten.relu.default):
            continue
        y = cond.args[0]
        with graph.inserting_before(node):
            clamped = graph.call_function(_aten.clamp.default, (y, 0.0, 1.0))
            mask = graph.call_function(_aten.ceil.default, (clamped,))
            product = graph.call_function(_aten.mul.Tensor, (grad, mask))
        clamped.meta["val"] = _aten.clamp.default(y.meta["val"], 0.0, 1.0)
        mask.meta["val"] = _aten.ceil.default(clamped.meta["val"])
        product.meta["val"] = _aten.mul.Tensor(grad.meta["val"], mask.meta["val"])
        for new in (clamped, mask, product):
            new.meta["stack_trace"] = node.meta.get("stack_trace")
        node.replace_all_uses_with(product)
        rewritten += 1
    graph.eliminate_dead_code()
    program.graph_module.recompile()
    return rewritten


def _bypass(nodes: Any) -> int:
    """Uses of each node (a no-op on its first argument) read that argument, except a graph
    output's (outputs stay distinct); how many nodes lost a use."""
    done = 0
    for node in nodes:
        users = [u for u in node.users if u.op != "output"]
        for user in users:
            user.replace_input_with(node, node.args[0])
        done += bool(users)
    return done


def _drop_aliases(graph: Any) -> int:
    """Uses of ``alias(x)`` read ``x``."""
    return _bypass(_nodes(graph, _aten.alias.default))


def _drop_identity_views(graph: Any) -> int:
    """Uses of ``view(x, shape)`` with ``shape`` already ``x``'s read ``x`` (XNNPACK runs every
    view it is given as a reshape: a copy per call)."""
    views = _nodes(graph, _aten.view.default)
    return _bypass(v for v in views if _shape(v) is not None and _shape(v) == _shape(v.args[0]))


def _divide_before_expanding(graph: Any) -> int:
    """``div(expand(g, size), n)`` -> ``expand(div(g, n), size)``, ``n`` a number."""
    done = 0
    for node in _nodes(graph, _aten.div.Scalar):
        expand, divisor = node.args
        if not _calls(expand, _aten.expand.default) or len(expand.users) != 1:
            continue
        source, size = expand.args[0], expand.args[1]
        with graph.inserting_before(node):
            divided = graph.call_function(_aten.div.Scalar, (source, divisor))
            expanded = graph.call_function(_aten.expand.default, (divided, size))
        divided.meta["val"] = _aten.div.Scalar(source.meta["val"], divisor)
        expanded.meta["val"] = _aten.expand.default(divided.meta["val"], size)
        node.replace_all_uses_with(expanded)
        done += 1
    return done


def _broadcast_instead_of_expanding(graph: Any) -> int:
    """``mul(expand(g), m)`` -> ``mul(g, m)`` where ``m`` has the expanded shape and ``g`` its
    rank (so the product's shape is unchanged)."""
    done = 0
    for node in _nodes(graph, _aten.mul.Tensor):
        for i, other in ((0, 1), (1, 0)):
            expand, full = node.args[i], node.args[other]
            if not _calls(expand, _aten.expand.default):
                continue
            source = expand.args[0]
            shape, source_shape = _shape(full), _shape(source)
            if shape is None or source_shape is None:
                continue
            if shape != _shape(node) or len(source_shape) != len(shape):
                continue
            node.replace_input_with(expand, source)
            done += 1
            break
    return done


_ROWS = 256  # fewer rows than this: a reduction is cheap as it is


def _view(graph: Any, node: Any, shape: list[int]) -> Any:
    view = graph.call_function(_aten.view.default, (node, shape))
    view.meta["val"] = _aten.view.default(node.meta["val"], shape)
    return view


def _full(graph: Any, shape: list[int], value: float, like: Any) -> Any:
    """A float32 tensor of ``shape`` filled with ``value``, made in the graph; its metadata is
    a fake tensor of ``like``'s fake mode (no real memory at export)."""
    kwargs = {"dtype": torch.float32, "device": torch.device("cpu")}
    full = graph.call_function(_aten.full.default, (shape, value), kwargs)
    with like.meta["val"].fake_mode:
        full.meta["val"] = _aten.full.default(shape, value, **kwargs)
    return full


def _mm(graph: Any, a: Any, b: Any, target: Any = _aten.mm.default) -> Any:
    product = graph.call_function(target, (a, b))
    product.meta["val"] = target(a.meta["val"], b.meta["val"])
    return product


def _sums_as_products(graph: Any) -> int:
    """A sum over every leading dimension of ``g (..., c)`` (a bias's gradient over the batch
    and positions) -> ``ones(1, n) @ g.view(n, c)``; a mean over the positions of
    ``x (b, p, c)`` -> ``full(b, 1, p; 1/p) @ x`` (batched). Matrix products run at the speed of
    the runtime's matmul, the reductions elementwise."""
    done = 0
    for node in list(graph.nodes):
        shape, out = _shape(node.args[0]) if node.args else None, _shape(node)
        if shape is None or out is None or node.kwargs.get("dtype") is not None:
            continue
        if _calls(node, _aten.sum.dim_IntList):
            dims = sorted(d % len(shape) for d in node.args[1] or range(len(shape)))
            rows = 1
            for size in shape[:-1]:
                rows *= size
            if len(shape) < 2 or dims != list(range(len(shape) - 1)) or rows < _ROWS:
                continue
            with graph.inserting_before(node):
                flat = _view(graph, node.args[0], [rows, shape[-1]])
                total = _mm(graph, _full(graph, [1, rows], 1.0, node), flat)
                result = _view(graph, total, list(out))
        elif _calls(node, _aten.mean.dim):
            dims = [d % len(shape) for d in node.args[1] or ()]
            keep = len(node.args) > 2 and node.args[2]
            if len(shape) != 3 or dims != [1] or keep or shape[0] * shape[1] < _ROWS:
                continue
            batch, positions, _ = shape
            with graph.inserting_before(node):
                weights = _full(graph, [batch, 1, positions], 1.0 / positions, node)
                pooled = _mm(graph, weights, node.args[0], _aten.bmm.default)
                result = _view(graph, pooled, list(out))
        else:
            continue
        node.replace_all_uses_with(result)
        done += 1
    return done


def _bias_into_products(graph: Any) -> int:
    """``add(mm(x, w), b)`` -> ``addmm(b, x, w)`` for a 1-D ``b`` of ``w``'s columns: one
    fully connected operator with its bias where XNNPACK would run two."""
    done = 0
    for node in _nodes(graph, _aten.add.Tensor):
        for i in (0, 1):
            product, bias = node.args[i], node.args[1 - i]
            if not _calls(product, _aten.mm.default) or len(product.users) != 1:
                continue
            shape, out = _shape(bias), _shape(product)
            if shape is None or out is None or len(out) != 2 or shape != (out[1],):
                continue
            with graph.inserting_before(node):
                fused = graph.call_function(_aten.addmm.default, (bias, *product.args))
            fused.meta["val"] = node.meta["val"]
            node.replace_all_uses_with(fused)
            done += 1
            break
    return done


def simplify_joint(program: ExportedProgram) -> dict[str, int]:
    """Apply the rewrites in place; how many of each were made."""
    graph = program.graph_module.graph
    made = {
        "aliases": _drop_aliases(graph),
        "divide_before_expanding": _divide_before_expanding(graph),
        "broadcasts": _broadcast_instead_of_expanding(graph),
        "reductions": _sums_as_products(graph),
        "biases": _bias_into_products(graph),
        "identity_views": _drop_identity_views(graph),  # last: the others make views too
    }
    graph.eliminate_dead_code()
    program.graph_module.recompile()
    return made
