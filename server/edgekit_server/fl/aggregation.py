"""Aggregation maths: FedAvg within an architecture group, label-wise consensus across groups.

Pure numpy; the Flower strategies only wire these functions. Inside a group clients share one
bundle, so their trainable weights average key by key (:func:`fedavg`). Across groups clients
only share softmax scores on the public set D0: :func:`label_wise_consensus` averages them per
label, weighting each client by its label overlap and its accuracy on that label, and
:func:`restrict` cuts the consensus down to one client's labels as its distillation targets.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np

__all__ = ["fedavg", "label_overlap", "label_wise_consensus", "restrict"]


def fedavg(
    updates: Sequence[Mapping[str, np.ndarray]], weights: Sequence[float]
) -> dict[str, np.ndarray]:
    """Weighted mean of ``updates`` per key; ``weights`` are e.g. example counts.

    Every update must hold the same keys with the same shapes and floating dtypes; each weight
    must be finite and >= 0, their total > 0. Sums run in float64 and each result is cast back
    to the dtype of the first update (float32 stays float32).
    """
    if len(updates) == 0:
        raise ValueError("updates must be non-empty, got 0 updates")
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (len(updates),):
        raise ValueError(f"weights must have one entry per update ({len(updates)}), got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"weights must be finite and >= 0, got {w.tolist()}")
    total = float(w.sum())
    if total <= 0:
        raise ValueError(f"weights must sum to > 0, got {total}")
    keys = set(updates[0])
    out: dict[str, np.ndarray] = {}
    for i, update in enumerate(updates):
        if set(update) != keys:
            diff = sorted(keys.symmetric_difference(update))
            raise ValueError(f"update {i} must have the keys of update 0, got {diff} differing")
    for key in updates[0]:
        first = np.asarray(updates[0][key])
        if not np.issubdtype(first.dtype, np.floating):
            raise ValueError(f"update arrays must be floating, got {first.dtype} for key {key!r}")
        acc = np.zeros(first.shape, dtype=np.float64)
        for i, update in enumerate(updates):
            arr = np.asarray(update[key])
            if arr.shape != first.shape:
                raise ValueError(
                    f"key {key!r} must have shape {first.shape} in every update, "
                    f"got {arr.shape} in update {i}"
                )
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"key {key!r} must be finite, got NaN/Inf in update {i}")
            acc += w[i] * arr
        out[key] = (acc / total).astype(first.dtype)
    return out


def label_overlap(label_sets: Sequence[Collection[str]], all_labels: Sequence[str]) -> np.ndarray:
    """Per client, the share of ``all_labels`` it has: ``|L_c ∩ all| / |all|`` as float64 (n,)."""
    universe = set(all_labels)
    if len(universe) == 0:
        raise ValueError("all_labels must be non-empty, got 0 labels")
    if len(universe) != len(all_labels):
        raise ValueError(f"all_labels must be unique, got {len(all_labels)} with duplicates")
    return np.array([len(universe.intersection(s)) / len(universe) for s in label_sets], float)


def label_wise_consensus(
    scores: Sequence[np.ndarray],
    label_masks: Sequence[np.ndarray],
    label_accuracy: Sequence[np.ndarray],
    overlap: Sequence[float],
    eps: float = 1e-3,
) -> tuple[np.ndarray, np.ndarray]:
    """Label-wise consensus of the clients' scores on the N public clips over C global labels.

    ``consensus[i, l] = sum_c w[c, l] * scores[c][i, l] / sum_c w[c, l]`` over the clients that
    have label ``l``, with ``w[c, l] = overlap[c] * (label_accuracy[c][l] + eps)``; ``eps``
    keeps a client with zero accuracy on a label from vanishing entirely. Labels no client has
    are 0. Each row is then renormalised to sum to 1 over the covered labels (a row with zero
    mass becomes uniform over them). Entries of ``scores`` and ``label_accuracy`` outside a
    client's mask are ignored (they may be NaN); inside it they must be finite, scores >= 0 and
    accuracies in [0, 1].

    Returns ``(consensus, covered)``: (N, C) float32 and (C,) bool (labels some client has).
    """
    n_clients = len(scores)
    if n_clients == 0:
        raise ValueError("scores must be non-empty, got 0 clients")
    for name, seq in (("label_masks", label_masks), ("label_accuracy", label_accuracy)):
        if len(seq) != n_clients:
            raise ValueError(f"{name} must have one entry per client ({n_clients}), got {len(seq)}")
    ov = np.asarray(overlap, dtype=np.float64)
    if ov.shape != (n_clients,):
        raise ValueError(f"overlap must have shape ({n_clients},), got {ov.shape}")
    if not np.all(np.isfinite(ov)) or np.any(ov < 0) or np.any(ov > 1):
        raise ValueError(f"overlap must be in [0, 1], got {ov.tolist()}")
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"eps must be finite and >= 0, got {eps}")
    shape = np.shape(scores[0])
    if len(shape) != 2:
        raise ValueError(f"scores[0] must be 2-D (N, C), got shape {shape}")
    n_labels = shape[1]
    num = np.zeros(shape, dtype=np.float64)
    den = np.zeros(n_labels, dtype=np.float64)
    covered = np.zeros(n_labels, dtype=bool)
    for c in range(n_clients):
        s = np.asarray(scores[c], dtype=np.float64)
        mask = np.asarray(label_masks[c])
        acc = np.asarray(label_accuracy[c], dtype=np.float64)
        if s.shape != shape:
            raise ValueError(f"scores[{c}] must have shape {shape}, got {s.shape}")
        if mask.dtype != np.bool_ or mask.shape != (n_labels,):
            raise ValueError(
                f"label_masks[{c}] must be bool of shape ({n_labels},), "
                f"got {mask.dtype} {mask.shape}"
            )
        if acc.shape != (n_labels,):
            raise ValueError(f"label_accuracy[{c}] must have shape ({n_labels},), got {acc.shape}")
        s_in, acc_in = s[:, mask], acc[mask]
        if not np.all(np.isfinite(s_in)) or np.any(s_in < 0):
            raise ValueError(f"scores[{c}] must be finite and >= 0 on its labels, got NaN/Inf/<0")
        if not np.all(np.isfinite(acc_in)) or np.any(acc_in < 0) or np.any(acc_in > 1):
            raise ValueError(f"label_accuracy[{c}] must be in [0, 1] on its labels, got {acc_in}")
        w = np.where(mask, ov[c] * (np.where(mask, acc, 0.0) + eps), 0.0)
        num += np.where(mask, s, 0.0) * w
        den += w
        covered |= mask
    if not covered.any():
        raise ValueError("label_masks must give at least one client a label, got all empty")
    starved = np.flatnonzero(covered & (den <= 0))
    if starved.size:
        raise ValueError(
            f"weights of the clients holding a label must sum to > 0, got 0 for labels "
            f"{starved.tolist()} (overlap and accuracy + eps are all 0)"
        )
    consensus = np.zeros(shape, dtype=np.float64)
    consensus[:, covered] = num[:, covered] / den[covered]
    return _renormalise(consensus, covered), covered


def restrict(consensus: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A client's distillation targets: ``consensus`` zeroed outside ``mask``, rows renormalised.

    A row with zero mass over the mask becomes uniform over the mask. Returns (N, C) float32.
    """
    p = np.asarray(consensus, dtype=np.float64)
    m = np.asarray(mask)
    if p.ndim != 2:
        raise ValueError(f"consensus must be 2-D (N, C), got shape {p.shape}")
    if m.dtype != np.bool_ or m.shape != (p.shape[1],):
        raise ValueError(f"mask must be bool of shape ({p.shape[1]},), got {m.dtype} {m.shape}")
    if not m.any():
        raise ValueError("mask must select at least one label, got none")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("consensus must be finite and >= 0, got NaN/Inf/<0")
    return _renormalise(np.where(m, p, 0.0), m)


def _renormalise(p: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Rows of ``p`` (zero outside ``mask``) scaled to sum 1; zero rows uniform over ``mask``."""
    total = p.sum(axis=1, keepdims=True)
    uniform = np.where(mask, 1.0 / mask.sum(), 0.0)
    safe = np.where(total > 0, total, 1.0)
    out = np.where(total > 0, p / safe, uniform[None, :])
    return out.astype(np.float32)
