"""int8 export round-trips and trains: the manifest, a smaller program, features close to float32's,
and the float32 head trained above the int8 features exactly as over float32 ones."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from edgekit.data.d0 import select_d0
from edgekit.device import Learner, LearnerConfig
from edgekit.device.joint import JointMethod
from edgekit.errors import ConfigError, CorruptBundle
from edgekit.export.bundle import ExportConfig, backbone_hash, export_bundle
from edgekit.export.manifest import MANIFEST, Manifest, read_manifest
from edgekit.export.manifest_check import content_digest
from edgekit.export.methods import TrainStep
from edgekit.plan.spec import TrainingPlan
from edgekit.runtime import Program
from tests.bundle_fixture import BuiltBundle, noise_clip
from tests.export.head_grads import assert_head_gradients_equal

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def int8(built: BuiltBundle, tmp_path_factory: pytest.TempPathFactory) -> BuiltBundle:
    """The fixture's model exported again with an int8 backbone (same config and D0)."""
    out = tmp_path_factory.mktemp("int8") / "bundle"
    config = ExportConfig(train_batch=8, d0_per_class=4, quantize=True)
    manifest = export_bundle(built.model, built.clips.label_names, out, built.clips, config)
    return BuiltBundle(out, built.model, manifest, built.clips)


def _embed(bundle: Path, pcm: np.ndarray, method: str = "embed") -> torch.Tensor:
    """``method``'s features of ``pcm`` (or log-mels) in the runtime, in batches it runs."""
    program, step = Program(bundle / "model.pte"), read_manifest(bundle).max_batch
    return torch.cat(
        [
            program.run(method, torch.from_numpy(pcm[i : i + step]))[0]
            for i in range(0, len(pcm), step)
        ]
    )


def test_config_refuses_a_non_bool() -> None:
    with pytest.raises(ConfigError, match="quantize"):
        ExportConfig(quantize=1)  # type: ignore[arg-type]


def test_manifest_says_quantized_and_hashes_apart(built: BuiltBundle, int8: BuiltBundle) -> None:
    fp32, q = read_manifest(built.path), read_manifest(int8.path)
    assert q.quantized and not fp32.quantized
    # int8 features are not float32 features: a feature cache must never serve one for the other
    assert q.backbone_hash != fp32.backbone_hash
    assert fp32.backbone_hash == backbone_hash(built.model, fp32.cut)  # float32 keys unchanged
    same = {"labels", "cut", "feature_parts", "trainable", "train_batch", "plan", "temperature"}
    assert {k: getattr(q, k) for k in same} == {k: getattr(fp32, k) for k in same}
    assert q.memory.program_bytes == (int8.path / "model.pte").stat().st_size
    assert set(Program(int8.path / "model.pte").method_names) == set(
        Program(built.path / "model.pte").method_names
    )


def test_a_quantized_that_is_no_bool_is_refused(int8: BuiltBundle, tmp_path: Path) -> None:
    folder = tmp_path / "bundle"
    shutil.copytree(int8.path, folder)
    data = json.loads((folder / MANIFEST).read_text())
    data["quantized"] = "yes"
    data["digest"] = content_digest(data)  # a consistent manifest with a wrong field
    (folder / MANIFEST).write_text(json.dumps(data))
    with pytest.raises(CorruptBundle, match="quantized must be true or false"):
        read_manifest(folder)


def test_program_is_smaller(built: BuiltBundle, int8: BuiltBundle) -> None:
    fp32 = (built.path / "model.pte").stat().st_size
    q = (int8.path / "model.pte").stat().st_size
    # the backbone's weights shrink about fourfold; the float32 head and structure stay
    assert q < 0.6 * fp32


@pytest.mark.parametrize("side", ["fp32", "int8"])
def test_the_backbone_graph_is_stored_once(
    built: BuiltBundle, int8: BuiltBundle, side: str
) -> None:
    """``embed`` and ``embed_logmel`` run the same XNNPACK graph of the backbone: the file holds
    its bytes once."""
    from executorch.exir._serialize._program import deserialize_pte_binary

    pte = ((built if side == "fp32" else int8).path / "model.pte").read_bytes()
    loaded = deserialize_pte_binary(pte)
    program = getattr(loaded, "program", loaded)
    blobs = {
        plan.name: [program.backend_delegate_data[d.processed.index].data for d in plan.delegates]
        for plan in program.execution_plan
        if plan.name in ("embed", "embed_logmel")
    }
    backbone = max(blobs["embed_logmel"], key=len)
    assert backbone in blobs["embed"]
    assert pte.count(backbone) == 1


def test_features_are_close_to_float32(built: BuiltBundle, int8: BuiltBundle) -> None:
    pcm = built.clips.audio  # the clips D0 (the calibration set) was drawn from
    fp32, q = _embed(built.path, pcm), _embed(int8.path, pcm)
    assert q.dtype == torch.float32 and q.shape == fp32.shape
    assert not torch.equal(q, fp32)  # quantised for real
    assert float(F.cosine_similarity(q, fp32).min()) > 0.99
    assert float((q - fp32).norm() / fp32.norm()) < 0.05
    # embed_logmel runs the same int8 backbone on the same log-mel
    logmel = built.model.frontend(torch.from_numpy(pcm)).detach().numpy()
    q_logmel = _embed(int8.path, logmel, "embed_logmel")
    assert float((q_logmel - q).norm() / q.norm()) < 1e-3


def test_sounds_unlike_d0_saturate_but_keep_their_direction(
    built: BuiltBundle, int8: BuiltBundle
) -> None:
    # the int8 ranges are D0's: white noise drives the tone-trained backbone past them
    noise = np.stack([noise_clip(i) for i in range(4)])
    fp32, q = _embed(built.path, noise), _embed(int8.path, noise)
    assert float(F.cosine_similarity(q, fp32).min()) > 0.8
    tones = _embed(int8.path, built.clips.audio)
    assert float(F.cosine_similarity(q[:, None], tones[None], dim=2).max()) < 0.9  # still apart


def test_d0_features_come_from_the_int8_embed(int8: BuiltBundle) -> None:
    d0 = select_d0(int8.clips, 4, 0)  # the export's D0: its calibration clips too
    learner = Learner(int8.path, read_only=True)
    np.testing.assert_allclose(learner.d0_features, _embed(int8.path, d0.audio).numpy(), atol=1e-6)


def test_train_step_gradients_equal_eager_on_int8_features(int8: BuiltBundle) -> None:
    m = int8.manifest
    x = _embed(int8.path, int8.clips.audio[: m.train_batch])  # the int8 backbone's features
    y = torch.from_numpy(int8.clips.labels[: m.train_batch].astype(np.int64))
    mask = torch.tensor([1.0, 1.0, 1.0, 0.0])
    program = Program(int8.path / "model.pte")
    joint = JointMethod(program.module, "train_step", (torch.zeros_like(x), y, mask))
    tail = TrainingPlan.head(int8.model).tail(int8.model)
    joint.load({n: p.detach() for n, p in tail.named_parameters()})
    (loss, _), grads = joint.gradients((x, y, mask))
    head = copy.deepcopy(int8.model.head)
    eager_loss = TrainStep(head)(x, y, mask)[0]
    eager_loss.backward()
    torch.testing.assert_close(loss, eager_loss.detach(), atol=1e-5, rtol=1e-5)
    assert_head_gradients_equal(grads, head)


def test_learner_personalises_and_enrols_on_int8(int8: BuiltBundle, tmp_path: Path) -> None:
    learner = Learner(int8.path, tmp_path / "state", LearnerConfig(lr=0.01, momentum=0.0))
    m: Manifest = learner.manifest
    pcm = int8.clips.audio
    labels = [m.labels[i] for i in int8.clips.labels]
    assert learner.accuracy(pcm, labels) == 100.0  # the pretrained head over int8 features
    targets = np.random.default_rng(0).integers(0, 3, len(pcm))  # something to learn
    history = learner.train_features(learner.embed(pcm), targets, epochs=15, mix_ratio=0.0)
    assert history[-1] < 0.8 * history[0]

    learner = Learner(int8.path, tmp_path / "enrol")
    new = np.stack([noise_clip(i) for i in range(10)])
    learner.enroll("hiss", new[:5], epochs=20)
    assert learner.predict(new[5:]) == ["hiss"] * 5
    assert learner.accuracy(pcm, labels) >= 90.0
    learner.save()
    assert Learner(int8.path, tmp_path / "enrol", read_only=True).labels[-1] == "hiss"
