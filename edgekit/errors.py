"""One exception hierarchy for edgekit.

A subclass of :class:`EdgekitError` is a problem the user can fix (bad input, a too-small budget,
a corrupt file); anything else escaping edgekit is a bug in edgekit.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AudioFormatError",
    "BudgetTooSmall",
    "CorpusExistsError",
    "CorpusLayoutError",
    "CorruptBundle",
    "EdgekitError",
    "ExportError",
    "ToolMissingError",
]


class EdgekitError(Exception):
    """Base class of every error edgekit raises on purpose."""


class AudioFormatError(EdgekitError):
    """An audio file cannot be used: unreadable, empty, or holding NaN/Inf samples."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class CorpusLayoutError(EdgekitError):
    """A folder is not in the layout its loader expects; the message names what is missing."""


class ToolMissingError(EdgekitError):
    """An external program (espeak-ng, flite) that a generator needs is not installed."""


class ExportError(EdgekitError):
    """A model cannot be exported to an ExecuTorch program."""


class CorruptBundle(EdgekitError):
    """A bundle file is missing, truncated or does not match its manifest's hash."""


class BudgetTooSmall(EdgekitError):
    """No training plan fits the memory budget; ``minimum_bytes`` is the smallest that does."""

    def __init__(self, budget_bytes: int, minimum_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self.minimum_bytes = minimum_bytes
        super().__init__(
            f"no training plan fits in {budget_bytes} bytes; the smallest feasible budget is "
            f"{minimum_bytes} bytes"
        )


class CorpusExistsError(EdgekitError):
    """A generator's output folder holds something other than the corpus asked for."""
