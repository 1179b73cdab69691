"""XNNPACK's upsampling and attention pattern passes are skipped only where they cannot match."""

from __future__ import annotations

import torch
from executorch.backends.xnnpack.partition.graphs import bilinear_2d, sdpa

from edgekit.export.xnnpack_patterns import skip_absent_patterns


class _Conv(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv1d(2, 3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x)).mean(dim=-1)


class _Upsample(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear")


class _Attention(torch.nn.Module):
    def forward(self, q: torch.Tensor) -> torch.Tensor:
        return torch.softmax(q @ q.transpose(-1, -2), dim=-1) @ q  # written by hand


def _exported(module: torch.nn.Module, *args: torch.Tensor) -> torch.export.ExportedProgram:
    return torch.export.export(module, args)


def test_a_convolutional_program_skips_both_passes_and_they_come_back() -> None:
    originals = (bilinear_2d.get_graphs_dict, sdpa.get_graphs)
    with skip_absent_patterns({"embed": _exported(_Conv(), torch.zeros(1, 2, 8))}):
        assert bilinear_2d.get_graphs_dict() == {} and sdpa.get_graphs() == []
    assert (bilinear_2d.get_graphs_dict, sdpa.get_graphs) == originals


def test_upsampling_or_attention_keeps_its_pass() -> None:
    originals = (bilinear_2d.get_graphs_dict, sdpa.get_graphs)
    up = _exported(_Upsample(), torch.zeros(1, 1, 4, 4))
    with skip_absent_patterns({"a": up, "b": _exported(_Conv(), torch.zeros(1, 2, 8))}):
        assert bilinear_2d.get_graphs_dict is originals[0]  # one method with it keeps it
        assert sdpa.get_graphs() == []
    with skip_absent_patterns({"attend": _exported(_Attention(), torch.zeros(1, 4, 8))}):
        assert sdpa.get_graphs is originals[1]
        assert bilinear_2d.get_graphs_dict() == {}
    assert (bilinear_2d.get_graphs_dict, sdpa.get_graphs) == originals


def test_the_passes_come_back_when_lowering_fails() -> None:
    originals = (bilinear_2d.get_graphs_dict, sdpa.get_graphs)
    try:
        with skip_absent_patterns({"embed": _exported(_Conv(), torch.zeros(1, 2, 8))}):
            raise RuntimeError("lowering failed")
    except RuntimeError:
        pass
    assert (bilinear_2d.get_graphs_dict, sdpa.get_graphs) == originals
