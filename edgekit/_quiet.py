"""Silence import-time noise from dependencies (torchao's missing CUDA kernels, pytree notices)."""

from __future__ import annotations

import logging
import warnings

__all__ = ["quiet_dependencies"]


def quiet_dependencies() -> None:
    """Hide warnings that say nothing about the user's work; our own errors are untouched."""
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="torch.*")
    for name in ("torchao", "torch.utils._pytree", "torch._export", "executorch"):
        logging.getLogger(name).setLevel(logging.ERROR)
