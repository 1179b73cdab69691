"""The server side of heterogeneous zero-shot federated learning, apart from Flower.

In Flower's vocabulary: :meth:`ZeroShotStrategy.configure_train` says what each client does in a
round (its architecture group's averaged trainable weights, the label-wise consensus on D0 to
distil toward, the label registry, new global examples), and
:meth:`ZeroShotStrategy.aggregate_train` validates the replies (malformed ones are rejected and
logged, the round goes on), averages them within each architecture group (FedAvg) and builds the
next consensus from their D0 scores. With impressions, :meth:`aggregate_impressions` clusters the
new classes that clients report into global classes, gives them slots, and adds every
architecture's own embedding of them (``embed_logmel`` of its bundle) to its global set.

It is not a subclass of ``flwr.serverapp.strategy.Strategy``: that interface carries one global
``ArrayRecord`` to every client, where this strategy keeps one set of weights per architecture,
sends each client its own instruction and asks the owners of new classes for impressions between
rounds. The round loop (:mod:`edgekit_server.fl.driver`) plays the part of ``Strategy.start``.
The state is checkpointed after every step, so a restarted server resumes where it was.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from edgekit.errors import ConfigError
from edgekit.export.bundle import BUNDLE_FILES, flatten_parts
from edgekit.export.manifest import read_manifest
from edgekit.runtime import Program
from edgekit_server.errors import MalformedReply, TooFewClients, WorkspaceError
from edgekit_server.fl import run_config
from edgekit_server.fl.aggregation import fedavg, label_overlap, label_wise_consensus
from edgekit_server.fl.clustering import cluster_groups, joint_space
from edgekit_server.fl.hub_bridge import HubSettings, with_hubs
from edgekit_server.fl.protocol import Instruction, TrainResult
from edgekit_server.fl.reply_check import ACCURACY_KEYS, Expected, check_reply, weights_norm
from edgekit_server.fl.state import ServerState, load_state, save_state
from edgekit_server.fl.workspace import Workspace

__all__ = ["ImpressionReport", "ServerConfig", "ZeroShotStrategy"]

log = logging.getLogger("edgekit_server.fl")
STATE_FILE = "server_state.npz"


@dataclass(frozen=True)
class ServerConfig:
    """How the server runs a federation (run-config keys in ``RUN_CONFIG``)."""

    rounds: int = 30  # federated rounds, >= 1
    impressions: bool = True  # clients report new classes as data impressions (else standard FL)
    min_clients: int = 2  # a round needs at least this many valid replies, >= 1
    cluster_k: int = 0  # number of new classes when known, >= 0; 0: estimated (silhouette)
    max_examples: int = 1_000_000  # a reply claiming more examples is impossible, >= 1
    # a reply whose weights' L2 norm exceeds this many times its group's global weights' is
    # rejected (a scaled update would drag the group's average), >= 1
    max_weight_ratio: float = 100.0
    wait_nodes_s: float = 60.0  # seconds to wait for every client to connect, > 0
    reply_timeout_s: float = 600.0  # seconds a round waits for replies, > 0

    RUN_CONFIG: ClassVar[dict[str, str]] = {  # run-config key -> field
        "num-server-rounds": "rounds",
        "impressions": "impressions",
        "min-clients": "min_clients",
        "cluster-k": "cluster_k",
        "wait-nodes-s": "wait_nodes_s",
        "reply-timeout-s": "reply_timeout_s",
        "max-weight-ratio": "max_weight_ratio",
    }

    def __post_init__(self) -> None:
        for name in ("rounds", "min_clients", "max_examples"):
            if getattr(self, name) < 1:
                raise ConfigError(f"ServerConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.cluster_k < 0:
            raise ConfigError(f"ServerConfig.cluster_k must be >= 0, got {self.cluster_k}")
        if not 1 <= self.max_weight_ratio < float("inf"):
            raise ConfigError(
                "ServerConfig.max_weight_ratio must be finite and >= 1, got "
                f"{self.max_weight_ratio}"
            )
        if self.wait_nodes_s <= 0 or self.reply_timeout_s <= 0:
            raise ConfigError(
                "ServerConfig.wait_nodes_s and reply_timeout_s must be > 0, got "
                f"{self.wait_nodes_s}, {self.reply_timeout_s}"
            )

    @classmethod
    def from_run_config(cls, run: Mapping[str, Any]) -> ServerConfig:
        """The config a Flower run config describes (defaults for the keys it lacks)."""
        return run_config.read(cls, run, cls.RUN_CONFIG)


@dataclass
class ImpressionReport:
    """The impressions one client made of one of its new classes."""

    client_id: int
    local_name: str  # the client's name of its new class
    logmel: np.ndarray  # (n, n_mels, frames)


class ZeroShotStrategy:
    """Round logic and state; the Flower ServerApp only moves its inputs and outputs."""

    def __init__(
        self,
        workspace: Workspace,
        config: ServerConfig | None = None,
        hubs: HubSettings | None = None,
    ) -> None:
        self.ws = workspace
        self.config = config or ServerConfig()
        self.hubs = hubs or HubSettings()
        self.fed = with_hubs(workspace.spec(), self.hubs)  # the hub nodes are clients too
        self.manifests = {a: read_manifest(workspace.bundle(a)) for a in self.fed.archs}
        self.state = ServerState(registry=list(self.fed.old_labels))
        self.path = workspace.server_dir / STATE_FILE
        self._programs: dict[str, Program] = {}  # loaded bundles, by architecture
        self._initial_norms: dict[str, float] = {}  # norm of each bundle's initial weights
        self._d0_count: int | None = None  # public clips in D0 (the same in every bundle)
        self._tests_new: bool | None = None  # whether the common test set holds a new class
        if self.path.exists():
            self.state = load_state(self.path)
            log.info("resuming from round %d (%s)", self.state.round, self.path)

    @property
    def hub_ids(self) -> list[int]:
        """The clients that are hub nodes (:mod:`~edgekit_server.fl.hub_bridge`): ``with_hubs``
        appends them after the workspace's own."""
        hubs = len(self.hubs.architectures)
        return [c.id for c in self.fed.clients[len(self.fed.clients) - hubs :]]

    # ------------------------------------------------------------------- train
    def configure_train(self, client_id: int) -> Instruction:
        """What client ``client_id`` does in the next round."""
        arch = self.fed.client(client_id).arch
        ext = self.state.extension.get(arch)
        consensus = self.state.consensus
        if consensus is not None and consensus.shape[1] < len(self.state.registry):
            # labels registered since: nobody has scored them on D0 yet
            missing = len(self.state.registry) - consensus.shape[1]
            consensus = np.pad(consensus, ((0, 0), (0, missing)))
        return Instruction(
            round=self.state.round + 1,
            weights=self.state.weights.get(arch),
            consensus=consensus,
            registry=list(self.state.registry),
            aliases=dict(self.state.aliases.get(client_id, {})),
            extension=ext,
            extension_version=self.state.extension_version,
            report_new=self.config.impressions,
        )

    def problem(self, client_id: int, reply: TrainResult) -> str | None:
        """Why a reply cannot be used (None: it can); see :mod:`~edgekit_server.fl.reply_check`."""
        try:
            check_reply(reply, self.expected(client_id))
        except MalformedReply as exc:
            return str(exc)
        return None

    def expected(self, client_id: int) -> Expected:
        """What client ``client_id``'s reply must be this round (MalformedReply if unknown)."""
        try:
            me = self.fed.client(client_id)
        except WorkspaceError:
            raise MalformedReply(f"unknown client {client_id}") from None
        arch = me.arch
        current = self.state.weights.get(arch)
        return Expected(
            weight_shapes={t["name"]: tuple(t["shape"]) for t in self.manifests[arch].trainable},
            reference_norm=weights_norm(current) if current else self._initial_norm(arch),
            registry=list(self.state.registry),
            # in standard FL a client may keep an unreported class; it is never aggregated by name
            local_labels=set(me.new_labels),
            n_d0=self._n_d0(),
            max_examples=self.config.max_examples,
            max_weight_ratio=self.config.max_weight_ratio,
            new_classes_tested=self._new_classes_tested(),
        )

    def _initial_norm(self, arch: str) -> float:
        """Norm of the bundle's trainable weights: every client of ``arch`` starts from them."""
        if arch not in self._initial_norms:
            path = self.ws.bundle(arch) / BUNDLE_FILES["weights"]
            with np.load(path, allow_pickle=False) as data:
                self._initial_norms[arch] = weights_norm({k: data[k] for k in data.files})
        return self._initial_norms[arch]

    def _n_d0(self) -> int:
        if self._d0_count is None:
            path = self.ws.bundle(self.fed.archs[0]) / BUNDLE_FILES["d0"]
            with np.load(path, allow_pickle=False) as data:
                self._d0_count = len(data["labels"])
        return self._d0_count

    def _new_classes_tested(self) -> bool:
        if self._tests_new is None:
            self._tests_new = bool(set(self.ws.test_labels()) - set(self.fed.old_labels))
        return self._tests_new

    def aggregate_train(self, replies: Mapping[int, TrainResult]) -> dict[str, Any]:
        """FedAvg per group, label-wise consensus across groups; returns the round's metrics."""
        good: dict[int, TrainResult] = {}
        rejected: dict[int, str] = {}
        for cid, reply in replies.items():
            reason = self.problem(cid, reply)
            if reason is None:
                good[cid] = reply
            else:
                rejected[cid] = reason
                log.warning(
                    "round %d: rejected the reply of client %d: %s",
                    self.state.round + 1,
                    cid,
                    reason,
                )
        if len(good) < self.config.min_clients:
            raise TooFewClients(
                f"round {self.state.round + 1}: {len(good)} valid replies, at least "
                f"{self.config.min_clients} needed"
            )
        for arch in self.fed.archs:
            group = [r for cid, r in good.items() if self.fed.client(cid).arch == arch]
            if group:
                self.state.weights[arch] = fedavg(
                    [r.weights for r in group], [r.n_examples for r in group]
                )
        registry = self.state.registry
        masks = [np.isin(registry, r.labels) for r in good.values()]
        accuracy = [np.nan_to_num(r.d0_label_accuracy, nan=0.0) for r in good.values()]
        overlap = label_overlap([r.labels for r in good.values()], registry)
        if any(m.any() for m in masks):  # else no reply predicts a registry label: keep the last
            self.state.consensus, _ = label_wise_consensus(
                [r.d0_scores for r in good.values()], masks, accuracy, overlap.tolist()
            )
        self.state.round += 1
        metrics = {
            "round": self.state.round,
            "clients": len(good),
            "rejected": rejected,
            **{k: float(np.mean([r.accuracy[k] for r in good.values()])) for k in ACCURACY_KEYS},
            "per_client": {cid: r.accuracy for cid, r in good.items()},
        }
        self.state.history.append(metrics)
        self.checkpoint()
        return metrics

    # ------------------------------------------------------------- impressions
    def aggregate_impressions(self, reports: Sequence[ImpressionReport]) -> dict[str, Any]:
        """Cluster reported new classes, give them global slots, extend every global set."""
        if not reports:
            return {}
        every = {b: [self.embed(b, r.logmel) for r in reports] for b in self.fed.archs}
        clusters = cluster_groups(joint_space(every, self._public()), self.config.cluster_k or None)
        names = _cluster_names(clusters, [r.local_name for r in reports])
        for name in names:
            if name not in self.state.registry:
                self.state.registry.append(name)
        for i, report in enumerate(reports):
            self.state.aliases.setdefault(report.client_id, {})[report.local_name] = names[
                int(clusters[i])
            ]
        labels = [names[int(c)] for i, c in enumerate(clusters) for _ in reports[i].logmel]
        for arch in self.fed.archs:
            features = np.concatenate(every[arch]).astype(np.float32)
            self.state.extension[arch] = (features, labels)
        self.state.extension_version += 1
        self.state.clusters = {
            "groups": [(r.client_id, r.local_name) for r in reports],
            "cluster_of_group": clusters.tolist(),
            "names": names,
            "sizes": [len(r.logmel) for r in reports],
        }
        self.checkpoint()
        return self.state.clusters

    def _public(self) -> dict[str, np.ndarray]:
        """Every architecture's embeddings of the workspace's public clips."""
        public = {}
        for arch in self.fed.archs:
            path = self.ws.public_features(arch)
            if not path.is_file():
                raise WorkspaceError(f"{path} is missing: rebuild the workspace (edgekit-fl build)")
            public[arch] = np.load(path, allow_pickle=False)
        return public

    def embed(self, arch: str, logmel: np.ndarray) -> np.ndarray:
        """``logmel`` (n, n_mels, frames) through ``arch``'s ``embed_logmel``, flattened."""
        if arch not in self._programs:
            self._programs[arch] = Program(self.ws.bundle(arch) / "model.pte")
        program = self._programs[arch]
        step = self.manifests[arch].max_batch
        chunks = [
            torch.from_numpy(np.ascontiguousarray(logmel[i : i + step], dtype=np.float32))
            for i in range(0, len(logmel), step)
        ]
        return np.concatenate([flatten_parts(program.run("embed_logmel", c)) for c in chunks])

    # ------------------------------------------------------------------- state
    def checkpoint(self) -> None:
        save_state(self.path, self.state)


def _cluster_names(clusters: np.ndarray, local: Sequence[str]) -> list[str]:
    """Each cluster's global name: the name most of its groups use (unique, first wins)."""
    names: list[str] = []
    for c in range(int(clusters.max()) + 1):
        votes = Counter(n for n, k in zip(local, clusters, strict=True) if k == c)
        name = votes.most_common(1)[0][0]
        while name in names:
            name += "+"
        names.append(name)
    return names
