"""Weight imprinting at enrolment: the new class's column is its clips' mean embedding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from edgekit.device import Learner
from edgekit.device.slots import classifier_entries
from tests.bundle_fixture import BuiltBundle, noise_clip


def test_the_new_column_points_at_the_mean_embedding_of_its_clips(
    built: BuiltBundle, tmp_path: Path
) -> None:
    clips = np.stack([noise_clip(i) for i in range(5)])
    with Learner(built.path, tmp_path / "state") as learner:
        entries = {e["kind"]: e["name"] for e in classifier_entries(learner.manifest.trainable)}
        before = {n: t.clone() for n, t in learner.weights.items()}
        features = learner.embed(clips)
        slot = learner.slots.enrol("hiss")
        learner._imprint(features, slot)
        after = learner.weights
    head = built.model.head.net  # the eager head the bundle was exported from: Linear, ReLU, ...
    with torch.no_grad():
        hidden = head[1](head[0](torch.from_numpy(features))).mean(dim=0)
    column = after[entries["weight_t"]][:, slot]
    cosine = float(torch.nn.functional.cosine_similarity(column, hidden, dim=0))
    assert cosine > 0.999
    live = list(range(len(built.manifest.labels)))
    scale = float(before[entries["weight_t"]][:, live].norm(dim=0).mean())
    assert abs(float(column.norm()) - scale) < 1e-4 * scale
    assert torch.isclose(after[entries["bias"]][slot], before[entries["bias"]][live].mean())
    for name, tensor in before.items():  # nothing else moved
        changed = after[name] != tensor
        if name == entries["weight_t"]:
            changed[:, slot] = False
        if name == entries["bias"]:
            changed[slot] = False
        assert not changed.any(), name


def test_one_epoch_from_the_imprint_recognises_the_new_class(
    built: BuiltBundle, tmp_path: Path
) -> None:
    new = np.stack([noise_clip(i) for i in range(20)])
    with Learner(built.path, tmp_path / "state") as learner:
        assert learner.config.imprint  # the default
        learner.enroll("hiss", new[:3], epochs=1)
        assert learner.accuracy(new[3:], ["hiss"] * 17) == 100.0
