"""Every field of a client's reply is checked before a round uses it: a bad reply is logged and
left out, and the round's aggregate is the one its good replies give."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import numpy as np
import pytest

from edgekit_server.errors import TooFewClients
from edgekit_server.fl.protocol import TrainResult
from edgekit_server.fl.reply_check import weights_norm
from edgekit_server.fl.strategy import ServerConfig, ZeroShotStrategy
from edgekit_server.fl.workspace import Workspace

GOOD, BAD = (0, 1), 2  # clients of the tiny federation: two good replies and a bad one
CONFIG = ServerConfig(rounds=1, impressions=False, min_clients=2)


def _honest_reply(ws: Workspace, server: ZeroShotStrategy, cid: int) -> TrainResult:
    """A reply as a client that trained a little would send: its bundle's weights moved by 1%,
    a softmax on D0 over its labels, accuracies in range."""
    rng = np.random.default_rng(cid)
    expected = server.expected(cid)
    with np.load(ws.bundle(ws.spec().client(cid).arch) / "weights.npz") as data:
        weights = {
            n: (data[n] * (1 + 0.01 * rng.standard_normal(data[n].shape))).astype(np.float32)
            for n in data.files
        }
    registry = list(expected.registry)
    labels = [x for x in ws.spec().client(cid).labels if x in registry]
    mine = np.isin(registry, labels)
    logits = np.where(mine, rng.standard_normal((expected.n_d0, len(registry))), -np.inf)
    scores = np.exp(logits - logits.max(axis=1, keepdims=True))
    scores = (scores / scores.sum(axis=1, keepdims=True)).astype(np.float32)
    accuracy = np.where(mine, rng.uniform(0, 1, len(registry)), np.nan).astype(np.float32)
    metrics = {"acc": 40.0 + cid, "acc_old": 50.0 + cid, "acc_new": 5.0 + cid}
    return TrainResult(weights, 20 + cid, labels, scores, accuracy, metrics)


def _round(ws: Workspace, build: Callable[[ZeroShotStrategy], dict[int, TrainResult]]) -> tuple:
    """A fresh server's first round over the replies ``build`` makes; (server, metrics)."""
    ws.reset_run()
    server = ZeroShotStrategy(ws, CONFIG)
    return server, server.aggregate_train(build(server))


def _assert_same_aggregate(a: ZeroShotStrategy, b: ZeroShotStrategy, ma: dict, mb: dict) -> None:
    assert a.state.weights.keys() == b.state.weights.keys()
    for arch, tensors in a.state.weights.items():
        for name, value in tensors.items():
            np.testing.assert_array_equal(value, b.state.weights[arch][name])
    np.testing.assert_array_equal(a.state.consensus, b.state.consensus)
    assert {k: ma[k] for k in ("clients", "acc", "acc_old", "acc_new", "per_client")} == {
        k: mb[k] for k in ("clients", "acc", "acc_old", "acc_new", "per_client")
    }


def _edit(reply: TrainResult, **changes: object) -> TrainResult:
    return dataclasses.replace(reply, **changes)


def _weights(r: TrainResult, f: Callable[[str, np.ndarray], np.ndarray | None]) -> TrainResult:
    out = {n: f(n, a) for n, a in r.weights.items()}
    return _edit(r, weights={n: a for n, a in out.items() if a is not None})


def _first(r: TrainResult, f: Callable[[np.ndarray], np.ndarray]) -> TrainResult:
    """``r`` with ``f`` applied to its first weight tensor."""
    first = next(iter(r.weights))
    return _weights(r, lambda n, a: f(a) if n == first else a)


def _scores(r: TrainResult, f: Callable[[np.ndarray], np.ndarray]) -> TrainResult:
    return _edit(r, d0_scores=f(r.d0_scores.copy()))


def _set(a: np.ndarray, index: object, value: float) -> np.ndarray:
    a[index] = value
    return a


# field -> (how the bad reply differs from an honest one, what the reason says)
BAD_REPLIES: dict[str, tuple[Callable[[TrainResult], TrainResult], str]] = {
    "weights: a tensor missing": (
        lambda r: _weights(r, lambda n, a: None if n.endswith("bias") else a),
        "trainable tensors",
    ),
    "weights: an extra tensor": (
        lambda r: _edit(r, weights={**r.weights, "backbone.w": np.zeros(3, np.float32)}),
        "trainable tensors",
    ),
    "weights: a wrong shape": (lambda r: _first(r, lambda a: a[:1]), "has shape"),
    "weights: integers": (lambda r: _first(r, lambda a: a.astype(np.int32)), "floating-point"),
    "weights: Inf": (lambda r: _first(r, lambda a: a * np.inf), "NaN or Inf"),
    "n_examples: zero": (lambda r: _edit(r, n_examples=0), "impossible example count"),
    "n_examples: negative": (lambda r: _edit(r, n_examples=-3), "impossible example count"),
    "n_examples: 10^9": (lambda r: _edit(r, n_examples=10**9), "impossible example count"),
    "n_examples: a fraction": (lambda r: _edit(r, n_examples=2.5), "impossible example count"),
    "labels: unknown": (lambda r: _edit(r, labels=[*r.labels, "banana"]), "banana"),
    "labels: not strings": (lambda r: _edit(r, labels=[*r.labels, 7]), "list of strings"),
    "d0_scores: a wrong shape": (lambda r: _scores(r, lambda s: s[:, :2]), "D0 scores of shape"),
    "d0_scores: negative": (lambda r: _scores(r, lambda s: -s), "in [0, 1]"),
    "d0_scores: above 1": (lambda r: _scores(r, lambda s: _set(s, (0, 0), 1.5)), "in [0, 1]"),
    "d0_scores: NaN": (lambda r: _scores(r, lambda s: _set(s, (0, 0), np.nan)), "NaN or Inf"),
    "d0_scores: rows over 1": (lambda r: _scores(r, lambda s: s * 0 + 0.5), "sum to at most 1"),
    "d0_label_accuracy: a wrong shape": (
        lambda r: _edit(r, d0_label_accuracy=r.d0_label_accuracy[:3]),
        "D0 label accuracy of shape",
    ),
    "d0_label_accuracy: above 1": (
        lambda r: _edit(r, d0_label_accuracy=np.full_like(r.d0_label_accuracy, 3.0)),
        "in [0, 1] or NaN",
    ),
    "d0_label_accuracy: negative": (
        lambda r: _edit(r, d0_label_accuracy=_set(r.d0_label_accuracy.copy(), 0, -0.5)),
        "in [0, 1] or NaN",
    ),
    "d0_label_accuracy: Inf": (
        lambda r: _edit(r, d0_label_accuracy=_set(r.d0_label_accuracy.copy(), 0, np.inf)),
        "in [0, 1] or NaN",
    ),
    "accuracy: NaN": (lambda r: _edit(r, accuracy={**r.accuracy, "acc": np.nan}), "[0, 100]"),
    "accuracy: acc_new NaN with new classes tested": (
        lambda r: _edit(r, accuracy={**r.accuracy, "acc_new": np.nan}),
        "acc_new must be in [0, 100]",
    ),
    "accuracy: above 100 percent": (
        lambda r: _edit(r, accuracy={**r.accuracy, "acc_old": 250.0}),
        "[0, 100]",
    ),
    "accuracy: a key missing": (
        lambda r: _edit(r, accuracy={"acc": 50.0}),
        "accuracy must report",
    ),
}


def _good(ws: Workspace) -> Callable[[ZeroShotStrategy], dict[int, TrainResult]]:
    return lambda server: {cid: _honest_reply(ws, server, cid) for cid in GOOD}


@pytest.fixture(scope="module")
def clean_round(federation: Workspace) -> tuple[ZeroShotStrategy, dict]:
    """The first round over the good replies alone."""
    return _round(federation, _good(federation))


def test_the_honest_replies_are_all_used(federation: Workspace) -> None:
    _, metrics = _round(
        federation, lambda s: {cid: _honest_reply(federation, s, cid) for cid in (*GOOD, BAD)}
    )
    assert metrics["clients"] == 3 and not metrics["rejected"]


@pytest.mark.parametrize("case", list(BAD_REPLIES))
def test_a_bad_field_rejects_the_reply_and_the_round_aggregates_the_good_ones(
    federation: Workspace,
    clean_round: tuple[ZeroShotStrategy, dict],
    caplog: pytest.LogCaptureFixture,
    case: str,
) -> None:
    # Prepare
    spoil, reason = BAD_REPLIES[case]

    def with_bad(server: ZeroShotStrategy) -> dict[int, TrainResult]:
        return {**_good(federation)(server), BAD: spoil(_honest_reply(federation, server, BAD))}

    # Execute
    with caplog.at_level(logging.WARNING, logger="edgekit_server.fl"):
        mixed, metrics = _round(federation, with_bad)

    # Assert: the bad reply is named with its reason in one log line, and left out
    assert list(metrics["rejected"]) == [BAD]
    assert reason in metrics["rejected"][BAD]
    lines = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert len(lines) == 1 and f"client {BAD}" in lines[0] and reason in lines[0]
    _assert_same_aggregate(mixed, clean_round[0], metrics, clean_round[1])


def test_a_reply_scaled_by_1e30_is_rejected_and_the_ratio_is_a_run_config_key(
    federation: Workspace,
) -> None:
    # Prepare: the finding of a hostile client, every weight times 1e30 (finite in float32)
    def scaled(factor: float) -> Callable[[ZeroShotStrategy], dict[int, TrainResult]]:
        def build(server: ZeroShotStrategy) -> dict[int, TrainResult]:
            replies = {cid: _honest_reply(federation, server, cid) for cid in (*GOOD, BAD)}
            replies[BAD] = _weights(replies[BAD], lambda n, a: a * np.float32(factor))
            return replies

        return build

    # Execute / Assert: rejected at the default ratio, the global weights stay in scale
    server, metrics = _round(federation, scaled(1e30))
    assert "max-weight-ratio" in metrics["rejected"][BAD]
    for tensors in server.state.weights.values():
        assert all(np.isfinite(a).all() and np.abs(a).max() < 1e3 for a in tensors.values())
    # twice the norm passes the default ratio (100) and not a ratio of 1.5 set by run config
    _, metrics = _round(federation, scaled(2.0))
    assert not metrics["rejected"]
    strict = ServerConfig.from_run_config({"max-weight-ratio": 1.5, "min-clients": 2})
    federation.reset_run()
    server = ZeroShotStrategy(federation, strict)
    metrics = server.aggregate_train(scaled(2.0)(server))
    assert list(metrics["rejected"]) == [BAD]
    # after a round the bound follows the group's global weights
    arch = federation.spec().client(GOOD[0]).arch
    assert server.expected(GOOD[0]).reference_norm == weights_norm(server.state.weights[arch])


def test_a_nan_metric_is_rejected_and_too_few_good_replies_stop_the_round(
    federation: Workspace,
) -> None:
    # Prepare
    federation.reset_run()
    server = ZeroShotStrategy(federation, dataclasses.replace(CONFIG, min_clients=3))
    replies = {cid: _honest_reply(federation, server, cid) for cid in (*GOOD, BAD)}
    replies[BAD] = _edit(replies[BAD], accuracy={**replies[BAD].accuracy, "acc_old": np.nan})

    # Execute / Assert: two valid replies, three needed
    assert "acc_old must be in [0, 100]" in str(server.problem(BAD, replies[BAD]))
    with pytest.raises(TooFewClients, match="2 valid replies, at least 3 needed"):
        server.aggregate_train(replies)
    assert server.state.round == 0 and not server.state.weights
