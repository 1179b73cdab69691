"""DS-CNN (Zhang et al., "Hello Edge", 2017): a strided conv, then depthwise-separable blocks.

Deep cut ``block<N>`` (inside the last block): the cache holds the output of the last depthwise
convolution (after its BatchNorm and ReLU) channels-last; the tail trains the last pointwise
convolution as a matmul with its BatchNorm folded in: ``relu(pw(features)) -> mean -> head``.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn
from torch.nn import functional as F

from edgekit.audio.config import FrontendConfig
from edgekit.models.base import HeadConfig, KwsModel
from edgekit.models.tail import Dense, DenseHead, LayerTrain, Tail, channels_last, fold_batchnorm

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


_PW = 3  # the last pointwise conv, its BatchNorm and ReLU end the body


class _LastPointwiseTail(Tail):
    def __init__(
        self, cut: str, body: nn.Sequential, head: nn.Module, train: dict[str, LayerTrain], px: int
    ) -> None:
        super().__init__()
        self.cut = cut
        conv, bn = cast(nn.Conv2d, body[-_PW]), body[-_PW + 1]
        scale, shift = fold_batchnorm(bn)
        self.add_module(cut, nn.Module())
        spec = train.get(f"{cut}.pw", LayerTrain())
        getattr(self, cut).pw = Dense(conv.weight[:, :, 0, 0] * scale[:, None], shift, spec, px)
        self.head = DenseHead(head, train, "head")

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        pw = getattr(self, self.cut).pw
        return self.head(F.relu(pw(features)).mean(dim=1))


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
        self.options = {"channels": channels, "blocks": blocks}
        self.deep_cuts = (f"block{blocks}",)

    def _deep_features(self, cut: str, logmel: torch.Tensor) -> tuple[torch.Tensor, ...]:
        body = cast(_Backbone, self.backbone).body
        return (channels_last(body[:-_PW](logmel.unsqueeze(1))),)

    def _deep_tail(self, cut: str, train: dict[str, LayerTrain]) -> Tail:
        pixels = self.feature_parts(cut)[0][1][0]
        body = cast(_Backbone, self.backbone).body
        return _LastPointwiseTail(cut, body, self.head, train, pixels)
