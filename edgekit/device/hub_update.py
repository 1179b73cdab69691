"""What a device sends the hub after training: one ``.npz`` with its trainable tensors (by the
manifest's names), the label of each class slot it trained, and its scores on D0.

    <trainable name>   float32, the manifest's shape (the weights after training)
    __labels__         (max_classes,) str: slot i's label if live on the device, else ""
    __d0_scores__      (n_d0, max_classes) float32: softmax over its live slots for each of the
                       bundle's D0 clips (0 in the other slots)

The labels let the hub refuse an update that trained a slot for a word the version does not
have (a word the user enrolled privately); the D0 scores are the device's answers on the public
set that the federation compares across architectures. Both are checked by the hub
(``edgekit_server.hub.updates``), never trusted.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from edgekit.errors import DataError

if TYPE_CHECKING:
    from edgekit.device.learner import Learner

__all__ = ["D0_KEY", "LABELS_KEY", "pack_update", "unpack_update", "update_body"]

LABELS_KEY = "__labels__"
D0_KEY = "__d0_scores__"


def pack_update(
    trainable: Mapping[str, np.ndarray], slot_labels: Sequence[str], d0_scores: np.ndarray
) -> bytes:
    """The update's bytes; ``slot_labels[i]`` is slot i's label, "" where it is not live."""
    clash = sorted({LABELS_KEY, D0_KEY} & set(trainable))
    if clash:
        raise DataError(f"trainable tensors may not be named {clash}")
    arrays = {name: np.ascontiguousarray(a, dtype=np.float32) for name, a in trainable.items()}
    arrays[LABELS_KEY] = np.asarray(list(slot_labels), dtype=np.str_)
    arrays[D0_KEY] = np.ascontiguousarray(d0_scores, dtype=np.float32)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def unpack_update(body: bytes) -> tuple[dict[str, np.ndarray], list[str], np.ndarray]:
    """(trainable tensors, slot labels, D0 scores) of an update's bytes. A file that is not an
    .npz, holds pickled objects or lacks the labels or scores raises DataError."""
    from edgekit.device.state import DAMAGED_NPZ

    try:
        with np.load(io.BytesIO(body), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except DAMAGED_NPZ as exc:
        raise DataError(f"not a readable .npz ({exc})") from exc
    missing = [k for k in (LABELS_KEY, D0_KEY) if k not in arrays]
    if missing:
        raise DataError(f"the update lacks {missing}")
    labels = arrays.pop(LABELS_KEY)
    if labels.ndim != 1 or labels.dtype.kind != "U":
        raise DataError(f"{LABELS_KEY} must be strings, got {labels.dtype} {labels.shape}")
    return arrays, [str(x) for x in labels], arrays.pop(D0_KEY)


def update_body(learner: Learner) -> bytes:
    """The update of ``learner`` as it is now: its trainable weights, its live slots and its
    softmax on the bundle's D0."""
    live = set(learner.live)
    slots = [x if x in live else "" for x in learner.labels]
    slots += [""] * (learner.manifest.max_classes - len(slots))
    scores = learner.probabilities(learner.d0_features).astype(np.float32)
    return pack_update(learner.get_trainable(), slots, scores)
