"""Epochs of SGD through the program's ``train_steps``: several steps per runtime call.

``train_steps`` (:mod:`edgekit.export.multi_step`) takes the trainable tensors as one flat
vector with its momentum buffer, ``K`` batches, and returns both updated with every step's loss
and gradient norm. The batches of all epochs are drawn first (the same draws, in the same order,
as stepping through ``train_step``), gathered ``K`` at a time from one table of rows, and the
last call is padded with skipped steps.

The program does not guard a step whose loss or gradients are not finite. When a call reports
one, it is run again from the same start with that step skipped and its rows replaced by zeros
(finite, so a skipped step changes nothing): the step is refused exactly as ``train_step``'s
host loop refuses it, and the steps after it still apply.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from edgekit.device.config import LearnerConfig
from edgekit.errors import DataError
from edgekit.runtime import native_calls

__all__ = ["StepsMethod"]


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
        self.parts = parts  # (k, batch, feature_size) rows -> the cut's (k, batch, *shape) parts

    def epochs(
        self,
        weights: Mapping[str, torch.Tensor],
        config: LearnerConfig,
        table: tuple[np.ndarray, np.ndarray],
        rows_by_epoch: Sequence[Sequence[np.ndarray]],
        mask: torch.Tensor,
        progress: bool = False,
    ) -> tuple[list[float], dict[str, torch.Tensor], int]:
        """SGD over ``rows_by_epoch`` (per epoch, the rows of ``table`` = ``(features, labels)``
        of each batch), from ``weights``: ``(mean loss per epoch over the steps applied, the
        weights after, steps refused)``, as :func:`edgekit.device.training.sgd_epochs`."""
        theta = torch.cat([weights[n].reshape(-1).to(torch.float32) for n, _ in self.trainable])
        velocity = torch.zeros_like(theta)
        bound = math.inf if config.clip_norm is None else float(config.clip_norm)
        hyper = torch.tensor([config.lr, config.momentum, bound], dtype=torch.float32)
        steps = [(e, rows) for e, epoch in enumerate(rows_by_epoch) for rows in epoch]
        losses: list[list[float]] = [[] for _ in rows_by_epoch]
        ends = np.cumsum([len(epoch) for epoch in rows_by_epoch])  # steps through each epoch
        refused = 0
        # a disabled bar still costs its construction, a fair share of a short call
        bar = (
            tqdm(total=len(rows_by_epoch), desc="training", unit="epoch")
            if progress
            else contextlib.nullcontext()
        )
        # the runtime's logs are silenced by redirecting stderr: around every call when a bar
        # shows (it writes to stderr), else once around them all
        outer = contextlib.nullcontext() if progress else native_calls()
        with outer, bar:
            for start in range(0, len(steps), self.steps):
                chunk = steps[start : start + self.steps]
                with native_calls() if progress else contextlib.nullcontext():
                    theta, velocity, applied, n_refused = self.call(
                        theta, velocity, hyper, table, [rows for _, rows in chunk], mask
                    )
                refused += n_refused
                for (epoch, _), loss in zip(chunk, applied, strict=False):
                    if loss is not None:
                        losses[epoch].append(loss)
                if isinstance(bar, tqdm):  # epochs whose every step has run
                    bar.update(int(np.searchsorted(ends, start + len(chunk), "right")) - bar.n)
        if not np.isfinite(theta.numpy()).all():
            raise DataError("training produced NaN or Inf weights: they were not kept")
        after = self._unflatten(theta)
        history = [sum(x) / len(x) if x else float("nan") for x in losses]
        return history, after, refused

    def call(
        self,
        theta: torch.Tensor,
        velocity: torch.Tensor,
        hyper: torch.Tensor,
        table: tuple[np.ndarray, np.ndarray],
        rows: list[np.ndarray],
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, list[float | None], int]:
        """One call over the batches ``rows`` (at most ``steps``): the new ``theta`` and
        ``velocity``, each batch's loss (None: refused) and how many were refused."""
        k = self.steps
        index = np.stack(rows + [rows[0]] * (k - len(rows)))  # (k, batch): padded with a copy
        features, labels = table[0][index], table[1][index]
        active = np.zeros(k, dtype=np.float32)
        active[: len(rows)] = 1.0
        refused = 0
        while True:
            inputs = self.inputs(theta, velocity, hyper, features, labels, mask, active)
            outputs = self.module.run_method("train_steps", inputs)
            loss, norm = outputs[2].numpy(), outputs[3].numpy()
            bad = np.flatnonzero((active > 0) & ~(np.isfinite(loss) & np.isfinite(norm)))
            if not bad.size:
                applied: list[float | None] = loss.tolist()
                if refused:
                    applied = [x if a else None for x, a in zip(applied, active, strict=True)]
                return outputs[0], outputs[1], applied[: len(rows)], refused
            first = int(bad[0])  # refused as train_step refuses it; later steps run again
            active[first] = 0.0
            features = features.copy()
            features[first] = 0.0
            refused += 1

    def inputs(
        self,
        theta: torch.Tensor,
        velocity: torch.Tensor,
        hyper: torch.Tensor,
        features: np.ndarray,
        labels: np.ndarray,
        mask: torch.Tensor,
        active: np.ndarray,
    ) -> tuple[torch.Tensor, ...]:
        """``train_steps``' inputs: ``(k, batch, feature_size)`` rows, ``(k, batch)`` labels."""
        parts = self.parts(features)
        return (
            theta,
            velocity,
            *parts,
            torch.from_numpy(labels),
            mask,
            hyper,
            torch.from_numpy(active),
        )

    def _unflatten(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        """The trainable tensors by name, each its own copy."""
        out, start = {}, 0
        for name, shape in self.trainable:
            size = math.prod(shape)
            out[name] = theta[start : start + size].view(shape).clone()
            start += size
        return out
