"""ClientApp: each node returns its partition id as a weight and a metric."""

from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

app = ClientApp()


@app.train()
def train(msg: Message, context: Context) -> Message:
    """Add this node's partition id to the received weights; report it as a metric."""
    partition_id = int(context.node_config["partition-id"])
    weights = msg.content.array_records["arrays"].to_numpy_ndarrays()
    updated = [w + partition_id for w in weights]
    num_examples = partition_id + 1  # unequal weights make FedAvg's weighting visible
    print(f"fixture ClientApp: partition {partition_id} trained")
    content = RecordDict(
        {
            "arrays": ArrayRecord(updated),
            "metrics": MetricRecord({"partition-id": partition_id, "num-examples": num_examples}),
        }
    )
    return Message(content, reply_to=msg)
