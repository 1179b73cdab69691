"""The detection settings a bundle carries (the manifest's ``detection``): how the app listens
continuously. :mod:`edgekit.device.detect` runs them; they live here, beside the manifest that
checks them, because a bundle is exported and checked before any device runs it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from edgekit.errors import ConfigError

__all__ = ["DetectConfig", "field_problem"]

MIN_HOP_SECONDS = 0.001  # bounds the smoothing ring: at most MAX_SMOOTH / MIN_HOP windows
MAX_SMOOTH_SECONDS = 10.0
MAX_REFRACTORY_SECONDS = 3600.0
MAX_DETECT_BATCH = 65_536  # as a manifest's max_batch; each use lowers it to the bundle's


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def field_problem(name: str, value: Any) -> str | None:
    """What :class:`DetectConfig` requires of ``value`` for the field ``name`` when it does not
    hold ("must be ..."), or None."""
    if name == "hop_seconds":
        ok = _number(value) and MIN_HOP_SECONDS <= value <= 10.0
        return None if ok else f"must be a number of seconds in [{MIN_HOP_SECONDS}, 10]"
    if name == "smooth_seconds":
        ok = _number(value) and 0 <= value <= MAX_SMOOTH_SECONDS
        return None if ok else f"must be a number of seconds in [0, {MAX_SMOOTH_SECONDS:g}]"
    if name == "threshold":
        return None if _number(value) and 0 < value <= 1 else "must be a number in (0, 1]"
    if name == "refractory_seconds":
        ok = _number(value) and 0 <= value <= MAX_REFRACTORY_SECONDS
        return None if ok else f"must be a number of seconds in [0, {MAX_REFRACTORY_SECONDS:g}]"
    if name == "batch":
        ok = isinstance(value, int) and not isinstance(value, bool)
        ok = ok and 1 <= value <= MAX_DETECT_BATCH
        return None if ok else f"must be an integer in [1, {MAX_DETECT_BATCH}]"
    if name == "keywords":
        names = value if isinstance(value, list | tuple) else None
        if value is None or (
            names and all(isinstance(k, str) and k for k in names) and len(set(names)) == len(names)
        ):
            return None
        return "must be None (every live label but _silence_ and _unknown_) or distinct names"
    return "is not a detection setting"


@dataclass(frozen=True)
class DetectConfig:
    """How keywords are detected in a stream (the manifest's ``detection`` holds one)."""

    hop_seconds: float = 0.1  # between window centres: 10 windows per second of audio
    smooth_seconds: float = 0.3  # posterior moving average over the last 0.3 s of windows
    threshold: float = 0.7  # smoothed posterior of a keyword that opens an event, in (0, 1]
    refractory_seconds: float = 1.0  # after an event opens, no other opens within this
    keywords: tuple[str, ...] | None = None  # None: every live label but _silence_, _unknown_
    batch: int = 4  # windows per embed call (lowered to the bundle's max_batch): a live
    # stream's events come up to batch * hop_seconds later than their windows are complete

    def __post_init__(self) -> None:
        if isinstance(self.keywords, list):  # as JSON gives it
            object.__setattr__(self, "keywords", tuple(self.keywords))
        for f in fields(self):
            problem = field_problem(f.name, getattr(self, f.name))
            if problem:
                raise ConfigError(f"DetectConfig.{f.name} {problem}, got {getattr(self, f.name)!r}")

    def to_dict(self) -> dict[str, Any]:
        """As the manifest's ``detection`` holds it (keywords as a list or null)."""
        data = asdict(self)
        data["keywords"] = None if self.keywords is None else list(self.keywords)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> DetectConfig:
        """The settings ``data`` holds: exactly the fields of :meth:`to_dict`, else ConfigError."""
        names = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or set(data) != names:
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise ConfigError(f"detection settings must have exactly {sorted(names)}, got {got}")
        return cls(**data)

    def smooth_windows(self) -> int:
        """Windows averaged into each smoothed posterior (at least the window itself)."""
        return max(1, round(self.smooth_seconds / self.hop_seconds))
