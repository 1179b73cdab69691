"""Flower's run config (``[tool.flwr.app.config]`` plus ``--run-config``) to our config classes.

Each config dataclass names the run-config keys it reads (``key -> field``); the dataclass
defaults are the one source of the defaults. ``server/pyproject.toml`` must list every key (Flower
refuses to override a key it does not list) with the same value: :func:`defaults` gives the
values it must hold, and a test holds the two together. Values are checked against the field's
type, then by the dataclass itself (``ConfigError`` naming the key or the field).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from edgekit.errors import ConfigError

__all__ = ["Scalar", "defaults", "read", "workspace_path"]

Scalar = int | float | str | bool
T = TypeVar("T")


def read(cls: type[T], run: Mapping[str, Any], keys: Mapping[str, str], **fixed: Any) -> T:
    """An instance of the dataclass ``cls`` from the run-config entries named in ``keys`` (run
    key -> field); a key absent from ``run`` keeps the field's default. ``fixed`` passes other
    fields (e.g. nested configs) as they are."""
    hints = typing.get_type_hints(cls)
    values = dict(fixed)
    for key, name in keys.items():
        if key in run:
            values[name] = _checked(key, run[key], hints[name])
    return cls(**values)


def defaults(cls: type[Any], keys: Mapping[str, str]) -> dict[str, Scalar]:
    """The run-config value of every key in ``keys``: the field's default."""
    fields = {f.name: f.default for f in dataclasses.fields(cls)}
    return {key: typing.cast(Scalar, fields[name]) for key, name in keys.items()}


def workspace_path(run: Mapping[str, Any]) -> Path:
    """The run config's ``workspace``: the absolute path of a federation workspace."""
    value = run.get("workspace", "")
    if not isinstance(value, str) or not value or not Path(value).is_absolute():
        raise ConfigError(
            "run config 'workspace' must be the absolute path of a federation workspace "
            f"(edgekit-fl build), got {value!r}"
        )
    return Path(value)


def _checked(key: str, value: Any, kind: Any) -> Scalar:
    """``value`` if it is of ``kind`` (an int is a float too; a bool is no number)."""
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, bool):
        ok = False
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise ConfigError(f"run config {key!r} must be {kind.__name__}, got {value!r}")
    return typing.cast(Scalar, value)
