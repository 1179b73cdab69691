"""A loaded ExecuTorch program: the only way edgekit runs exported code on the device side."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from pathlib import Path
from typing import Any

import torch

from edgekit._quiet import quiet_loggers
from edgekit.errors import FileFormatError

__all__ = ["Program", "runtime_module"]

_IMPORTING = threading.Lock()
_EXIR = "executorch.exir"
PORTABLE_LIB = "executorch.extension.pybindings.portable_lib"
TRAINING = "executorch.extension.training"


def runtime_module(name: str) -> types.ModuleType:
    """An ExecuTorch runtime module (``executorch.extension.pybindings.portable_lib``,
    ``executorch.extension.training``), imported without ExecuTorch's compiler.

    Both import ``executorch.exir._warnings`` for a warning class and a decorator, and the
    ``executorch.exir`` package's ``__init__`` imports the whole compiler: about 7 s of the 10 s
    a device command took on 2 cores, against 0.01 s for the runtime itself. While they import,
    ``executorch.exir`` is an empty package over the real folder, so that ``_warnings`` alone
    loads; both then leave ``sys.modules``, and a later ``import executorch.exir`` (the
    exporter's) loads the real package."""
    with _IMPORTING:
        if name in sys.modules or _EXIR in sys.modules:
            return importlib.import_module(name)
        spec = importlib.util.find_spec(_EXIR)
        if spec is None or spec.submodule_search_locations is None:
            return importlib.import_module(name)
        shell = types.ModuleType(_EXIR)
        shell.__path__ = list(spec.submodule_search_locations)
        sys.modules[_EXIR] = shell
        try:
            return importlib.import_module(name)
        finally:  # whatever loaded under the empty package leaves with it
            for key in [k for k in sys.modules if k == _EXIR or k.startswith(f"{_EXIR}.")]:
                del sys.modules[key]


class Program:
    """An ExecuTorch program loaded from ``.pte`` bytes or a file, with its methods callable.

    The runtime does not copy the buffer it loads from, so the bytes are kept alive here for the
    program's lifetime.
    """

    def __init__(self, pte: bytes | Path | str) -> None:
        """Raises :class:`~edgekit.errors.FileFormatError` for a file that is missing or that
        the runtime refuses."""
        quiet_loggers()
        load = runtime_module(PORTABLE_LIB)._load_for_executorch_from_buffer

        source = "the program" if isinstance(pte, bytes) else str(pte)
        try:
            self._buffer = pte if isinstance(pte, bytes) else Path(pte).read_bytes()
            self.module: Any = load(self._buffer)
        except (OSError, RuntimeError) as exc:
            raise FileFormatError(f"{source} is not a loadable ExecuTorch program ({exc})") from exc

    @property
    def method_names(self) -> list[str]:
        return sorted(self.module.method_names())

    def run(self, method: str, *inputs: torch.Tensor) -> list[torch.Tensor]:
        """Run ``method`` on contiguous float/int tensors; returns its outputs as tensors."""
        args = tuple(t.contiguous() for t in inputs)
        return list(self.module.run_method(method, args))
