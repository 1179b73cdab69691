"""A simulated phone in a federation: an edgekit Learner on the client's own clips.

Training, distillation and scoring run only through the bundle's ExecuTorch program (the
Learner); only data impressions are synthesised in eager PyTorch (see impressions.py). The
Flower ClientApp (client_app.py) only turns messages into calls of this class.

Labels: the bundle's slots hold the old classes; a client predicts the ones it has (its live
labels). A new class of the client's own is enrolled into the next free slot. When the server
sends a label registry (after clustering reported impressions), slots are renamed to it, an
owner's class moves to its global slot, and every registered new class becomes live: the client
learns it from the impressions the server added to its global set (zero-shot).

Mixing: each training batch is half the client's clips, half draws from its global set (D0, the
added impressions, its replayed clips) chosen so that the whole batch gives every live class an
equal share (``balanced_mix``): the classes it holds no clips of (old ones it lacks, new ones it
knows only from impressions) are not drowned by its own. A class known only from impressions
gets ``added_class_mass`` of a share, less than a class with real clips, because impressions of
a class that sits near old ones otherwise take those classes' clips. Distilling toward the
consensus on D0 (``distill_epochs``) tells a client which old clips are not a new class.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from edgekit.atomic import atomic_write_bytes
from edgekit.device import Learner, LearnerConfig
from edgekit.errors import ConfigError
from edgekit.export.manifest import read_manifest
from edgekit.models import KwsModel
from edgekit.models.pretrain import compute_logmel, load_checkpoint
from edgekit.plan.spec import TrainingPlan
from edgekit_server.fl import run_config
from edgekit_server.fl.aggregation import restrict
from edgekit_server.fl.impressions import (
    Aligner,
    ImpressionConfig,
    class_feature_stats,
    synthesize,
)
from edgekit_server.fl.protocol import Instruction, TrainResult
from edgekit_server.fl.workspace import Workspace

__all__ = ["ClientConfig", "FederatedClient", "accuracy_on_test_set", "d0_scores"]


@dataclass(frozen=True)
class ClientConfig:
    """What one round of local work is (run-config keys in ``RUN_CONFIG``)."""

    epochs: int = 2  # local epochs over the client's clips per round, >= 1
    enroll_epochs: int = 10  # epochs when a new class is first enrolled, >= 1
    distill_epochs: int = 5  # epochs toward the consensus on D0 per round, >= 0
    lr: float = 0.05  # SGD learning rate on the device, > 0
    seed: int = 0  # client i's learner draws from seed + i, >= 0
    # D0 draws fill each batch up to an equal share per live class (LearnerConfig.balanced_mix)
    balanced_mix: bool = True
    # share of a class known only from impressions, against 1 for a class with clips, in (0, 1]
    added_class_mass: float = 0.4
    impressions: ImpressionConfig = field(default_factory=ImpressionConfig)

    RUN_CONFIG: ClassVar[dict[str, str]] = {  # run-config key -> field
        "local-epochs": "epochs",
        "enroll-epochs": "enroll_epochs",
        "distill-epochs": "distill_epochs",
        "lr": "lr",
        "seed": "seed",
        "added-class-mass": "added_class_mass",
    }

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.enroll_epochs < 1 or self.distill_epochs < 0:
            raise ConfigError(
                "ClientConfig.epochs and enroll_epochs must be >= 1, distill_epochs >= 0, got "
                f"{self.epochs}, {self.enroll_epochs}, {self.distill_epochs}"
            )
        if self.lr <= 0 or self.seed < 0:
            raise ConfigError(
                f"ClientConfig.lr must be > 0 and seed >= 0, got {self.lr}, {self.seed}"
            )
        if not 0 < self.added_class_mass <= 1:
            raise ConfigError(
                f"ClientConfig.added_class_mass must be in (0, 1], got {self.added_class_mass}"
            )

    @classmethod
    def from_run_config(cls, run: Mapping[str, Any]) -> ClientConfig:
        """The config a Flower run config describes (defaults for the keys it lacks)."""
        impressions = run_config.read(ImpressionConfig, run, ImpressionConfig.RUN_CONFIG)
        return run_config.read(cls, run, cls.RUN_CONFIG, impressions=impressions)


class FederatedClient:
    """One client of a federation workspace; its state persists in the workspace."""

    def __init__(
        self, workspace: Workspace, client_id: int, config: ClientConfig | None = None
    ) -> None:
        self.ws = workspace
        self.config = config or ClientConfig()
        self.fed = workspace.spec()
        self.me = self.fed.client(client_id)
        self.id = client_id
        learner_config = LearnerConfig(
            lr=self.config.lr,
            seed=self.config.seed + client_id,
            balanced_mix=self.config.balanced_mix,
            added_class_mass=self.config.added_class_mass,
        )
        self.learner = Learner(
            workspace.bundle(self.me.arch), workspace.client_state(client_id), learner_config
        )
        if not (workspace.client_state(client_id) / "learner_state.npz").exists():
            old = [x for x in self.fed.old_labels if x in self.me.labels]
            self.learner.set_labels(self.fed.old_labels, live=old)

    # ---------------------------------------------------------------- reporting
    def reported_labels(self, report_new: bool) -> list[str]:
        """Its live labels; its own new classes only when it reports them."""
        if report_new:
            return list(self.learner.live)
        return [x for x in self.learner.live if x not in self.me.new_labels]

    def data(self) -> tuple[np.ndarray, list[str]]:
        return self.ws.client_data(self.id)

    # ------------------------------------------------------------------ training
    def apply_registry(self, registry: Sequence[str], aliases: Mapping[str, str]) -> None:
        """Rename slots to the server's registry; ``aliases`` maps this client's names of its
        new classes to their global names. Every registered new class becomes live."""
        learner = self.learner
        for local, global_name in aliases.items():
            if local in learner.labels and global_name != local:
                learner.rename_label(local, global_name)
        for name in registry:  # an owner's class moves to its global slot
            if name in learner.labels and learner.labels.index(name) != registry.index(name):
                learner.swap_slots(learner.labels.index(name), registry.index(name))
        new = [x for x in registry if x not in self.fed.old_labels]
        live = [x for x in registry if x in learner.live or x in new]
        learner.set_labels(list(registry), live=live)

    def adopt_federated_labels(self, registry: Sequence[str], consensus: np.ndarray) -> None:
        """Make live every registered label the federation knows: one some client reported (its
        consensus column on D0 has mass). A class this client never recorded is learnt from the
        group's averaged weights, the consensus it distils toward and D0's clips of it (global
        dataset mixing); that is how a client gains the classes other clients hold."""
        learner = self.learner
        covered = [
            name
            for j, name in enumerate(registry)
            if j < consensus.shape[1] and float(consensus[:, j].sum()) > 0
        ]
        gained = [x for x in covered if x in learner.labels and x not in learner.live]
        if gained:
            learner.set_labels(learner.labels, live=[*learner.live, *gained])

    def train(self, ins: Instruction) -> TrainResult:
        """One round: take the group's weights and the registry, add new global examples,
        distil toward the consensus, train on its own clips; report back."""
        learner = self.learner
        if ins.weights is not None:
            learner.set_trainable(ins.weights)
        if len(ins.registry) > len(self.fed.old_labels) or ins.aliases:
            self.apply_registry(ins.registry, ins.aliases)
        if ins.consensus is not None:
            self.adopt_federated_labels(ins.registry, ins.consensus)
        if ins.extension is not None and ins.extension_version > self._extension_version():
            learner.add_global(*ins.extension)
            self._set_extension_version(ins.extension_version)
        pcm, labels = self.data()
        for name in self.me.new_labels:  # a new class of its own, not yet registered: enrol it
            if name not in learner.labels and name not in ins.aliases:
                learner.enroll(name, pcm[[x == name for x in labels]], self.config.enroll_epochs)
        if ins.consensus is not None and self.config.distill_epochs:
            self._distill(ins.consensus, ins.registry)
        names = [ins.aliases.get(x, x) for x in labels]
        known = [i for i, x in enumerate(names) if x in learner.live]
        learner.personalize(pcm[known], [names[i] for i in known], self.config.epochs)
        learner.save()
        scores, per_label = d0_scores(learner, ins.registry)
        return TrainResult(
            weights=learner.get_trainable(),
            n_examples=len(known),
            labels=self.reported_labels(ins.report_new),
            d0_scores=scores,
            d0_label_accuracy=per_label,
            accuracy=self.evaluate(),
        )

    def _version_file(self) -> Path:
        return self.ws.client_state(self.id) / "federation.json"

    def _extension_version(self) -> int:
        path = self._version_file()
        return int(json.loads(path.read_text())["extension_version"]) if path.exists() else 0

    def _set_extension_version(self, version: int) -> None:
        data = json.dumps({"extension_version": version}).encode()
        atomic_write_bytes(self._version_file(), data)

    def _distill(self, consensus: np.ndarray, registry: Sequence[str]) -> None:
        learner = self.learner
        slots = learner.manifest.max_classes
        mask = np.array([x in learner.live for x in registry])
        own = restrict(consensus, mask)
        targets = np.zeros((len(own), slots), dtype=np.float32)
        for j, name in enumerate(registry):
            if name in learner.labels:
                targets[:, learner.labels.index(name)] = own[:, j]
        learner.distill(learner.d0_features, targets, self.config.distill_epochs)

    # -------------------------------------------------------------- evaluation
    def evaluate(self) -> dict[str, float]:
        """Accuracy (percent) on the common test set; classes it lacks count as wrong."""
        return accuracy_on_test_set(self.learner, self.ws, self.fed.old_labels)

    # ------------------------------------------------------------- impressions
    def impressions(self) -> dict[str, np.ndarray]:
        """Data impressions of each of its new classes (eager, on its own trained model)."""
        learner = self.learner
        model, _, _ = load_checkpoint(self.ws.checkpoint(self.me.arch))
        tail = learner.plan.tail(model)
        state = {n: torch.from_numpy(a) for n, a in learner.get_trainable().items()}
        tail.load_state_dict(state, strict=False)
        pcm, clip_labels = self.data()
        logmel = compute_logmel(model.frontend, pcm).numpy()
        stats = (
            logmel.mean(axis=(0, 2)),
            logmel.std(axis=(0, 2)),
            float(logmel.min()),
            float(logmel.max()),
        )
        live = [i for i, x in enumerate(learner.labels) if x in learner.live]
        of_clip = np.array(clip_labels)
        others = self._other_architectures() if self.config.impressions.cross_weight > 0 else []
        out: dict[str, np.ndarray] = {}
        for name in self.me.new_labels:
            if name not in learner.labels:
                continue
            mine = logmel[of_clip == name]
            enough = len(mine) >= 2
            features = class_feature_stats(model, tail.cut, mine) if enough else None
            aligners = (
                [Aligner(m, cut, class_feature_stats(m, cut, mine)) for m, cut in others]
                if enough
                else []
            )
            out[name] = synthesize(
                model,
                tail,
                live,
                learner.labels.index(name),
                stats,
                self.config.impressions,
                features,
                aligners,
            )
        return out

    def _other_architectures(self) -> list[tuple[KwsModel, str]]:
        """(pretrained model, the cut its bundle trains from) of every other architecture of the
        federation: the frozen backbones every client of it has; no client data."""
        out = []
        for arch in self.fed.archs:
            if arch != self.me.arch:
                model, _, _ = load_checkpoint(self.ws.checkpoint(arch))
                plan = TrainingPlan.from_dict(read_manifest(self.ws.bundle(arch)).plan)
                out.append((model, plan.cut))
        return out

    def info(self) -> dict[str, Any]:
        return {"arch": self.me.arch, "n_examples": self.me.n_examples}


def d0_scores(learner: Learner, registry: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Softmax on D0 and accuracy per label, both in registry order (0 and NaN for the labels
    ``learner`` does not predict)."""
    probs = learner.probabilities(learner.d0_features)
    scores = np.zeros((len(probs), len(registry)), dtype=np.float32)
    accuracy = np.full(len(registry), np.nan, dtype=np.float32)
    predicted = probs.argmax(axis=1)
    for j, name in enumerate(registry):
        if name not in learner.live:
            continue
        slot = learner.labels.index(name)
        scores[:, j] = probs[:, slot]
        rows = learner.d0_labels == slot
        if rows.any():
            accuracy[j] = float((predicted[rows] == slot).mean())
    return scores, accuracy


def accuracy_on_test_set(
    learner: Learner, workspace: Workspace, old_labels: Sequence[str]
) -> dict[str, float]:
    """Accuracy (percent) of ``learner`` on the workspace's common test set: all clips, those of
    old classes and those of new ones; classes it does not predict count as wrong."""
    pcm, truth = workspace.test_set()
    predicted = np.array(learner.predict(pcm))
    truth_arr = np.array(truth)
    old = np.isin(truth_arr, old_labels)
    hits = predicted == truth_arr
    return {
        "acc": 100 * float(hits.mean()),
        "acc_old": 100 * float(hits[old].mean()),
        "acc_new": 100 * float(hits[~old].mean()) if (~old).any() else float("nan"),
    }
