"""Module attributes that load on first use (PEP 562), so importing a package stays cheap."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, home: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``home[name]`` and returns its ``name``."""

    def __getattr__(name: str) -> Any:
        if name in home:
            return getattr(import_module(home[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
