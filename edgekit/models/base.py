"""A keyword-spotting model split into front-end | backbone | cut | head.

Everything below the cut is frozen on the device and its output is what the feature cache
stores; the part above it is a :class:`~edgekit.models.tail.Tail` whose layers a training plan
can train. The default cut is ``pooled`` (the head alone over pooled features); an architecture
may offer deeper cuts (``deep_cuts``) whose tails also hold the pointwise layers or BatchNorm
shifts of its last block, written as matmuls. Tails use only ops whose backward works in
ExecuTorch 1.5.1 (matmul, add, ReLU, mean, cross-entropy: docs/design.md); convolutions,
BatchNorm statistics and pooling with a window stay below the cut (frozen, folded).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import torch
from torch import nn

from edgekit.audio.config import FrontendConfig
from edgekit.audio.frontend import LogMel
from edgekit.errors import ConfigError
from edgekit.models.tail import POOLED, HeadTail, LayerTrain, Tail

__all__ = ["HeadConfig", "KwsModel", "MlpHead"]


@dataclass(frozen=True)
class HeadConfig:
    """The trainable part above the cut."""

    hidden: int = 64  # hidden units of the MLP; 0 = a single linear layer
    max_classes: int = 16  # output slots reserved at export (>= the corpus' classes)

    def __post_init__(self) -> None:
        if self.hidden < 0:
            raise ConfigError(f"HeadConfig.hidden must be >= 0, got {self.hidden}")
        if self.max_classes < 2:
            raise ConfigError(f"HeadConfig.max_classes must be >= 2, got {self.max_classes}")


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

    # ------------------------------------------------------------------ cuts
    deep_cuts: tuple[str, ...] = ()  # cuts below ``pooled`` this architecture offers, shallow first

    def cut_points(self) -> tuple[str, ...]:
        """Every cut, shallowest (``pooled``) first; deeper cuts leave more above to train."""
        return (POOLED, *self.deep_cuts)

    def check_cut(self, cut: str) -> None:
        if cut not in self.cut_points():
            raise ConfigError(f"{self.arch} offers the cuts {list(self.cut_points())}, got {cut!r}")

    def features_at(self, cut: str, logmel: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The frozen computation below ``cut``: the tensors the feature cache stores."""
        self.check_cut(cut)
        if cut == POOLED:
            return (self.backbone(logmel),)
        return self._deep_features(cut, logmel)

    def tail(self, cut: str, train: Mapping[str, LayerTrain] | None = None) -> Tail:
        """The part above ``cut`` with ``train[layer]`` trainable (all frozen by default)."""
        self.check_cut(cut)
        spec = dict(train or {})
        tail = HeadTail(self.head, spec) if cut == POOLED else self._deep_tail(cut, spec)
        unknown = sorted(set(spec) - set(tail.layers()))
        if unknown:
            raise ConfigError(f"no layers {unknown} above the cut {cut!r} of {self.arch}")
        return tail.eval()

    @torch.no_grad()
    def feature_parts(self, cut: str) -> list[tuple[str, tuple[int, ...]]]:
        """``[(name, shape per clip)]`` of the tensors cached at ``cut``."""
        cfg = self.frontend.config
        was_training = self.training
        self.eval()
        parts = self.features_at(cut, torch.zeros(1, cfg.n_mels, cfg.n_frames))
        self.train(was_training)
        names = self._part_names(cut)
        return [(n, tuple(p.shape[1:])) for n, p in zip(names, parts, strict=True)]

    def _part_names(self, cut: str) -> tuple[str, ...]:
        return ("pooled",) if cut == POOLED else ("features",)

    # Called only for a cut in ``deep_cuts`` (``check_cut`` passed): an architecture that lists a
    # deep cut must implement both.
    def _deep_features(self, cut: str, logmel: torch.Tensor) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError(f"{self.arch} lists the cut {cut!r} but does not implement it")

    def _deep_tail(self, cut: str, train: dict[str, LayerTrain]) -> Tail:
        raise NotImplementedError(f"{self.arch} lists the cut {cut!r} but does not implement it")

    def digest(self) -> str:
        """sha256 of the architecture, front-end and every tensor: equal digests, equal models."""
        digest = hashlib.sha256(json.dumps(self.describe(), sort_keys=True).encode())
        for name, tensor in sorted(self.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().contiguous().numpy().tobytes())
        return digest.hexdigest()

    options: dict[str, object]  # the architecture's size options (widths, channels, blocks)

    def describe(self) -> dict[str, object]:
        """What a checkpoint needs to rebuild this model."""
        return {
            "arch": self.arch,
            "frontend": self.frontend.config.to_dict(),
            "head": asdict(self.head.config),
            "options": dict(getattr(self, "options", {})),
        }
