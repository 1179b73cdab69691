"""Figures of the benches: matplotlib without a screen, the same finish everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["figure", "finish"]


def figure(panels: int, width: float = 5.5, height: float = 4.0) -> tuple[Any, list[Any]]:
    """A row of ``panels`` axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, panels, figsize=(width * panels, height), squeeze=False)
    return fig, list(axes[0])


def finish(fig: Any, axes: list[Any], path: Path, xlabel: str, ylabel: str) -> None:
    """Label, grid and legend every panel, then write the PNG and close the figure."""
    import matplotlib.pyplot as plt

    for ax in axes:
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
