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
from edgekit_server.fl.client import ClientConfig, FederatedClient
from edgekit_server.fl.impressions import ImpressionConfig
from edgekit_server.fl.messages import decode_instruction, encode_impressions, encode_result
from edgekit_server.fl.workspace import Workspace

__all__ = ["app"]

app = ClientApp()


def _client(context: Context) -> FederatedClient:
    quiet_dependencies()
    run: Any = context.run_config
    config = ClientConfig(
        epochs=int(run.get("local-epochs", ClientConfig.epochs)),
        enroll_epochs=int(run.get("enroll-epochs", ClientConfig.enroll_epochs)),
        distill_epochs=int(run.get("distill-epochs", ClientConfig.distill_epochs)),
        lr=float(run.get("lr", ClientConfig.lr)),
        seed=int(run.get("seed", ClientConfig.seed)),
        balanced_mix=bool(run.get("balanced-mix", ClientConfig.balanced_mix)),
        added_class_mass=float(run.get("added-class-mass", ClientConfig.added_class_mass)),
        impressions=ImpressionConfig(
            count=int(run.get("impression-count", ImpressionConfig.count)),
            steps=int(run.get("impression-steps", ImpressionConfig.steps)),
            cross_weight=float(run.get("impression-cross-weight", ImpressionConfig.cross_weight)),
        ),
    )
    client_id = int(context.node_config["partition-id"])
    return FederatedClient(Workspace(str(run["workspace"])), client_id, config)


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
