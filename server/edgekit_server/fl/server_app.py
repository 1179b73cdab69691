"""The Flower ServerApp: heterogeneous zero-shot federated learning over a workspace.

Run config (``[tool.flwr.app.config]`` in server/pyproject.toml, overridable with
``--run-config``): ``workspace`` (the absolute path of a federation folder, built by
``edgekit-fl build``) and the keys of :class:`~edgekit_server.fl.strategy.ServerConfig` and
:class:`~edgekit_server.fl.client.ClientConfig` (their ``RUN_CONFIG``), whose defaults are
theirs.

The round logic is :class:`~edgekit_server.fl.strategy.ZeroShotStrategy` (checkpointed: a
restarted ServerApp resumes where it was); this module only moves messages. Per-round metrics
and the final state go to ``<workspace>/server/results.json`` and the log.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from flwr.app import Context, Message, RecordDict
from flwr.serverapp import Grid, ServerApp

from edgekit._quiet import quiet_dependencies
from edgekit.atomic import atomic_write_bytes
from edgekit.audio.config import FrontendConfig
from edgekit.export.manifest import read_manifest
from edgekit_server.errors import MalformedReply, TooFewClients
from edgekit_server.fl import run_config
from edgekit_server.fl.driver import run_federation
from edgekit_server.fl.hub_bridge import HubSettings
from edgekit_server.fl.messages import (
    decode_impressions,
    decode_result,
    encode_instruction,
    payload_bytes,
)
from edgekit_server.fl.protocol import Instruction, TrainResult
from edgekit_server.fl.strategy import ServerConfig, ZeroShotStrategy
from edgekit_server.fl.workspace import Workspace

__all__ = ["FlowerTransport", "app"]

log = logging.getLogger("edgekit_server.fl")
app = ServerApp()


class FlowerTransport:
    """Reaches the clients through a Flower Grid; one node per client of the workspace and per
    hub architecture."""

    def __init__(
        self, grid: Grid, workspace: Workspace, wait_s: float, timeout_s: float, expected: int
    ) -> None:
        self.grid = grid
        self.ws = workspace
        self.expected = expected
        self.wait_s = wait_s
        self.timeout_s = timeout_s
        self.node_of: dict[int, int] = {}  # client id -> node id
        self.upload_bytes: list[int] = []  # per reply of the last round

    def clients(self) -> list[int]:
        expected = self.expected
        deadline = time.monotonic() + self.wait_s
        nodes = list(self.grid.get_node_ids())
        while len(nodes) < expected and time.monotonic() < deadline:
            time.sleep(1.0)
            nodes = list(self.grid.get_node_ids())
        messages = [
            Message(RecordDict(), dst_node_id=node, message_type="query.info", group_id="info")
            for node in nodes
        ]
        for reply in self.grid.send_and_receive(messages, timeout=self.timeout_s):
            if reply.has_error():
                log.warning(
                    "node %s did not say who it is: %s",
                    reply.metadata.src_node_id,
                    reply.error.reason,
                )
                continue
            client_id = reply.content["info"]["client-id"]
            self.node_of[int(str(client_id))] = reply.metadata.src_node_id
        if len(self.node_of) < expected:
            log.warning("%d of %d clients connected", len(self.node_of), expected)
        return sorted(self.node_of)

    def _exchange(
        self, contents: Mapping[int, RecordDict], kind: str, group: str
    ) -> dict[int, Any]:
        client_of = {node: cid for cid, node in self.node_of.items()}
        messages = [
            Message(content, dst_node_id=self.node_of[cid], message_type=kind, group_id=group)
            for cid, content in contents.items()
        ]
        out: dict[int, Any] = {cid: "no reply in time" for cid in contents}
        for reply in self.grid.send_and_receive(messages, timeout=self.timeout_s):
            cid = client_of.get(reply.metadata.src_node_id)
            if cid is None:
                continue
            out[cid] = (
                f"error {reply.error.code}: {reply.error.reason}" if reply.has_error() else reply
            )
        return out

    def train(self, instructions: Mapping[int, Instruction]) -> dict[int, TrainResult | str]:
        group = str(next(iter(instructions.values())).round) if instructions else "0"
        contents = {cid: encode_instruction(ins) for cid, ins in instructions.items()}
        out: dict[int, TrainResult | str] = {}
        self.upload_bytes = []
        for cid, reply in self._exchange(contents, "train", group).items():
            if isinstance(reply, str):
                out[cid] = reply
                continue
            try:
                out[cid] = decode_result(reply.content)
                self.upload_bytes.append(payload_bytes(reply.content))
            except MalformedReply as exc:
                out[cid] = str(exc)
        return out

    def finish(self, instructions: Mapping[int, Instruction]) -> dict[int, str | None]:
        contents = {cid: encode_instruction(ins) for cid, ins in instructions.items()}
        replies = self._exchange(contents, "evaluate", "final")
        return {cid: r if isinstance(r, str) else None for cid, r in replies.items()}

    def impressions(self, client_ids: Sequence[int]) -> dict[int, dict[str, np.ndarray] | str]:
        spec = self.ws.spec()
        fe = FrontendConfig.from_dict(read_manifest(self.ws.bundle(spec.archs[0])).frontend)
        out: dict[int, dict[str, np.ndarray] | str] = {}
        contents = {cid: RecordDict() for cid in client_ids}
        for cid, reply in self._exchange(contents, "query.impressions", "impressions").items():
            if isinstance(reply, str):
                out[cid] = reply
                continue
            try:
                out[cid] = decode_impressions(reply.content, fe.n_mels, fe.n_frames)
            except MalformedReply as exc:
                out[cid] = str(exc)
        return out


@app.main()
def main(grid: Grid, context: Context) -> None:
    quiet_dependencies()
    if not log.handlers:  # our progress lines, without the INFO chatter of flwr's HTTP client
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    run: Any = context.run_config
    ws = Workspace(run_config.workspace_path(run))
    config = ServerConfig.from_run_config(run)
    server = ZeroShotStrategy(ws, config, HubSettings.from_run_config(run))
    transport = FlowerTransport(
        grid, ws, config.wait_nodes_s, config.reply_timeout_s, len(server.fed.clients)
    )
    started = time.monotonic()
    results: dict[str, Any] = {"config": dict(run), "rounds": []}

    def on_round(metrics: dict[str, Any]) -> None:
        metrics["upload_bytes_per_client"] = (
            float(np.mean(transport.upload_bytes)) if transport.upload_bytes else 0.0
        )
        metrics["seconds"] = round(time.monotonic() - started, 2)
        results["rounds"].append(metrics)
        log.info(
            "round %d: %d clients, accuracy %.2f%% (old %.2f%%, new %.2f%%), rejected %s",
            metrics["round"],
            metrics["clients"],
            metrics["acc"],
            metrics["acc_old"],
            metrics["acc_new"],
            metrics["rejected"] or "none",
        )
        _write(ws, results)

    try:
        run_federation(server, transport, on_round)
    except TooFewClients as exc:
        log.error("stopped: %s", exc)
        results["error"] = str(exc)
        _write(ws, results)
        raise
    results["clusters"] = server.state.clusters
    results["registry"] = server.state.registry
    _write(ws, results)


def _write(ws: Workspace, results: dict[str, Any]) -> None:
    text = json.dumps(results, indent=2, default=str)
    atomic_write_bytes(ws.server_dir / "results.json", text.encode())
