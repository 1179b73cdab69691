"""A keyword-spotting model split into front-end | backbone | cut | head.

Everything up to the cut (front-end and backbone) is frozen on the device and its output is what
the feature cache stores; the head (a small MLP over pooled features by default) is what trains.
The head uses only ops whose backward works in ExecuTorch 1.5.1 (linear, ReLU): see the stack
notes. BatchNorm, pooling and anything else live below the cut.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from edgekit.audio.config import FrontendConfig
from edgekit.audio.frontend import LogMel

__all__ = ["HeadConfig", "KwsModel", "MlpHead"]


@dataclass(frozen=True)
class HeadConfig:
    """The trainable part above the cut."""

    hidden: int = 64  # hidden units of the MLP; 0 = a single linear layer
    max_classes: int = 16  # output slots reserved at export (>= the corpus' classes)

    def __post_init__(self) -> None:
        if self.hidden < 0:
            raise ValueError(f"HeadConfig.hidden must be >= 0, got {self.hidden}")
        if self.max_classes < 2:
            raise ValueError(f"HeadConfig.max_classes must be >= 2, got {self.max_classes}")


class MlpHead(nn.Module):
    """Pooled features ``(batch, feature_dim)`` -> logits ``(batch, max_classes)``."""

    def __init__(self, feature_dim: int, config: HeadConfig) -> None:
        super().__init__()
        self.config = config
        if config.hidden:
            self.net: nn.Module = nn.Sequential(
                nn.Linear(feature_dim, config.hidden),
                nn.ReLU(),
                nn.Linear(config.hidden, config.max_classes),
            )
        else:
            self.net = nn.Linear(feature_dim, config.max_classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


class KwsModel(nn.Module):
    """``pcm (batch, samples)`` -> logits. ``embed_logmel`` stops at the cut."""

    arch: str = "base"

    def __init__(
        self,
        backbone: nn.Module,
        feature_dim: int,
        frontend: FrontendConfig | None = None,
        head: HeadConfig | None = None,
    ) -> None:
        super().__init__()
        self.frontend = LogMel(frontend)
        self.backbone = backbone
        self.feature_dim = feature_dim
        self.head = MlpHead(feature_dim, head or HeadConfig())

    def embed_logmel(self, logmel: torch.Tensor) -> torch.Tensor:
        """``(batch, n_mels, frames)`` dB -> ``(batch, feature_dim)`` features at the cut."""
        return self.backbone(logmel)

    def embed(self, pcm: torch.Tensor) -> torch.Tensor:
        return self.embed_logmel(self.frontend(pcm))

    def forward(self, pcm: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(pcm))

    def describe(self) -> dict[str, object]:
        """What a checkpoint needs to rebuild this model."""
        return {
            "arch": self.arch,
            "frontend": self.frontend.config.to_dict(),
            "head": asdict(self.head.config),
        }
