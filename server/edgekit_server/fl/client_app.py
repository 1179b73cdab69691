"""The Flower ClientApp: each SuperNode is one simulated phone of the federation workspace.

Its partition id (``--node-config "partition-id=N"``, or the Simulation Engine's) is its client
id; ``workspace`` in the run config is the federation's folder. Messages:

- ``query.info``: which client this is (id, architecture, examples).
- ``train``: one round (:meth:`FederatedClient.train`) through the bundle's ExecuTorch program.
- ``query.impressions``: data impressions of its new classes (eager PyTorch, see impressions.py).

A partition after the workspace's clients is a hub node (``hub-*`` in the run config,
:mod:`~edgekit_server.fl.hub_bridge`): it answers ``train`` with the hub's aggregate and
``evaluate`` (sent once, after the last round) by publishing the final weights on the hub.
"""

from __future__ import annotations

from typing import Any

from flwr.app import ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from edgekit._quiet import quiet_dependencies
from edgekit_server.fl import run_config
from edgekit_server.fl.client import ClientConfig, FederatedClient
from edgekit_server.fl.hub_bridge import HubBridge, HubSettings, hub_arch
from edgekit_server.fl.messages import decode_instruction, encode_impressions, encode_result
from edgekit_server.fl.workspace import Workspace

__all__ = ["app"]

app = ClientApp()


def _client(context: Context) -> FederatedClient | HubBridge:
    quiet_dependencies()
    run: Any = context.run_config
    ws = Workspace(run_config.workspace_path(run))
    client_id = int(context.node_config["partition-id"])
    hubs = HubSettings.from_run_config(run)
    arch = hub_arch(ws.spec(), hubs, client_id)
    if arch is not None:
        return HubBridge(ws, client_id, arch, hubs)
    return FederatedClient(ws, client_id, ClientConfig.from_run_config(run))


@app.query("info")
def info(msg: Message, context: Context) -> Message:
    client = _client(context)
    if isinstance(client, HubBridge):
        client.close()
        arch, examples = client.arch, 0
    else:
        arch, examples = client.me.arch, client.me.n_examples
    record = ConfigRecord({"client-id": client.id, "arch": arch, "n-examples": examples})
    return Message(content=RecordDict({"info": record}), reply_to=msg)


@app.train()
def train(msg: Message, context: Context) -> Message:
    client = _client(context)
    try:
        result = client.train(decode_instruction(msg.content))
    finally:
        if isinstance(client, HubBridge):
            client.close()
    return Message(content=encode_result(result), reply_to=msg)


@app.evaluate()
def publish_final(msg: Message, context: Context) -> Message:
    """A hub node publishes the federation's final weights as the hub's next version."""
    client = _client(context)
    if not isinstance(client, HubBridge):
        raise TypeError(f"client {client.id} is no hub node: the server sends it no evaluate")
    try:
        weights = decode_instruction(msg.content).weights
        number = client.publish(weights) if weights is not None else None
    finally:
        client.close()
    record = MetricRecord({"published": number or 0})
    return Message(content=RecordDict({"metrics": record}), reply_to=msg)


@app.query("impressions")
def impressions(msg: Message, context: Context) -> Message:
    client = _client(context)
    if isinstance(client, HubBridge):  # phones keep their clips: a hub has no new classes
        client.close()
        raise TypeError(f"hub node {client.id} has no impressions to give")
    return Message(content=encode_impressions(client.impressions()), reply_to=msg)
