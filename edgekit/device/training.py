"""Epochs of SGD in the runtime, with one of a bundle's joint methods, and their batches.

``train_step`` batches mix the user's features with a pool of examples (the global set of live
slots and the replay set: global dataset mixing); ``distill_step`` batches are rows of features
with their soft targets. Every batch is exactly the program's fixed batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from edgekit.device.config import LearnerConfig
from edgekit.device.joint import JointMethod
from edgekit.device.mixing import epochs_draws, filling_weights, split_batch
from edgekit.errors import DataError
from edgekit.runtime import native_calls

__all__ = ["Pool", "sgd_epochs"]

Batches = Callable[[], Iterable[tuple[torch.Tensor, ...]]]


def sgd_epochs(
    joint: JointMethod,
    weights: Mapping[str, torch.Tensor],
    config: LearnerConfig,
    epochs: int,
    batches: Batches,
    progress: bool = False,
) -> tuple[list[float], dict[str, torch.Tensor], int]:
    """``epochs`` passes of SGD with ``joint`` over ``batches()`` (its inputs, loss first in its
    outputs), starting from ``weights``: ``(mean loss per epoch over the steps applied, the
    weights after, steps refused)``. Steps whose loss or gradients are not finite are skipped
    (an epoch of nothing but such steps reports NaN); weights that are not finite after all
    (not reachable through finite steps) raise DataError and ``weights`` stay as they were."""
    joint.load(dict(weights))
    joint.set_optimizer(config.lr, config.momentum)
    refused_before = joint.refused
    history = []
    # a disabled bar still costs its construction, a fair share of a short call
    epoch_range = tqdm(range(epochs), desc="training", unit="epoch") if progress else range(epochs)
    for _ in epoch_range:
        losses = []
        with native_calls():  # one redirection of the runtime's logs per epoch, not per step
            for inputs in batches():
                before = joint.refused
                loss = float(joint.step(inputs, config.clip_norm)[0])
                if joint.refused == before:
                    losses.append(loss)
        history.append(float(np.mean(losses)) if losses else float("nan"))
    after = joint.read()
    if not all(bool(torch.isfinite(t).all()) for t in after.values()):
        raise DataError("training produced NaN or Inf weights: they were not kept")
    return history, after, joint.refused - refused_before


@dataclass(frozen=True)
class Pool:
    """Examples mixed into every ``train_step`` batch beside the user's clips."""

    features: np.ndarray  # (n, feature_size) rows at the bundle's cut
    slots: np.ndarray  # (n,) the slot of each row's class
    real_slots: np.ndarray  # slots with a real clip in the pool (D0's or the user's)

    def weights(
        self, targets: np.ndarray, batch: int, mix_ratio: float, added_class_mass: float
    ) -> np.ndarray | None:
        """Draw probabilities that make whole batches class-balanced (``filling_weights``); a
        class known only from added examples gets ``added_class_mass`` of a share."""
        if not len(self.slots):
            return None
        added_only = np.setdiff1d(self.slots, self.real_slots)
        masses = {int(c): added_class_mass for c in added_only}
        user_share = split_batch(batch, mix_ratio, True)[0] / batch
        return filling_weights(self.slots, targets, user_share, masses)

    def table(self, features: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The user's rows then the pool's: ``(features, slots)`` that :meth:`epochs` index."""
        return np.concatenate([features, self.features]), np.concatenate([targets, self.slots])

    def epochs(
        self,
        epochs: int,
        n_user: int,
        batch: int,
        mix_ratio: float,
        rng: np.random.Generator,
        weights: np.ndarray | None,
    ) -> np.ndarray:
        """``epochs`` epochs of batches ``(epochs, steps, batch)`` as rows of :meth:`table`:
        every user row once an epoch, pool rows drawn
        (:func:`~edgekit.device.mixing.epochs_draws`)."""
        user, pool = epochs_draws(
            epochs, n_user, len(self.features), batch, mix_ratio, rng, weights
        )
        return np.concatenate([user, n_user + pool], axis=2)
