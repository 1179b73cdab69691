"""Training plans: which part of a model trains on the device, within a memory budget."""

from __future__ import annotations

from edgekit.plan.spec import TrainingPlan

__all__ = ["TrainingPlan"]
