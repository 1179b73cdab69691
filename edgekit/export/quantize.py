"""An int8 frozen backbone: static PT2E quantisation for XNNPACK of everything below the cut.

Only the frozen ``logmel -> parts`` computation is quantised; the log-mel front-end stays
float32 (its STFT and mel matmul match librosa, and a dB input over a wide range would lose most of
its resolution on an int8 grid), and so does everything above the cut: the training methods and
``classify`` see float32 features, as from a float32 bundle.

Steps: ``torch.export`` the features module with the dynamic batch -> rewrite the BatchNorms that
follow no convolution into a per-channel multiply-add kept in float32 -> ``prepare_pt2e`` with
XNNPACK's symmetric quantizer (int8 activations per tensor, int8 weights per output channel; it
folds every convolution's BatchNorm into the convolution) -> calibrate on the D0 clips' log-mels ->
``convert_pt2e``. The result is a module whose quantize/dequantize pairs XNNPACK turns into int8
kernels when the bundle's ``embed`` and ``embed_logmel`` are lowered.

The BatchNorm rewrite: every architecture normalises its dB input with a BatchNorm before the first
convolution. ``prepare_pt2e`` cannot fold it (no convolution before it), and one BatchNorm left in
the graph makes ``convert_pt2e`` export dozens of quantization-aware-training patterns (one
``torch.export`` each) to search for what a post-training-quantised graph cannot contain.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Iterator
from typing import Any, TypeVar

import numpy as np
import torch
from torch import fx, nn
from torch.export import ExportedProgram

from edgekit._quiet import quiet_loggers
from edgekit.errors import ExportError
from edgekit.export.stages import batch_dim, export_method
from edgekit.models import KwsModel

__all__ = [
    "SCHEME",
    "QuantizedEmbed",
    "calibration_key",
    "check_delegated",
    "count_delegated",
    "int8_embeds",
    "quantize_features",
]

# What is quantised and how: part of every int8 bundle's backbone hash.
SCHEME = "pt2e-xnnpack-int8:static,act=per-tensor,weight=per-channel,frontend=fp32"
_FP32 = "edgekit_keep_fp32"  # node meta flag: the quantizer leaves the node in float32
_BATCH_NORMS = (
    torch.ops.aten.batch_norm.default,
    torch.ops.aten._native_batch_norm_legit_no_training.default,
)
_CONVS = (torch.ops.aten.conv1d.default, torch.ops.aten.conv2d.default)
_Rows = TypeVar("_Rows", np.ndarray, torch.Tensor)


def calibration_key(pcm: np.ndarray) -> str:
    """sha256 of the scheme and the calibration clips: with the float32 weights and the cut,
    what an int8 backbone's features depend on."""
    digest = hashlib.sha256(SCHEME.encode())
    clips = np.ascontiguousarray(pcm, dtype=np.float32)
    digest.update(repr(clips.shape).encode())
    digest.update(clips.tobytes())
    return digest.hexdigest()


def _constant(gm: fx.GraphModule, node: Any) -> torch.Tensor | None:
    """The tensor a ``get_attr`` node reads (None for a missing optional argument)."""
    if node is None:
        return None
    if not isinstance(node, fx.Node) or node.op != "get_attr":
        raise ExportError(f"a BatchNorm argument is not a constant of the graph: {node}")
    return operator.attrgetter(str(node.target))(gm).detach()


def _standalone_batchnorms_to_affine(gm: fx.GraphModule) -> int:
    """Rewrite each BatchNorm whose input is no convolution into ``x * scale + shift`` (per
    channel, float32, flagged so that the quantizer leaves it alone); returns how many."""
    rewritten = 0
    for bn in list(gm.graph.nodes):
        if bn.op != "call_function" or bn.target not in _BATCH_NORMS:
            continue
        x = bn.args[0]
        if isinstance(x, fx.Node) and x.target in _CONVS:
            continue  # prepare_pt2e folds it into the convolution
        if bn.target != torch.ops.aten.batch_norm.default or bn.args[5]:
            raise ExportError(f"unexpected BatchNorm in the frozen graph: {bn.format_node()}")
        weight, bias, mean, var = (_constant(gm, a) for a in bn.args[1:5])
        if mean is None or var is None:
            raise ExportError("a frozen BatchNorm has no running statistics")
        scale = torch.rsqrt(var + float(bn.args[7]))
        scale = scale * weight if weight is not None else scale
        shift = -mean * scale + (bias if bias is not None else 0.0)
        ones = (1,) * (x.meta["val"].dim() - 2)  # channels are dim 1: broadcast over the rest
        nodes = []
        with gm.graph.inserting_before(bn):
            for role, value in (("scale", scale), ("shift", shift)):
                name = f"_edgekit_affine{rewritten}_{role}"
                gm.register_buffer(name, value.reshape(-1, *ones).contiguous())
                nodes.append(gm.graph.get_attr(name))
            mul = gm.graph.call_function(torch.ops.aten.mul.Tensor, (x, nodes[0]))
            add = gm.graph.call_function(torch.ops.aten.add.Tensor, (mul, nodes[1]))
        for node in (mul, add):
            node.meta = {**bn.meta, _FP32: True}
        bn.replace_all_uses_with(add)
        gm.graph.erase_node(bn)
        rewritten += 1
    gm.graph.eliminate_dead_code()
    gm.recompile()
    return rewritten


def _batches(array: _Rows, size: int) -> Iterator[_Rows]:
    """``array`` in consecutive row blocks of at most ``size``."""
    for start in range(0, len(array), size):
        yield array[start : start + size]


def quantize_features(
    features: nn.Module, calibration: torch.Tensor, max_batch: int
) -> fx.GraphModule:
    """``features`` (``logmel -> parts``, frozen) quantised to int8, calibrated on the log-mels
    ``calibration`` ``(n, n_mels, frames)``; it takes a batch of 1..``max_batch`` like the
    bundle's methods and returns float32 parts."""
    quiet_loggers()
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from torchao.quantization.pt2e import allow_exported_model_train_eval
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    if len(calibration) == 0:
        raise ExportError("int8 export needs calibration clips (D0 is empty)")
    example = (torch.zeros(2, *calibration.shape[1:]),)
    try:
        graph = torch.export.export(
            features.eval(), example, dynamic_shapes=({0: batch_dim(max_batch)},)
        ).module()
    except Exception as exc:  # torch raises many unrelated types here
        raise ExportError(f"torch.export of the features for int8 failed: {exc}") from exc
    _standalone_batchnorms_to_affine(graph)
    config = get_symmetric_quantization_config(is_per_channel=True)
    quantizer = XNNPACKQuantizer().set_global(config)
    quantizer.set_filter_function(lambda node: not node.meta.get(_FP32, False))
    prepared = prepare_pt2e(graph, quantizer)
    with torch.no_grad():
        for batch in _batches(calibration, max_batch):
            prepared(batch)
    converted = convert_pt2e(prepared)
    # export_method puts its module in eval mode, which a graph from torch.export refuses unless
    # allowed; the graph has no mode-dependent op left (its BatchNorms are folded or rewritten)
    allow_exported_model_train_eval(converted)
    return converted


class QuantizedEmbed(nn.Module):
    """``pcm -> parts`` (with ``frontend``) or ``logmel -> parts`` (without) over int8 features."""

    def __init__(self, features: fx.GraphModule, frontend: nn.Module | None = None) -> None:
        super().__init__()
        self.features = features
        self.frontend = frontend

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        logmel = self.frontend(x) if self.frontend is not None else x
        return tuple(self.features(logmel))


def int8_embeds(
    model: KwsModel, features: nn.Module, calibration: np.ndarray, max_batch: int
) -> dict[str, ExportedProgram]:
    """The bundle's ``embed`` and ``embed_logmel`` over one int8 quantisation of ``features``
    (``logmel -> parts``, the part of ``model`` below the cut), calibrated on the log-mels of the
    clips ``calibration`` ``(n, samples)``; not yet lowered."""
    with torch.no_grad():
        logmel = torch.cat(
            [model.frontend(torch.from_numpy(batch)) for batch in _batches(calibration, max_batch)]
        )
    quantized = quantize_features(features, logmel, max_batch)
    fe = model.frontend.config
    return {
        "embed": export_method(
            QuantizedEmbed(quantized, model.frontend), (torch.zeros(2, fe.clip_samples),), max_batch
        ),
        "embed_logmel": export_method(
            QuantizedEmbed(quantized), (torch.zeros(2, fe.n_mels, fe.n_frames),), max_batch
        ),
    }


def count_delegated(edge: Any, method: str) -> tuple[int, int, int]:
    """``(delegated, not delegated, quantize/dequantize not delegated)`` operator counts of one
    lowered method: an int8 method whose last count is not 0 runs some int8 step outside XNNPACK."""
    from executorch.devtools.backend_debug import get_delegation_info

    module = edge.exported_program(method).graph_module
    info = get_delegation_info(module)
    stray = sum(
        1
        for node in module.graph.nodes
        if node.op == "call_function" and "quantized_decomposed" in str(node.target)
    )
    return info.num_delegated_nodes, info.num_non_delegated_nodes, stray


def check_delegated(edge: Any, methods: tuple[str, ...] = ("embed", "embed_logmel")) -> None:
    """ExportError unless every quantize/dequantize op of ``methods`` sits inside an XNNPACK
    delegate: one outside means an int8 step would run on the slow reference kernels."""
    for method in methods:
        _, _, stray = count_delegated(edge, method)
        if stray:
            raise ExportError(f"{method}: {stray} int8 quantize/dequantize ops were not lowered")
