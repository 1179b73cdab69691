"""TC-ResNet (Choi et al., 2019): temporal 1-D convolutions with mel bands as channels.

Fast on CPUs (no 2-D feature maps). Its conv1d layers sit below the cut, where ExecuTorch 1.5.1's
missing conv1d backward does not matter.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn
from torch.nn import functional as F

from edgekit.audio.config import FrontendConfig
from edgekit.models.base import HeadConfig, KwsModel

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
