"""What the Python SDK gives for the app's training and state (``core/train``, ``core/state``) to
compare with: ``split_batch`` and ``filling_weights`` cases, numpy's PCG64 draws from given
states, a real ``train_step`` of the bundle's program (the gradients of a batch and the weights
after one clipped SGD step, an imprint from the gradient the program returned) and a state the
Python learner saved after enrolling a word. Deterministic: fixed seeds, the bundle's program."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgekit.device.config import LearnerConfig
from edgekit.device.imprint import imprint
from edgekit.device.joint import JointMethod
from edgekit.device.learner import STATE_FILE, Learner
from edgekit.device.mixing import filling_weights, split_batch
from edgekit.device.program import BundleProgram
from edgekit.errors import ConfigError
from edgekit.export.manifest import read_manifest

__all__ = ["noise_features", "write_train_fixtures"]

NOISE_CLIPS = 5  # clips of the enrolled word: white noise, which the tone bundle tells apart
LEARNING_RATE = 0.05


def write_train_fixtures(out: Path, bundle: Path) -> None:
    """Every fixture file of the ``core/train`` and ``core/state`` tests, into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    _dump(out / "split_batch.json", split_batch_cases())
    _dump(out / "filling_weights.json", filling_weights_cases())
    _dump(out / "pcg64.json", pcg64_cases())
    program = BundleProgram(bundle, read_manifest(bundle))
    _dump(out / "imprint.json", imprint_case(program, bundle))
    _dump(out / "sgd_step.json", sgd_step_cases(program, bundle))
    _dump(out / "python_state.json", python_state(out / "python_state", bundle))


def _dump(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data))


# ------------------------------------------------------------------------------ mixing
def split_batch_cases() -> list[dict[str, Any]]:
    """``[batch, mix_ratio, have_d0, (user, d0) or None where refused]``; halves included."""
    rng = np.random.default_rng(3)
    ratios = [0.0, 0.25, 0.3125, 0.5, 0.625, 0.75, 0.9, 0.99, 1.0, -0.1, 1.5]
    ratios += [float(r) for r in rng.uniform(0, 1, 40)]
    cases = []
    for batch in (1, 2, 3, 4, 5, 8, 16, 32, 33, 64):
        for mix in ratios:
            for have in (True, False):
                try:
                    expected: list[int] | None = list(split_batch(batch, mix, have))
                except ConfigError:
                    expected = None
                cases.append({"batch": batch, "mix": mix, "have": have, "split": expected})
    return cases


def filling_weights_cases() -> list[dict[str, Any]]:
    """Pool and user labels, the user share, masses per class and Python's weights."""
    rng = np.random.default_rng(5)
    cases = [
        _weights([0, 0, 1, 1, 2, 2], [3, 3], 0.5, {}),
        _weights([0, 0, 0, 1], [], 0.25, {}),
        _weights([0, 1, 2], [0, 0, 0, 0], 1.0, {}),  # the user fills a pool class: fallback
        _weights([0, 1, 3, 3], [2], 0.5, {3: 0.5}),
        _weights([1, 1, 1, 1, 1], [1, 2], 0.75, {}),
    ]
    for _ in range(60):
        slots = int(rng.integers(1, 8))
        pool = rng.integers(0, slots, int(rng.integers(1, 40))).tolist()
        user = rng.integers(0, slots + 1, int(rng.integers(0, 12))).tolist()
        mass = {int(c): float(rng.uniform(0.1, 2)) for c in set(pool) if rng.random() < 0.3}
        share = float(rng.choice([0.125, 0.25, 0.5, 0.75, 1.0, rng.uniform(0, 1)]))
        cases.append(_weights(pool, user, share, mass))
    return cases


def _weights(
    pool: Sequence[int], user: Sequence[int], share: float, mass: Mapping[int, float]
) -> dict[str, Any]:
    got = filling_weights(
        np.array(pool, dtype=np.int64), np.array(user, dtype=np.int64), share, mass
    )
    return {
        "pool": list(pool),
        "user": list(user),
        "user_share": share,
        "mass": [[c, m] for c, m in mass.items()],
        "weights": got.tolist(),
    }


# ------------------------------------------------------------------------------ draws
def pcg64_cases() -> dict[str, Any]:
    """numpy's PCG64: states (numpy's own form) with the raw draws and doubles that follow, and
    states made by PCG's ``srandom_r(seed, stream)`` with the raw draws that follow."""
    states = []
    for seed in (0, 1, 12345, 2**63 + 7):
        generator = np.random.Generator(np.random.PCG64(seed))
        state = generator.bit_generator.state
        raws = generator.bit_generator.random_raw(16)
        doubles = generator.random(8)
        states.append({"state": state, "raws": [int(r) for r in raws], "doubles": doubles.tolist()})
    seeded = []
    for seed, stream in ((0, 0), (1, 0), (42, 7), (2**64 - 1, 2**63 + 5)):
        inc = (2 * stream + 1) % 2**128
        bits = np.random.PCG64()
        # srandom_r: state 0 stepped once is inc; add the seed; the next step is the first
        # draw's, which srandom_r takes and discards
        bits.state = {
            "bit_generator": "PCG64",
            "state": {"state": (inc + seed) % 2**128, "inc": inc},
            "has_uint32": 0,
            "uinteger": 0,
        }
        bits.random_raw(1)
        raws = bits.random_raw(8)
        seeded.append({"seed": seed, "stream": stream, "raws": [int(r) for r in raws]})
    return {"states": states, "seeded": seeded}


# ------------------------------------------------------------------------------ the program
def noise_features(program: BundleProgram) -> np.ndarray:
    """Features of the word the tests enrol: white-noise clips, embedded by the program."""
    from tests.bundle_fixture import noise_clip

    clips = np.stack([noise_clip(100 + i) for i in range(NOISE_CLIPS)])
    return program.embed(clips)


def _weights_of(bundle: Path) -> dict[str, torch.Tensor]:
    with np.load(bundle / "weights.npz") as w:
        return {name: torch.from_numpy(w[name].copy()) for name in w.files}


def _mask(live: Sequence[int], slots: int) -> torch.Tensor:
    mask = torch.zeros(slots)
    mask[list(live)] = 1.0
    return mask


class _RecordingJoint:
    """The program's joint method, recording what imprint loads and the gradients it gets."""

    def __init__(self, joint: JointMethod) -> None:
        self.joint = joint
        self.loaded: dict[str, torch.Tensor] = {}
        self.inputs: list[torch.Tensor] = []
        self.grads: dict[str, torch.Tensor] = {}

    def load(self, weights: dict[str, torch.Tensor]) -> None:
        self.loaded = {n: t.clone() for n, t in weights.items()}
        self.joint.load(weights)

    def gradients(
        self, inputs: Sequence[torch.Tensor]
    ) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
        self.inputs = [t.clone() for t in inputs]
        user, self.grads = self.joint.gradients(inputs)
        return user, self.grads


def imprint_case(program: BundleProgram, bundle: Path) -> dict[str, Any]:
    """Enrol the noise word into the first free slot: what imprint.py loads, the gradient the
    program's train_step returns for it, and the weights imprint makes of it."""
    m = program.manifest
    slot, others = len(m.labels), np.arange(len(m.labels))
    mask = _mask([*others.tolist(), slot], m.max_classes)
    features = noise_features(program)
    weights = _weights_of(bundle)
    recording = _RecordingJoint(program.joint("train_step", mask))

    def inputs(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, ...]:
        return (*program.parts(x), torch.from_numpy(y), mask)

    out = imprint(recording, weights, m.trainable, inputs, features, slot, others, m.train_batch)
    parts = recording.inputs[:-2]  # the tensors of the cut, back to flat rows
    batch = np.concatenate([t.numpy().reshape(m.train_batch, -1) for t in parts], axis=1)
    return {
        "slot": slot,
        "others": others.tolist(),
        "features": features.ravel().tolist(),
        "batch_features": batch.ravel().tolist(),
        "batch_labels": recording.inputs[-2].numpy().tolist(),
        "start": {n: t.numpy().ravel().tolist() for n, t in recording.loaded.items()},
        "gradients": {n: g.numpy().ravel().tolist() for n, g in recording.grads.items()},
        "imprinted": {n: t.numpy().ravel().tolist() for n, t in out.items()},
    }


def sgd_step_cases(program: BundleProgram, bundle: Path) -> list[dict[str, Any]]:
    """One batch of D0 rows (labelled wrong) and noise rows through train_step at the bundle's
    weights: the loss and gradients it returns, and the weights after ``JointMethod.step``
    (plain SGD at ``LEARNING_RATE``) with each gradient clip, or refused when the batch holds
    a NaN."""
    m = program.manifest
    mask = _mask(range(len(m.labels)), m.max_classes)
    with np.load(bundle / "d0.npz") as d0:
        x = np.concatenate([d0["features"][::2], noise_features(program)])[: m.train_batch]
        wrong = (d0["labels"][::2] + 1) % len(m.labels)  # a loss far from 0: large gradients
        y = np.concatenate([wrong, np.zeros(NOISE_CLIPS, dtype=np.int64)])
        y = y[: m.train_batch]
    poisoned = x.copy()
    poisoned[1, 3] = np.nan
    weights = _weights_of(bundle)
    joint = program.joint("train_step", mask)
    cases = []
    for name, features, clip in (
        ("clipped", x, 1.0),
        ("not clipped", x, 1e6),
        ("no clip", x, None),
        ("NaN feature", poisoned, 1.0),
    ):
        inputs = (*program.parts(features), torch.from_numpy(y), mask)
        joint.load(weights)
        user, grads = joint.gradients(inputs)
        joint.load(weights)
        joint.set_optimizer(LEARNING_RATE, momentum=0.0)
        before = joint.refused
        joint.step(inputs, clip)
        cases.append(
            {
                "name": name,
                "features": features.ravel().tolist(),
                "labels": y.tolist(),
                "mask": mask.tolist(),
                "clip_norm": clip,
                "learning_rate": LEARNING_RATE,
                "loss": float(user[0]),
                "gradients": {n: g.numpy().ravel().tolist() for n, g in grads.items()},
                "refused": joint.refused > before,
                "after": {n: t.numpy().ravel().tolist() for n, t in joint.read().items()},
            }
        )
    return cases


# ------------------------------------------------------------------------------ state
def python_state(folder: Path, bundle: Path) -> dict[str, Any]:
    """The state a Python learner saves after enrolling the noise word (in ``folder``), and what
    numpy reads in it: its arrays and meta, and the raw draws its random state gives next."""
    from tests.bundle_fixture import noise_clip

    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        with Learner(bundle, Path(work), LearnerConfig(seed=11)) as learner:
            learner.enroll("noise", np.stack([noise_clip(200 + i) for i in range(4)]), epochs=2)
            saved = learner.save()
        shutil.copyfile(saved, folder / STATE_FILE)
    with np.load(folder / STATE_FILE) as data:
        arrays = {name: data[name] for name in data.files}
    meta = json.loads(arrays.pop("meta").tobytes())
    bits = np.random.PCG64()
    bits.state = meta["rng"]
    return {
        "meta": meta,
        "arrays": {
            name: {"shape": list(a.shape), "values": a.ravel().tolist()}
            for name, a in arrays.items()
        },
        "next_raws": [int(r) for r in bits.random_raw(4)],
    }
