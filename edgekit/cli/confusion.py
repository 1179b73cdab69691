"""Per-class accuracy and a confusion matrix, as text and as a PNG: what ``edgekit evaluate``
prints, and what ``--plot`` draws (matplotlib, the ``plot`` extra)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.errors import ConfigError, ToolMissingError

__all__ = ["PLOT_EXTRA", "confusion", "confusion_table", "plot_confusion", "require_matplotlib"]

PLOT_EXTRA = "pip install 'edgekit[plot]'"
_ANNOTATED = 40  # classes up to which each cell shows its count


def confusion(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    """``(len(labels), len(labels))`` counts: row = the clip's label, column = the prediction."""
    index = {label: i for i, label in enumerate(labels)}
    out = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(truth, predicted, strict=True):
        out[index[t], index[p]] += 1
    return out


def _shown(
    truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> tuple[np.ndarray, list[str]]:
    """The confusion counts and names of the labels that occur among clips or predictions."""
    counts = confusion(truth, predicted, labels)
    shown = [i for i in range(len(labels)) if counts[i].sum() or counts[:, i].sum()]
    return counts[np.ix_(shown, shown)], [labels[i] for i in shown]


def confusion_table(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> str:
    """Per-class clips and accuracy, then the confusion matrix (columns numbered as the rows),
    for the labels that occur among the clips or the predictions."""
    counts, names = _shown(truth, predicted, labels)
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


def require_matplotlib() -> Any:
    """matplotlib's ``Figure`` class; without matplotlib, an error naming the extra to install."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ToolMissingError(f"--plot needs matplotlib: {PLOT_EXTRA}") from exc
    return Figure


def plot_confusion(
    truth: Sequence[str],
    predicted: Sequence[str],
    labels: Sequence[str],
    path: Path | str,
    title: str = "",
) -> Path:
    """Write the confusion matrix of :func:`confusion_table` as a PNG image to ``path``
    (rows: label, columns: predicted; each cell's count up to 40 classes). Returns the path."""
    figure_class = require_matplotlib()
    counts, names = _shown(truth, predicted, labels)
    n = len(names)
    side = max(4.0, 0.4 * n + 2.5)
    fig = figure_class(figsize=(side, side), layout="constrained")  # no pyplot: no global state
    ax = fig.add_subplot()
    image = ax.imshow(counts, cmap="Blues", vmin=0)
    ax.set_xticks(range(n), names, rotation=90)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("label")
    if title:
        ax.set_title(title)
    if n <= _ANNOTATED:
        dark = counts.max(initial=0) / 2
        for (i, j), value in np.ndenumerate(counts):
            colour = "white" if value > dark else "black"
            ax.text(j, i, str(value), ha="center", va="center", color=colour, fontsize=8)
    fig.colorbar(image, ax=ax, shrink=0.8, label="clips")
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=120)
    except OSError as exc:
        raise ConfigError(f"--plot {path}: cannot write it ({exc.strerror or exc})") from exc
    return path
