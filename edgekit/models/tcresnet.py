"""TC-ResNet (Choi et al., 2019): temporal 1-D convolutions with mel bands as channels.

Fast on CPUs (no 2-D feature maps). Its conv1d layers sit below the cut, where ExecuTorch 1.5.1's
missing conv1d backward does not matter.

Deep cut ``block<N>`` (the last block): the cache holds the main branch before its BatchNorm
shift, ``s2 * conv2(relu(bn1(conv1(x))))``, and the strided input of the 1x1 skip convolution;
the tail trains the skip convolution as a matmul whose bias carries both BatchNorm shifts:
``relu(main + skip(x[:, :, ::stride])) -> mean over time -> head``.
"""

from __future__ import annotations

from itertools import pairwise
from typing import cast

import torch
from torch import nn
from torch.nn import functional as F

from edgekit.audio.config import FrontendConfig
from edgekit.models.base import HeadConfig, KwsModel
from edgekit.models.tail import Dense, DenseHead, LayerTrain, Tail, channels_last, fold_batchnorm

__all__ = ["TcResNet"]


class _Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, kernel: int = 9) -> None:
        super().__init__()
        pad = kernel // 2
        self.conv1 = nn.Conv1d(c_in, c_out, kernel, stride=stride, padding=pad, bias=False)
        self.bn1 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, kernel, padding=pad, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.skip = nn.Sequential(
                nn.Conv1d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm1d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.skip(x))


class _Backbone(nn.Module):
    def __init__(self, n_mels: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(n_mels)  # per-band normalisation of the dB input
        self.stem = nn.Conv1d(n_mels, widths[0], 3, padding=1, bias=False)
        self.blocks = nn.Sequential(*(_Block(a, b, stride=2) for a, b in pairwise(widths)))

    def forward(self, logmel: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(self.norm(logmel))).mean(dim=2)


class _LastBlockTail(Tail):
    def __init__(
        self, cut: str, block: _Block, head: nn.Module, train: dict[str, LayerTrain], steps: int
    ) -> None:
        super().__init__()
        self.cut = cut
        if not isinstance(block.skip, nn.Sequential):
            raise ValueError("the last TC-ResNet block has no skip convolution to train")
        conv, bn = cast(nn.Conv1d, block.skip[0]), block.skip[1]
        scale, shift = fold_batchnorm(bn)
        _, main_shift = fold_batchnorm(block.bn2)
        name = f"{cut}.skip"
        weight = conv.weight[:, :, 0] * scale[:, None]
        self.add_module(cut, nn.Module())
        getattr(self, cut).skip = Dense(
            weight, shift + main_shift, train.get(name, LayerTrain()), positions=steps
        )
        self.head = DenseHead(head, train, "head")

    def forward(self, main: torch.Tensor, skip_in: torch.Tensor) -> torch.Tensor:
        skip = getattr(self, self.cut).skip
        return self.head(F.relu(main + skip(skip_in)).mean(dim=1))


class TcResNet(KwsModel):
    """TC-ResNet8 at width 1.5 by default; ``widths[-1]`` features at the cut."""

    arch = "tcresnet"

    def __init__(
        self,
        frontend: FrontendConfig | None = None,
        head: HeadConfig | None = None,
        widths: tuple[int, ...] = (24, 36, 48, 72),
    ) -> None:
        cfg = frontend or FrontendConfig()
        super().__init__(_Backbone(cfg.n_mels, widths), widths[-1], cfg, head)
        self.options = {"widths": list(widths)}
        self.deep_cuts = (f"block{len(widths) - 1}",)

    def _last(self) -> _Block:
        return cast(_Block, cast(_Backbone, self.backbone).blocks[-1])

    def _deep_features(self, cut: str, logmel: torch.Tensor) -> tuple[torch.Tensor, ...]:
        bb = cast(_Backbone, self.backbone)
        x = bb.blocks[:-1](bb.stem(bb.norm(logmel)))
        block = self._last()
        scale, _ = fold_batchnorm(block.bn2)
        main = block.conv2(F.relu(block.bn1(block.conv1(x)))) * scale[:, None]
        stride = block.conv1.stride[0]
        return channels_last(main), channels_last(x[:, :, ::stride])

    def _part_names(self, cut: str) -> tuple[str, ...]:
        return super()._part_names(cut) if cut not in self.deep_cuts else ("main", "skip_in")

    def _deep_tail(self, cut: str, train: dict[str, LayerTrain]) -> Tail:
        steps = self.feature_parts(cut)[0][1][0]
        return _LastBlockTail(cut, self._last(), self.head, train, steps)
