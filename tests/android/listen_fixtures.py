"""What the Python SDK gives for the app's live keyword spotting (``core/listen``) to compare with:
16-bit PCM and the floats edgekit's reader makes of it, a stream of 16-bit audio with every
window the device's detector embeds, the features and logits the program returns for them and
the events ``Learner.detect`` finds, and logits with ``Learner.probabilities`` of them.
Deterministic: fixed seeds, the bundle's own program."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np

from edgekit.audio.io import read_audio, write_wav
from edgekit.device.detect import DetectConfig
from edgekit.device.learner import Learner

__all__ = ["write_listen_fixtures"]

RATE = 16_000
# the stream: (seconds, tone in Hz or None for silence); the fixture bundle's words are tones
# of 200 (low), 1100 (mid) and 2000 Hz (high) at amplitude 0.2, learnt without noise
STREAM = [(0.3, None), (1.0, 200.0), (0.8, None), (1.0, 2000.0), (0.5, None), (1.0, 1100.0)]
STREAM += [(1.5, None)]
# a second run: a subset of labels live, other detection settings, nudged weights
PERSONAL_LIVE = ("low", "mid")
PERSONAL_CONFIG = DetectConfig(
    smooth_seconds=0.5, threshold=0.6, refractory_seconds=0.5, keywords=("mid", "low")
)
BIAS_NUDGE = 0.25  # added to the last trainable tensor (the classifier's bias), slot 0


def write_listen_fixtures(out: Path, bundle: Path) -> None:
    """Every fixture file of the ``core/listen`` tests, into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        np.savez(out / "listen_pcm16.npz", **pcm16_parity(Path(work)))  # type: ignore[arg-type]
        samples, pcm = stream_pcm(Path(work))
        learner = Learner(bundle, Path(work) / "state", read_only=True)
        runs, windows, features = [], None, None
        for name in ("bundle", "personal"):
            if name == "personal":
                learner.set_labels(learner.labels, live=PERSONAL_LIVE)
                nudged = learner.get_trainable()
                last = learner.names[-1]
                nudged[last][..., 0] += np.float32(BIAS_NUDGE)
                learner.set_trainable(nudged)
            config = None if name == "bundle" else PERSONAL_CONFIG
            recorded, events = _record_detect(learner, pcm, config)
            if windows is None:
                windows, features = recorded["windows"], recorded["features"]
            else:  # embed does not depend on the weights or the mask
                np.testing.assert_array_equal(recorded["windows"], windows)
            arrays = {k: recorded[k] for k in ("logits", "probabilities")}
            arrays["mask"] = learner.class_mask.numpy().astype(np.float32)
            arrays |= {f"w.{n}": a for n, a in learner.get_trainable().items()}
            np.savez(out / f"listen_run_{name}.npz", **arrays)  # type: ignore[arg-type]
            runs.append(
                {
                    "name": name,
                    "labels": list(learner.labels),
                    "config": None if config is None else config.to_dict(),
                    "events": [e.to_dict() for e in events],
                }
            )
        assert windows is not None and features is not None
        np.savez(out / "listen_stream.npz", samples=samples, windows=windows, features=features)
        (out / "listen_stream.json").write_text(json.dumps({"runs": runs}))
        np.savez(out / "listen_softmax.npz", **softmax_cases(bundle, Path(work)))  # type: ignore[arg-type]


def pcm16_parity(work: Path) -> dict[str, np.ndarray]:
    """Every 16-bit value (shuffled) written to a 16-bit WAV and read by edgekit's reader."""
    values = np.random.default_rng(16).permutation(np.arange(-32768, 32768)).astype(np.int16)
    write_wav(work / "pcm16.wav", values, RATE)
    floats = read_audio(work / "pcm16.wav", RATE)
    return {"samples": values.astype(np.int32), "floats": floats}


def stream_pcm(work: Path) -> tuple[np.ndarray, np.ndarray]:
    """The stream as a microphone gives it (16-bit) and as Python reads it from a 16-bit WAV."""
    parts = []
    for seconds, hz in STREAM:
        t = np.arange(round(seconds * RATE)) / RATE
        parts.append(np.zeros_like(t) if hz is None else 0.2 * np.sin(2 * np.pi * hz * t))
    samples = np.round(np.concatenate(parts) * 32768).astype(np.int16)
    write_wav(work / "stream.wav", samples, RATE)
    return samples.astype(np.int32), read_audio(work / "stream.wav", RATE)


def _record_detect(
    learner: Learner, pcm: np.ndarray, config: DetectConfig | None
) -> tuple[dict[str, np.ndarray], list[Any]]:
    """``learner.detect(pcm, config)`` with what its program and probabilities gave, in order."""
    seen: dict[str, list[np.ndarray]] = {k: [] for k in ("windows", "features", "logits")}
    seen["probabilities"] = []
    # (object, method, the key of its outputs, the key of its inputs or None)
    hooks = [
        (learner.program, "embed", "features", "windows"),
        (learner, "logits", "logits", None),
        (learner, "probabilities", "probabilities", None),
    ]

    def recording(key: str, inputs: str | None, call: Callable[..., np.ndarray]) -> Any:
        def wrapped(x: np.ndarray, *rest: Any) -> np.ndarray:
            out = call(x, *rest)
            if inputs is not None:
                seen[inputs].append(np.array(x, dtype=np.float32))
            seen[key].append(np.array(out, dtype=np.float32))
            return out

        return wrapped

    for owner, method, key, inputs in hooks:  # instance attributes shadow the methods
        setattr(owner, method, recording(key, inputs, getattr(owner, method)))
    try:
        events = learner.detect(pcm, config)
    finally:
        for owner, method, _, _ in hooks:
            delattr(owner, method)
    return {k: np.concatenate(v) for k, v in seen.items()}, events


def softmax_cases(bundle: Path, work: Path) -> dict[str, np.ndarray]:
    """Logits and ``Learner.probabilities`` of them: D0 through the program with every label
    live and with one not live (the program masks it), and wide rows (12 slots, so numpy sums
    them pairwise) given to Python's function as they are."""
    learner = Learner(bundle, work / "softmax-state", read_only=True)
    cases: dict[str, np.ndarray] = {}
    for name, live in (("all", None), ("masked", learner.labels[1:])):
        learner.set_labels(learner.labels, live=live)
        cases[f"{name}_logits"] = learner.logits(learner.d0_features)
        cases[f"{name}_probabilities"] = learner.probabilities(learner.d0_features)
        cases[f"{name}_mask"] = learner.class_mask.numpy().astype(np.float32)
    rng = np.random.default_rng(12)
    mask = (rng.random(12) < 0.7).astype(np.float32)
    mask[0] = 1.0
    raw = (rng.standard_normal((200, 12)) * rng.choice([0.1, 1.0, 5.0, 30.0], (200, 1))).astype(
        np.float32
    )
    logits = np.where(mask == 1, raw, raw - np.float32(1e4)).astype(np.float32)
    holder = cast(Learner, SimpleNamespace(logits=lambda _: logits))
    cases |= {"wide_logits": logits, "wide_mask": mask}
    cases["wide_probabilities"] = Learner.probabilities(holder, logits)
    return cases
