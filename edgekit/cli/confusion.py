"""Per-class accuracy and a confusion matrix, as text: what ``edgekit evaluate`` prints."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["confusion", "confusion_table"]


def confusion(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """``(len(labels), len(labels))`` counts: row = the clip's label, column = the prediction."""
    index = {label: i for i, label in enumerate(labels)}
    out = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(truth, predicted, strict=True):
        out[index[t], index[p]] += 1
    return out


def confusion_table(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> str:
    """Per-class clips and accuracy, then the confusion matrix (columns numbered as the rows),
    for the labels that occur among the clips or the predictions."""
    counts = confusion(truth, predicted, labels)
    shown = [i for i in range(len(labels)) if counts[i].sum() or counts[:, i].sum()]
    counts = counts[np.ix_(shown, shown)]
    names = [labels[i] for i in shown]
    width = max(len(n) for n in names)
    lines = [f"{'class':<{width}}  clips  accuracy"]
    for name, row, hit in zip(names, counts, np.diag(counts), strict=True):
        acc = f"{100.0 * hit / row.sum():7.1f}%" if row.sum() else "       -"
        lines.append(f"{name:<{width}}  {row.sum():5d}  {acc}")
    cell = max(3, len(str(int(counts.max(initial=0)))) + 1)
    lines.append("")
    lines.append("confusion (row: label, column: predicted)")
    lines.append(" " * (width + 4) + "".join(f"{j:>{cell}d}" for j in range(len(names))))
    for i, (name, row) in enumerate(zip(names, counts, strict=True)):
        lines.append(f"{i:>2d} {name:<{width}} " + "".join(f"{v:>{cell}d}" for v in row))
    return "\n".join(lines)
