"""The modules behind a bundle's methods: loss-first training wrappers and a functional classify.

A bundle's tail (``edgekit.models.tail``) takes the ``n`` tensors cached at its cut ("parts").

- ``train_step(*parts, labels, class_mask) -> (loss, predictions)``: cross-entropy over the live
  slots; only the plan's trainable tensors require grad, so only their gradients are produced.
- ``distill_step(*parts, soft_targets, class_mask) -> (loss, logits)``: soft cross-entropy at
  temperature T (scaled by T², Hinton et al.) toward a consensus.
- ``classify(*parts, class_mask, *weights) -> logits``: the tail with its trainable tensors as
  explicit inputs, because ExecuTorch methods do not share parameters.

Masked slots get a -1e4 logit offset: zero probability, (numerically) zero gradient.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

__all__ = ["Classify", "DistillStep", "PickedTrainStep", "TrainStep", "masked_logits"]

_MASKED = 1e4


def masked_logits(logits: torch.Tensor, class_mask: torch.Tensor) -> torch.Tensor:
    """Push the logits of slots where ``class_mask`` is 0 to about -1e4."""
    return logits + (class_mask - 1.0) * _MASKED


class TrainStep(nn.Module):
    def __init__(self, tail: nn.Module, n_parts: int = 1) -> None:
        super().__init__()
        self.tail = tail
        self.n_parts = n_parts

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        parts, (labels, class_mask) = inputs[: self.n_parts], inputs[self.n_parts :]
        logits = masked_logits(self.tail(*parts), class_mask)
        return F.cross_entropy(logits, labels), logits.detach().argmax(dim=1)


class PickedTrainStep(TrainStep):
    """:class:`TrainStep`'s loss as the mean negative log-probability of each row's label.

    ``cross_entropy`` also handles an ignored label (a compare and selects in the joint graph,
    forward and backward); for labels that are slots, which a device always passes, both give
    the same loss and gradients. ``train_steps`` (several steps per call) is built on this one.
    """

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        parts, (labels, class_mask) = inputs[: self.n_parts], inputs[self.n_parts :]
        logits = masked_logits(self.tail(*parts), class_mask)
        picked = F.log_softmax(logits, dim=1).gather(1, labels[:, None])
        return -picked.mean(), logits.detach().argmax(dim=1)


class DistillStep(nn.Module):
    def __init__(self, tail: nn.Module, temperature: float, n_parts: int = 1) -> None:
        super().__init__()
        self.tail = tail
        self.temperature = temperature
        self.n_parts = n_parts

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        parts, (soft_targets, class_mask) = inputs[: self.n_parts], inputs[self.n_parts :]
        t = self.temperature
        logits = masked_logits(self.tail(*parts), class_mask)
        log_p = F.log_softmax(logits / t, dim=1)
        loss = -(soft_targets * log_p).sum(dim=1).mean() * (t * t)
        return loss, logits.detach()


class Classify(nn.Module):
    """The tail as a pure function of its trainable tensors (given in ``names`` order)."""

    tail: nn.Module

    def __init__(self, tail: nn.Module, names: list[str], n_parts: int = 1) -> None:
        super().__init__()
        # Not registered as a submodule: its trainable tensors must be program inputs, while
        # its frozen buffers stay constants of the program.
        self.__dict__["tail"] = tail
        self.names = names
        self.n_parts = n_parts

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        n = self.n_parts
        parts, class_mask, weights = inputs[:n], inputs[n], inputs[n + 1 :]
        params = dict(zip(self.names, weights, strict=True))
        return masked_logits(functional_call(self.tail, params, parts), class_mask)
