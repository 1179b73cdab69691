"""How much each trainable unit of a tail matters: diagonal Fisher information on D0.

The rule (as FISH Mask, Sung et al., NeurIPS 2021, does for sparse fine-tuning): the importance
of a parameter is its diagonal Fisher information, ``E_x E_{y ~ p(y|x)} [(d log p(y|x) / dθ)²]``
over the global set D0, with labels drawn from the model's own prediction (the empirical Fisher
on true labels vanishes on data the model already fits). A unit's importance is the sum over its
entries: one output row of a weight (a channel), or a whole bias.

Without D0 the rule falls back to the squared magnitude of the unit's entries.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.func import functional_call, grad, vmap
from torch.nn import functional as F

from edgekit.errors import ConfigError
from edgekit.models.tail import Tail

__all__ = ["fisher_information", "magnitude", "row_scores"]


def fisher_information(
    tail: Tail,
    parts: Sequence[torch.Tensor],
    n_classes: int,
    samples: int = 4,
    seed: int = 0,
    batch_size: int = 32,
) -> dict[str, torch.Tensor]:
    """Diagonal Fisher of every parameter of ``tail`` over the clips in ``parts``.

    ``parts`` are the cached tensors of ``tail``'s cut for N clips; labels are drawn ``samples``
    times per clip from the softmax over the first ``n_classes`` slots (the live classes).
    """
    if n_classes < 1:
        raise ConfigError(f"n_classes must be >= 1, got {n_classes}")
    tail = tail.eval()
    params = {n: p.detach() for n, p in tail.named_parameters()}
    total = {n: torch.zeros_like(p) for n, p in params.items()}
    gen = torch.Generator().manual_seed(seed)

    def log_prob(
        p: dict[str, torch.Tensor], onehot: torch.Tensor, *x: torch.Tensor
    ) -> torch.Tensor:
        logits = functional_call(tail, p, tuple(xi.unsqueeze(0) for xi in x))[0, :n_classes]
        return (F.log_softmax(logits, dim=0) * onehot).sum()

    per_example = vmap(grad(log_prob), in_dims=(None, 0, *(0 for _ in parts)))
    count = int(parts[0].shape[0])
    for start in range(0, count, batch_size):
        chunk = [p[start : start + batch_size] for p in parts]
        with torch.no_grad():
            probs = F.softmax(tail(*chunk)[:, :n_classes], dim=1)
        for _ in range(samples):
            labels = torch.multinomial(probs, 1, generator=gen)[:, 0]
            grads = per_example(params, F.one_hot(labels, n_classes).float(), *chunk)
            for name, g in grads.items():
                total[name] += (g.detach() ** 2).sum(dim=0)
    return {n: t / (count * samples) for n, t in total.items()}


def magnitude(tail: Tail) -> dict[str, torch.Tensor]:
    """The data-free fallback: squared entries of every parameter."""
    return {n: p.detach() ** 2 for n, p in tail.named_parameters()}


def row_scores(scores: dict[str, torch.Tensor], layer: str) -> torch.Tensor | None:
    """Per output row of ``layer``'s weight: the sum over its entries (None: no weight).

    Weights are stored transposed (``weight_t`` is ``(in, out)``), so a row is a column here.
    """
    weight = scores.get(f"{layer}.weight_t")
    return None if weight is None else weight.sum(dim=0)
