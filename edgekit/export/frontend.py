"""Export the front-end alone as an ExecuTorch program (methods ``logmel`` and ``mfcc``)."""

from __future__ import annotations

import torch

from edgekit.audio.config import FrontendConfig
from edgekit.audio.frontend import LogMel, Mfcc
from edgekit.export.stages import export_method, to_pte

__all__ = ["export_frontend"]


def export_frontend(
    config: FrontendConfig | None = None, max_batch: int = 64, xnnpack: bool = True
) -> bytes:
    """A ``.pte`` whose ``logmel`` / ``mfcc`` methods take ``(batch <= max_batch, samples)``."""
    cfg = config or FrontendConfig()
    example = (torch.zeros(2, cfg.clip_samples),)
    methods = {
        "logmel": export_method(LogMel(cfg), example, max_batch=max_batch),
        "mfcc": export_method(Mfcc(cfg), example, max_batch=max_batch),
    }
    return to_pte(methods, xnnpack=xnnpack)
