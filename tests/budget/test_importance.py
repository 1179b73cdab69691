"""Fisher information, checked against what it is in closed form."""

from __future__ import annotations

import torch

from edgekit.budget.importance import fisher_information, row_scores
from edgekit.models.tail import POOLED, HeadTail, LayerTrain


def test_fisher_of_a_softmax_bias_is_p_times_one_minus_p() -> None:
    # logits = x W^T + b: d log p_y / d b = onehot(y) - p, so E_y[(.)^2] = p (1 - p) per class
    torch.manual_seed(0)
    head = torch.nn.Sequential(torch.nn.Linear(4, 3))
    tail = HeadTail(head, {"head.fc": LayerTrain(rows=(0, 1, 2), bias=True)})
    assert tail.cut == POOLED
    x = torch.randn(64, 4)
    fisher = fisher_information(tail, [x], n_classes=3, samples=400, seed=1)
    with torch.no_grad():
        p = torch.softmax(tail(x), dim=1)
    expected = (p * (1 - p)).mean(dim=0)
    torch.testing.assert_close(fisher["head.fc.bias"], expected, atol=0.01, rtol=0.05)
    # and for the weight: E[(onehot - p)_k^2 x_j^2]
    weight_expected = ((p * (1 - p)).unsqueeze(2) * (x**2).unsqueeze(1)).mean(dim=0)
    torch.testing.assert_close(fisher["head.fc.weight_t"], weight_expected.T, atol=0.05, rtol=0.1)


def test_a_row_that_cannot_change_the_output_scores_zero() -> None:
    head = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    with torch.no_grad():
        head[2].weight[:, 1] = 0.0  # hidden unit 1 feeds nothing
    everything = {
        "head.fc1": LayerTrain(rows=(0, 1, 2, 3), bias=True),
        "head.fc2": LayerTrain(rows=(0, 1), bias=True),
    }
    tail = HeadTail(head, everything)
    fisher = fisher_information(tail, [torch.randn(32, 3)], n_classes=2)
    rows = row_scores(fisher, "head.fc1")
    assert rows is not None and float(rows[1]) == 0.0 and float(rows.sum()) > 0.0
    assert row_scores(fisher, "head.nothing") is None
