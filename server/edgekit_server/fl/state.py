"""The server's state between steps, checkpointed atomically: a restarted server resumes it.

One ``.npz``: the arrays (per-architecture weights, global-set extensions, the consensus) and a
JSON ``meta`` entry for the rest. Loading never unpickles anything.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.atomic import atomic_write_bytes
from edgekit.errors import FileFormatError

__all__ = ["ServerState", "load_state", "save_state"]


@dataclass
class ServerState:
    """Everything the server knows after its last step."""

    round: int = 0  # rounds completed
    registry: list[str] = field(default_factory=list)  # the global label of each slot
    aliases: dict[int, dict[str, str]] = field(default_factory=dict)  # client -> local -> global
    weights: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # arch -> tensors
    consensus: np.ndarray | None = None  # (N_d0, len(registry)) label-wise consensus on D0
    # arch -> (impressions embedded by it (n, D), their global labels): added to its D0
    extension: dict[str, tuple[np.ndarray, list[str]]] = field(default_factory=dict)
    extension_version: int = 0  # bumped whenever the extension changes
    clusters: dict[str, Any] = field(default_factory=dict)  # how reported classes clustered
    history: list[dict[str, Any]] = field(default_factory=list)  # metrics per round


def save_state(path: Path, state: ServerState) -> None:
    """Write ``state`` to ``path`` atomically (write, fsync, rename)."""
    arrays: dict[str, np.ndarray] = {}
    for arch, tensors in state.weights.items():
        arrays |= {f"w:{arch}:{n}": a for n, a in tensors.items()}
    for arch, (features, _) in state.extension.items():
        arrays[f"x:{arch}"] = features
    if state.consensus is not None:
        arrays["consensus"] = state.consensus
    meta = {
        "round": state.round,
        "registry": state.registry,
        "aliases": {str(k): v for k, v in state.aliases.items()},
        "extension_labels": {a: labels for a, (_, labels) in state.extension.items()},
        "extension_version": state.extension_version,
        "clusters": state.clusters,
        "history": state.history,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta, default=float).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    atomic_write_bytes(path, buffer.getvalue())


def load_state(path: Path) -> ServerState:
    """The state :func:`save_state` wrote; a damaged file raises FileFormatError."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(arrays.pop("meta").tobytes())
        return _from(arrays, meta)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FileFormatError(
            f"{path} is not a readable server state ({exc}); delete it to start the run afresh"
        ) from exc


def _from(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> ServerState:
    weights: dict[str, dict[str, np.ndarray]] = {}
    for key, array in arrays.items():
        if key.startswith("w:"):
            _, arch, name = key.split(":", 2)
            weights.setdefault(arch, {})[name] = array
    extension = {
        arch: (arrays[f"x:{arch}"], labels) for arch, labels in meta["extension_labels"].items()
    }
    return ServerState(
        round=meta["round"],
        registry=meta["registry"],
        aliases={int(k): v for k, v in meta["aliases"].items()},
        weights=weights,
        consensus=arrays.get("consensus"),
        extension=extension,
        extension_version=meta["extension_version"],
        clusters=meta["clusters"],
        history=meta["history"],
    )
