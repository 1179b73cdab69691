"""What the server checks in a client's training reply before the round uses any of it.

A reply comes from a device the server does not control: every field that aggregation reads is
checked against what the server expects of that client this round (:class:`Expected`), and the
first problem raises :class:`MalformedReply` naming the field. The strategy logs it and leaves
the reply out of the round. What each field feeds, and so what it must be:

- ``weights``: FedAvg within the client's architecture group. Exactly the tensors of the
  architecture's training plan, of their shapes, floating point and finite, and no larger (L2
  norm over every tensor) than ``max_weight_ratio`` times the group's current global weights: a
  scaled-up update would otherwise pull the group's average anywhere.
- ``n_examples``: FedAvg's weight of the reply. An int in 1..``max_examples``.
- ``labels``: the mask of registry labels whose consensus the client's scores enter. Strings,
  each in the registry or one of the client's own names for its new classes.
- ``d0_scores``: the label-wise consensus on D0. Shape (N_d0, len(registry)), finite, in
  [0, 1], each row summing to at most 1 (a softmax over the client's slots; the slots outside
  the registry, a new class it has not reported yet, hold the rest; the consensus renormalises).
- ``d0_label_accuracy``: each client's per-label weight in the consensus. Shape
  (len(registry),), each entry in [0, 1] or NaN (not measured: a label it does not predict or
  without D0 clips; the consensus then weighs it as accuracy 0).
- ``accuracy``: the round's reported metrics, ``acc``, ``acc_old`` and ``acc_new`` in percent,
  each finite and in [0, 100]; ``acc_new`` is NaN exactly when the common test set holds no new
  class.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from edgekit_server.errors import MalformedReply
from edgekit_server.fl.protocol import TrainResult

__all__ = ["ACCURACY_KEYS", "ROW_SUM_TOLERANCE", "Expected", "check_reply", "weights_norm"]

ACCURACY_KEYS = ("acc", "acc_old", "acc_new")  # percent on the common test set
ROW_SUM_TOLERANCE = 1e-3  # float32 softmax rows sum to 1 within a few ulps; this is generous


@dataclass(frozen=True)
class Expected:
    """What one client's reply must be this round."""

    weight_shapes: Mapping[str, tuple[int, ...]]  # its architecture's trainable tensors
    reference_norm: float  # L2 norm of its group's current global weights (bundle's at first)
    registry: Sequence[str]  # the global label of each slot
    local_labels: Collection[str]  # its own names of its new classes (reported before merging)
    n_d0: int  # public clips in D0
    max_examples: int  # a larger example count is impossible, >= 1
    max_weight_ratio: float  # bound of its weights' norm over reference_norm, >= 1
    new_classes_tested: bool  # whether the common test set holds a new class (acc_new defined)


def weights_norm(weights: Mapping[str, np.ndarray]) -> float:
    """L2 norm over every tensor of ``weights`` together, in float64."""
    return float(
        np.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in weights.values()))
    )


def check_reply(reply: TrainResult, expected: Expected) -> None:
    """Raise MalformedReply with the reason if ``reply`` cannot be used."""
    _check_weights(reply.weights, expected)
    _check_examples(reply.n_examples, expected.max_examples)
    _check_labels(reply.labels, expected)
    _check_scores(reply.d0_scores, expected)
    _check_label_accuracy(reply.d0_label_accuracy, len(expected.registry))
    _check_accuracy(reply.accuracy, expected.new_classes_tested)


def _check_weights(weights: Mapping[str, np.ndarray], expected: Expected) -> None:
    shapes = expected.weight_shapes
    if not isinstance(weights, Mapping) or set(weights) != set(shapes):
        got = sorted(weights) if isinstance(weights, Mapping) else type(weights).__name__
        raise MalformedReply(f"trainable tensors {got} instead of {sorted(shapes)}")
    for name, array in weights.items():
        if not isinstance(array, np.ndarray) or not np.issubdtype(array.dtype, np.floating):
            raise MalformedReply(f"weights {name} are not a floating-point array")
        if tuple(array.shape) != tuple(shapes[name]):
            raise MalformedReply(f"{name} has shape {tuple(array.shape)}, expected {shapes[name]}")
        if not np.isfinite(array).all():
            raise MalformedReply(f"{name} holds NaN or Inf")
    norm, reference = weights_norm(weights), expected.reference_norm
    if reference > 0 and norm > expected.max_weight_ratio * reference:
        raise MalformedReply(
            f"weights have L2 norm {norm:.4g}, over {expected.max_weight_ratio:g} times the "
            f"group's global {reference:.4g} (max-weight-ratio)"
        )


def _check_examples(n: object, max_examples: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 0 < n <= max_examples:
        raise MalformedReply(f"impossible example count {n!r} (an int in 1..{max_examples})")


def _check_labels(labels: Sequence[str], expected: Expected) -> None:
    if not isinstance(labels, list | tuple) or not all(isinstance(x, str) for x in labels):
        raise MalformedReply(f"labels must be a list of strings, got {labels!r:.200}")
    unknown = sorted(set(labels) - set(expected.registry) - set(expected.local_labels))
    if unknown:
        raise MalformedReply(f"unknown labels {unknown}")


def _float_array(name: str, array: object, shape: tuple[int, ...]) -> np.ndarray:
    if not isinstance(array, np.ndarray) or not np.issubdtype(array.dtype, np.floating):
        raise MalformedReply(f"{name} is not a floating-point array")
    if array.shape != shape:
        raise MalformedReply(f"{name} of shape {array.shape}, expected {shape}")
    return array


def _check_scores(scores: object, expected: Expected) -> None:
    s = _float_array("D0 scores", scores, (expected.n_d0, len(expected.registry)))
    if not np.isfinite(s).all():
        raise MalformedReply("D0 scores hold NaN or Inf")
    if s.size and (s.min() < 0 or s.max() > 1):
        raise MalformedReply(f"D0 scores must be in [0, 1], got {s.min():.4g}..{s.max():.4g}")
    sums = s.sum(axis=1, dtype=np.float64)
    if sums.size and sums.max() > 1 + ROW_SUM_TOLERANCE:
        raise MalformedReply(f"D0 score rows must sum to at most 1, got up to {sums.max():.4g}")


def _check_label_accuracy(accuracy: object, n_labels: int) -> None:
    a = _float_array("D0 label accuracy", accuracy, (n_labels,))
    measured = a[~np.isnan(a)]
    if not np.isfinite(measured).all() or (measured < 0).any() or (measured > 1).any():
        raise MalformedReply(f"D0 label accuracy must be in [0, 1] or NaN, got {a.tolist()}")


def _check_accuracy(accuracy: Mapping[str, float], new_classes_tested: bool) -> None:
    if not isinstance(accuracy, Mapping) or set(ACCURACY_KEYS) - set(accuracy):
        raise MalformedReply(f"accuracy must report {list(ACCURACY_KEYS)}")
    for key in ACCURACY_KEYS:
        value = accuracy[key]
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
            raise MalformedReply(f"accuracy {key} is not a number: {value!r:.100}")
        if key == "acc_new" and not new_classes_tested:
            if not np.isnan(value):
                raise MalformedReply(f"acc_new must be NaN (no new class is tested), got {value}")
            continue
        if not np.isfinite(value) or not 0 <= value <= 100:
            raise MalformedReply(f"accuracy {key} must be in [0, 100] percent, got {value}")
