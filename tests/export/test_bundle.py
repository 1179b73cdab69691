"""The exported bundle: files, manifest, gradient parity of its training methods."""

from __future__ import annotations

import copy
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from edgekit.device import Learner
from edgekit.device.joint import JointMethod
from edgekit.errors import CorruptBundle
from edgekit.export.manifest import read_manifest
from edgekit.export.memory import pte_arenas
from edgekit.export.methods import DistillStep, TrainStep
from edgekit.plan.spec import TrainingPlan
from edgekit.runtime import Program
from tests.bundle_fixture import BuiltBundle
from tests.export.head_grads import assert_head_gradients_equal


def test_manifest_describes_the_program(built: BuiltBundle) -> None:
    m = read_manifest(built.path)
    assert m.labels == ["high", "low", "mid"] and m.max_classes == 4
    assert set(m.files) == {"model.pte", "weights.npz", "d0.npz"}
    program = Program(built.path / "model.pte")
    assert set(program.method_names) >= {
        "embed",
        "embed_logmel",
        "train_step",
        "distill_step",
        "classify",
    }
    training = m.memory.training
    assert training.training_bytes > 0 and 1 <= m.max_batch <= 64
    assert training.components.train_step_arena == m.memory.planned_bytes["train_step"]
    assert [t["name"] for t in m.trainable] == [
        "head.fc1.weight_t",
        "head.fc1.bias",
        "head.fc2.weight_t",
        "head.fc2.bias",
    ]
    assert m.cut == "pooled" and m.plan["scheme"] == "head"
    # the manifest's figures are the written program's own, read back from the file
    arenas = pte_arenas((built.path / "model.pte").read_bytes())
    assert arenas == m.memory.planned_bytes
    optimizer = 4 * sum(math.prod(t["shape"]) for t in m.trainable)
    assert training.training_bytes == max(arenas["train_step"], arenas["distill_step"]) + optimizer


def test_the_manifest_json_holds_the_memory_report_keys(built: BuiltBundle) -> None:
    # Prepare / Execute: the file as written
    memory = json.loads((built.path / "manifest.json").read_text())["memory"]
    # Assert: the manifest's JSON form (what a device app reads) key for key
    assert list(memory) == ["planned_bytes", "training", "cache", "program_bytes"]
    assert list(memory["training"]) == [
        "training_bytes",
        "budget_bytes",
        "within_budget",
        "components",
        "trainable_params",
        "trainable_bytes",
    ]
    assert list(memory["cache"]) == [
        "cut",
        "clip_bytes",
        "entry_bytes",
        "d0_clips",
        "d0_bytes",
        "budget_bytes",
        "user_clip_capacity",
    ]
    assert memory["program_bytes"] == (built.path / "model.pte").stat().st_size


def _joint(built: BuiltBundle, method: str) -> tuple[JointMethod, Program]:
    program = Program(built.path / "model.pte")
    m = built.manifest
    second = (
        torch.zeros(m.train_batch, dtype=torch.long)
        if method == "train_step"
        else torch.full((m.train_batch, m.max_classes), 0.25)
    )
    warm = (torch.zeros(m.train_batch, m.feature_size), second, torch.ones(m.max_classes))
    joint = JointMethod(program.module, method, warm)
    tail = TrainingPlan.head(built.model).tail(built.model)
    joint.load({n: p.detach() for n, p in tail.named_parameters()})
    return joint, program


def _batch(built: BuiltBundle) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    m = built.manifest
    x = torch.randn(m.train_batch, m.feature_size, generator=gen)
    y = torch.randint(0, 3, (m.train_batch,), generator=gen)
    mask = torch.tensor([1.0, 1.0, 1.0, 0.0])
    return x, y, mask


@pytest.mark.parametrize("method", ["train_step", "distill_step"])
def test_training_method_gradients_equal_eager(built: BuiltBundle, method: str) -> None:
    joint, _ = _joint(built, method)
    x, y, mask = _batch(built)
    head = copy.deepcopy(built.model.head)
    wrapper: torch.nn.Module
    if method == "train_step":
        target, wrapper = y, TrainStep(head)
    else:
        soft = torch.softmax(torch.randn(x.shape[0], 4), dim=1) * mask
        target, wrapper = soft / soft.sum(dim=1, keepdim=True), DistillStep(head, 2.0)
        assert built.manifest.temperature == 2.0
    (loss, _), grads = joint.gradients((x, target, mask))
    eager_loss = wrapper(x, target, mask)[0]
    eager_loss.backward()
    torch.testing.assert_close(loss, eager_loss.detach(), atol=1e-5, rtol=1e-5)
    assert_head_gradients_equal(grads, head)


def test_masked_slot_gets_no_gradient(built: BuiltBundle) -> None:
    joint, _ = _joint(built, "train_step")
    (_, _), grads = joint.gradients(_batch(built))
    last = [n for n in grads if n.endswith("bias")][-1]
    assert abs(float(grads[last][3])) < 1e-6  # slot 3 is masked off


def test_runtime_embed_and_classify_match_eager(built: BuiltBundle) -> None:
    learner = Learner(built.path, built.path.parent / "state-parity")
    pcm = built.clips.audio[:6]
    runtime = learner.logits(learner.embed(pcm))[:, :3]
    eager = built.model(torch.from_numpy(pcm)).detach().numpy()[:, :3]
    np.testing.assert_allclose(runtime, eager, atol=1e-3)


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete", "manifest"])
def test_damaged_bundle_is_rejected(built: BuiltBundle, tmp_path: Path, damage: str) -> None:
    copy_dir = tmp_path / "bundle"
    shutil.copytree(built.path, copy_dir)
    target = copy_dir / ("weights.npz" if damage == "truncate" else "model.pte")
    if damage == "flip":
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0x01
        target.write_bytes(bytes(data))
    elif damage == "truncate":
        target.write_bytes(target.read_bytes()[:100])
    elif damage == "delete":
        target.unlink()
    else:
        (copy_dir / "manifest.json").write_text("{not json")
    with pytest.raises(CorruptBundle):
        Learner(copy_dir, tmp_path / "state")


def test_gradient_clipping_bounds_one_sgd_step(built: BuiltBundle) -> None:
    joint, _ = _joint(built, "train_step")
    x, y, mask = _batch(built)
    x = x * 100.0  # loud, out-of-distribution features: large gradients
    (_, _), grads = joint.gradients((x, y, mask))
    raw = float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads.values()])))
    assert raw > 1.0
    before = joint.read()
    joint.set_optimizer(lr=0.1, momentum=0.0)
    joint.step((x, y, mask), clip_norm=1.0)
    moved = torch.linalg.vector_norm(
        torch.stack([(joint.params[n] - before[n]).norm() for n in before])
    )
    assert float(moved) == pytest.approx(0.1 * 1.0, rel=1e-4)  # lr * clip, not lr * raw


def test_many_clipped_sgd_steps_follow_eager_pytorch(built: BuiltBundle) -> None:
    """Steps on changing batches, some clipped and some not, with momentum: the runtime's
    weights follow eager PyTorch's SGD + ``clip_grad_norm_`` step after step."""
    joint, _ = _joint(built, "train_step")
    tail = TrainingPlan.head(built.model).tail(built.model).train()
    params = [p for p in tail.parameters() if p.requires_grad]
    eager = TrainStep(tail)
    opt = torch.optim.SGD(params, lr=0.05, momentum=0.9)
    joint.set_optimizer(lr=0.05, momentum=0.9)
    gen = torch.Generator().manual_seed(1)
    m, clipped = built.manifest, 0
    for step in range(12):
        scale = 30.0 if step % 3 == 0 else 0.3  # every third batch is loud: clipped
        x = torch.randn(m.train_batch, m.feature_size, generator=gen) * scale
        y = torch.randint(0, 3, (m.train_batch,), generator=gen)
        mask = torch.tensor([1.0, 1.0, 1.0, 0.0])
        joint.step((x, y, mask), clip_norm=1.0)
        loss, _ = eager(x, y, mask)
        opt.zero_grad()
        loss.backward()
        clipped += float(torch.nn.utils.clip_grad_norm_(params, 1.0)) > 1.0
        opt.step()
    assert 3 <= clipped < 12
    for name, param in tail.named_parameters():
        np.testing.assert_allclose(joint.params[name], param.detach(), rtol=1e-4, atol=1e-5)
