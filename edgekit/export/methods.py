"""The modules behind a bundle's methods: loss-first training wrappers and a functional classify.

- ``train_step(features, labels, class_mask) -> (loss, predictions)``: cross-entropy over the live
  slots; only the head's parameters require grad, so only their gradients are produced.
- ``distill_step(features, soft_targets, class_mask) -> (loss, logits)``: soft cross-entropy at
  temperature T (scaled by T², Hinton et al.) toward a consensus.
- ``classify(features, class_mask, *weights) -> logits``: the head with its weights as explicit
  inputs, because ExecuTorch methods do not share parameters.

Masked slots get a -1e4 logit offset: zero probability, (numerically) zero gradient.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

__all__ = ["Classify", "DistillStep", "TrainStep", "masked_logits"]

_MASKED = 1e4


def masked_logits(logits: torch.Tensor, class_mask: torch.Tensor) -> torch.Tensor:
    """Push the logits of slots where ``class_mask`` is 0 to about -1e4."""
    return logits + (class_mask - 1.0) * _MASKED


class TrainStep(nn.Module):
    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.head = head

    def forward(
        self, features: torch.Tensor, labels: torch.Tensor, class_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        logits = masked_logits(self.head(features), class_mask)
        return F.cross_entropy(logits, labels), logits.detach().argmax(dim=1)


class DistillStep(nn.Module):
    def __init__(self, head: nn.Module, temperature: float) -> None:
        super().__init__()
        self.head = head
        self.temperature = temperature

    def forward(
        self, features: torch.Tensor, soft_targets: torch.Tensor, class_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        t = self.temperature
        logits = masked_logits(self.head(features), class_mask)
        log_p = F.log_softmax(logits / t, dim=1)
        loss = -(soft_targets * log_p).sum(dim=1).mean() * (t * t)
        return loss, logits.detach()


class Classify(nn.Module):
    """The head as a pure function of its weights (given in ``names`` order)."""

    head: nn.Module

    def __init__(self, head: nn.Module, names: list[str]) -> None:
        super().__init__()
        # Not registered as a submodule: its weights must be program inputs, not constants.
        self.__dict__["head"] = head
        self.names = names

    def forward(
        self, features: torch.Tensor, class_mask: torch.Tensor, *weights: torch.Tensor
    ) -> torch.Tensor:
        params = dict(zip(self.names, weights, strict=True))
        return masked_logits(functional_call(self.head, params, (features,)), class_mask)
