"""Shared setup for the keyword-spotting benches: corpus, held-out speaker clips, pretrained bundle,
and the quick fleet's data (whose tiny bundle ``hub_load.py --quick`` serves too).

Everything is built under one folder (``bench/results/...``, git-ignored) from the offline
generator, so a bench needs neither ``make demo`` nor a download.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from edgekit.data.corpus import ClipSet, Corpus
from edgekit.data.generate_kws import (
    CORE_KEYWORDS,
    SAMPLE_RATE,
    KwsCorpusConfig,
    generate_kws_corpus,
    render_clip,
)
from edgekit.data.noise import background_noises
from edgekit.data.speakers import SPEAKERS
from edgekit.data.speech_commands import UNKNOWN, load_speech_commands
from edgekit.export.bundle import ExportConfig, export_bundle
from edgekit.export.stages import LoweredCache
from edgekit.models import KwsModel
from edgekit.models.pretrain import (
    PretrainConfig,
    TrainReport,
    accuracy,
    compute_logmel,
    load_checkpoint,
    pretrain_corpus,
    save_checkpoint,
)

if TYPE_CHECKING:
    from edgekit_server.hub.fleet_data import FleetData, FleetDataConfig

__all__ = [
    "Progress",
    "SpeakerClips",
    "build_bundle",
    "build_corpus",
    "fleet_data",
    "load_task",
    "pretrain_tcresnet",
    "quick_fleet_config",
    "render_speaker",
    "reused_bundles",
    "source_digest",
    "speaker_accuracy",
]


class Progress:
    """Progress lines on stderr, each stamped with the seconds since the bench started."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.start = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def __call__(self, message: str) -> None:
        print(f"[{self.name} {self.elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)


RESULTS = Path(__file__).resolve().parent / "results"
CORPORA = RESULTS / "corpora"  # shared by the benches
FLEET = RESULTS / "fleet"  # the fleet's data, quick/ and full/: bundle and devices' clips
# the quick fleet's TC-ResNet: as small as the quick federation's (fl.build.tiny_federation)
QUICK_WIDTHS = (12, 16, 24)


def build_corpus(config: KwsCorpusConfig) -> Path:
    """The generated corpus for ``config`` (reused when an identical one is already there)."""
    c = config
    name = f"corpus-s{c.seed}-n{c.n_speakers}-r{c.reps}-u{c.n_unknown_words}x{c.unknown_reps}"
    return generate_kws_corpus(CORPORA / name, config, progress=False)


def quick_fleet_config(seed: int = 0) -> FleetDataConfig:
    """The quick fleet's data: a corpus of 8 voices (3 renditions of each keyword), the
    devices' 4 held out, a tiny TC-ResNet pretrained for 3 epochs on the other 4, D0 of 8 clips
    a class. Its bundle also serves ``hub_load.py --quick``."""
    from edgekit_server.hub.fleet_data import FleetDataConfig

    return FleetDataConfig(
        devices=4, pretrain_speakers=4, reps=3, unknown_reps=1, pretrain_epochs=3,
        widths=QUICK_WIDTHS, d0_per_class=8, seed=seed,
    )  # fmt: skip


def fleet_data(
    config: FleetDataConfig,
    quick: bool,
    say: Callable[[str], None],
    exporting: Callable[[], None] | None = None,
) -> FleetData:
    """The fleet's data for ``config`` under ``bench/results/fleet/<quick|full>`` (corpus in
    the shared corpora): built once, then reused by every bench that asks for it. A build
    calls ``exporting`` when its export starts, which leaves a core free for half a minute."""
    from edgekit_server.hub.fleet_data import corpus_name, prepare

    corpus = CORPORA / corpus_name(config.corpus)
    workdir = FLEET / ("quick" if quick else "full")
    return prepare(config, workdir, corpus_dir=corpus, say=say, exporting=exporting)


def pretrain_tcresnet(corpus: Corpus, epochs: int, seed: int) -> tuple[KwsModel, TrainReport]:
    """TC-ResNet pretrained on the corpus' train split, the same model for the same seed."""
    # pretrain_corpus builds (initialises) the model before PretrainConfig.seed is applied, and
    # the process' torch seed is random: seed here, or every run pretrains a different model.
    torch.manual_seed(seed)
    return pretrain_corpus(
        corpus, "tcresnet", PretrainConfig(epochs=epochs, seed=seed), progress=False
    )


def build_bundle(
    corpus: Corpus,
    out: Path,
    epochs: int,
    seed: int,
    export: ExportConfig,
    say: Callable[[str], None] | None = None,
    lowered: LoweredCache | None = None,
) -> tuple[KwsModel, TrainReport, ClipSet]:
    """Pretrain TC-ResNet on the train split, export a bundle to ``out`` with D0 from that split
    (through ``lowered``, to reuse its methods in a later export of the same model).

    Returns the eager model, its training report and the train clips D0 was drawn from.
    """
    model, report = pretrain_tcresnet(corpus, epochs, seed)
    if say:
        say(f"pretrained: test acc {report.test_acc:.1f}% on {report.n_test} clips; exporting")
    train = corpus.subset(splits=["train"]).load(progress=False)
    export_bundle(model, corpus.labels, out, train, export, lowered=lowered)
    return model.eval(), report, train


def source_digest(*packages: str) -> str:
    """sha256 of the ExecuTorch version and the sources of the SDK's ``packages`` (folders of
    ``edgekit/``; none: every source file): what a reused bundle needs to share with the code
    of a run."""
    import executorch.version

    import edgekit

    root = Path(edgekit.__file__).parent
    digest = hashlib.sha256(executorch.version.__version__.encode())
    folders = [root / p for p in packages] or [root]
    for source in sorted(f for folder in folders for f in folder.rglob("*.py")):
        digest.update(source.read_bytes())
    return digest.hexdigest()


def reused_bundles(
    corpus: Corpus,
    folder: Path,
    epochs: int,
    seed: int,
    exports: Mapping[str, ExportConfig],
    say: Callable[[str], None],
) -> tuple[KwsModel, float, ClipSet]:
    """:func:`build_bundle` for several export configs, kept in ``folder`` (one bundle per
    name in ``exports``) and reused by a later run with the same corpus, epochs, seed, configs
    and SDK sources: ``(model, its test accuracy, the train clips)``."""
    stamp = {
        "corpus": corpus.root.name,
        "epochs": epochs,
        "seed": seed,
        "exports": {name: repr(cfg) for name, cfg in exports.items()},
        "code": source_digest(),
    }
    saved, checkpoint = folder / "stamp.json", folder / "model.pt"
    train = corpus.subset(splits=["train"]).load(progress=False)
    if saved.is_file() and json.loads(saved.read_text()) == stamp:
        model, _, extra = load_checkpoint(checkpoint)
        say(f"pretrained model and bundles reused from {folder}")
        return model.eval(), float(extra["test_acc"]), train
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    model, report = pretrain_tcresnet(corpus, epochs, seed)
    say(f"pretrained: test acc {report.test_acc:.1f}% on {report.n_test} clips; exporting")
    lowered = LoweredCache()  # later bundles of the model reuse what the first lowered
    for name, cfg in exports.items():
        export_bundle(model, corpus.labels, folder / name, train, cfg, lowered=lowered)
    save_checkpoint(model, checkpoint, report.label_names, test_acc=report.test_acc)
    saved.write_text(json.dumps(stamp))  # last: a run cut short leaves no stamp
    return model.eval(), report.test_acc, train


def speaker_accuracy(model: KwsModel, corpus: Corpus, split: str = "test") -> dict[str, float]:
    """Eager accuracy (percent) of ``model`` on each speaker's clips of ``split``.

    Sources of ``_silence_`` clips (``noise-*``) are not speakers and are left out.
    """
    clips = corpus.subset(splits=[split]).load(progress=False)
    out = {}
    for speaker in sorted(set(clips.speakers.tolist())):
        if speaker.startswith("noise-"):
            continue
        mine = clips.take(clips.speakers == speaker)
        logmel = compute_logmel(model.frontend, mine.audio)
        labels = torch.from_numpy(mine.labels)
        out[speaker] = accuracy(model, logmel, labels, len(corpus.labels))
    return out


@dataclass
class SpeakerClips:
    """Clips of one speaker: ``audio`` (N, samples) float32, the spoken ``words`` and ``reps``."""

    speaker: str
    audio: np.ndarray
    words: np.ndarray  # (N,) str: the word said
    reps: np.ndarray  # (N,) int: repetition index (the generator's ``rep``)

    def labels(self, keywords: tuple[str, ...]) -> np.ndarray:
        """Task labels: a keyword stays itself, every other word is ``_unknown_``."""
        return np.array([w if w in keywords else UNKNOWN for w in self.words])

    def select(self, words: tuple[str, ...], reps: range) -> np.ndarray:
        """Indices of the clips of ``words`` whose rep is in ``reps``."""
        return np.flatnonzero(np.isin(self.words, words) & np.isin(self.reps, list(reps)))


def render_speaker(
    speaker_id: str,
    config: KwsCorpusConfig,
    keyword_reps: int,
    unknown_reps: int,
    workers: int = 4,
) -> SpeakerClips:
    """Every core keyword ``keyword_reps`` times and every unknown word ``unknown_reps`` times.

    The clips are exactly those :func:`generate_kws_corpus` makes for this speaker with
    ``reps=keyword_reps`` and ``unknown_reps=unknown_reps`` (every draw derives from
    ``(seed, speaker, word, rep)``), without synthesising the other speakers again.
    """
    speaker = next(s for s in SPEAKERS if s.id == speaker_id)
    noises = list(background_noises(config.noise_seconds, SAMPLE_RATE, config.seed).values())
    jobs = [(w, r) for w in CORE_KEYWORDS for r in range(keyword_reps)]
    jobs += [(w, r) for w in config.unknown_words for r in range(unknown_reps)]
    with ThreadPoolExecutor(max_workers=workers) as pool:  # mostly waiting on TTS subprocesses
        audio = list(
            pool.map(lambda job: render_clip(speaker, job[0], job[1], config, noises), jobs)
        )
    return SpeakerClips(
        speaker=speaker_id,
        audio=np.stack(audio).astype(np.float32),
        words=np.array([w for w, _ in jobs]),
        reps=np.array([r for _, r in jobs], dtype=np.int64),
    )


def load_task(
    root: Path, keywords: tuple[str, ...], held_out: tuple[str, ...], seed: int
) -> Corpus:
    """The 12-class-style task over ``keywords`` with the ``held_out`` words removed entirely."""
    return load_speech_commands(root, keywords=keywords, seed=seed).subset(
        exclude_words=list(held_out)
    )
