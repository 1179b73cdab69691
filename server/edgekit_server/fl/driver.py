"""The round loop, over any transport: Flower messages (server_app.py) or direct calls.

A transport reaches the clients; the loop asks the server for each client's instruction, sends
them, hands the replies to the server, and after the first round asks the clients that reported
new classes for their impressions. :class:`InProcess` calls :class:`FederatedClient` directly:
the local-only baseline and tests use it; the federated conditions run on Flower's engines.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from edgekit.errors import ConfigError
from edgekit_server.errors import TooFewClients
from edgekit_server.fl.client import ClientConfig, FederatedClient
from edgekit_server.fl.messages import encode_result, payload_bytes
from edgekit_server.fl.protocol import Instruction, TrainResult
from edgekit_server.fl.strategy import ImpressionReport, ZeroShotStrategy
from edgekit_server.fl.workspace import Workspace

__all__ = ["InProcess", "Transport", "run_federation", "run_local_only"]

log = logging.getLogger("edgekit_server.fl")


class Transport(Protocol):
    def clients(self) -> list[int]:
        """Ids of the clients that can be reached."""

    def train(self, instructions: Mapping[int, Instruction]) -> dict[int, TrainResult | str]:
        """Each client's reply, or the reason it has none (an error string)."""

    def impressions(self, client_ids: Sequence[int]) -> dict[int, dict[str, np.ndarray] | str]:
        """Each client's impressions by its own new-class names, or an error string."""

    def finish(self, instructions: Mapping[int, Instruction]) -> dict[int, str | None]:
        """Hand the hub nodes the final weights; per node None, or why it failed."""


def run_federation(
    server: ZeroShotStrategy,
    transport: Transport,
    on_round: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Rounds until ``server.config.rounds``, resuming after the last checkpointed round."""
    ids = transport.clients()
    if len(ids) < server.config.min_clients:
        raise TooFewClients(
            f"{len(ids)} clients connected, at least {server.config.min_clients} needed"
        )
    while server.state.round < server.config.rounds:
        replies = transport.train({cid: server.configure_train(cid) for cid in ids})
        failed = {cid: r for cid, r in replies.items() if isinstance(r, str)}
        for cid, reason in failed.items():
            log.warning("round %d: client %d failed: %s", server.state.round + 1, cid, reason)
        good = {cid: r for cid, r in replies.items() if not isinstance(r, str)}
        metrics = server.aggregate_train(good)
        metrics["rejected"] |= failed
        if server.config.impressions and not server.state.clusters:
            reporting = [
                cid for cid, r in good.items() if set(r.labels) - set(server.state.registry)
            ]
            metrics["impressions"] = _impressions(server, transport, reporting)
        if on_round is not None:
            on_round(metrics)
    if server.hub_ids:  # the last round's result becomes a hub version too
        final = {cid: server.configure_train(cid) for cid in server.hub_ids}
        for cid, problem in transport.finish(final).items():
            if problem is not None:
                log.warning("hub node %d did not publish the final weights: %s", cid, problem)
    return server.state.history


def _impressions(
    server: ZeroShotStrategy, transport: Transport, client_ids: Sequence[int]
) -> dict[str, Any]:
    reports = []
    for cid, reply in transport.impressions(client_ids).items():
        if isinstance(reply, str):
            log.warning("impressions of client %d rejected: %s", cid, reply)
            continue
        reports += [ImpressionReport(cid, name, logmel) for name, logmel in reply.items()]
    return server.aggregate_impressions(reports)


class InProcess:
    """Direct calls to the workspace's clients (no Flower)."""

    def __init__(self, workspace: Workspace, config: ClientConfig | None = None) -> None:
        self.ws = workspace
        self.config = config or ClientConfig()
        self.ids = [c.id for c in workspace.spec().clients]
        self.upload_bytes: list[int] = []  # per reply of the last round, as Flower records

    def clients(self) -> list[int]:
        return list(self.ids)

    def train(self, instructions: Mapping[int, Instruction]) -> dict[int, TrainResult | str]:
        replies: dict[int, TrainResult | str] = {}
        self.upload_bytes = []
        for cid, ins in instructions.items():
            result = FederatedClient(self.ws, cid, self.config).train(ins)
            self.upload_bytes.append(payload_bytes(encode_result(result)))
            replies[cid] = result
        return replies

    def impressions(self, client_ids: Sequence[int]) -> dict[int, dict[str, np.ndarray] | str]:
        return {cid: FederatedClient(self.ws, cid, self.config).impressions() for cid in client_ids}

    def finish(self, instructions: Mapping[int, Instruction]) -> dict[int, str | None]:
        if instructions:
            raise ConfigError("hub nodes take part through Flower's engines, not in process")
        return {}


def run_local_only(
    workspace: Workspace, rounds: int, config: ClientConfig | None = None
) -> dict[str, Any]:
    """Condition (a): every client trains alone for as many rounds; final test accuracy."""
    if rounds < 1:
        raise ConfigError(f"rounds must be >= 1, got {rounds}")
    spec = workspace.spec()
    per_client = {}
    for c in spec.clients:
        client = FederatedClient(workspace, c.id, config)
        for r in range(1, rounds + 1):
            ins = Instruction(r, None, None, list(spec.old_labels), {}, None, 0, False)
            accuracy = client.train(ins).accuracy
        per_client[c.id] = accuracy
    keys = ("acc", "acc_old", "acc_new")
    return {
        **{k: float(np.mean([a[k] for a in per_client.values()])) for k in keys},
        "per_client": per_client,
    }
