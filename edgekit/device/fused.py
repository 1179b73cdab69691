"""Epochs of SGD through the program's ``train_steps``: several steps per runtime call.

``train_steps`` (:mod:`edgekit.export.multi_step`) takes the trainable tensors as one flat
vector with its momentum buffer, ``K`` batches, and returns both updated with every step's loss
and gradient norm. The batches of all epochs are drawn first (the same draws, in the same order,
as stepping through ``train_step``) and gathered at once into one array, ``K`` batches a call;
the last call is padded with skipped steps. Between calls the host only hands the previous
call's weights to the next: a call costs tens of microseconds, so Python work per call counts.

The program does not guard a step whose loss or gradients are not finite. When a call reports
one, it is run again from the same start with that step skipped and its rows replaced by zeros
(finite, so a skipped step changes nothing): the step is refused exactly as ``train_step``'s
host loop refuses it, and the steps after it still apply.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from edgekit.device.config import LearnerConfig
from edgekit.errors import DataError
from edgekit.runtime import native_calls

__all__ = ["Calls", "StepsMethod"]


@dataclass
class Calls:
    """Every call's batches, gathered: ``parts`` of the cut ``(calls, k, batch, *shape)``,
    ``labels`` ``(calls, k, batch)`` and ``active`` ``(calls, k)`` (0: a padded step)."""

    parts: list[torch.Tensor]
    labels: torch.Tensor
    active: torch.Tensor

    def inputs(self, mask: torch.Tensor, hyper: torch.Tensor) -> list[tuple[torch.Tensor, ...]]:
        """Per call, ``train_steps``' inputs after the weights and velocity: ``(*parts, labels,
        mask, hyper, active)``, views of the gathered tensors."""
        views = [t.unbind(0) for t in (*self.parts, self.labels)]
        return [
            (*batch, mask, hyper, active)
            for *batch, active in zip(*views, self.active.unbind(0), strict=True)
        ]


class StepsMethod:
    """The program's ``train_steps`` for a bundle's trainable tensors and feature parts."""

    def __init__(
        self,
        module: Any,
        steps: int,
        trainable: Sequence[tuple[str, tuple[int, ...]]],
        parts: Callable[[np.ndarray], list[torch.Tensor]],
    ) -> None:
        self.module = module
        self.steps = steps
        self.trainable = list(trainable)  # (name, shape) in the program's order
        self.parts = parts  # (..., feature_size) rows -> the cut's (..., *shape) parts

    def gather(self, table: tuple[np.ndarray, np.ndarray], rows: np.ndarray) -> Calls:
        """The batches ``rows`` ``(steps, batch)`` of ``table`` = ``(features, labels)``, ``k``
        a call; the last call's missing steps are copies of the first batch, inactive."""
        steps, batch = rows.shape
        k = self.steps
        calls = -(-steps // k)
        if calls * k > steps:
            pad = np.broadcast_to(rows[:1], (calls * k - steps, batch))
            rows = np.concatenate([rows, pad])
        active = np.zeros(calls * k, dtype=np.float32)
        active[:steps] = 1.0
        features = table[0][rows].reshape(calls, k, batch, -1)
        return Calls(
            parts=self.parts(features),
            labels=torch.from_numpy(np.ascontiguousarray(table[1][rows].reshape(calls, k, batch))),
            active=torch.from_numpy(active.reshape(calls, k)),
        )

    def epochs(
        self,
        weights: Mapping[str, torch.Tensor],
        config: LearnerConfig,
        table: tuple[np.ndarray, np.ndarray],
        rows: np.ndarray,
        mask: torch.Tensor,
        progress: bool = False,
    ) -> tuple[list[float], dict[str, torch.Tensor], int]:
        """SGD over ``rows`` ``(epochs, steps, batch)`` (the rows of ``table`` = ``(features,
        labels)`` in each batch), from ``weights``: ``(mean loss per epoch over the steps
        applied, the weights after, steps refused)``, as
        :func:`edgekit.device.training.sgd_epochs`."""
        n_epochs, per_epoch, batch = rows.shape
        steps = n_epochs * per_epoch
        calls = self.gather(table, rows.reshape(steps, batch))
        flat = [weights[n].detach().numpy().reshape(-1) for n, _ in self.trainable]
        theta = torch.from_numpy(np.concatenate(flat).astype(np.float32, copy=False))
        velocity = torch.zeros_like(theta)
        bound = math.inf if config.clip_norm is None else float(config.clip_norm)
        hyper = torch.from_numpy(np.array([config.lr, config.momentum, bound], np.float32))
        applied = calls.active.numpy() > 0  # refusals clear steps here
        losses = []
        # a disabled bar still costs its construction, a fair share of a short call
        bar = tqdm(total=n_epochs, desc="training", unit="epoch") if progress else None
        # the runtime's logs are silenced by redirecting stderr: around every call when a bar
        # shows (it writes to stderr), else once around them all
        with native_calls() if bar is None else contextlib.nullcontext():
            for c, rest in enumerate(calls.inputs(mask, hyper)):
                if bar is None:
                    theta, velocity, loss = self.call(theta, velocity, rest, applied[c])
                else:
                    with native_calls():
                        theta, velocity, loss = self.call(theta, velocity, rest, applied[c])
                    bar.update(min((c + 1) * self.steps, steps) // per_epoch - bar.n)
                losses.append(loss)
        if bar is not None:
            bar.close()
        if not np.isfinite(theta.numpy()).all():
            raise DataError("training produced NaN or Inf weights: they were not kept")
        kept = applied.reshape(-1)[:steps].reshape(n_epochs, per_epoch)
        summed = np.concatenate(losses).astype(np.float64)[:steps].reshape(n_epochs, per_epoch)
        counts = kept.sum(axis=1)
        history = np.full(n_epochs, np.nan)  # an epoch of nothing but refusals: NaN
        np.divide((summed * kept).sum(axis=1), counts, out=history, where=counts > 0)
        refused = int(steps - counts.sum())
        return history.tolist(), self._unflatten(theta), refused

    def call(
        self,
        theta: torch.Tensor,
        velocity: torch.Tensor,
        rest: tuple[torch.Tensor, ...],
        applied: np.ndarray,
    ) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """One call over ``rest`` (from :meth:`Calls.inputs`): the new ``theta`` and
        ``velocity`` and each step's loss. A step of the call whose loss or norm is not finite
        is refused: cleared in ``applied`` (the call's active steps, a bool array updated in
        place) and the call runs again from the same start, that step's rows zeroed."""
        outputs = self.module.run_method("train_steps", (theta, velocity, *rest))
        loss, norm = outputs[2].numpy(), outputs[3].numpy()
        # Python floats: a numpy reduction costs more than the values, and warns on NaN
        if all(map(math.isfinite, loss.tolist())) and all(map(math.isfinite, norm.tolist())):
            return outputs[0], outputs[1], loss
        # a padded step's non-finite values are no refusal (it changed nothing)
        bad = np.flatnonzero(applied & ~(np.isfinite(loss) & np.isfinite(norm)))
        if not bad.size:
            return outputs[0], outputs[1], loss
        first = int(bad[0])  # refused as train_step refuses it; later steps run again
        applied[first] = False
        *parts, labels, mask, hyper, active = rest
        active = active.clone()
        active[first] = 0.0
        parts = [p.clone() for p in parts]
        for p in parts:
            p[first] = 0.0
        return self.call(theta, velocity, (*parts, labels, mask, hyper, active), applied)

    def _unflatten(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        """The trainable tensors by name, each its own copy."""
        flat, out, start = theta.numpy(), {}, 0
        for name, shape in self.trainable:
            size = math.prod(shape)
            out[name] = torch.from_numpy(flat[start : start + size].reshape(shape).copy())
            start += size
        return out
