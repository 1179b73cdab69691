"""Estimated bytes of sparse plans, which only decide what the search exports next.

Every plan the planner returns is measured on its exported program; these estimates (the
parameter, gradient and momentum of every trainable entry, plus the activations a row subset
adds) steer the search toward the prefix of the ranking that fits, so that few exports do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from edgekit.budget.ranking import ENTRY_COST, Unit
from edgekit.models.tail import TrainableLayer

__all__ = ["cumulative_costs", "whole_is_cheaper"]

ACTIVATION_BYTES = 4  # float32 activations


def whole_is_cheaper(layer: TrainableLayer, rows: int, batch: int) -> bool:
    """Whether training every row of ``layer`` costs less than training ``rows`` of them.

    A row subset adds two matmul outputs per position (``x @ rows_t`` and its scatter to every
    output); where positions are many (a deep cut) they outweigh the parameters, gradients and
    momentum of the remaining rows, so the whole layer then trains more for less memory.
    """
    if not 0 < rows < layer.n_out:
        return False
    subset = ACTIVATION_BYTES * batch * layer.positions * (rows + layer.n_out)
    rest = ENTRY_COST * (layer.n_out - rows) * layer.n_in
    return subset >= rest


def cumulative_costs(
    ranked: Sequence[Unit], layers: Mapping[str, TrainableLayer], batch: int
) -> list[int]:
    """Estimated bytes of each prefix of ``ranked`` (index n: the first n units, from 0): per
    trainable entry its parameter, gradient and momentum, and for a layer's first rows its saved
    input and the outputs of the row subset's matmuls."""
    seen: set[str] = set()
    total, out = 0, [0]
    for unit in ranked:
        total += ENTRY_COST * unit.params
        if unit.rows and unit.layer not in seen:
            seen.add(unit.layer)
            layer = layers[unit.layer]
            total += ACTIVATION_BYTES * batch * layer.positions * (layer.n_in + layer.n_out)
        out.append(total)
    return out
