"""Small keyword-spotting and sound models, split into backbone | cut | head."""

from __future__ import annotations

from collections.abc import Callable

from edgekit.audio.config import FrontendConfig
from edgekit.models.base import HeadConfig, KwsModel, MlpHead
from edgekit.models.dscnn import DsCnn
from edgekit.models.resnet import ResNet
from edgekit.models.tcresnet import TcResNet

__all__ = [
    "ARCHITECTURES",
    "DsCnn",
    "HeadConfig",
    "KwsModel",
    "MlpHead",
    "ResNet",
    "TcResNet",
    "build_model",
]

ARCHITECTURES: dict[str, Callable[..., KwsModel]] = {
    "dscnn": DsCnn,
    "resnet": ResNet,
    "tcresnet": TcResNet,
}


def build_model(
    arch: str, frontend: FrontendConfig | None = None, head: HeadConfig | None = None
) -> KwsModel:
    """A fresh model of a named architecture (``edgekit.models.ARCHITECTURES``)."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"arch must be one of {sorted(ARCHITECTURES)}, got {arch!r}")
    return ARCHITECTURES[arch](frontend=frontend, head=head)
