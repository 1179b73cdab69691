"""Plans for a memory budget: the search above export that picks what trains on the device.

A :class:`~edgekit.budget.search.Planner` ranks a model's trainable units (importance per byte)
and exports candidate plans to measure them; :func:`~edgekit.budget.make.make_plan` makes one
plan from what a user has. The plans themselves are data (:mod:`edgekit.plan`).

Names load on first use, so that importing the package does not pull in the exporter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgekit._lazy import lazy_attributes

if TYPE_CHECKING:
    from edgekit.budget.config import PlanConfig
    from edgekit.budget.make import SCHEME_NAMES, choose_plan, make_plan, planner_for
    from edgekit.budget.search import Planner

__all__ = ["SCHEME_NAMES", "PlanConfig", "Planner", "choose_plan", "make_plan", "planner_for"]

_HOME = {
    "SCHEME_NAMES": "edgekit.budget.make",
    "PlanConfig": "edgekit.budget.config",
    "Planner": "edgekit.budget.search",
    "choose_plan": "edgekit.budget.make",
    "make_plan": "edgekit.budget.make",
    "planner_for": "edgekit.budget.make",
}

__getattr__ = lazy_attributes(__name__, _HOME)
