"""Training methods delegated to XNNPACK: the rewrite, gradient parity and counted memory."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch

from edgekit.budget.config import PlanConfig
from edgekit.budget.search import Planner
from edgekit.device.joint import JointMethod
from edgekit.errors import ConfigError
from edgekit.export.memory import lowered_training, measure_plan, training_methods
from edgekit.export.methods import TrainStep
from edgekit.export.stages import LoweredCache, assemble, planned_bytes
from edgekit.models import ARCHITECTURES, HeadConfig, KwsModel, build_model
from edgekit.models.tail import LayerTrain
from edgekit.plan.report import memory_table
from edgekit.plan.spec import TrainingPlan
from edgekit.runtime import Program

pytestmark = pytest.mark.slow
BATCH = 6
HEAD = HeadConfig(hidden=16, max_classes=5)


def _everything(model: KwsModel, cut: str, kernels: str) -> TrainingPlan:
    layers = {
        name: LayerTrain(rows=tuple(range(layer.n_out)) if layer.has_weight else (), bias=True)
        for name, layer in model.tail(cut).layers().items()
    }
    return TrainingPlan(model.arch, cut, BATCH, layers, kernels=kernels)


def _run_graph(
    program: torch.export.ExportedProgram, inputs: tuple[torch.Tensor, ...]
) -> tuple[torch.Tensor, ...]:
    """Every output of a joint graph (user outputs, then gradients), run in eager PyTorch."""
    from torch.export.graph_signature import InputKind

    user = iter(inputs)
    args = []
    for spec in program.graph_signature.input_specs:
        if spec.kind == InputKind.USER_INPUT:
            args.append(next(user))
        elif spec.target in program.constants:
            args.append(program.constants[spec.target])
        else:
            args.append(program.state_dict[spec.target])
    return tuple(program.graph_module(*args))


def _targets(program: torch.export.ExportedProgram) -> list[str]:
    return [str(n.target) for n in program.graph.nodes if n.op == "call_function"]


@pytest.fixture(scope="module", params=sorted(ARCHITECTURES))
def model(request: pytest.FixtureRequest) -> KwsModel:
    torch.manual_seed(0)
    return build_model(request.param, head=HEAD).eval()


def test_relu_backward_becomes_a_mask_only_for_xnnpack(model: KwsModel) -> None:
    cut = model.cut_points()[-1]
    portable = training_methods(model, _everything(model, cut, "portable"), 2.0, 5)
    xnnpack = training_methods(model, _everything(model, cut, "xnnpack"), 2.0, 5)
    for name in ("train_step", "distill_step"):
        before, after = _targets(portable[name]), _targets(xnnpack[name])
        relus = before.count("aten.relu.default")
        assert relus >= 1 and after.count("aten.relu.default") == relus  # forward untouched
        assert before.count("aten.le.Scalar") == relus and before.count("aten.ceil.default") == 0
        assert after.count("aten.le.Scalar") == 0 and after.count("aten.ceil.default") == relus


def test_delegated_gradients_and_steps_match_eager(model: KwsModel) -> None:
    """Every cut of every architecture, everything above it trained: the delegated program's
    gradients are eager PyTorch's, and its ReLUs see both signs."""
    for cut in model.cut_points():
        plan = _everything(model, cut, "xnnpack")
        edge = lowered_training(model, plan, 2.0, 5, LoweredCache(1))
        ops = _targets(edge.exported_program("train_step"))
        assert "executorch_call_delegate" in ops
        assert not any("aten.le." in op for op in ops)  # ReLU's backward went to XNNPACK
        program = Program(bytes(assemble(edge).buffer))
        gen = torch.Generator().manual_seed(1)
        parts = [torch.randn(BATCH, *shape, generator=gen) for _, shape in model.feature_parts(cut)]
        labels = torch.tensor([0, 1, 2, 3, 0, 1])
        mask = torch.tensor([1.0, 1.0, 1.0, 1.0, 0.0])
        inputs = (*parts, labels, mask)
        joint = JointMethod(program.module, "train_step", inputs)
        _, grads = joint.gradients(inputs)

        tail = copy.deepcopy(plan.tail(model)).train()
        loss, _ = TrainStep(tail, len(parts))(*inputs)
        loss.backward()
        eager = {n: p.grad for n, p in tail.named_parameters()}
        assert set(grads) == set(eager)
        for name, grad in grads.items():
            assert grad.abs().max() > 0, (cut, name)
            torch.testing.assert_close(grad, eager[name], atol=1e-5, rtol=1e-4)


def test_delegate_memory_is_measured_and_counted(model: KwsModel) -> None:
    cut = model.cut_points()[-1]
    portable = measure_plan(model, _everything(model, cut, "portable"), max_classes=5)
    plan = _everything(model, cut, "xnnpack")
    delegated = measure_plan(model, plan, max_classes=5)
    assert portable.components.delegate_workspace == 0
    parts = delegated.components
    assert parts.delegate_workspace > 0
    arenas = max(parts.train_step_arena, parts.distill_step_arena)
    assert delegated.training_bytes == arenas + parts.delegate_workspace + parts.optimizer_state
    # the figure is the program's: its arenas are the ones the exported methods plan
    program = assemble(lowered_training(model, plan, 2.0, 5, LoweredCache(1)))
    assert planned_bytes(program)["train_step"] == parts.train_step_arena
    table = memory_table(plan.with_memory(delegated))
    assert "xnnpack: measured in the runtime" in table
    restored = TrainingPlan.from_dict(plan.with_memory(delegated).to_dict())
    assert restored.kernels == "xnnpack" and restored.measured == delegated


def test_unknown_kernels_are_refused() -> None:
    model = build_model("tcresnet", head=HEAD)
    with pytest.raises(ConfigError, match="kernels"):
        TrainingPlan.head(model, kernels="gpu")
    with pytest.raises(ConfigError, match="kernels"):
        PlanConfig(kernels="gpu")


def test_a_delegated_plan_fits_its_budget_as_measured() -> None:
    torch.manual_seed(0)
    model = build_model("tcresnet", head=HEAD)
    d0 = (np.random.default_rng(0).standard_normal((8, 16_000)) * 0.1).astype(np.float32)
    config = PlanConfig(batches=(8,), fisher_samples=1, kernels="xnnpack")
    planner = Planner(model, d0, n_classes=3, d0_clips=8, config=config)
    low, high = planner.minimum_bytes(), planner.unbounded().measured.training_bytes
    assert low < high
    plan = planner.sparse((low + high) // 2)
    assert plan.kernels == "xnnpack"
    assert plan.measured.components.delegate_workspace > 0
    assert plan.measured.training_bytes <= (low + high) // 2


def test_the_rewritten_joint_graph_computes_the_same_values(model: KwsModel) -> None:
    """The XNNPACK kernels' graph (masked ReLU backward, no aliases or identity views,
    reductions as products, biases inside the products)
    run in eager PyTorch: every output (loss, predictions, gradients) equals the original's."""
    cut, batch = model.cut_points()[-1], 24  # a batch whose positions make the mean a product
    plans = {k: replace(_everything(model, cut, k), batch=batch) for k in ("portable", "xnnpack")}
    original = training_methods(model, plans["portable"], 2.0, 5)
    rewritten = training_methods(model, plans["xnnpack"], 2.0, 5)
    gen = torch.Generator().manual_seed(2)
    parts = [torch.randn(batch, *shape, generator=gen) for _, shape in model.feature_parts(cut)]
    mask = torch.tensor([1.0, 1.0, 1.0, 0.0, 1.0])
    soft = torch.softmax(torch.randn(batch, 5, generator=gen), dim=1)
    labels = torch.tensor([0, 1, 2, 4] * (batch // 4))
    inputs = {"train_step": (*parts, labels, mask), "distill_step": (*parts, soft, mask)}
    for name, example in inputs.items():
        targets = _targets(rewritten[name])
        aliases = [
            n for n in rewritten[name].graph.nodes if n.target == torch.ops.aten.alias.default
        ]
        assert all(u.op == "output" for n in aliases for u in n.users)  # only outputs copy
        identity = [
            n
            for n in rewritten[name].graph.nodes
            if n.target == torch.ops.aten.view.default
            and n.meta["val"].shape == n.args[0].meta["val"].shape
        ]
        assert all(u.op == "output" for n in identity for u in n.users)  # no reshape copies
        expands = [
            n.meta["val"].numel()
            for n in rewritten[name].graph.nodes
            if n.target == torch.ops.aten.expand.default
        ]
        assert all(size <= batch for size in expands)  # a scalar's, never a mean's positions
        assert "aten.bmm.default" in targets  # the mean over positions
        assert "aten.addmm.default" in targets  # the head's biases inside its products
        unfused = [
            n
            for n in rewritten[name].graph.nodes
            if n.target == torch.ops.aten.add.Tensor
            and any(getattr(a, "target", None) == torch.ops.aten.mm.default for a in n.args)
        ]
        assert not unfused
        expected = _run_graph(original[name], example)
        got = _run_graph(rewritten[name], example)
        assert len(got) == len(expected)
        for a, b in zip(got, expected, strict=True):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_without_a_measurable_heap_delegated_training_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where the C library has no mallinfo2 (not glibc), the delegate's memory cannot be
    measured, so an XNNPACK-kernels export says so instead of reporting a figure it lacks."""
    from edgekit.errors import ExportError
    from edgekit.export import training_kernels

    monkeypatch.setattr(training_kernels, "_mallinfo2", lambda: None)
    model = build_model("tcresnet", head=HEAD)
    with pytest.raises(ExportError, match="mallinfo2"):
        measure_plan(model, TrainingPlan.head(model, BATCH, kernels="xnnpack"), max_classes=5)
    portable = measure_plan(model, TrainingPlan.head(model, BATCH), max_classes=5)
    assert portable.components.delegate_workspace == 0  # the portable kernels need no heap
