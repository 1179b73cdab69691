"""The server's errors, under edgekit's one hierarchy.

Every error the server raises on purpose is a :class:`ServerError`, itself an
:class:`~edgekit.errors.EdgekitError`: ``edgekit-fl`` prints it as one ``error:`` line and exits
with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from edgekit.errors import EdgekitError

__all__ = [
    "BlobRejected",
    "FleetError",
    "FlowerError",
    "MalformedReply",
    "ServerError",
    "SigningKeyError",
    "StorageConflict",
    "TooFewClients",
    "WorkspaceError",
]


class ServerError(EdgekitError):
    """Base class of every error edgekit_server raises on purpose."""


class WorkspaceError(ServerError):
    """A folder is not a federation workspace, or lacks a file the run needs."""


class FlowerError(ServerError):
    """A Flower process did not come up, a run could not be submitted, failed or timed out."""


class FleetError(ServerError):
    """The fleet simulator cannot run: its hub did not start or refused the bundle, the data
    for its devices is missing, or a setting is out of range."""


class MalformedReply(ServerError):
    """A client's reply that cannot be decoded or used; the message says why."""


class TooFewClients(ServerError):
    """Fewer valid replies (or connected clients) than a round needs."""


class BlobRejected(ServerError):
    """An upload or a blob name the hub's store refuses; ``reason`` is ``name``, ``too-large``
    or ``mismatch``."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(f"blob refused ({reason}): {detail}")


class SigningKeyError(ServerError):
    """The hub's signing key cannot be created (one exists) or read."""


class StorageConflict(ServerError):
    """A write the hub's storage refuses: a version number not above the published ones, an
    unknown version or device, a device registered twice."""
