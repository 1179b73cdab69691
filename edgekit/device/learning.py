"""What a :class:`~edgekit.device.learner.Learner` trains: personalisation, enrolment and
distillation, each SGD epochs of one of the program's training methods (``train_step``,
``distill_step``) in the runtime, from and into the learner's trainable weights.

Every batch mixes the user's rows with the pool: the global set (D0 and the examples added to it)
and the replay set (the user's earlier clips), restricted to the live slots. A new class starts
from its clips' imprint (:mod:`~edgekit.device.imprint`) before it trains.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch

from edgekit.device.config import LearnerConfig
from edgekit.device.globalset import GlobalSet
from edgekit.device.imprint import imprint
from edgekit.device.inputs import check_epochs, check_features, check_one_label_per_clip
from edgekit.device.mixing import mixed_batches, split_batch
from edgekit.device.program import BundleProgram
from edgekit.device.slots import ClassSlots, live_rows
from edgekit.device.training import Batches, Pool, sgd_epochs
from edgekit.errors import ConfigError, DataError
from edgekit.export.manifest import Manifest

__all__ = ["Training"]


class Training(ABC):
    """The training methods of a learner, over the state the learner holds."""

    config: LearnerConfig
    manifest: Manifest
    program: BundleProgram
    weights: dict[str, torch.Tensor]  # trainable tensors by name
    slots: ClassSlots
    global_set: GlobalSet
    replay_features: np.ndarray  # (n, feature_size) the user's clips kept for mixing
    replay_labels: np.ndarray  # (n,) their slots
    refused_steps: int
    _rng: np.random.Generator

    @abstractmethod
    def embed(self, pcm: np.ndarray, progress: bool = False) -> np.ndarray:
        """Features at the cut (the learner's, through its feature cache)."""

    def _mix(self, mix_ratio: float | None) -> float:
        """The share of each batch drawn from the pool; outside [0, 1) raises ConfigError."""
        mix = self.config.mix_ratio if mix_ratio is None else mix_ratio
        split_batch(self.manifest.train_batch, mix, True)
        return mix

    def _sgd(
        self, method: str, epochs: int, batches: Batches, progress: bool = False
    ) -> list[float]:
        """``epochs`` of SGD with the program's ``method``, from and into ``self.weights``."""
        joint = self.program.joint(method, self.slots.mask())
        history, self.weights, self.refused_steps = sgd_epochs(
            joint, self.weights, self.config, epochs, batches, progress
        )
        return history

    def _pool(self, is_live: np.ndarray) -> Pool:
        """The global set and the replay set, restricted to live slots (``is_live``: a table
        per slot), in one copy."""
        replay = live_rows(self.replay_features, self.replay_labels, is_live)
        sources = [*self.global_set.examples(is_live), replay]
        return Pool(
            features=np.concatenate([x for x, _ in sources]),
            slots=np.concatenate([y for _, y in sources]),
            real_slots=np.concatenate([self.global_set.d0_labels, self.replay_labels]),
        )

    def train_features(
        self,
        features: np.ndarray,
        targets: np.ndarray,
        epochs: int,
        mix_ratio: float | None = None,
        progress: bool = False,
    ) -> list[float]:
        """SGD epochs of ``train_step`` over features mixed with the global and replay sets;
        mean loss per epoch. ``targets`` are the slots of the features' classes (live ones)."""
        check_epochs(epochs)
        features = check_features(features, self.manifest.feature_size)
        is_live = self.slots.is_live()
        targets = np.asarray(targets, dtype=np.int64)
        if not (
            targets.shape == (len(features),)
            and targets.min() >= 0
            and targets.max() < len(is_live)
            and is_live[targets].all()
        ):
            raise DataError(
                f"targets must be one live slot ({self.slots.live_slots().tolist()}) per row "
                f"of features, got {targets.tolist()[:10]}"
            )
        mix, batch, mask = self._mix(mix_ratio), self.manifest.train_batch, self.slots.mask()
        pool = self._pool(is_live)
        weights = None
        if self.config.balanced_mix:
            weights = pool.weights(targets, batch, mix, self.config.added_class_mass)

        x, y = pool.table(features, targets)
        steps = self.program.steps() if self.config.fused_steps else None
        if steps is not None:  # train_steps: the batches of every epoch, several per call
            rows = pool.epochs(epochs, len(features), batch, mix, self._rng, weights)
            history, self.weights, self.refused_steps = steps.epochs(
                self.weights, self.config, (x, y), rows, mask, progress
            )
            return history
        inputs = self._step_inputs(mask)

        def batches() -> Iterator[tuple[torch.Tensor, ...]]:
            for rows in pool.epochs(1, len(features), batch, mix, self._rng, weights)[0]:
                yield inputs(x[rows], y[rows])

        return self._sgd("train_step", epochs, batches, progress)

    def personalize(
        self,
        pcm: np.ndarray,
        labels: Sequence[str],
        epochs: int = 5,
        mix_ratio: float | None = None,
        progress: bool = False,
    ) -> list[float]:
        """Adapt to the user's labelled clips (embedded once, then read from the cache).

        The clips then join the replay set that later training mixes in (with the global set).
        """
        check_one_label_per_clip(pcm, labels)
        targets = self.slots.slots_of(labels)
        features = self.embed(pcm, progress)
        history = self.train_features(features, targets, epochs, mix_ratio, progress)
        self._remember(features, targets)
        return history

    def _remember(self, features: np.ndarray, targets: np.ndarray) -> None:
        """Keep the newest ``replay_clips`` user clips for mixing."""
        keep = self.config.replay_clips
        if keep == 0:
            return
        self.replay_features = np.concatenate([self.replay_features, features])[-keep:]
        self.replay_labels = np.concatenate([self.replay_labels, targets])[-keep:]

    def enroll(
        self,
        name: str,
        pcm: np.ndarray,
        epochs: int = 20,
        mix_ratio: float | None = None,
    ) -> list[float]:
        """Add class ``name`` into the next free slot from a few clips; old classes keep working.

        By default batches are class-balanced: the new class takes about 1/(live classes) of
        each batch and the global set plus the replay set the rest (at least the configured
        ``mix_ratio``), so a handful of clips does not flood the head. The new clips join the
        replay set, so later training keeps mixing them in.
        """
        check_epochs(epochs)
        if mix_ratio is not None:
            self._mix(mix_ratio)  # refused before the class takes a slot
        features = self.embed(pcm)
        slot = self.slots.enrol(name)
        if self.config.imprint:
            self._imprint(features, slot)
        targets = np.full(len(features), slot, dtype=np.int64)
        if mix_ratio is None:
            mix_ratio = max(self.config.mix_ratio, 1.0 - 1.0 / len(self.slots.live))
        history = self.train_features(features, targets, epochs, mix_ratio)
        self._remember(features, targets)
        return history

    def _step_inputs(
        self, mask: torch.Tensor
    ) -> Callable[[np.ndarray, np.ndarray], tuple[torch.Tensor, ...]]:
        """``train_step``'s inputs for features ``x`` and target slots ``y``, under ``mask``."""

        def inputs(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, ...]:
            return (*self.program.parts(x), torch.from_numpy(y), mask)

        return inputs

    def _imprint(self, features: np.ndarray, slot: int) -> None:
        """Start ``slot``'s classifier column at its clips' mean embedding (imprint.py); a plan
        that does not train the whole classifier (ConfigError from imprint's first check) keeps
        the free slot's weights."""
        others = np.setdiff1d(self.slots.live_slots(), [slot])
        mask = self.slots.mask()
        joint = self.program.joint("train_step", mask)
        try:
            self.weights = imprint(
                joint,
                self.weights,
                self.manifest.trainable,
                self._step_inputs(mask),
                features,
                slot,
                others,
                self.manifest.train_batch,
            )
        except ConfigError:
            return

    def distill(self, features: np.ndarray, targets: np.ndarray, epochs: int = 1) -> list[float]:
        """SGD epochs of ``distill_step`` toward soft ``targets`` ``(n, max_classes)`` (rows
        summing to 1 over live slots, e.g. a federated consensus); mean loss per epoch."""
        check_epochs(epochs)
        features = check_features(features, self.manifest.feature_size)
        n, slots = len(features), self.manifest.max_classes
        targets = np.asarray(targets, dtype=np.float32)
        if targets.shape != (n, slots) or not np.isfinite(targets).all():
            raise DataError(f"targets must be finite, shape {(n, slots)}, got {targets.shape}")
        mask, batch = self.slots.mask(), self.manifest.train_batch

        def batches() -> Iterator[tuple[torch.Tensor, ...]]:
            for idx, _ in mixed_batches(n, 0, batch, 0.0, self._rng):
                yield (*self.program.parts(features[idx]), torch.from_numpy(targets[idx]), mask)

        return self._sgd("distill_step", epochs, batches)
