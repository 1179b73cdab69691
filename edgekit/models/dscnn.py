"""DS-CNN (Zhang et al., "Hello Edge", 2017): a strided conv, then depthwise-separable blocks."""

from __future__ import annotations

import torch
from torch import nn

from edgekit.audio.config import FrontendConfig
from edgekit.models.base import HeadConfig, KwsModel

__all__ = ["DsCnn"]


def _bn_relu(channels: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(channels), nn.ReLU()]


class _Backbone(nn.Module):
    def __init__(self, channels: int, blocks: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.BatchNorm2d(1),  # normalises the dB input (running statistics, frozen at eval)
            nn.Conv2d(1, channels, kernel_size=(10, 4), stride=2, padding=(5, 1), bias=False),
            *_bn_relu(channels),
        ]
        for _ in range(blocks):
            layers += [
                nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False),
                *_bn_relu(channels),
                nn.Conv2d(channels, channels, 1, bias=False),
                *_bn_relu(channels),
            ]
        self.body = nn.Sequential(*layers)

    def forward(self, logmel: torch.Tensor) -> torch.Tensor:
        return self.body(logmel.unsqueeze(1)).mean(dim=(2, 3))


class DsCnn(KwsModel):
    """Depthwise-separable CNN; ``channels`` features at the cut."""

    arch = "dscnn"

    def __init__(
        self,
        frontend: FrontendConfig | None = None,
        head: HeadConfig | None = None,
        channels: int = 64,
        blocks: int = 4,
    ) -> None:
        super().__init__(_Backbone(channels, blocks), channels, frontend, head)
