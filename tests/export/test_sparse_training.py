"""A sparse plan trained in the runtime: frozen entries stay put, trained slices get the
gradients eager PyTorch gives the original model's parameters."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from edgekit.device import Learner, LearnerConfig
from edgekit.device.joint import JointMethod
from edgekit.export.bundle import ExportConfig, export_bundle
from edgekit.export.methods import masked_logits
from edgekit.models import KwsModel
from edgekit.models.pretrain import compute_logmel
from edgekit.models.tail import LayerTrain, fold_batchnorm
from edgekit.plan.spec import TrainingPlan
from tests.bundle_fixture import BuiltBundle

pytestmark = pytest.mark.slow

SKIP_ROWS = (1, 5, 30, 47)  # of the 72 outputs of the last block's skip convolution (48 in)
FC1_ROWS = (0, 7, 9)  # of 16 hidden units


@dataclass
class Sparse:
    model: KwsModel
    plan: TrainingPlan
    bundle: Path
    pcm: np.ndarray
    labels: list[str]


@pytest.fixture(scope="module", params=["portable", "xnnpack"])
def sparse(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, built: BuiltBundle
) -> Sparse:
    """The same sparse plan with each of the training kernels (XNNPACK: a delegated bundle)."""
    root = tmp_path_factory.mktemp(f"sparse-{request.param}")
    model, clips = copy.deepcopy(built.model), built.clips  # the fixture's trained model
    cut = model.cut_points()[1]
    layers = {
        f"{cut}.skip": LayerTrain(rows=SKIP_ROWS, bias=True),
        "head.fc1": LayerTrain(rows=FC1_ROWS, bias=False),
        "head.fc2": LayerTrain(rows=tuple(range(4)), bias=True),
    }
    plan = TrainingPlan(model.arch, cut, 8, layers, scheme="manual", kernels=request.param)
    config = ExportConfig(d0_per_class=4)
    export_bundle(model, clips.label_names, root / "bundle", clips, config, plan=plan)
    labels = [clips.label_names[i] for i in clips.labels]
    return Sparse(model, plan, root / "bundle", clips.audio, labels)


def test_only_the_planned_entries_are_sent_and_trained(sparse: Sparse, tmp_path: Path) -> None:
    learner = Learner(sparse.bundle, tmp_path)
    sent = learner.get_trainable()
    cut = sparse.plan.cut
    assert {n: a.shape for n, a in sent.items()} == {
        f"{cut}.skip.rows_t": (48, 4),  # transposed: (in, rows)
        f"{cut}.skip.bias": (72,),
        "head.fc1.rows_t": (72, 3),
        "head.fc2.weight_t": (16, 4),
        "head.fc2.bias": (4,),
    }
    assert sum(a.size for a in sent.values()) == sparse.plan.trainable_params(sparse.model)
    rows = {t["name"]: t["rows"] for t in learner.manifest.trainable}
    assert rows[f"{cut}.skip.rows_t"] == list(SKIP_ROWS) and rows["head.fc1.rows_t"] == list(
        FC1_ROWS
    )


def test_frozen_entries_are_bit_identical_after_training(sparse: Sparse, tmp_path: Path) -> None:
    learner = Learner(sparse.bundle, tmp_path, LearnerConfig(lr=0.05, mix_ratio=0.0))
    rng = np.random.default_rng(0)
    shuffled = [sparse.labels[i] for i in rng.permutation(len(sparse.labels))]  # much to learn
    before = learner.get_trainable()
    learner.personalize(sparse.pcm, shuffled, epochs=5)
    after = learner.get_trainable()
    assert all(not np.array_equal(before[n], after[n]) for n in before)  # every slice moved

    # the full layers, rebuilt from what the device trained
    tail = sparse.plan.tail(sparse.model)
    tail.load_state_dict({n: torch.from_numpy(a) for n, a in after.items()}, strict=False)
    original = sparse.plan.tail(sparse.model)
    layers, reference = tail.layers(), original.layers()
    for name, spec in sparse.plan.layers.items():
        full, orig = layers[name].full_weight(), reference[name].full_weight()
        assert full is not None and orig is not None
        frozen = [r for r in range(full.shape[0]) if r not in spec.rows]
        assert torch.equal(full[frozen], orig[frozen])  # bit-identical
        assert not torch.equal(full[list(spec.rows)], orig[list(spec.rows)])
        if not spec.bias:
            assert torch.equal(layers[name].full_bias(), reference[name].full_bias())

    # and the runtime computes with those frozen entries: its logits equal the rebuilt tail's
    logmel = compute_logmel(sparse.model.frontend, sparse.pcm[:6])
    with torch.no_grad():
        eager = tail(*sparse.model.features_at(sparse.plan.cut, logmel))[:, :3]
    runtime = learner.logits(learner.embed(sparse.pcm[:6]))[:, :3]
    np.testing.assert_allclose(runtime, eager.numpy(), atol=1e-4)


def test_trainable_slices_get_the_gradients_of_the_original_model(sparse: Sparse) -> None:
    learner = Learner(sparse.bundle, sparse.bundle.parent / "state-grad")
    model, cut = sparse.model, sparse.plan.cut
    logmel = compute_logmel(model.frontend, sparse.pcm[:8])
    parts = [p.contiguous() for p in model.features_at(cut, logmel)]
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    mask = torch.tensor([1.0, 1.0, 1.0, 0.0])
    joint = JointMethod(learner.program.module, "train_step", (*parts, labels, mask))
    joint.load(learner.weights)
    _, grads = joint.gradients((*parts, labels, mask))

    # eager: the original modules, every parameter trainable, BatchNorms in eval mode
    for p in model.parameters():
        p.requires_grad_(True)
        p.grad = None
    loss = F.cross_entropy(masked_logits(model.head(model.backbone(logmel)), mask), labels)
    loss.backward()
    block = model.backbone.blocks[-1]  # type: ignore[index]
    conv, bn = block.skip[0], block.skip[1]
    scale, _ = fold_batchnorm(bn)
    # the device trains the skip weight with its BatchNorm scale folded in: W' = s * W
    skip_grad = conv.weight.grad[:, :, 0] / scale[:, None]
    torch.testing.assert_close(
        grads[f"{cut}.skip.rows_t"], skip_grad[list(SKIP_ROWS)].T, atol=1e-5, rtol=1e-3
    )
    # its bias carries both BatchNorm shifts, so its gradient is theirs
    torch.testing.assert_close(grads[f"{cut}.skip.bias"], bn.bias.grad, atol=1e-5, rtol=1e-3)
    torch.testing.assert_close(grads[f"{cut}.skip.bias"], block.bn2.bias.grad, atol=1e-5, rtol=1e-3)
    fc1, fc2 = model.head.net[0], model.head.net[2]  # type: ignore[index]
    torch.testing.assert_close(
        grads["head.fc1.rows_t"], fc1.weight.grad[list(FC1_ROWS)].T, atol=1e-5, rtol=1e-3
    )
    torch.testing.assert_close(grads["head.fc2.weight_t"], fc2.weight.grad.T, atol=1e-5, rtol=1e-3)
    torch.testing.assert_close(grads["head.fc2.bias"], fc2.bias.grad, atol=1e-5, rtol=1e-3)
    assert set(grads) == set(learner.names)  # no gradient for a frozen entry exists at all
    for p in model.parameters():
        p.requires_grad_(False)


def test_the_manifest_counts_the_delegate_of_its_kernels(sparse: Sparse, tmp_path: Path) -> None:
    manifest = Learner(sparse.bundle, tmp_path).manifest
    assert manifest.plan["kernels"] == sparse.plan.kernels
    training = manifest.memory.training
    workspace = training.components.delegate_workspace
    assert (workspace > 0) == (sparse.plan.kernels == "xnnpack")
    parts = training.components
    arenas = max(parts.train_step_arena, parts.distill_step_arena)
    assert training.training_bytes == arenas + workspace + parts.optimizer_state
