"""Buffered asynchronous aggregation of phone updates (FedBuff: Nguyen et al., AISTATS 2022).

Phones train whenever they can, each from the version it runs, so an update may be *stale*: the
hub has published newer versions since. Per architecture the hub buffers updates; when ``k`` are
in, it flushes them into one step on the current weights:

    w_new = w_now + server_lr * sum_i a_i (u_i - w_{v_i}) / sum_i a_i,
    a_i = examples_i * (1 + staleness_i) ** -exponent,   staleness_i = now - v_i,

where ``u_i`` is update i's trainable weights and ``w_{v_i}`` those of the version it trained
from, so each update counts as the change it made, applied to today's weights. Updates staler
than ``max_staleness`` versions are dropped, not applied. The weighted mean of the changes is the
federation's own :func:`~edgekit_server.fl.aggregation.fedavg`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from edgekit_server.fl.aggregation import fedavg

__all__ = ["BufferConfig", "Flush", "PendingUpdate", "flush", "staleness_weight"]

Weights = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class BufferConfig:
    k: int = 10  # updates per flush, >= 1
    max_staleness: int = 5  # versions behind the current one; older updates are dropped, >= 0
    exponent: float = 0.5  # staleness discount (1 + s) ** -exponent, >= 0
    server_lr: float = 1.0  # step along the mean change, > 0

    def __post_init__(self) -> None:
        if self.k < 1 or self.max_staleness < 0 or self.exponent < 0 or self.server_lr <= 0:
            raise ValueError(f"invalid buffer settings: {self}")


@dataclass(frozen=True, eq=False)
class PendingUpdate:
    """A phone's trainable weights after training from ``version`` on ``examples`` clips."""

    update_id: int
    version: int
    weights: Weights
    examples: int


@dataclass(frozen=True)
class Flush:
    weights: dict[str, np.ndarray]  # the aggregate, to publish as the next version
    applied: tuple[int, ...]  # update ids
    dropped: tuple[int, ...]  # too stale


def staleness_weight(staleness: int, exponent: float) -> float:
    """``(1 + staleness) ** -exponent``: 1 for a fresh update, smaller the older it is."""
    if staleness < 0:
        raise ValueError(f"an update cannot come from a future version (staleness {staleness})")
    return float((1.0 + staleness) ** -exponent)


def flush(
    current: Weights,
    current_version: int,
    buffer: Sequence[PendingUpdate],
    weights_of: Callable[[int], Weights],
    config: BufferConfig,
) -> Flush | None:
    """One aggregation step once the buffer holds ``k`` updates (None before). ``weights_of(v)``
    gives version v's trainable weights. When every buffered update is too stale, nothing is
    applied: the result is the current weights, and the updates are dropped."""
    if len(buffer) < config.k:
        return None
    fresh = [u for u in buffer if current_version - u.version <= config.max_staleness]
    dropped = tuple(
        u.update_id for u in buffer if current_version - u.version > config.max_staleness
    )
    if not fresh:
        return Flush({k: np.array(v) for k, v in current.items()}, (), dropped)
    changes = []
    for update in fresh:
        base = weights_of(update.version)
        changes.append({key: update.weights[key] - base[key] for key in current})
    factors = [
        u.examples * staleness_weight(current_version - u.version, config.exponent) for u in fresh
    ]
    mean = fedavg(changes, factors)
    out = {k: (current[k] + config.server_lr * mean[k]).astype(current[k].dtype) for k in current}
    return Flush(out, tuple(u.update_id for u in fresh), dropped)
