"""ServerApp: wait for the nodes, run FedAvg rounds, write the result as JSON."""

import json
import time
from pathlib import Path

import numpy as np
from flwr.app import ArrayRecord, Context, Message, RecordDict
from flwr.serverapp import Grid, ServerApp

app = ServerApp()

NODE_WAIT_S = 60.0  # how long to wait for `num-nodes` SuperNodes to connect


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Send `num-server-rounds` rounds of `train` messages and average the replies."""
    num_rounds = int(context.run_config["num-server-rounds"])
    num_nodes = int(context.run_config["num-nodes"])
    out_file = str(context.run_config["out-file"])
    if num_rounds < 1:
        raise ValueError(f"num-server-rounds must be >= 1, got {num_rounds}")

    node_ids = _wait_for_nodes(grid, num_nodes)
    weights = [np.zeros(3, dtype=np.float32)]
    rounds: list[dict[str, object]] = []
    partitions: set[int] = set()
    for server_round in range(1, num_rounds + 1):
        messages = [
            Message(
                RecordDict({"arrays": ArrayRecord(weights)}),
                dst_node_id=node_id,
                message_type="train",
                group_id=str(server_round),
            )
            for node_id in node_ids
        ]
        replies = [r for r in grid.send_and_receive(messages) if not r.has_error()]
        if len(replies) != len(node_ids):
            raise RuntimeError(f"round {server_round}: {len(replies)}/{len(node_ids)} replies")
        weights = _fedavg(replies)
        round_partitions = sorted(int(_metric(r, "partition-id")) for r in replies)
        partitions.update(round_partitions)
        rounds.append(
            {"round": server_round, "partitions": round_partitions, "weights": weights[0].tolist()}
        )
        print(f"fixture ServerApp: round {server_round} done, partitions {round_partitions}")

    if out_file:
        result = {"rounds": rounds, "partitions": sorted(partitions)}
        Path(out_file).write_text(json.dumps(result, indent=2))


def _wait_for_nodes(grid: Grid, num_nodes: int) -> list[int]:
    """Return the ids of at least `num_nodes` connected nodes, or raise after NODE_WAIT_S."""
    deadline = time.monotonic() + NODE_WAIT_S
    while True:
        node_ids = sorted(grid.get_node_ids())
        if len(node_ids) >= num_nodes:
            return node_ids
        if time.monotonic() > deadline:
            raise TimeoutError(f"expected {num_nodes} nodes, got {len(node_ids)}")
        time.sleep(1.0)


def _fedavg(replies: list[Message]) -> list[np.ndarray]:
    """Average the replies' arrays, weighted by their `num-examples` metric."""
    arrays = [r.content.array_records["arrays"].to_numpy_ndarrays() for r in replies]
    counts = np.array([_metric(r, "num-examples") for r in replies])
    shares = counts / counts.sum()
    return [
        np.tensordot(shares, np.stack(layers), axes=1).astype(layers[0].dtype)
        for layers in zip(*arrays, strict=True)
    ]


def _metric(reply: Message, name: str) -> float:
    """A scalar metric of a reply."""
    value = reply.content.metric_records["metrics"][name]
    if not isinstance(value, int | float):
        raise TypeError(f"metric {name} must be a scalar, got {value!r}")
    return value
