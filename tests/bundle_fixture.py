"""One small real bundle for the export and device tests (trained on three tones)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from edgekit.data.corpus import ClipSet
from edgekit.data.speech_commands import load_speech_commands
from edgekit.export.bundle import ExportConfig, export_bundle
from edgekit.export.manifest import Manifest
from edgekit.models import HeadConfig, KwsModel, build_model
from edgekit.models.pretrain import PretrainConfig, pretrain
from tests.data.sc_fixture import make_speech_commands

WORDS = {"low": 4, "mid": 4, "high": 4}
STEP_HZ = 900.0  # tones at 200, 1100 and 2000 Hz: well apart
TONE_HZ = {word: 200 + STEP_HZ * i for i, word in enumerate(WORDS)}


@dataclass
class BuiltBundle:
    path: Path
    model: KwsModel
    manifest: Manifest
    clips: ClipSet  # every clip of the corpus (labels index manifest.labels)


def tone_clip(freq: float, rng: np.random.Generator, noise: float = 0.0) -> np.ndarray:
    """A clip made like the fixture corpus' clips (a 0.2 sine), optionally with noise."""
    t = np.arange(16_000) / 16_000
    return (0.2 * np.sin(2 * np.pi * freq * t) + noise * rng.standard_normal(t.size)).astype(
        np.float32
    )


def noise_clip(seed: int) -> np.ndarray:
    """A clip of the class the tests enrol: white noise, which the tone-trained backbone
    separates from every tone (a 4 kHz tone lands on the 1.1 kHz features: no head can
    separate what the frozen backbone merges)."""
    return (0.05 * np.random.default_rng(seed).standard_normal(16_000)).astype(np.float32)


def train_model(root: Path, seed: int = 0, max_classes: int = 4) -> tuple[KwsModel, ClipSet]:
    """TC-ResNet trained on the three tones, and every clip of the corpus."""
    corpus = load_speech_commands(
        make_speech_commands(root / "corpus", WORDS, step_hz=STEP_HZ), task="all"
    )
    clips = corpus.load(progress=False)
    torch.manual_seed(seed)  # the initial weights must not depend on which tests ran before
    model = build_model("tcresnet", head=HeadConfig(hidden=16, max_classes=max_classes))
    config = PretrainConfig(epochs=4, batch_size=8, seed=seed)
    pretrain(model, clips, None, config, progress=False)
    return model.eval(), clips


def build_bundle(root: Path, seed: int = 0, max_classes: int = 4) -> BuiltBundle:
    model, clips = train_model(root, seed, max_classes)
    config = ExportConfig(train_batch=8, d0_per_class=4)
    manifest = export_bundle(model, clips.label_names, root / "bundle", clips, config)
    return BuiltBundle(root / "bundle", model, manifest, clips)
