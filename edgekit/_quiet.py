"""Silence import-time noise from dependencies (torchao's missing CUDA kernels, pytree notices)."""

from __future__ import annotations

import logging
import warnings

__all__ = ["quiet_dependencies", "quiet_loggers"]

_NOISY_LOGGERS = ("torchao", "torch.utils._pytree", "torch._export", "executorch")


def quiet_loggers() -> None:
    """Raise the level of dependency loggers that report nothing about the user's work.

    Safe for library use: it touches only those loggers, never the warnings filters.
    """
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def quiet_dependencies() -> None:
    """For the CLI and benchmarks: quiet loggers and dependency deprecation warnings."""
    quiet_loggers()
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="torch.*")
