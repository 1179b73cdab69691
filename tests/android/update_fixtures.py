"""What the Python SDK gives for the app's hub update (``core/update``, ``UpdateBuilderTest``) to
compare with: learner states on the real bundle, the body ``edgekit.device.hub_update.update_body``
makes of each, ``Learner.probabilities`` of more rows than one ``classify`` call takes, and every
``classify`` call the Python program ran for them (features in chunks of ``max_batch`` rows, the
mask, the weights, the logits), so that the Kotlin side can replay the runtime's real outputs
for exactly those inputs. Deterministic: fixed nudges, the bundle's own program."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.device.hub_update import update_body
from edgekit.device.learner import Learner

__all__ = ["UPDATE_CASES", "case_learner", "write_update_fixtures"]

SCALES = (1.0, 0.75, 1.25)  # the wide rows: D0's features at these scales, one after the other
# name: (extra labels enrolled after the bundle's, live labels (None: all), nudge of the last
# trainable tensor (the classifier's bias), slot nudged)
UPDATE_CASES: dict[str, tuple[list[str], list[str] | None, float, int]] = {
    "personal": ([], ["low", "mid"], 0.25, 0),  # one label not live, one slot free
    "enrolled": (["noise"], None, -0.5, 3),  # every slot in use, the enrolled one trained
}


def write_update_fixtures(out: Path, bundle: Path) -> None:
    """``update_cases.json`` and, per case, ``update_<name>.npz`` (its weights and classify
    calls) and ``update_<name>_python.npz`` (the update body Python made), into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    cases: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as work:
        for name in UPDATE_CASES:
            with case_learner(bundle, Path(work) / name, name) as learner:
                arrays, calls = _classify_calls(learner, learner.d0_features, "d0")
                wide = np.concatenate([learner.d0_features * np.float32(s) for s in SCALES])
                more, wide_calls = _classify_calls(learner, wide, "wide")
                arrays |= more | {"wide_probabilities": learner.probabilities(wide)}
                arrays |= {f"w.{n}": a for n, a in learner.get_trainable().items()}
                np.savez(out / f"update_{name}.npz", **arrays)  # type: ignore[arg-type]
                (out / f"update_{name}_python.npz").write_bytes(update_body(learner))
                cases.append(
                    {
                        "name": name,
                        "labels": list(learner.labels),
                        "live": list(learner.live),
                        "calls": {"d0": calls, "wide": wide_calls},
                    }
                )
    (out / "update_cases.json").write_text(json.dumps(cases))


def case_learner(bundle: Path, work: Path, name: str) -> Learner:
    """A read-only learner on ``bundle`` in the state of case ``name`` of UPDATE_CASES."""
    extra, live, nudge, slot = UPDATE_CASES[name]
    learner = Learner(bundle, work, read_only=True)
    learner.set_labels([*learner.labels, *extra], live=live)
    weights = learner.get_trainable()
    weights[learner.names[-1]][..., slot] += np.float32(nudge)
    learner.set_trainable(weights)
    return learner


def _classify_calls(
    learner: Learner, features: np.ndarray, key: str
) -> tuple[dict[str, np.ndarray], int]:
    """Each ``classify`` call of ``learner.logits(features)``: the program's own chunks of
    max_batch rows, run one by one here (``<key>.features.<k>``, ``<key>.logits.<k>``), and
    checked to be the logits the learner computes at once."""
    step = learner.manifest.max_batch
    mask = learner.class_mask
    weights = [learner.weights[n] for n in learner.names]
    arrays: dict[str, np.ndarray] = {"mask": mask.numpy().astype(np.float32)}
    chunks = []
    for k, start in enumerate(range(0, len(features), step)):
        chunk = np.ascontiguousarray(features[start : start + step], dtype=np.float32)
        logits = learner.program.classify(chunk, mask, weights)
        assert len(chunk) <= step and logits.shape == (len(chunk), learner.manifest.max_classes)
        arrays[f"{key}.features.{k}"] = chunk
        arrays[f"{key}.logits.{k}"] = logits.astype(np.float32)
        chunks.append(logits)
    np.testing.assert_array_equal(np.concatenate(chunks), learner.logits(features))
    return arrays, len(chunks)
