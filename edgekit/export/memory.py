"""Training memory of a plan, read from its exported program (never estimated).

Training memory, as the design defines it, is what one training method holds while it runs:

- the method's planned memory arena (``non_const_buffer_sizes`` of its execution plan). Graph
  inputs and outputs are planned, so it already holds the trainable tensors, the batch, the
  activations kept for backward and the gradients, each once;
- the optimizer state outside the plan: ExecuTorch's SGD keeps one momentum buffer per trainable
  tensor (``extension/training/optimizer/sgd.cpp``), 4 bytes per trainable entry, when momentum
  is used;
- a delegate's workspace: none with the portable kernels (the default), whose memory the arena
  holds entirely. A plan whose training methods are delegated to XNNPACK (``kernels="xnnpack"``,
  :mod:`edgekit.export.training_kernels`) adds the larger of its two methods' delegate memory,
  measured by running each method once in the runtime.

A device runs one training method at a time, so the training memory is the larger of the two
methods' arenas plus the optimizer state. Frozen weights are constants of the program (read-only
data, like the rest of the program), not training memory.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from edgekit.errors import ConfigError, ExportError
from edgekit.export.joint_rewrites import mask_relu_backward, simplify_joint
from edgekit.export.methods import DistillStep, PickedTrainStep, TrainStep
from edgekit.export.multi_step import steps_inputs, steps_method
from edgekit.export.stages import LoweredCache, assemble, lower, planned_bytes
from edgekit.export.training_kernels import delegate_workspace
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
    "training_inputs",
    "training_methods",
]

TRAINING_METHODS = ("train_step", "distill_step", "train_steps")


def joint_method(module: nn.Module, example: tuple[torch.Tensor, ...]) -> Any:
    """``torch.export`` then the joint forward/backward graph of a loss-first module."""
    from torch.export.experimental import _export_forward_backward

    try:
        return _export_forward_backward(torch.export.export(module, example, strict=False))
    except Exception as exc:  # torch raises many unrelated types here
        raise ExportError(
            f"joint forward/backward export of {type(module).__name__}: {exc}"
        ) from exc


def training_inputs(
    model: KwsModel, plan: TrainingPlan, max_classes: int
) -> dict[str, tuple[torch.Tensor, ...]]:
    """Example inputs of ``train_step`` and ``distill_step`` at the plan's batch."""
    parts = [torch.zeros(plan.batch, *shape) for _, shape in model.feature_parts(plan.cut)]
    labels = torch.zeros(plan.batch, dtype=torch.long)
    soft = torch.full((plan.batch, max_classes), 1.0 / max_classes)
    mask = torch.ones(max_classes)
    inputs = {"train_step": (*parts, labels, mask), "distill_step": (*parts, soft, mask)}
    if plan.steps_per_call > 1:
        trainable = plan.trainable_params(model)
        inputs["train_steps"] = steps_inputs(trainable, (*parts, labels), mask, plan.steps_per_call)
    return inputs


def training_methods(
    model: KwsModel,
    plan: TrainingPlan,
    temperature: float,
    max_classes: int,
    only: str | None = None,
) -> dict[str, Any]:
    """The joint ``train_step`` and ``distill_step`` programs of ``plan`` (not yet lowered) and,
    for a plan of several steps per call, ``train_steps`` around ``train_step``
    (:mod:`edgekit.export.multi_step`); ``only`` names one of the first two. For the XNNPACK
    kernels, ReLU's backward is rewritten into ops that XNNPACK runs, and copies the graph does
    not need are dropped (``joint_rewrites``)."""
    tail = plan.tail(model).train()
    inputs = training_inputs(model, plan, max_classes)
    n = len(model.feature_parts(plan.cut))
    methods = {}
    if only in (None, "train_step"):
        methods["train_step"] = joint_method(TrainStep(tail, n), inputs["train_step"])
    if only in (None, "distill_step"):
        distill = DistillStep(copy.deepcopy(tail), temperature, n)
        methods["distill_step"] = joint_method(distill, inputs["distill_step"])
    if plan.steps_per_call > 1 and only is None:
        picked = PickedTrainStep(copy.deepcopy(tail), n)
        methods["train_steps"] = joint_method(picked, inputs["train_step"])
    if plan.kernels == "xnnpack":
        for method in methods.values():
            mask_relu_backward(method)
            simplify_joint(method)
    if "train_steps" in methods:
        methods["train_steps"] = steps_method(methods["train_steps"], plan.steps_per_call)
    return methods


def lowered_training(
    model: KwsModel,
    plan: TrainingPlan,
    temperature: float,
    max_classes: int,
    lowered: LoweredCache | None = None,
) -> Any:
    """The plan's training methods lowered to the edge dialect (delegated to XNNPACK only for
    ``plan.kernels == "xnnpack"``), through ``lowered`` so that a measured plan's methods are
    the ones its bundle ships."""
    key = ("training", model.digest(), plan.key(), temperature, max_classes)
    cache = lowered if lowered is not None else LoweredCache(max_entries=1)
    return cache.get(
        key,
        lambda: training_methods(model, plan, temperature, max_classes),
        xnnpack=plan.kernels == "xnnpack",
        joint=True,
    )


def delegate_bytes(program: Any, model: KwsModel, plan: TrainingPlan, max_classes: int) -> int:
    """The largest delegate memory of the program's training methods (0 for portable kernels)."""
    if plan.kernels == "portable":
        return 0
    pte, arenas = bytes(program.buffer), planned_bytes(program)
    inputs = training_inputs(model, plan, max_classes)
    methods = {name: (inputs[name], arenas[name]) for name in TRAINING_METHODS if name in arenas}
    return max(delegate_workspace(pte, methods).values())


def measure_plan(
    model: KwsModel,
    plan: TrainingPlan,
    temperature: float = 2.0,
    max_classes: int | None = None,
    lowered: LoweredCache | None = None,
) -> TrainingMemory:
    """Export the plan's training methods alone and report their memory."""
    slots = max_classes or model.head.config.max_classes
    program = assemble(lowered_training(model, plan, temperature, slots, lowered))
    return TrainingMemory.from_arenas(
        planned_bytes(program),
        plan.trainable_params(model),
        plan.momentum,
        plan.budget_bytes,
        delegate_bytes(program, model, plan, slots),
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
    """The planned arena of the plan's ``train_step`` alone (half the export work of both), for
    the portable kernels, whose memory the arena holds entirely; a delegated plan's memory is
    measured whole (:func:`measure_plan`)."""
    if plan.kernels != "portable":
        raise ConfigError(f"train_step_arena bounds portable plans; measure a {plan.kernels} plan")
    slots = max_classes or model.head.config.max_classes
    method = training_methods(model, plan, 1.0, slots, only="train_step")
    return int(planned_bytes(lower(method, xnnpack=False))["train_step"])
