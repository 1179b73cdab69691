"""The corpus data model shared by every loader: clip references, and clips loaded as arrays."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from edgekit.audio.config import FrontendConfig
from edgekit.audio.io import read_clip
from edgekit.errors import AudioFormatError, ConfigError

__all__ = ["ClipRef", "ClipSet", "Corpus", "LoadFailure"]

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class ClipRef:
    """Where one clip lives and what it is. Nothing is decoded until :meth:`Corpus.load`."""

    path: Path  # the audio file
    label: str  # class name as the task sees it (e.g. "_unknown_" for a non-keyword word)
    speaker: str  # speaker id (Speech Commands) or source recording id (UrbanSound8K fsID)
    split: str  # "train" / "validation" / "test" (Speech Commands) or "fold<N>" (UrbanSound8K)
    offset_seconds: float = 0.0  # start inside the file (clips cut out of long noise files)
    gain: float = 1.0  # applied after loading (e.g. random volume of _silence_ clips)
    word: str = ""  # the folder it came from, where the label differs (e.g. "_unknown_")


@dataclass(frozen=True)
class LoadFailure:
    """A file that could not be used, and why. Loaders count and report these, never drop them."""

    path: Path
    reason: str


@dataclass
class ClipSet:
    """Decoded clips as arrays, aligned by index."""

    audio: np.ndarray  # (N, clip_samples) float32 mono at the front-end's sample rate
    labels: np.ndarray  # (N,) int64 indices into label_names
    label_names: tuple[str, ...]
    speakers: np.ndarray  # (N,) str
    splits: np.ndarray  # (N,) str
    paths: list[Path]
    failures: list[LoadFailure] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def take(self, index: np.ndarray) -> ClipSet:
        """The clips at ``index`` (a boolean mask or integer indices)."""
        idx = np.flatnonzero(index) if index.dtype == bool else index
        return ClipSet(
            audio=self.audio[idx],
            labels=self.labels[idx],
            label_names=self.label_names,
            speakers=self.speakers[idx],
            splits=self.splits[idx],
            paths=[self.paths[i] for i in idx],
            failures=list(self.failures),
        )


@dataclass(frozen=True)
class Corpus:
    """A labelled set of clip references; ``labels`` fixes the class order."""

    root: Path
    clips: tuple[ClipRef, ...]
    labels: tuple[str, ...]
    skipped: tuple[LoadFailure, ...] = ()  # problems found while indexing (e.g. missing files)

    def __len__(self) -> int:
        return len(self.clips)

    def subset(
        self,
        splits: Iterable[str] | None = None,
        speakers: Iterable[str] | None = None,
        exclude_speakers: Iterable[str] | None = None,
        labels: Iterable[str] | None = None,
        max_per_label: int | None = None,
        exclude_words: Iterable[str] | None = None,
    ) -> Corpus:
        """Filter clips; ``max_per_label`` keeps the first N of each label (sorted by path)."""
        keep = list(self.clips)
        if splits is not None:
            wanted = set(splits)
            keep = [c for c in keep if c.split in wanted]
        if speakers is not None:
            wanted = set(speakers)
            keep = [c for c in keep if c.speaker in wanted]
        if exclude_speakers is not None:
            unwanted = set(exclude_speakers)
            keep = [c for c in keep if c.speaker not in unwanted]
        if labels is not None:
            wanted = set(labels)
            keep = [c for c in keep if c.label in wanted]
        if exclude_words is not None:
            unwanted = set(exclude_words)
            keep = [c for c in keep if (c.word or c.label) not in unwanted]
        if max_per_label is not None:
            if max_per_label < 1:
                raise ConfigError(f"max_per_label must be >= 1, got {max_per_label}")
            seen: Counter[str] = Counter()
            first: list[ClipRef] = []
            for clip in sorted(keep, key=lambda c: (str(c.path), c.offset_seconds)):
                if seen[clip.label] < max_per_label:
                    seen[clip.label] += 1
                    first.append(clip)
            keep = first
        return replace(self, clips=tuple(keep))

    def counts(self) -> dict[str, dict[str, int]]:
        """``{split: {label: clips}}``."""
        table: dict[str, dict[str, int]] = {}
        for clip in self.clips:
            row = table.setdefault(clip.split, {})
            row[clip.label] = row.get(clip.label, 0) + 1
        return table

    @property
    def speakers(self) -> list[str]:
        return sorted({c.speaker for c in self.clips})

    def load(self, config: FrontendConfig | None = None, progress: bool = True) -> ClipSet:
        """Decode every clip to ``(N, clip_samples)`` float32, reading only each clip's frames.
        Bad files are reported, not used."""
        cfg = config or FrontendConfig()
        n = cfg.clip_samples
        audio = np.zeros((len(self.clips), n), dtype=np.float32)
        ok = np.zeros(len(self.clips), dtype=bool)
        failures = list(self.skipped)
        bar = tqdm(self.clips, desc="loading clips", unit="clip", disable=not progress)
        for i, clip in enumerate(bar):
            try:  # reads only the clip's frames, however long the file
                pcm = read_clip(clip.path, n, cfg.sample_rate, clip.offset_seconds)
            except AudioFormatError as exc:
                failures.append(LoadFailure(clip.path, exc.reason))
                continue
            audio[i] = pcm * clip.gain
            ok[i] = True
        index = {name: i for i, name in enumerate(self.labels)}
        kept = [c for c, good in zip(self.clips, ok, strict=True) if good]
        return ClipSet(
            audio=audio[ok],
            labels=np.array([index[c.label] for c in kept], dtype=np.int64),
            label_names=self.labels,
            speakers=np.array([c.speaker for c in kept], dtype=str),
            splits=np.array([c.split for c in kept], dtype=str),
            paths=[c.path for c in kept],
            failures=failures,
        )
