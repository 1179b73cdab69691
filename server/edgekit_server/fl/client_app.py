"""The Flower ClientApp: each SuperNode is one simulated phone of the federation workspace.

Its partition id (``--node-config "partition-id=N"``, or the Simulation Engine's) is its client
id; ``workspace`` in the run config is the federation's folder. Messages:

- ``query.info``: which client this is (id, architecture, examples).
- ``train``: one round (:meth:`FederatedClient.train`) through the bundle's ExecuTorch program.
- ``query.impressions``: data impressions of its new classes (eager PyTorch, see impressions.py).
"""

from __future__ import annotations

from typing import Any

from flwr.app import ConfigRecord, Context, Message, RecordDict
from flwr.clientapp import ClientApp

from edgekit._quiet import quiet_dependencies
from edgekit_server.fl import run_config
from edgekit_server.fl.client import ClientConfig, FederatedClient
from edgekit_server.fl.messages import decode_instruction, encode_impressions, encode_result
from edgekit_server.fl.workspace import Workspace

__all__ = ["app"]

app = ClientApp()


def _client(context: Context) -> FederatedClient:
    quiet_dependencies()
    run: Any = context.run_config
    config = ClientConfig.from_run_config(run)
    client_id = int(context.node_config["partition-id"])
    return FederatedClient(Workspace(run_config.workspace_path(run)), client_id, config)


@app.query("info")
def info(msg: Message, context: Context) -> Message:
    client = _client(context)
    record = ConfigRecord(
        {"client-id": client.id, "arch": client.me.arch, "n-examples": client.me.n_examples}
    )
    return Message(content=RecordDict({"info": record}), reply_to=msg)


@app.train()
def train(msg: Message, context: Context) -> Message:
    result = _client(context).train(decode_instruction(msg.content))
    return Message(content=encode_result(result), reply_to=msg)


@app.query("impressions")
def impressions(msg: Message, context: Context) -> Message:
    return Message(content=encode_impressions(_client(context).impressions()), reply_to=msg)
