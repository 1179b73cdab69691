"""Training memory of a plan, read from its exported program (never estimated).

Training memory, as the design defines it, is what one training method holds while it runs:

- the method's planned memory arena (``non_const_buffer_sizes`` of its execution plan). Graph
  inputs and outputs are planned, so it already holds the trainable tensors, the batch, the
  activations kept for backward and the gradients, each once;
- the optimizer state outside the plan: ExecuTorch's SGD keeps one momentum buffer per trainable
  tensor (``extension/training/optimizer/sgd.cpp``), 4 bytes per trainable entry, when momentum
  is used;
- a delegate's workspace: none, because ``train_step`` and ``distill_step`` are never delegated
  (their ops run on the portable kernels, whose memory the plan holds entirely).

A device runs one training method at a time, so the training memory is the larger of the two
methods' arenas plus the optimizer state. Frozen weights are constants of the program (read-only
data, like the rest of the program), not training memory.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from edgekit.errors import ExportError
from edgekit.export.methods import DistillStep, TrainStep
from edgekit.export.stages import LoweredCache, assemble, lower, planned_bytes
from edgekit.models.base import KwsModel
from edgekit.plan.reports import TrainingMemory
from edgekit.plan.spec import TrainingPlan

__all__ = [
    "TRAINING_METHODS",
    "joint_method",
    "lowered_training",
    "measure_plan",
    "pte_arenas",
    "train_step_arena",
    "training_methods",
]

TRAINING_METHODS = ("train_step", "distill_step")


def joint_method(module: nn.Module, example: tuple[torch.Tensor, ...]) -> Any:
    """``torch.export`` then the joint forward/backward graph of a loss-first module."""
    from torch.export.experimental import _export_forward_backward

    try:
        return _export_forward_backward(torch.export.export(module, example, strict=False))
    except Exception as exc:  # torch raises many unrelated types here
        raise ExportError(
            f"joint forward/backward export of {type(module).__name__}: {exc}"
        ) from exc


def training_methods(
    model: KwsModel,
    plan: TrainingPlan,
    temperature: float,
    max_classes: int,
    only: str | None = None,
) -> dict[str, Any]:
    """The joint ``train_step`` and ``distill_step`` programs of ``plan`` (not yet lowered);
    ``only`` names one of them."""
    tail = plan.tail(model).train()
    parts = [torch.zeros(plan.batch, *shape) for _, shape in model.feature_parts(plan.cut)]
    labels = torch.zeros(plan.batch, dtype=torch.long)
    soft = torch.full((plan.batch, max_classes), 1.0 / max_classes)
    mask = torch.ones(max_classes)
    n = len(parts)
    methods = {}
    if only in (None, "train_step"):
        methods["train_step"] = joint_method(TrainStep(tail, n), (*parts, labels, mask))
    if only in (None, "distill_step"):
        wrapper = DistillStep(copy.deepcopy(tail), temperature, n)
        methods["distill_step"] = joint_method(wrapper, (*parts, soft, mask))
    return methods


def lowered_training(
    model: KwsModel,
    plan: TrainingPlan,
    temperature: float,
    max_classes: int,
    lowered: LoweredCache | None = None,
) -> Any:
    """The plan's training methods lowered to the edge dialect (never delegated), through
    ``lowered`` so that a measured plan's methods are the ones its bundle ships."""
    key = ("training", model.digest(), plan.key(), temperature, max_classes)
    cache = lowered if lowered is not None else LoweredCache(max_entries=1)
    return cache.get(key, lambda: training_methods(model, plan, temperature, max_classes))


def measure_plan(
    model: KwsModel,
    plan: TrainingPlan,
    temperature: float = 2.0,
    max_classes: int | None = None,
    lowered: LoweredCache | None = None,
) -> TrainingMemory:
    """Export the plan's training methods alone (portable kernels) and report their memory."""
    slots = max_classes or model.head.config.max_classes
    program = assemble(lowered_training(model, plan, temperature, slots, lowered))
    return TrainingMemory.from_arenas(
        planned_bytes(program), plan.trainable_params(model), plan.momentum, plan.budget_bytes
    )


def pte_arenas(pte: bytes) -> dict[str, int]:
    """Planned arena bytes of every method, read back from a serialised ``.pte`` file."""
    from executorch.exir._serialize._program import deserialize_pte_binary

    program = deserialize_pte_binary(pte).program
    return {
        plan.name: int(sum(plan.non_const_buffer_sizes))
        for plan in program.execution_plan
        if not plan.name.startswith("__")
    }


def train_step_arena(model: KwsModel, plan: TrainingPlan, max_classes: int | None = None) -> int:
    """The planned arena of the plan's ``train_step`` alone (half the export work of both)."""
    slots = max_classes or model.head.config.max_classes
    method = training_methods(model, plan, 1.0, slots, only="train_step")
    return int(planned_bytes(lower(method, xnnpack=False))["train_step"])
