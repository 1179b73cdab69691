"""The fleet simulator's default data, built offline and reused: a generated keyword corpus
(:mod:`edgekit.data.generate_kws`), a TC-ResNet pretrained on the voices no device has and
exported as a bundle, and for each device the clips of one voice the bundle never heard, split
into the clips it personalises on and the clips it is scored on.

Everything lands in ``<workdir>/data-<key>/`` (``bundle/``, ``clips/<nn>-<speaker>.npz``,
``info.json``), the key hashing every setting, and is reused when it is already there. A clip
file holds ``train_pcm`` / ``test_pcm`` (clips, samples) float32 and ``train_labels`` /
``test_labels`` (the bundle's label of each clip): the format ``edgekit-hub fleet --clips``
reads, so any bundle's users can be simulated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.atomic import atomic_write_bytes, building
from edgekit.data.generate_kws import KwsCorpusConfig
from edgekit.data.speakers import SPEAKERS
from edgekit_server.errors import FleetError

__all__ = ["FleetData", "FleetDataConfig", "corpus_name", "prepare", "split_clips"]

MIN_PRETRAIN_SPEAKERS = 4


@dataclass(frozen=True)
class FleetDataConfig:
    devices: int = 4
    pretrain_speakers: int = 16  # voices on no device, which the bundle is pretrained on
    reps: int = 8  # renditions of each keyword by each voice
    n_unknown_words: int = 10
    unknown_reps: int = 2  # renditions of each unknown word by each voice
    pretrain_epochs: int = 20
    train_fraction: float = 0.4  # share of a device's clips of each label it personalises on
    seed: int = 0
    widths: tuple[int, ...] | None = None  # TC-ResNet's widths (None: its default size)
    d0_per_class: int = 20  # the bundle's D0: clips per class (ExportConfig.d0_per_class)

    def __post_init__(self) -> None:
        voices = self.devices + self.pretrain_speakers
        if self.devices < 1 or self.pretrain_speakers < MIN_PRETRAIN_SPEAKERS:
            raise FleetError(f"need >= 1 device and >= {MIN_PRETRAIN_SPEAKERS} pretraining voices")
        if voices > len(SPEAKERS):
            raise FleetError(
                f"{self.devices} devices + {self.pretrain_speakers} pretraining voices: the "
                f"generator has {len(SPEAKERS)} voices (use --clips for more devices)"
            )
        if not 0 < self.train_fraction < 1:
            raise FleetError(f"train_fraction must be in (0, 1), got {self.train_fraction}")
        if self.widths is not None and (not self.widths or min(self.widths) < 1):
            raise FleetError(f"widths must be positive channel counts, got {self.widths}")
        if self.d0_per_class < 1:
            raise FleetError(f"d0_per_class must be >= 1, got {self.d0_per_class}")

    def key(self) -> str:
        """12 hex digits hashing every setting. The settings added after the first builds
        (``widths``, ``d0_per_class``) count only when changed, so those builds keep their key."""
        later = {f.name: f.default for f in fields(self) if f.name in ("widths", "d0_per_class")}
        settings = {k: v for k, v in asdict(self).items() if k not in later or v != later[k]}
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]

    @property
    def corpus(self) -> KwsCorpusConfig:
        return KwsCorpusConfig(
            seed=self.seed,
            n_speakers=self.devices + self.pretrain_speakers,
            reps=self.reps,
            n_unknown_words=self.n_unknown_words,
            unknown_reps=self.unknown_reps,
        )


@dataclass(frozen=True)
class FleetData:
    bundle: Path
    clips: list[Path]  # one file per device
    info: dict[str, Any]  # the voices, the corpus, the pretrained model's eager test accuracy


def corpus_name(c: KwsCorpusConfig) -> str:
    """The folder name the benchmarks give a generated corpus (shared, so they share it)."""
    return f"corpus-s{c.seed}-n{c.n_speakers}-r{c.reps}-u{c.n_unknown_words}x{c.unknown_reps}"


def split_clips(
    paths: list[Path], labels: list[str], fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test): of each label's clips in file-name order, the first ``fraction``
    (at least one, when the label has two or more) train, the rest test."""
    from edgekit.data.selection import natural_key

    train, test = [], []
    for label in sorted(set(labels)):
        mine = sorted(
            (i for i, x in enumerate(labels) if x == label),
            key=lambda i: natural_key(paths[i].name),
        )
        n = 0 if len(mine) < 2 else min(len(mine) - 1, max(1, round(fraction * len(mine))))
        train += mine[:n]
        test += mine[n:]
    return np.array(sorted(train), dtype=np.int64), np.array(sorted(test), dtype=np.int64)


def prepare(
    config: FleetDataConfig,
    workdir: Path,
    corpus_dir: Path | None = None,
    say: Callable[[str], None] = print,
    exporting: Callable[[], None] | None = None,
) -> FleetData:
    """The bundle and the devices' clips for ``config`` (built once, then reused); the corpus
    is generated in ``corpus_dir`` (default ``<workdir>/<corpus_name>``), or reused there.
    ``exporting`` is called when a build reaches the export, which keeps one core busy (about
    half a minute, whatever the model's size): a caller may start other work then."""
    out = workdir / f"data-{config.key()}"
    if not (out / "info.json").is_file():
        corpus = corpus_dir or workdir / corpus_name(config.corpus)
        with building(out) as folder:
            _build(config, folder, corpus, say, exporting or (lambda: None))
    info = json.loads((out / "info.json").read_text())
    return FleetData(out / "bundle", sorted((out / "clips").glob("*.npz")), info)


def _build(
    config: FleetDataConfig,
    folder: Path,
    corpus_dir: Path,
    say: Callable[[str], None],
    exporting: Callable[[], None],
) -> None:
    from edgekit.data.generate_kws import generate_kws_corpus
    from edgekit.data.speech_commands import load_speech_commands
    from edgekit.export.bundle import ExportConfig, export_bundle
    from edgekit.models.pretrain import PretrainConfig, pretrain_corpus

    c = config.corpus
    say(f"corpus: {c.n_speakers} generated voices, {c.reps} renditions per keyword -> {corpus_dir}")
    root = generate_kws_corpus(corpus_dir, c, progress=False)
    voices = [s.id for s in c.speakers][-config.devices :]  # the devices' voices: none pretrains
    task = load_speech_commands(root, seed=config.seed, unknown_fraction=None)
    task = task.with_test_speakers(voices)
    size = f"widths {list(config.widths)}" if config.widths else "default widths"
    say(f"pretraining TC-ResNet ({size}) for {config.pretrain_epochs} epochs on the other voices")
    pretrain = PretrainConfig(epochs=config.pretrain_epochs, seed=config.seed)
    options = {"widths": config.widths} if config.widths else None
    model, report = pretrain_corpus(
        task, "tcresnet", config=pretrain, progress=False, options=options
    )
    say(f"pretrained: {report.test_acc:.1f}% (eager) on the devices' voices; exporting the bundle")
    train = task.subset(splits=["train"]).load(progress=False)
    export = ExportConfig(seed=config.seed, d0_per_class=config.d0_per_class)
    exporting()
    export_bundle(model, task.labels, folder / "bundle", train, export)
    (folder / "clips").mkdir()
    counts = []
    for i, voice in enumerate(voices):
        clips = task.subset(speakers=[voice]).load(progress=False)
        labels = [clips.label_names[j] for j in clips.labels]
        tr, te = split_clips(clips.paths, labels, config.train_fraction)
        names = np.asarray(labels, dtype=np.str_)
        np.savez(
            folder / "clips" / f"{i:02d}-{voice}.npz",
            train_pcm=clips.audio[tr], train_labels=names[tr],
            test_pcm=clips.audio[te], test_labels=names[te],
        )  # fmt: skip
        counts.append((len(tr), len(te)))
    info = {
        "corpus": str(root),
        "voices": voices,
        "clips_train_test": counts,
        "labels": list(task.labels),
        "pretrain_test_acc_eager": round(report.test_acc, 2),
        "config": asdict(config),
    }
    atomic_write_bytes(folder / "info.json", json.dumps(info, indent=1).encode())
