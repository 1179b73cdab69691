"""What server and clients exchange, and its Flower encoding (RecordDict of Array/Config/
Metric records). Decoding a reply never trusts it: a missing record, a wrong type or a
non-numeric array raises :class:`MalformedReply` with the reason, which the server logs. Whether
the decoded values fit the round (shapes, ranges, magnitudes) is for
:mod:`~edgekit_server.fl.reply_check`, which the strategy applies to every reply.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgekit_server.errors import MalformedReply
from edgekit_server.fl.protocol import Instruction, TrainResult

__all__ = [
    "Instruction",
    "MalformedReply",
    "decode_impressions",
    "decode_instruction",
    "decode_result",
    "encode_impressions",
    "encode_instruction",
    "encode_result",
    "payload_bytes",
]


def _records() -> Any:
    from flwr import app

    return app


def encode_instruction(ins: Instruction) -> Any:
    app = _records()
    arrays: dict[str, Any] = {}
    if ins.weights is not None:
        arrays |= {f"w:{n}": app.Array(np.ascontiguousarray(a)) for n, a in ins.weights.items()}
    if ins.consensus is not None:
        arrays["consensus"] = app.Array(np.ascontiguousarray(ins.consensus))
    ext_labels: list[str] = []
    if ins.extension is not None:
        arrays["extension"] = app.Array(np.ascontiguousarray(ins.extension[0]))
        ext_labels = list(ins.extension[1])
    config = app.ConfigRecord(
        {
            "round": ins.round,
            "registry": list(ins.registry),
            "alias-from": list(ins.aliases),
            "alias-to": list(ins.aliases.values()),
            "extension-labels": ext_labels,
            "extension-version": ins.extension_version,
            "report-new": ins.report_new,
        }
    )
    return app.RecordDict({"arrays": app.ArrayRecord(arrays), "config": config})


def decode_instruction(content: Any) -> Instruction:
    arrays, config = content["arrays"], content["config"]
    weights = {k[2:]: arrays[k].numpy() for k in arrays if k.startswith("w:")} or None
    extension = None
    if "extension" in arrays:
        extension = (arrays["extension"].numpy(), [str(x) for x in config["extension-labels"]])
    return Instruction(
        round=int(config["round"]),
        weights=weights,
        consensus=arrays["consensus"].numpy() if "consensus" in arrays else None,
        registry=[str(x) for x in config["registry"]],
        aliases=dict(zip(config["alias-from"], config["alias-to"], strict=True)),
        extension=extension,
        extension_version=int(config["extension-version"]),
        report_new=bool(config["report-new"]),
    )


def encode_result(res: TrainResult) -> Any:
    app = _records()
    arrays = {f"w:{n}": app.Array(np.ascontiguousarray(a)) for n, a in res.weights.items()}
    arrays["d0-scores"] = app.Array(np.ascontiguousarray(res.d0_scores))
    arrays["d0-label-accuracy"] = app.Array(np.ascontiguousarray(res.d0_label_accuracy))
    metrics = app.MetricRecord({"num-examples": res.n_examples, **res.accuracy})
    config = app.ConfigRecord({"labels": list(res.labels)})
    return app.RecordDict({"arrays": app.ArrayRecord(arrays), "metrics": metrics, "config": config})


def decode_result(content: Any) -> TrainResult:
    try:
        arrays, metrics, config = content["arrays"], content["metrics"], content["config"]
        weights = {k[2:]: arrays[k].numpy() for k in arrays if k.startswith("w:")}
        scores = arrays["d0-scores"].numpy()
        per_label = arrays["d0-label-accuracy"].numpy()
        n = metrics["num-examples"]
        if not isinstance(config["labels"], list):
            raise TypeError(f"labels must be a list, got {type(config['labels']).__name__}")
        labels = [str(x) for x in config["labels"]]
        accuracy = {k: float(metrics[k]) for k in ("acc", "acc_old", "acc_new")}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedReply(f"reply is missing or mistypes a record: {exc!r}") from exc
    for name, a in [*weights.items(), ("d0-scores", scores), ("d0-label-accuracy", per_label)]:
        if not np.issubdtype(a.dtype, np.floating):
            raise MalformedReply(f"{name} is {a.dtype}, not floating point")
    if not isinstance(n, int | float) or n != int(n):
        raise MalformedReply(f"num-examples must be an integer, got {n!r}")
    return TrainResult(weights, int(n), labels, scores, per_label, accuracy)


def encode_impressions(impressions: dict[str, np.ndarray]) -> Any:
    app = _records()
    arrays = {f"i:{name}": app.Array(np.ascontiguousarray(a)) for name, a in impressions.items()}
    return app.RecordDict({"arrays": app.ArrayRecord(arrays)})


def decode_impressions(content: Any, n_mels: int, frames: int) -> dict[str, np.ndarray]:
    try:
        arrays = content["arrays"]
        out = {k[2:]: arrays[k].numpy() for k in arrays if k.startswith("i:")}
    except (KeyError, TypeError, AttributeError) as exc:
        raise MalformedReply(f"impressions reply is malformed: {exc!r}") from exc
    for name, a in out.items():
        if a.ndim != 3 or a.shape[1:] != (n_mels, frames) or not np.isfinite(a).all():
            raise MalformedReply(
                f"impressions of {name!r} must be finite (n, {n_mels}, {frames}), got {a.shape}"
            )
    return out


def payload_bytes(content: Any) -> int:
    """Bytes of the arrays in a RecordDict (what a client uploads, without framing)."""
    total = 0
    for record in content.values():
        if hasattr(record, "items") and type(record).__name__ == "ArrayRecord":
            total += sum(int(np.asarray(a.numpy()).nbytes) for _, a in record.items())
    return total
