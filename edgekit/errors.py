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
    """No training plan fits a budget; ``minimum_bytes`` is the smallest budget that does.

    ``what`` names the budget: "training memory" (the default) or "feature cache".
    """

    def __init__(
        self, budget_bytes: int, minimum_bytes: int, what: str = "training memory"
    ) -> None:
        self.budget_bytes = budget_bytes
        self.minimum_bytes = minimum_bytes
        self.what = what
        super().__init__(
            f"no training plan fits a {what} budget of {budget_bytes} bytes; the smallest "
            f"feasible {what} budget is {minimum_bytes} bytes"
        )


class CorpusExistsError(EdgekitError):
    """A generator's output folder holds something other than the corpus asked for."""
