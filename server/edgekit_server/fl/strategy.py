"""The server side of heterogeneous zero-shot federated learning, apart from Flower.

Per round: each client gets its architecture group's averaged trainable weights, the label-wise
consensus on D0 (from every group's scores) to distil toward, and the label registry. Replies
are validated (malformed ones are rejected and logged, the round goes on), averaged within each
group (FedAvg), and their D0 scores build the next consensus. With impressions, the new classes
that clients report are clustered once, given global slots, and added to every architecture's
global set. How an impression reaches an architecture (``ServerConfig.carry``):

- ``"embed"`` (default): every architecture embeds it itself (``embed_logmel`` of its bundle),
  and the clustering compares the groups in the concatenation of those embeddings, each
  standardised by the public clips' statistics. This needs impressions made for every
  architecture: the clients' cross-architecture prior (:mod:`edgekit_server.fl.impressions`,
  ``cross_weight``); impressions made for their maker alone are noise to the others.
- ``"bridge"``: only the maker's architecture embeds it; a bridge fitted on the public clips
  (:mod:`edgekit_server.fl.bridge`, ridge maps with a kernel correction) carries it into the
  others' spaces, and the clustering runs in the joint space of a second bridge fitted on the
  public clips and the probe signals (:mod:`edgekit_server.fl.probe`). The public clips align
  the architectures only where the old classes lie: with the bridge the benchmark's urban
  clustering split siren from street music for one draw of the pretrained backbones and merged
  them for two others (README, session 11); with ``"embed"`` the groups of one class met at
  cosine 0.89-0.99 against 0.15-0.47 across classes on both draws measured.

The state is
checkpointed after every step, so a restarted server resumes where it was.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgekit.atomic import atomic_write_bytes
from edgekit.export.bundle import flatten_parts
from edgekit.export.manifest import read_manifest
from edgekit.runtime import Program
from edgekit_server.errors import TooFewClients
from edgekit_server.fl.aggregation import fedavg, label_overlap, label_wise_consensus
from edgekit_server.fl.bridge import FeatureBridge
from edgekit_server.fl.clustering import cluster_groups
from edgekit_server.fl.protocol import Instruction, TrainResult
from edgekit_server.fl.workspace import Workspace

__all__ = ["ImpressionReport", "ServerConfig", "ZeroShotServer"]

log = logging.getLogger("edgekit_server.fl")
STATE_FILE = "server_state.npz"


@dataclass(frozen=True)
class ServerConfig:
    rounds: int = 30  # federated rounds, >= 1
    impressions: bool = True  # condition (c): clients report new classes as impressions
    min_clients: int = 2  # a round needs at least this many valid replies, >= 1
    cluster_k: int | None = None  # number of new classes, when known (else estimated)
    max_examples: int = 1_000_000  # a reply claiming more examples is impossible
    carry: str = "embed"  # how impressions reach the other architectures: "embed" (each
    # embeds them itself) or "bridge" (carried from the maker's embedding)

    def __post_init__(self) -> None:
        if self.carry not in ("embed", "bridge"):
            raise ValueError(f"carry must be 'embed' or 'bridge', got {self.carry!r}")
        if self.rounds < 1 or self.min_clients < 1:
            raise ValueError(
                f"rounds and min_clients must be >= 1, got {self.rounds}, {self.min_clients}"
            )


@dataclass
class ImpressionReport:
    client_id: int
    local_name: str  # the client's name of its new class
    logmel: np.ndarray  # (n, n_mels, frames)


@dataclass
class ServerState:
    round: int = 0
    registry: list[str] = field(default_factory=list)
    aliases: dict[int, dict[str, str]] = field(default_factory=dict)  # client -> local -> global
    weights: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # arch -> tensors
    consensus: np.ndarray | None = None
    extension: dict[str, tuple[np.ndarray, list[str]]] = field(default_factory=dict)
    extension_version: int = 0
    clusters: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)


class ZeroShotServer:
    """Round logic and state; the Flower ServerApp only moves its inputs and outputs."""

    def __init__(self, workspace: Workspace, config: ServerConfig | None = None) -> None:
        self.ws = workspace
        self.config = config or ServerConfig()
        self.fed = workspace.spec()
        self.manifests = {a: read_manifest(workspace.bundle(a)) for a in self.fed.archs}
        self.state = ServerState(registry=list(self.fed.old_labels))
        self.path = workspace.server_dir / STATE_FILE
        self._programs: dict[str, Program] = {}  # loaded bundles, by architecture
        if self.path.exists():
            self.state = _load(self.path)
            log.info("resuming from round %d (%s)", self.state.round, self.path)

    # --------------------------------------------------------------- instructions
    def instruction(self, client_id: int) -> Instruction:
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

    # ---------------------------------------------------------------- validation
    def problem(self, client_id: int, reply: TrainResult) -> str | None:
        """Why a reply cannot be used (None: it can)."""
        try:
            arch = self.fed.client(client_id).arch
        except ValueError:
            return f"unknown client {client_id}"
        expected = {t["name"]: tuple(t["shape"]) for t in self.manifests[arch].trainable}
        if set(reply.weights) != set(expected):
            return f"trainable tensors {sorted(reply.weights)} instead of {sorted(expected)}"
        for name, array in reply.weights.items():
            if tuple(array.shape) != expected[name]:
                return f"{name} has shape {tuple(array.shape)}, expected {expected[name]}"
            if not np.isfinite(array).all():
                return f"{name} holds NaN or Inf"
        if not 0 < reply.n_examples <= self.config.max_examples:
            return f"impossible example count {reply.n_examples}"
        unknown = sorted(
            set(reply.labels) - set(self.state.registry) - self._local_names(client_id)
        )
        if unknown:
            return f"unknown labels {unknown}"
        shape = (len(self._d0_labels()), len(self.state.registry))
        if reply.d0_scores.shape != shape:
            return f"D0 scores of shape {reply.d0_scores.shape}, expected {shape}"
        if not np.isfinite(reply.d0_scores).all():
            return "D0 scores hold NaN or Inf"
        return None

    def _local_names(self, client_id: int) -> set[str]:
        # in standard FL a client may keep an unreported class; it is never aggregated by name
        return set(self.fed.client(client_id).new_labels)

    def _d0_labels(self) -> np.ndarray:
        arch = self.fed.archs[0]
        with np.load(self.ws.bundle(arch) / "d0.npz") as data:
            return data["labels"]

    # ---------------------------------------------------------------- aggregation
    def aggregate(self, replies: Mapping[int, TrainResult]) -> dict[str, Any]:
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
        self.state.consensus, _ = label_wise_consensus(
            [r.d0_scores for r in good.values()], masks, accuracy, overlap.tolist()
        )
        self.state.round += 1
        metrics = {
            "round": self.state.round,
            "clients": len(good),
            "rejected": rejected,
            **{
                k: float(np.mean([r.accuracy[k] for r in good.values()]))
                for k in ("acc", "acc_old", "acc_new")
            },
            "per_client": {cid: r.accuracy for cid, r in good.items()},
        }
        self.state.history.append(metrics)
        self.checkpoint()
        return metrics

    # ---------------------------------------------------------------- impressions
    def add_impressions(self, reports: Sequence[ImpressionReport]) -> dict[str, Any]:
        """Cluster reported new classes, give them global slots, extend every global set."""
        if not reports:
            return {}
        embed = self._embedded if self.config.carry == "embed" else self._bridged
        joint, carried = embed(reports)
        clusters = cluster_groups(joint, self.config.cluster_k)
        names = _cluster_names(clusters, [r.local_name for r in reports])
        for name in names:
            if name not in self.state.registry:
                self.state.registry.append(name)
        for i, report in enumerate(reports):
            self.state.aliases.setdefault(report.client_id, {})[report.local_name] = names[
                int(clusters[i])
            ]
        for arch in self.fed.archs:
            features = np.concatenate(carried[arch])
            labels = [
                names[int(c)] for i, c in enumerate(clusters) for _ in range(len(reports[i].logmel))
            ]
            self.state.extension[arch] = (features.astype(np.float32), labels)
        self.state.extension_version += 1
        self.state.clusters = {
            "groups": [(r.client_id, r.local_name) for r in reports],
            "cluster_of_group": clusters.tolist(),
            "names": names,
            "sizes": [len(r.logmel) for r in reports],
        }
        self.checkpoint()
        return self.state.clusters

    def _embedded(
        self, reports: Sequence[ImpressionReport]
    ) -> tuple[list[np.ndarray], dict[str, list[np.ndarray]]]:
        """carry="embed": (each report in the clustering's space, each architecture's own
        embedding of each report): the space concatenates the architectures' embeddings, each
        standardised by its public clips' statistics."""
        every = {b: [self._embed(b, r.logmel) for r in reports] for b in self.fed.archs}
        scale = FeatureBridge(self._public())
        joint = [
            np.concatenate([scale.standardise(b, every[b][i]) for b in self.fed.archs], axis=1)
            for i in range(len(reports))
        ]
        return joint, every

    def _bridged(
        self, reports: Sequence[ImpressionReport]
    ) -> tuple[list[np.ndarray], dict[str, list[np.ndarray]]]:
        """carry="bridge": the same from the maker's embedding alone, through the bridges."""
        sources = [self.fed.client(r.client_id).arch for r in reports]
        own = [self._embed(a, r.logmel) for a, r in zip(sources, reports, strict=True)]
        bridge, wide = self._bridges()
        joint = [wide.joint(a, e) for a, e in zip(sources, own, strict=True)]
        carried = {
            b: [bridge.carry(a, b, e) for a, e in zip(sources, own, strict=True)]
            for b in self.fed.archs
        }
        return joint, carried

    def _bridges(self) -> tuple[FeatureBridge, FeatureBridge]:
        """(fitted on the public clips; fitted on them and the probe signals), both with the
        kernel correction: the first, close to real clips, carries impressions into the spaces
        the clients learn from; the second, broad, is the space to cluster in (a new class may
        lie where no old class does; module docstring). A workspace built without probe signals
        clusters in the first one's joint space."""
        public = self._public()
        bridge = FeatureBridge(public, kernel=True)
        paths = [self.ws.probe_features(arch) for arch in self.fed.archs]
        if not all(p.is_file() for p in paths):  # built without probe signals
            return bridge, bridge
        wide = {
            arch: np.concatenate([public[arch], np.load(path, allow_pickle=False)])
            for arch, path in zip(self.fed.archs, paths, strict=True)
        }
        return bridge, FeatureBridge(wide, kernel=True)

    def _public(self) -> dict[str, np.ndarray]:
        """Every architecture's embeddings of the workspace's public clips."""
        public = {}
        for arch in self.fed.archs:
            path = self.ws.public_features(arch)
            if not path.is_file():
                raise FileNotFoundError(
                    f"{path} is missing: the workspace predates the feature bridge; rebuild it "
                    "with edgekit_server.fl.build.build_federation (or `edgekit-fl build`)"
                )
            public[arch] = np.load(path, allow_pickle=False)
        return public

    def _embed(self, arch: str, logmel: np.ndarray) -> np.ndarray:
        if arch not in self._programs:
            self._programs[arch] = Program(self.ws.bundle(arch) / "model.pte")
        program = self._programs[arch]
        step = self.manifests[arch].max_batch
        chunks = [
            torch.from_numpy(np.ascontiguousarray(logmel[i : i + step], dtype=np.float32))
            for i in range(0, len(logmel), step)
        ]
        return np.concatenate([flatten_parts(program.run("embed_logmel", c)) for c in chunks])

    # ---------------------------------------------------------------- state
    def checkpoint(self) -> None:
        _save(self.path, self.state)


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


def _save(path: Path, state: ServerState) -> None:
    import io

    arrays: dict[str, np.ndarray] = {}
    for arch, tensors in state.weights.items():
        arrays |= {f"w:{arch}:{n}": a for n, a in tensors.items()}
    for arch, (features, _) in state.extension.items():
        arrays[f"x:{arch}"] = features
    if state.consensus is not None:
        arrays["consensus"] = state.consensus
    meta = {
        "round": state.round,
        "registry": state.registry,
        "aliases": {str(k): v for k, v in state.aliases.items()},
        "extension_labels": {a: labels for a, (_, labels) in state.extension.items()},
        "extension_version": state.extension_version,
        "clusters": state.clusters,
        "history": state.history,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta, default=float).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    atomic_write_bytes(path, buffer.getvalue())


def _load(path: Path) -> ServerState:
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(arrays.pop("meta").tobytes())
    weights: dict[str, dict[str, np.ndarray]] = {}
    for key, array in arrays.items():
        if key.startswith("w:"):
            _, arch, name = key.split(":", 2)
            weights.setdefault(arch, {})[name] = array
    extension = {
        arch: (arrays[f"x:{arch}"], labels) for arch, labels in meta["extension_labels"].items()
    }
    return ServerState(
        round=meta["round"],
        registry=meta["registry"],
        aliases={int(k): v for k, v in meta["aliases"].items()},
        weights=weights,
        consensus=arrays.get("consensus"),
        extension=extension,
        extension_version=meta["extension_version"],
        clusters=meta["clusters"],
        history=meta["history"],
    )
