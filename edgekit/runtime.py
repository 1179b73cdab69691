"""A loaded ExecuTorch program: the only way edgekit runs exported code on the device side.

The runtime's C++ code logs straight to file descriptor 2 (``[cpuinfo_utils.cpp:109] Failed to
open midr file``, ``[method.cpp:...] Error resizing tensor``: lines about the host or about a
batch edgekit checks itself). While it loads or runs a program that descriptor points at
``/dev/null``; Python's own ``sys.stderr`` is flushed before and restored after, exceptions
included, so Python errors and tracebacks still show. ``EDGEKIT_NATIVE_LOGS=1`` (or
:func:`show_native_logs`) keeps the runtime's lines, for debugging it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import torch

from edgekit._quiet import quiet_loggers
from edgekit.errors import FileFormatError

__all__ = [
    "Program",
    "native_calls",
    "native_stderr_silenced",
    "runtime_module",
    "show_native_logs",
]

_IMPORTING = threading.Lock()
_EXIR = "executorch.exir"
PORTABLE_LIB = "executorch.extension.pybindings.portable_lib"
TRAINING = "executorch.extension.training"
NATIVE_LOGS_ENV = "EDGEKIT_NATIVE_LOGS"

_show_native = os.environ.get(NATIVE_LOGS_ENV, "") not in ("", "0")
_silence_lock = threading.Lock()
_silence_depth = 0  # blocks inside native_stderr_silenced, over all threads
_saved_stderr = -1  # a duplicate of the real descriptor 2 while depth > 0 (-1: none)
_devnull = -1  # /dev/null, opened once for the process: a training step redirects twice


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """File descriptor 2 goes to ``/dev/null`` for the block, and back after it, an exception
    included. Nested and concurrent blocks share one redirection: the last one out restores it.
    Where descriptor 2 is not open, nothing changes."""
    global _silence_depth, _saved_stderr, _devnull
    with _silence_lock:
        if _silence_depth == 0:
            if sys.stderr is not None:
                sys.stderr.flush()  # Python's pending output goes out first
            try:
                saved = os.dup(2)
            except OSError:
                saved = -1
            if saved >= 0:
                if _devnull < 0:
                    _devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(_devnull, 2)
            _saved_stderr = saved
        _silence_depth += 1
    try:
        yield
    finally:
        with _silence_lock:
            _silence_depth -= 1
            if _silence_depth == 0 and _saved_stderr >= 0:
                os.dup2(_saved_stderr, 2)
                os.close(_saved_stderr)
                _saved_stderr = -1


def show_native_logs(show: bool = True) -> None:
    """Let the runtime's own log lines through (True) or silence them (False, the default
    unless ``EDGEKIT_NATIVE_LOGS`` is set to something other than 0)."""
    global _show_native
    _show_native = show


def native_calls() -> AbstractContextManager[None]:
    """What surrounds calls into the runtime: silenced, unless its logs are to be shown. A loop
    of many calls (a training session) holds one such block around them all, so that each call
    inside costs a counter, not a redirection."""
    return nullcontext() if _show_native else native_stderr_silenced()


_native = native_calls


class _RuntimeModule:
    """The runtime's loaded module, each ``run_method`` call with the runtime's logs silenced;
    every other attribute is the module's own."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def run_method(self, *args: Any, **kwargs: Any) -> Any:
        with _native():
            return self._module.run_method(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


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
            with _native():
                loaded = load(self._buffer)
        except (OSError, RuntimeError) as exc:
            raise FileFormatError(f"{source} is not a loadable ExecuTorch program ({exc})") from exc
        self.module: Any = _RuntimeModule(loaded)

    @property
    def method_names(self) -> list[str]:
        return sorted(self.module.method_names())

    def run(self, method: str, *inputs: torch.Tensor) -> list[torch.Tensor]:
        """Run ``method`` on contiguous float/int tensors; returns its outputs as tensors."""
        args = tuple(t.contiguous() for t in inputs)
        return list(self.module.run_method(method, args))
