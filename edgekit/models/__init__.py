"""Small keyword-spotting and sound models, split into backbone | cut | head."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edgekit.audio.config import FrontendConfig
from edgekit.errors import ConfigError
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
    arch: str,
    frontend: FrontendConfig | None = None,
    head: HeadConfig | None = None,
    **options: Any,
) -> KwsModel:
    """A fresh model of a named architecture (``edgekit.models.ARCHITECTURES``); ``options``
    are its size options (``widths`` for tcresnet, ``channels`` / ``blocks`` otherwise)."""
    if arch not in ARCHITECTURES:
        raise ConfigError(f"arch must be one of {sorted(ARCHITECTURES)}, got {arch!r}")
    if "widths" in options:
        options["widths"] = tuple(options["widths"])
    try:
        return ARCHITECTURES[arch](frontend=frontend, head=head, **options)
    except TypeError as exc:
        raise ConfigError(f"options {sorted(options)} do not fit {arch}: {exc}") from exc
