"""What a device needs to take part in federated learning, beyond personalising alone.

- Label sets: slots get names from the server's label registry (``set_labels``), and only the
  labels this device has are live (its class mask); the others stay in the head untouched.
- The global set: D0 plus examples added after export (``add_global``: data impressions of new
  classes that other clients reported, embedded by this architecture), mixed into training.
- Distillation toward a consensus on D0 (``distill``: the bundle's ``distill_step``) and the
  scores this device sends for it (``probabilities``).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from edgekit.device.mixing import mixed_batches
from edgekit.errors import ConfigError, DataError, NoFreeSlot

__all__ = ["GlobalSetMixin", "NoFreeSlot"]


class GlobalSetMixin(abc.ABC):
    """Label sets, the global set and distillation, for :class:`~edgekit.device.Learner`."""

    manifest: Any
    config: Any
    labels: list[str]
    live: list[str]
    weights: dict[str, torch.Tensor]
    d0_features: np.ndarray
    d0_labels: np.ndarray
    global_features: np.ndarray
    global_labels: np.ndarray
    _rng: np.random.Generator

    @abc.abstractmethod
    def _method(self, name: str) -> Any:
        """The bundle's joint method ``name`` (a JointMethod)."""

    @abc.abstractmethod
    def parts(self, features: np.ndarray) -> list[torch.Tensor]:
        """Flat features -> the tensors the program's methods take."""

    @abc.abstractmethod
    def _features(self, features: np.ndarray) -> np.ndarray:
        """``features`` checked as rows of the bundle's cached features."""

    @abc.abstractmethod
    def logits(self, features: np.ndarray) -> np.ndarray:
        """``classify`` with the current weights."""

    @property
    def class_mask(self) -> torch.Tensor:
        """1 for the slots of live labels, 0 elsewhere (unused slots, labels not live here)."""
        mask = torch.zeros(self.manifest.max_classes)
        for i, label in enumerate(self.labels):
            if label in self.live:
                mask[i] = 1.0
        return mask

    def set_labels(self, labels: Sequence[str], live: Collection[str] | None = None) -> None:
        """Name the slots (``labels[i]`` is slot i) and choose the live ones (default: all).

        Weights stay where they are: renaming a slot does not move what it learned. Examples
        whose slot is no longer live are left out of training (kept, in case it comes back).
        """
        labels = list(labels)
        if len(set(labels)) != len(labels):
            raise DataError(f"labels must be distinct, got {labels}")
        if len(labels) > self.manifest.max_classes:
            raise NoFreeSlot(
                f"{len(labels)} labels but the bundle has {self.manifest.max_classes} slots"
            )
        chosen = list(labels) if live is None else [x for x in labels if x in set(live)]
        unknown = sorted(set(live or ()) - set(labels))
        if unknown:
            raise DataError(f"live labels {unknown} are not among the labels {labels}")
        self.labels, self.live = labels, chosen

    def _live_slots(self) -> np.ndarray:
        return np.array([i for i, x in enumerate(self.labels) if x in self.live], dtype=np.int64)

    def global_set(self) -> tuple[np.ndarray, np.ndarray]:
        """D0 and the global examples added to it, restricted to live labels' slots."""
        x = np.concatenate([self.d0_features, self.global_features])
        y = np.concatenate([self.d0_labels, self.global_labels])
        keep = np.isin(y, self._live_slots())
        return x[keep], y[keep]

    def add_global(self, features: np.ndarray, labels: Sequence[str]) -> None:
        """Add examples to the global set (e.g. data impressions of a new class, embedded by
        this architecture): later training mixes them in like D0."""
        features = np.asarray(features, dtype=np.float32)
        if features.ndim != 2 or features.shape[1] != self.manifest.feature_size:
            raise DataError(
                f"features must be (n, {self.manifest.feature_size}), got {features.shape}"
            )
        if len(labels) != len(features) or not np.isfinite(features).all():
            raise DataError("features and labels must match in length and be finite")
        unknown = sorted(set(labels) - set(self.labels))
        if unknown:
            raise DataError(f"labels {unknown} have no slot here; set_labels() first")
        slots = np.array([self.labels.index(x) for x in labels], dtype=np.int64)
        self.global_features = np.concatenate([self.global_features, features])
        self.global_labels = np.concatenate([self.global_labels, slots])

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Softmax of ``classify`` over the live slots (the others get about 0)."""
        logits = self.logits(features)
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def distill(self, features: np.ndarray, targets: np.ndarray, epochs: int = 1) -> list[float]:
        """SGD epochs of ``distill_step`` toward soft ``targets`` ``(n, max_classes)`` (rows
        summing to 1 over live slots, e.g. a federated consensus); mean loss per epoch."""
        features = self._features(features)
        n, slots = len(features), self.manifest.max_classes
        targets = np.asarray(targets, dtype=np.float32)
        if epochs < 1:
            raise ConfigError(f"epochs must be >= 1, got {epochs}")
        if targets.shape != (n, slots) or not np.isfinite(targets).all():
            raise DataError(f"targets must be finite, shape {(n, slots)}, got {targets.shape}")
        mask, batch = self.class_mask, self.manifest.train_batch

        def batches() -> Iterator[tuple[torch.Tensor, ...]]:
            for idx, _ in mixed_batches(n, 0, batch, 0.0, self._rng):
                yield (*self.parts(features[idx]), torch.from_numpy(targets[idx]), mask)

        return self.sgd_epochs("distill_step", epochs, batches)

    def sgd_epochs(
        self, method: str, epochs: int, batches: Callable[[], Iterable[tuple[torch.Tensor, ...]]]
    ) -> list[float]:
        """``epochs`` passes of SGD with the bundle's joint ``method`` over ``batches()`` (its
        inputs, loss first in its outputs); mean loss per epoch. Starts from, and updates, the
        learner's weights."""
        joint = self._method(method)
        joint.load(self.weights)
        joint.set_optimizer(self.config.lr, self.config.momentum)
        history = []
        for _ in range(epochs):
            losses = [float(joint.step(inputs, self.config.clip_norm)[0]) for inputs in batches()]
            history.append(float(np.mean(losses)))
        self.weights = joint.read()
        return history
