"""A loaded ExecuTorch program: the only way edgekit runs exported code on the device side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from edgekit._quiet import quiet_loggers
from edgekit.errors import FileFormatError

__all__ = ["Program"]


class Program:
    """An ExecuTorch program loaded from ``.pte`` bytes or a file, with its methods callable.

    The runtime does not copy the buffer it loads from, so the bytes are kept alive here for the
    program's lifetime.
    """

    def __init__(self, pte: bytes | Path | str) -> None:
        """Raises :class:`~edgekit.errors.FileFormatError` for a file that is missing or that
        the runtime refuses."""
        quiet_loggers()
        from executorch.extension.pybindings.portable_lib import _load_for_executorch_from_buffer

        source = "the program" if isinstance(pte, bytes) else str(pte)
        try:
            self._buffer = pte if isinstance(pte, bytes) else Path(pte).read_bytes()
            self.module: Any = _load_for_executorch_from_buffer(self._buffer)
        except (OSError, RuntimeError) as exc:
            raise FileFormatError(f"{source} is not a loadable ExecuTorch program ({exc})") from exc

    @property
    def method_names(self) -> list[str]:
        return sorted(self.module.method_names())

    def run(self, method: str, *inputs: torch.Tensor) -> list[torch.Tensor]:
        """Run ``method`` on contiguous float/int tensors; returns its outputs as tensors."""
        args = tuple(t.contiguous() for t in inputs)
        return list(self.module.run_method(method, args))
