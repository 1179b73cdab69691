"""Byte sizes as people write them: ``256KiB``, ``1MiB``, ``64kB``, ``100000``."""

from __future__ import annotations

import re

from edgekit.errors import ConfigError

__all__ = ["format_bytes", "parse_bytes"]

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
}
_UNBOUNDED = ("unbounded", "none", "inf", "")
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_bytes(text: str | int | None) -> int | None:
    """Bytes from ``256KiB`` (1024-based), ``64kB`` (1000-based) or a plain number.

    ``unbounded`` / ``none`` (or None) mean no bound. Raises :class:`~edgekit.errors.ConfigError`
    naming the input.
    """
    if text is None or isinstance(text, int):
        return text
    if text.strip().lower() in _UNBOUNDED:
        return None
    match = _PATTERN.match(text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise ConfigError(
            f"a size must look like 256KiB, 1MiB, 64kB or 100000 (or 'unbounded'), got {text!r}"
        )
    return round(float(match.group(1)) * _UNITS[unit])


def format_bytes(size: int | None) -> str:
    """``262144`` -> ``256.0 KiB``; None -> ``unbounded``."""
    if size is None:
        return "unbounded"
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024 or unit == "MiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover
