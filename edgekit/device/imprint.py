"""Weight imprinting: a new class's classifier column starts at the mean of its examples'
embeddings (Qi, Brown and Lowe, "Low-Shot Learning with Imprinted Weights", CVPR 2018).

The embedding is the classifier's input (the head's last hidden layer), which the program does not
return. It does not need to: with the new class's logit held far below the others (its column
zero, its bias -:data:`_FAR`), the cross-entropy gradient of that column over a batch of the new
class's examples is exactly minus the mean of their embeddings. One ``gradients`` call of the
program's ``train_step`` gives it, for any cut and any head whose classifier trains whole.

The column is that mean, normalised and scaled to the mean norm of the live classes' columns; its
bias is their mean bias. Training then starts from a column that already points at the new
class, instead of from the free slot's export-time weights.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from edgekit.device.slots import classifier_entries

__all__ = ["imprint"]

_FAR = 30.0  # logits below the others by this much: softmax probability about 1e-13


def imprint(
    joint: Any,
    weights: Mapping[str, torch.Tensor],
    trainable: Sequence[dict[str, Any]],
    inputs: Callable[[np.ndarray, np.ndarray], Sequence[torch.Tensor]],
    features: np.ndarray,
    slot: int,
    others: np.ndarray,
    batch: int,
) -> dict[str, torch.Tensor]:
    """``weights`` with the classifier's ``slot`` imprinted from ``features`` (the new class's
    examples at the cut), scaled like the live slots ``others``. ``joint`` is the program's
    ``train_step``, ``inputs(x, y)`` its inputs for a batch of ``batch`` rows. Returns
    ``weights`` unchanged when the gradient is zero or not finite."""
    entries = {e["kind"]: e["name"] for e in classifier_entries(trainable)}
    weight_name, bias_name = entries["weight_t"], entries["bias"]
    start = {name: tensor.clone() for name, tensor in weights.items()}
    start[weight_name][..., slot] = 0.0
    start[bias_name][slot] = start[bias_name][others].min() - _FAR
    rows = np.resize(np.arange(len(features)), batch)  # every example, evenly, to fill a batch
    joint.load(start)
    _, grads = joint.gradients(inputs(features[rows], np.full(batch, slot, dtype=np.int64)))
    direction = -grads[weight_name][..., slot]
    norm = float(direction.norm())
    if not np.isfinite(norm) or norm == 0.0:
        return dict(weights)
    columns = weights[weight_name][..., others]
    scale = float(columns.norm(dim=0).mean())
    out = dict(weights)
    out[weight_name] = weights[weight_name].clone()
    out[weight_name][..., slot] = direction * (scale / norm)
    out[bias_name] = weights[bias_name].clone()
    out[bias_name][slot] = weights[bias_name][others].mean()
    return out
