"""Res8-style residual net (Tang & Lin, 2018): dilated 3x3 residual blocks after average pooling.

It has no pointwise layers, so its deep cut ``block<N>`` (the last block) trains only the shift of
that block's last BatchNorm (a bias-only update, as in TinyTL): the cache holds
``s2 * conv2(relu(bn1(conv1(x)))) + x`` channels-last, the tail is
``relu(features + shift) -> mean -> head``.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn
from torch.nn import functional as F

from edgekit.audio.config import FrontendConfig
from edgekit.models.base import HeadConfig, KwsModel
from edgekit.models.tail import DenseHead, LayerTrain, Shift, Tail, channels_last, fold_batchnorm

__all__ = ["ResNet"]


class _Block(nn.Module):
    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        pad = dilation
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=pad, dilation=dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=pad, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + x)


class _Backbone(nn.Module):
    def __init__(self, channels: int, blocks: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(1)
        self.stem = nn.Conv2d(1, channels, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(channels)
        self.blocks = nn.Sequential(*(_Block(channels, 2 ** (i % 3)) for i in range(blocks)))

    def below_blocks(self, logmel: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem_bn(self.stem(self.norm(logmel.unsqueeze(1)))))
        return F.avg_pool2d(x, kernel_size=(2, 3))  # below the cut: frozen, so no backward needed

    def forward(self, logmel: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.below_blocks(logmel)).mean(dim=(2, 3))


class _LastBlockTail(Tail):
    def __init__(
        self, cut: str, block: _Block, head: nn.Module, train: dict[str, LayerTrain], pixels: int
    ) -> None:
        super().__init__()
        self.cut = cut
        _, shift = fold_batchnorm(block.bn2)
        self.add_module(cut, nn.Module())
        spec = train.get(f"{cut}.shift", LayerTrain())
        getattr(self, cut).shift = Shift(shift, spec, positions=pixels)
        self.head = DenseHead(head, train, "head")

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        shift = getattr(self, self.cut).shift
        return self.head(F.relu(shift(features)).mean(dim=1))


class ResNet(KwsModel):
    """Residual CNN; ``channels`` features at the cut."""

    arch = "resnet"

    def __init__(
        self,
        frontend: FrontendConfig | None = None,
        head: HeadConfig | None = None,
        channels: int = 32,
        blocks: int = 3,
    ) -> None:
        super().__init__(_Backbone(channels, blocks), channels, frontend, head)
        self.options = {"channels": channels, "blocks": blocks}
        self.deep_cuts = (f"block{blocks}",)

    def _last(self) -> _Block:
        return cast(_Block, cast(_Backbone, self.backbone).blocks[-1])

    def _deep_features(self, cut: str, logmel: torch.Tensor) -> tuple[torch.Tensor, ...]:
        bb = cast(_Backbone, self.backbone)
        x = bb.blocks[:-1](bb.below_blocks(logmel))
        block = self._last()
        scale, _ = fold_batchnorm(block.bn2)
        main = block.conv2(F.relu(block.bn1(block.conv1(x)))) * scale[:, None, None]
        return (channels_last(main + x),)

    def _deep_tail(self, cut: str, train: dict[str, LayerTrain]) -> Tail:
        pixels = self.feature_parts(cut)[0][1][0]
        return _LastBlockTail(cut, self._last(), self.head, train, pixels)
