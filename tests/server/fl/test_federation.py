"""The federation's round logic over direct calls: zero-shot classes, robustness, resume."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import numpy as np
import pytest

from edgekit_server.errors import TooFewClients
from edgekit_server.fl.client import ClientConfig, FederatedClient
from edgekit_server.fl.driver import InProcess, run_federation
from edgekit_server.fl.impressions import ImpressionConfig
from edgekit_server.fl.strategy import ImpressionReport, ServerConfig, ZeroShotStrategy
from edgekit_server.fl.workspace import Workspace

pytestmark = pytest.mark.slow
FAST = ClientConfig(epochs=1, enroll_epochs=5, impressions=ImpressionConfig(count=8, steps=60))


def test_reported_classes_reach_every_client(federation: Workspace) -> None:
    federation.reset_run()
    spec = federation.spec()
    server = ZeroShotStrategy(federation, ServerConfig(rounds=2, impressions=True, cluster_k=2))
    history = run_federation(server, InProcess(federation, FAST))
    assert [m["round"] for m in history] == [1, 2]
    assert set(server.state.registry[: len(spec.old_labels)]) == set(spec.old_labels)
    new = server.state.registry[len(spec.old_labels) :]
    assert len(new) == 2  # two reported classes, two clusters, two global slots
    owners = {cid for cid, _ in server.state.clusters["groups"]}
    assert owners == {c.id for c in spec.clients if c.new_labels}
    for arch in spec.archs:  # every architecture's global set holds the impressions
        features, labels = server.state.extension[arch]
        assert len(features) == len(labels) == 2 * FAST.impressions.count
    outsider = next(c for c in spec.clients if not c.new_labels)
    device = FederatedClient(federation, outsider.id, FAST)
    assert set(new) <= set(device.learner.live)  # zero-shot: it predicts classes it never had
    assert len(device.learner.global_features) == 2 * FAST.impressions.count


def test_every_architecture_learns_the_impressions_as_it_embeds_them(
    federation: Workspace,
) -> None:
    """Each architecture's global set holds its own embedding of every client's impressions,
    and the impressions of one class cluster together."""
    federation.reset_run()
    spec = federation.spec()
    sent: list[ImpressionReport] = []

    class Recording(InProcess):
        def impressions(self, client_ids: Sequence[int]) -> dict:
            out = super().impressions(client_ids)
            sent.extend(ImpressionReport(c, n, x) for c, o in out.items() for n, x in o.items())
            return out

    server = ZeroShotStrategy(federation, ServerConfig(rounds=1, cluster_k=2))
    run_federation(server, Recording(federation, FAST))
    clusters = server.state.clusters
    assert {cid for cid, _ in clusters["groups"]} == {c.id for c in spec.clients if c.new_labels}
    names = [name for _, name in clusters["groups"]]
    same = [[names[i] == names[j] for j in range(len(names))] for i in range(len(names))]
    of = clusters["cluster_of_group"]
    assert [[of[i] == of[j] for j in range(len(of))] for i in range(len(of))] == same
    for arch in spec.archs:
        features, _ = server.state.extension[arch]
        rows = 0
        for report in sent:
            n = len(report.logmel)
            mine = server.embed(arch, report.logmel)
            np.testing.assert_allclose(features[rows : rows + n], mine, rtol=1e-5, atol=1e-5)
            rows += n
        assert rows == len(features)


def test_clients_gain_the_old_classes_that_other_clients_hold(federation: Workspace) -> None:
    federation.reset_run()
    spec = federation.spec()
    lacking = {c.id: set(spec.old_labels) - set(c.labels) for c in spec.clients}
    assert any(lacking.values())  # the tiny federation has clients that lack an old class
    held = set().union(*(set(c.labels) for c in spec.clients)) & set(spec.old_labels)
    server = ZeroShotStrategy(federation, ServerConfig(rounds=2, impressions=False))
    run_federation(server, InProcess(federation, FAST))
    for c in spec.clients:
        live = set(FederatedClient(federation, c.id, FAST).learner.live)
        assert held <= live, f"client {c.id} did not gain {sorted(held - live)}"


def test_a_restarted_server_resumes_where_it_was(federation: Workspace) -> None:
    federation.reset_run()
    first = ZeroShotStrategy(federation, ServerConfig(rounds=1, impressions=False))
    run_federation(first, InProcess(federation, FAST))
    weights = {a: dict(w) for a, w in first.state.weights.items()}
    again = ZeroShotStrategy(federation, ServerConfig(rounds=2, impressions=False))  # a restart
    assert again.state.round == 1 and again.state.registry == first.state.registry
    for arch, tensors in weights.items():
        for name, value in tensors.items():
            np.testing.assert_array_equal(again.state.weights[arch][name], value)
    history = run_federation(again, InProcess(federation, FAST))
    assert [m["round"] for m in history] == [1, 2]


def test_malformed_replies_are_rejected_and_the_round_goes_on(
    federation: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    federation.reset_run()
    server = ZeroShotStrategy(federation, ServerConfig(rounds=1, impressions=False, min_clients=1))
    transport = InProcess(federation, FAST)
    replies = transport.train({cid: server.configure_train(cid) for cid in transport.clients()})
    good = next(iter(replies.values()))
    assert not isinstance(good, str)
    name = next(iter(good.weights))
    broken = {
        "nan": dataclasses.replace(
            good, weights={**good.weights, name: good.weights[name] * np.nan}
        ),
        "shape": dataclasses.replace(good, weights={**good.weights, name: good.weights[name][:1]}),
        "labels": dataclasses.replace(good, labels=[*good.labels, "banana"]),
        "count": dataclasses.replace(good, n_examples=-3),
        "scores": dataclasses.replace(good, d0_scores=good.d0_scores[:, :2]),
    }
    cids = list(replies)
    batch = {cids[0]: good, **{100 + i: r for i, r in enumerate(broken.values())}}
    with caplog.at_level(logging.WARNING, logger="edgekit_server.fl"):
        metrics = server.aggregate_train(batch)
    assert metrics["clients"] == 1 and set(metrics["rejected"]) == {100, 101, 102, 103, 104}
    assert "unknown client" in " ".join(metrics["rejected"].values())
    # the same replies from a known client name their problem
    for kind, reply in broken.items():
        problem = server.problem(cids[0], reply)
        assert problem is not None, kind
    assert "NaN" in str(server.problem(cids[0], broken["nan"]))
    assert "banana" in str(server.problem(cids[0], broken["labels"]))
    assert "impossible example count" in str(server.problem(cids[0], broken["count"]))
    assert "rejected the reply" in caplog.text
    strict = ZeroShotStrategy(federation, ServerConfig(rounds=2, impressions=False, min_clients=2))
    with pytest.raises(TooFewClients, match="at least 2 needed"):
        strict.aggregate_train({cids[0]: broken["nan"], cids[1]: good})


def test_too_few_connected_clients_stop_before_a_round(federation: Workspace) -> None:
    federation.reset_run()

    class Lonely(InProcess):
        def clients(self) -> list[int]:
            return [0]

    server = ZeroShotStrategy(federation, ServerConfig(rounds=1, min_clients=2))
    with pytest.raises(TooFewClients, match="1 clients connected"):
        run_federation(server, Lonely(federation, FAST))
