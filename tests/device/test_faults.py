"""Hostile input to the device side: every bad file is a typed error, no model is ever lost.

Each test makes its file bad itself (tests/device/faults.py), on a copy of the fixture bundle.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from edgekit.device import Learner
from edgekit.device.cache import FeatureCache
from edgekit.device.learner import STATE_FILE
from edgekit.errors import (
    ConfigError,
    CorruptBundle,
    CorruptState,
    DataError,
    NonFiniteInput,
    StateInUse,
)
from edgekit.export.manifest import sha256_file
from edgekit.plan.cache_entry import encode_entry
from tests.bundle_fixture import BuiltBundle, noise_clip
from tests.device.faults import (
    copy_bundle,
    edit_manifest,
    flip_byte,
    replace_array_file,
    truncate,
)


def _labelled(built: BuiltBundle) -> tuple[np.ndarray, list[str]]:
    return built.clips.audio, [built.manifest.labels[i] for i in built.clips.labels]


@pytest.fixture
def saved(built: BuiltBundle, tmp_path: Path) -> Path:
    """A state folder holding a personalised state."""
    state = tmp_path / "state"
    with Learner(built.path, state) as learner:
        learner.personalize(*_labelled(built), epochs=1)
        learner.save()
    return state


# ------------------------------------------------------------------ numbers
def test_a_clip_whose_features_overflow_is_refused_and_nothing_is_saved(
    built: BuiltBundle, saved: Path
) -> None:
    before = (saved / STATE_FILE).read_bytes()
    loud = np.stack([noise_clip(i) * np.float32(1e20) for i in range(3)])  # finite samples
    assert np.isfinite(loud).all()
    learner = Learner(built.path, saved)
    with pytest.raises(NonFiniteInput) as info:
        learner.enroll("boom", loud)
    assert info.value.indices == [0, 1, 2] and "boom" not in learner.labels
    with pytest.raises(NonFiniteInput):
        learner.predict(np.concatenate([built.clips.audio[:2], loud[:1]]))
    assert (saved / STATE_FILE).read_bytes() == before
    assert all(learner.cache.get(learner.cache.key_for(c)) is None for c in loud)  # not cached


def test_steps_with_a_non_finite_loss_are_refused_and_the_weights_stay(
    built: BuiltBundle, tmp_path: Path
) -> None:
    learner = Learner(built.path, tmp_path)
    huge = {n: w * np.float32(1e37) for n, w in learner.get_trainable().items()}  # finite
    learner.set_trainable(huge)
    history = learner.personalize(*_labelled(built), epochs=2)
    assert learner.refused_steps > 0 and np.isnan(history).all()
    for name, w in learner.get_trainable().items():
        np.testing.assert_array_equal(w, huge[name])


def test_a_state_with_nan_weights_is_never_written(built: BuiltBundle, saved: Path) -> None:
    before = (saved / STATE_FILE).read_bytes()
    learner = Learner(built.path, saved)
    name = learner.names[0]
    learner.weights[name] = torch.full_like(learner.weights[name], float("nan"))
    with pytest.raises(DataError, match="state not saved"):
        learner.save()
    assert (saved / STATE_FILE).read_bytes() == before


@pytest.mark.parametrize("damage", ["nan", "shape", "garbage"])
def test_a_bad_cache_entry_with_a_valid_checksum_is_dropped_and_recomputed(
    built: BuiltBundle, tmp_path: Path, damage: str
) -> None:
    learner = Learner(built.path, tmp_path)
    clip = built.clips.audio[:1]
    good = learner.embed(clip)
    key = learner.cache.key_for(clip[0])
    path = learner.cache.folder / f"{key}.feat"
    bad = {
        "nan": encode_entry(np.full(good.shape[1], np.nan, dtype=np.float32)),
        "shape": encode_entry(np.zeros(good.shape[1] - 1, dtype=np.float32)),
        "garbage": b"\0" * 40,
    }[damage]
    path.write_bytes(bad)
    again = Learner(built.path, tmp_path)
    np.testing.assert_array_equal(again.embed(clip), good)
    assert again.cache.stats.corrupt == 1
    assert FeatureCache(path.parent, 1 << 20, "x").get(key) is not None  # rewritten, readable


# --------------------------------------------------------------- the state
@pytest.mark.parametrize(
    "damage",
    ["truncated", "flipped byte", "empty", "not a zip", "wrong shape", "nan weights", "labels"],
)
def test_a_damaged_state_is_refused_whole_until_it_is_set_aside(
    built: BuiltBundle, saved: Path, damage: str
) -> None:
    path = saved / STATE_FILE
    if damage == "truncated":
        truncate(path)
    elif damage == "flipped byte":
        flip_byte(path, 0.3)
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "not a zip":
        path.write_text("hello")
    else:
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        name = next(k for k in arrays if k.startswith("w:"))
        if damage == "wrong shape":
            arrays[name] = arrays[name][:-1]
        elif damage == "nan weights":
            arrays[name] = np.full_like(arrays[name], np.nan)
        else:
            arrays["meta"] = np.frombuffer(b'{"labels": 3}', dtype=np.uint8)
        with path.open("wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]
    damaged = path.read_bytes()
    with pytest.raises(CorruptState, match="--reset-state"):
        Learner(built.path, saved)
    assert path.read_bytes() == damaged  # not replaced, not deleted
    fresh = Learner(built.path, saved, reset_state=True)
    assert fresh.set_aside is not None and fresh.set_aside.read_bytes() == damaged
    assert not path.exists()
    initial = Learner(built.path, saved.parent / "elsewhere").get_trainable()
    for name, w in fresh.get_trainable().items():
        np.testing.assert_array_equal(w, initial[name])


def test_a_file_given_as_the_state_folder_is_a_clear_error(
    built: BuiltBundle, tmp_path: Path
) -> None:
    (tmp_path / "state").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        Learner(built.path, tmp_path / "state")


def test_temp_files_of_a_killed_save_are_cleaned_at_the_next_start(
    built: BuiltBundle, saved: Path
) -> None:
    left = [saved / f".{STATE_FILE}.abc123.tmp", saved / "cache" / ".x.feat.def.tmp"]
    for path in left:
        path.write_bytes(b"half a file")
    Learner(built.path, saved, read_only=True)  # a reader never deletes: a writer may be saving
    assert all(p.exists() for p in left)
    Learner(built.path, saved)
    assert not any(p.exists() for p in left)


def test_one_writer_per_state_and_a_dead_writers_lock_is_not_in_the_way(
    built: BuiltBundle, saved: Path
) -> None:
    hold = (
        "import sys, time; from edgekit.device import Learner; "
        "l = Learner(sys.argv[1], sys.argv[2]); print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(built.path), str(saved)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(StateInUse, match=f"in use by pid {holder.pid}"):
            Learner(built.path, saved)
        Learner(built.path, saved, read_only=True).predict(built.clips.audio[:1])  # readers go on
    finally:
        holder.kill()
        holder.wait()
    assert (saved / "lock").read_text().strip() == str(holder.pid)  # left by the dead holder
    with Learner(built.path, saved) as learner:  # the kernel dropped the dead process' lock
        assert (saved / "lock").read_text().strip() == str(os.getpid())
        learner.save()


# -------------------------------------------------------------- the bundle
BAD_MANIFESTS = {
    "clip_samples 0": (lambda m: m.__setitem__("clip_samples", 0), "clip_samples"),
    "clip_samples off the front-end": (
        lambda m: m.__setitem__("clip_samples", 8000),
        "contradicts the front-end",
    ),
    "labels beyond the slots": (
        lambda m: m.__setitem__("labels", [f"w{i}" for i in range(m["max_classes"] + 1)]),
        "do not fit",
    ),
    "max_classes 1e9": (lambda m: m.__setitem__("max_classes", 10**9), "max_classes"),
    "max_classes off the classifier": (
        lambda m: m.__setitem__("max_classes", m["max_classes"] + 1),
        "slots",
    ),
    "no labels": (lambda m: m.pop("labels"), "labels"),
    "no backbone hash": (lambda m: m.pop("backbone_hash"), "backbone_hash"),
    "no files": (lambda m: m.pop("files"), "does not cover"),
    "a file unlisted": (lambda m: m["files"].pop("model.pte"), "does not cover"),
    "a label repeated": (lambda m: m.__setitem__("labels", ["a", "a"]), "repeat"),
    "temperature nan": (lambda m: m.__setitem__("temperature", float("nan")), "temperature"),
    "old schema": (lambda m: m.__setitem__("schema", 3), "export the bundle again"),
}


@pytest.mark.parametrize("case", sorted(BAD_MANIFESTS))
def test_a_bad_manifest_is_refused_before_the_runtime_sees_it(
    built: BuiltBundle, tmp_path: Path, case: str
) -> None:
    bundle = copy_bundle(built.path, tmp_path / "bundle")
    change, message = BAD_MANIFESTS[case]
    edit_manifest(bundle, change)
    with pytest.raises(CorruptBundle, match=message):
        Learner(bundle, tmp_path / "state")


def test_an_edit_of_the_manifest_breaks_its_digest(built: BuiltBundle, tmp_path: Path) -> None:
    bundle = copy_bundle(built.path, tmp_path / "bundle")
    edit_manifest(bundle, lambda m: m["labels"].reverse(), sign=False)  # swapped names
    with pytest.raises(CorruptBundle, match="changed after export"):
        Learner(bundle, tmp_path / "state")


@pytest.mark.parametrize("case", ["extra file", "missing file", "tampered program", "a file"])
def test_the_whole_bundle_is_covered(built: BuiltBundle, tmp_path: Path, case: str) -> None:
    bundle = copy_bundle(built.path, tmp_path / "bundle")
    if case == "extra file":
        (bundle / "notes.txt").write_text("hi")
        message = "notes.txt is not part of the bundle"
    elif case == "missing file":
        (bundle / "d0.npz").unlink()
        message = "d0.npz is missing"
    elif case == "tampered program":
        flip_byte(bundle / "model.pte", 0.9)
        message = "does not match its sha256"
    else:
        bundle = tmp_path / "manifest-like-file"
        bundle.write_text("{}")
        message = "is a file"
    with pytest.raises(CorruptBundle, match=message):
        Learner(bundle, tmp_path / "state")


@pytest.mark.parametrize("case", ["nan d0", "d0 labels", "weights shape", "weights not npz"])
def test_bundle_arrays_that_contradict_the_manifest_are_refused(
    built: BuiltBundle, tmp_path: Path, case: str
) -> None:
    bundle = copy_bundle(built.path, tmp_path / "bundle")
    with np.load(bundle / "d0.npz") as d0, np.load(bundle / "weights.npz") as w:
        features, labels = d0["features"], d0["labels"]
        weights = {k: w[k] for k in w.files}
    if case == "nan d0":
        features[0, 0] = np.nan
        replace_array_file(bundle, "d0.npz", {"features": features, "labels": labels})
    elif case == "d0 labels":
        labels[0] = 99
        replace_array_file(bundle, "d0.npz", {"features": features, "labels": labels})
    elif case == "weights shape":
        name = next(iter(weights))
        weights[name] = weights[name][..., :-1]
        replace_array_file(bundle, "weights.npz", weights)
    else:
        (bundle / "weights.npz").write_bytes(b"PK\x03\x04 not really")
        digest = sha256_file(bundle / "weights.npz")
        edit_manifest(bundle, lambda m: m["files"].__setitem__("weights.npz", digest))
    with pytest.raises(CorruptBundle):
        Learner(bundle, tmp_path / "state")
