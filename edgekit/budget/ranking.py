"""The sparse plans' units, ranked: importance per byte (the planner's documented rule).

A unit is the smallest thing a sparse plan switches on: one output row of a layer's weight (a
channel; ``row_group`` rows together if asked), or a layer's whole bias. Its importance is the
sum of its entries' scores (:mod:`edgekit.budget.importance`); its cost, for the ranking, is what
training an entry holds: the parameter, its gradient and its momentum buffer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from edgekit.budget.importance import row_scores
from edgekit.models.tail import Tail
from edgekit.plan.spec import TrainingPlan

__all__ = ["ENTRY_COST", "Unit", "plan_importance", "rank_units"]

ENTRY_COST = 12  # bytes per trainable entry: parameter, gradient, momentum (float32 each)


@dataclass(frozen=True)
class Unit:
    """The smallest thing a sparse plan switches on: some output rows of a weight, or a bias."""

    layer: str
    rows: tuple[int, ...]  # () for the bias
    params: int  # trainable entries
    importance: float

    @property
    def kind(self) -> str:
        return "rows" if self.rows else "bias"

    @property
    def density(self) -> float:
        return self.importance / (self.params * ENTRY_COST)


def rank_units(
    tail: Tail, scores: dict[str, torch.Tensor], classifier: str, row_group: int = 1
) -> list[Unit]:
    """Every unit of ``tail`` but the classifier's (it always trains whole), best first."""
    units = []
    for name, layer in tail.layers().items():
        if name == classifier:
            continue
        units.append(Unit(name, (), layer.n_out, float(scores[f"{name}.bias"].sum())))
        per_row = row_scores(scores, name)
        if per_row is None:
            continue
        order = torch.argsort(per_row, descending=True).tolist()
        for start in range(0, len(order), row_group):
            rows = tuple(sorted(order[start : start + row_group]))
            value = float(per_row[list(rows)].sum())
            units.append(Unit(name, rows, len(rows) * layer.n_in, value))
    return sorted(units, key=lambda u: u.density, reverse=True)


def plan_importance(units: list[Unit], plan: TrainingPlan) -> float:
    """Total importance of the units a plan trains."""
    total = 0.0
    for unit in units:
        spec = plan.layers.get(unit.layer)
        if spec is None:
            continue
        if (not unit.rows and spec.bias) or (unit.rows and set(unit.rows) <= set(spec.rows)):
            total += unit.importance
    return total
