"""What server and clients exchange, as plain data (messages.py encodes it for Flower)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Instruction", "TrainResult"]


@dataclass
class Instruction:
    """One round's work for one client."""

    round: int
    weights: dict[str, np.ndarray] | None  # its group's average (None: keep its own)
    consensus: np.ndarray | None  # (N_d0, len(registry)) label-wise consensus on D0
    registry: list[str]  # global label of each slot
    aliases: dict[str, str]  # this client's names of its new classes -> global names
    extension: tuple[np.ndarray, list[str]] | None  # impressions embedded for its architecture
    extension_version: int  # applied once per version
    report_new: bool  # whether clients report their new classes (impressions)


@dataclass
class TrainResult:
    """What a client sends back after a round (all of it small)."""

    weights: dict[str, np.ndarray]  # its trainable tensors (the plan's, nothing frozen)
    n_examples: int
    labels: list[str]  # the labels it predicts, as it reports them
    d0_scores: np.ndarray  # (N_d0, len(registry)) softmax on D0 over its labels
    d0_label_accuracy: np.ndarray  # (len(registry),) its accuracy on D0 clips of each label
    accuracy: dict[str, float]  # on the common test set: all, old and new classes
