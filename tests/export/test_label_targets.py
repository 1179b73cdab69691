"""train_steps' loss gradient from one-hot targets: the rewritten joint graph gives the same
values as autograd's, with the per-step scatter gone."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from torch.export.graph_signature import InputKind

from edgekit.export.label_targets import label_targets, targets_as_input
from edgekit.export.memory import joint_method, training_inputs
from edgekit.export.methods import DistillStep, PickedTrainStep
from edgekit.models import HeadConfig, build_model
from edgekit.plan.spec import TrainingPlan

BATCH, SLOTS = 6, 5


def _joint(distill: bool = False) -> tuple[Any, list[torch.Tensor], Any, tuple[int, ...]]:
    """A head's joint program, its parameters in placeholder order, its labels node and the
    shape of its features."""
    torch.manual_seed(0)
    model = build_model("tcresnet", head=HeadConfig(hidden=16, max_classes=SLOTS)).eval()
    plan = TrainingPlan.head(model, BATCH)
    tail = plan.tail(model).train()
    inputs = training_inputs(model, plan, SLOTS)
    if distill:
        program = joint_method(DistillStep(tail, 2.0, 1), inputs["distill_step"])
    else:
        program = joint_method(PickedTrainStep(tail, 1), inputs["train_step"])
    state = {**program.state_dict, **program.constants}
    specs = program.graph_signature.input_specs
    params = [state[s.target] for s in specs if s.kind != InputKind.USER_INPUT]
    user = [s.arg.name for s in specs if s.kind == InputKind.USER_INPUT]
    labels = next(n for n in program.graph_module.graph.nodes if n.name == user[-2])
    return program, params, labels, tuple(model.feature_parts(plan.cut)[0][1])


def test_label_targets_are_minus_one_hot_over_the_batch() -> None:
    labels = torch.tensor([[0, 3, 1], [2, 2, 0]])
    targets = label_targets(labels, 4)
    assert targets.shape == (2, 3, 4)
    expected = -torch.nn.functional.one_hot(labels, 4).to(torch.float32) / 3
    assert torch.equal(targets, expected)


@pytest.mark.parametrize("masked", [False, True])
def test_rewritten_step_gives_autograds_values(masked: bool) -> None:
    program, params, labels, shape = _joint()
    graph = copy.deepcopy(program.graph_module)
    node = next(n for n in graph.graph.nodes if n.name == labels.name)
    assert targets_as_input(graph, node)
    targets = [n for n in graph.graph.nodes if n.op == "placeholder"][-1]
    assert targets.name.startswith("targets")
    used = {str(n.target) for n in graph.graph.nodes if n.op == "call_function"}
    assert not any("scatter_add" in t for t in used)

    gen = torch.Generator().manual_seed(2)
    x = torch.randn(BATCH, *shape, generator=gen) * 3
    y = torch.randint(0, SLOTS - 1, (BATCH,), generator=gen)
    mask = torch.tensor([1.0, 1.0, 1.0, 1.0, 0.0 if masked else 1.0])
    before = program.graph_module(*params, x, y, mask)
    after = graph(*params, x, y, mask, label_targets(y, SLOTS))
    assert len(before) == len(after)
    for a, b in zip(before, after, strict=True):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-7)


def test_a_graph_without_the_pattern_is_left_alone() -> None:
    program, _, _, _ = _joint(distill=True)
    graph = copy.deepcopy(program.graph_module)
    labels = [n for n in graph.graph.nodes if n.op == "placeholder"][-2]  # soft targets
    code = graph.code
    assert not targets_as_input(graph, labels)
    assert graph.code == code
