"""Training plans as data: which part of a model trains on the device, and the memory it needs.

The plan (:mod:`~edgekit.plan.spec`), byte sizes, the feature-cache accounting and the memory
reports read from exported programs. The search for a plan within a budget is
:mod:`edgekit.budget`, above the exporter.
"""

from __future__ import annotations

from edgekit.plan.spec import TrainingPlan

__all__ = ["TrainingPlan"]
