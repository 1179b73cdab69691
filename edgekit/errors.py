"""One exception hierarchy for edgekit.

A subclass of :class:`EdgekitError` is a problem the user can fix (a bad setting, bad data, a
too-small budget, a corrupt file); anything else escaping edgekit is a bug in edgekit. The
command lines print an ``EdgekitError`` as one ``error:`` line and exit with status 2, and let
anything else through with its traceback.

``ConfigError`` and ``DataError`` are also ``ValueError``s, so code that catches ``ValueError``
around edgekit calls keeps working.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AudioFormatError",
    "BudgetTooSmall",
    "ConfigError",
    "CorpusExistsError",
    "CorpusLayoutError",
    "CorruptBundle",
    "CorruptState",
    "DataError",
    "EdgekitError",
    "ExportError",
    "FileFormatError",
    "HubError",
    "NoFreeSlot",
    "NonFiniteInput",
    "StateInUse",
    "ToolMissingError",
    "UpdateRefused",
]


class EdgekitError(Exception):
    """Base class of every error edgekit raises on purpose."""


class ConfigError(EdgekitError, ValueError):
    """A setting is invalid: a config field, a command-line option, an argument naming a choice.

    The message says which setting, what it must be and what it was."""


class DataError(EdgekitError, ValueError):
    """Data handed to edgekit does not fit: arrays of the wrong shape, NaN/Inf values, labels
    that are not classes of the model."""


class FileFormatError(EdgekitError):
    """A file edgekit reads (checkpoint, plan, state, manifest) is missing, unreadable or not
    what it should be; the message names the file."""


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


class CorruptBundle(FileFormatError):
    """A bundle file is missing, truncated or does not match its manifest's hash."""


class CorruptState(FileFormatError):
    """A device's saved learner state is damaged or does not fit its bundle. It is never loaded
    in part: the message says how to set it aside and start from the bundle's weights."""


class StateInUse(EdgekitError):
    """Another process holds the device state folder (one writer per state)."""


class NonFiniteInput(DataError):
    """Clips whose features are not finite (e.g. samples far outside [-1, 1]); ``indices`` are
    their positions in the batch handed over, so a caller can name the files."""

    def __init__(self, indices: list[int], what: str = "features") -> None:
        self.indices = indices
        shown = ", ".join(str(i) for i in indices[:10]) + (" ..." if len(indices) > 10 else "")
        super().__init__(
            f"clip(s) {shown} give non-finite {what} (NaN or Inf; samples far outside [-1, 1]?)"
            ": refused"
        )


class NoFreeSlot(EdgekitError):
    """Every class slot reserved at export is in use."""


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


class UpdateRefused(EdgekitError):
    """A device refuses a bundle version; ``reason`` is one word the phone app shares:
    ``key``, ``unsigned``, ``signature``, ``malformed``, ``expired``, ``other-model``,
    ``rollback`` or ``files`` (:mod:`edgekit.device.signed`)."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(f"update refused ({reason}): {detail}")


class HubError(EdgekitError):
    """A request to the hub failed: ``status`` is its HTTP status (None when the hub was not
    reached), ``detail`` what the hub or the network said, ``retry_after`` the seconds the hub
    asked the device to wait before it calls again (a 429's or a 503's ``Retry-After``)."""

    def __init__(
        self, what: str, status: int | None, detail: str, retry_after: float | None = None
    ) -> None:
        self.status, self.detail, self.retry_after = status, detail, retry_after
        answer = "unreachable" if status is None else f"HTTP {status}"
        wait = f" (retry after {retry_after:g} s)" if retry_after is not None else ""
        super().__init__(f"{what}: {answer}: {detail}{wait}")
