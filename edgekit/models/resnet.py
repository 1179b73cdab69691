"""Res8-style residual net (Tang & Lin, 2018): dilated 3x3 residual blocks after average pooling."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from edgekit.audio.config import FrontendConfig
from edgekit.models.base import HeadConfig, KwsModel

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

    def forward(self, logmel: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem_bn(self.stem(self.norm(logmel.unsqueeze(1)))))
        x = F.avg_pool2d(x, kernel_size=(2, 3))  # below the cut: frozen, so no backward needed
        return self.blocks(x).mean(dim=(2, 3))


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
