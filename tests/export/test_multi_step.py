"""train_steps: several SGD steps per call, against eager PyTorch stepping the same batches."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

from edgekit.errors import ConfigError, ExportError
from edgekit.export.memory import lowered_training, measure_plan, training_methods
from edgekit.export.methods import TrainStep
from edgekit.export.multi_step import steps_method
from edgekit.export.stages import LoweredCache, assemble, planned_bytes
from edgekit.models import ARCHITECTURES, HeadConfig, KwsModel, build_model
from edgekit.models.tail import POOLED, LayerTrain
from edgekit.plan.report import memory_table
from edgekit.plan.spec import TrainingPlan
from edgekit.runtime import Program

pytestmark = pytest.mark.slow
BATCH, STEPS, SLOTS = 6, 3, 5
HEAD = HeadConfig(hidden=16, max_classes=SLOTS)
LR, MOMENTUM, BOUND = 0.5, 0.9, 0.3  # a bound the first steps' gradients exceed: clipping runs


def _plan(model: KwsModel, cut: str, kernels: str) -> TrainingPlan:
    """Everything above ``cut`` trains, except that below the head the first layer trains two
    rows of its weight and no bias, and the others are frozen: frozen tensors and rows become
    constants of the method, as in the planner's sparse plans."""
    layers = {}
    for i, (name, layer) in enumerate(model.tail(cut).layers().items()):
        if name.startswith("head") or not layer.has_weight:
            rows = tuple(range(layer.n_out)) if layer.has_weight else ()
            layers[name] = LayerTrain(rows=rows, bias=name.startswith("head"))
        else:
            layers[name] = LayerTrain(rows=(0, 1) if i == 0 else ())
    return TrainingPlan(model.arch, cut, BATCH, layers, kernels=kernels, steps_per_call=STEPS)


def _batches(model: KwsModel, cut: str) -> tuple[list[torch.Tensor], torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    parts = [torch.randn(STEPS, BATCH, *s, generator=gen) for _, s in model.feature_parts(cut)]
    labels = torch.randint(0, SLOTS - 1, (STEPS, BATCH), generator=gen)
    return parts, labels


def _eager(
    tail: nn.Module,
    parts: list[torch.Tensor],
    labels: torch.Tensor,
    mask: torch.Tensor,
    active: torch.Tensor,
) -> tuple[dict[str, torch.Tensor], list[float], list[float]]:
    """The same steps in eager PyTorch: SGD with momentum, the gradient clipped to the bound."""
    step = TrainStep(tail, len(parts))
    optimizer = torch.optim.SGD(tail.parameters(), lr=LR, momentum=MOMENTUM)
    losses, norms = [], []
    for k in range(STEPS):
        optimizer.zero_grad()
        loss, _ = step(*(p[k] for p in parts), labels[k], mask)
        loss.backward()
        norms.append(float(nn.utils.clip_grad_norm_(tail.parameters(), BOUND)))
        losses.append(float(loss.detach()))
        if active[k]:
            optimizer.step()
    return {n: p.detach() for n, p in tail.named_parameters()}, losses, norms


@pytest.mark.parametrize(
    ("arch", "deep", "kernels"),
    [("tcresnet", True, "xnnpack"), ("tcresnet", False, "portable")]
    + [(arch, False, "xnnpack") for arch in sorted(ARCHITECTURES) if arch != "tcresnet"],
)
def test_steps_match_eager_sgd(arch: str, deep: bool, kernels: str) -> None:
    """K steps in one call are eager's K steps, for the head of every architecture and a
    partly frozen tail. The steps around the joint graph are the same code for every plan; the
    joint graphs' own parity is tested for every cut (test_training_kernels)."""
    torch.manual_seed(0)
    model = build_model(arch, head=HEAD).eval()
    cut = model.cut_points()[-1] if deep else POOLED
    plan = _plan(model, cut, kernels)
    edge = lowered_training(model, plan, 2.0, SLOTS, LoweredCache(1))
    program = Program(bytes(assemble(edge).buffer))
    tail = copy.deepcopy(plan.tail(model)).train()
    names = [n for n, _ in tail.named_parameters()]
    theta = torch.cat([p.detach().reshape(-1) for p in tail.parameters()])
    parts, labels = _batches(model, cut)
    mask = torch.tensor([1.0, 1.0, 1.0, 1.0, 0.0])
    active = torch.tensor([1.0, 0.0, 1.0])  # the middle step skipped
    hyper = torch.tensor([LR, MOMENTUM, BOUND])
    out = program.run(
        "train_steps", theta, torch.zeros_like(theta), *parts, labels, mask, hyper, active
    )
    weights, losses, norms = _eager(tail, parts, labels, mask, active)
    torch.testing.assert_close(out[2], torch.tensor(losses), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out[3], torch.tensor(norms), atol=1e-5, rtol=1e-4)
    assert min(norms) > BOUND  # every applied step was clipped
    start = 0
    for name in names:
        size = weights[name].numel()
        got = out[0][start : start + size].reshape(weights[name].shape)
        torch.testing.assert_close(got, weights[name], atol=1e-5, rtol=1e-4, msg=name)
        start += size
    assert not torch.equal(out[0], theta)


def test_a_skipped_step_changes_nothing() -> None:
    torch.manual_seed(0)
    model = build_model("tcresnet", head=HEAD).eval()
    plan = _plan(model, POOLED, "portable")
    program = Program(bytes(assemble(lowered_training(model, plan, 2.0, SLOTS)).buffer))
    theta = torch.cat([p.detach().reshape(-1) for p in plan.tail(model).parameters()])
    velocity = torch.randn(theta.shape)
    parts, labels = _batches(model, plan.cut)
    inputs = (*parts, labels, torch.ones(SLOTS), torch.tensor([LR, MOMENTUM, math.inf]))
    out = program.run("train_steps", theta, velocity, *inputs, torch.zeros(STEPS))
    assert torch.equal(out[0], theta) and torch.equal(out[1], velocity)


def test_memory_counts_train_steps() -> None:
    torch.manual_seed(0)
    model = build_model("tcresnet", head=HEAD).eval()
    for kernels in ("xnnpack",):
        plan, lowered = _plan(model, POOLED, kernels), LoweredCache(1)
        memory = measure_plan(model, plan, max_classes=SLOTS, lowered=lowered)
        parts = memory.components
        program = assemble(lowered_training(model, plan, 2.0, SLOTS, lowered))
        assert parts.train_steps_arena == planned_bytes(program)["train_steps"] > 0
        one_step = max(parts.train_step_arena, parts.distill_step_arena) + parts.optimizer_state
        expected = max(one_step, parts.train_steps_arena) + parts.delegate_workspace
        assert memory.training_bytes == expected
        assert (parts.delegate_workspace > 0) == (kernels == "xnnpack")
        assert "3 SGD steps per call" in memory_table(plan.with_memory(memory))


def test_steps_per_call_is_bounded_and_kept() -> None:
    model = build_model("tcresnet", head=HEAD)
    for bad in (0, 65):
        with pytest.raises(ConfigError, match="steps_per_call"):
            TrainingPlan.head(model, steps_per_call=bad)
    plan = TrainingPlan.head(model, steps_per_call=5)
    assert TrainingPlan.from_dict(plan.to_dict()).steps_per_call == 5
    legacy = {k: v for k, v in plan.to_dict().items() if k != "steps_per_call"}
    assert TrainingPlan.from_dict(legacy).steps_per_call == 1
    assert plan.key() != TrainingPlan.head(model).key()
    joint = training_methods(model, TrainingPlan.head(model), 2.0, SLOTS)["train_step"]
    with pytest.raises(ExportError, match="2 to 64"):
        steps_method(joint, 1)
