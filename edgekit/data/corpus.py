"""The corpus data model shared by every loader: clip references, and clips loaded as arrays."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import soundfile as sf
from tqdm.auto import tqdm

from edgekit.audio.config import FrontendConfig
from edgekit.audio.window import read_windows
from edgekit.data.selection import first_per_label, natural_key, take_shots
from edgekit.errors import AudioFormatError, ConfigError, DataError

__all__ = ["ClipRef", "ClipSet", "Corpus", "FileFormats", "LoadFailure", "file_formats"]

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
    # a segment of a longer file (e.g. background noise cut into 1 s clips): read from
    # offset_seconds as it is, never searched for a word by a clip window
    segment: bool = False


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
        shots: int | None = None,
        rest: bool = False,
        draw_seed: int | None = None,
    ) -> Corpus:
        """Filter clips, in the order of the arguments, then shots, then ``max_per_label``.

        ``labels`` keeps those classes only, in that order: they become the result's classes
        (clip label indices follow them). ``exclude_words`` leaves words out entirely: their
        clips (by word folder or label) and, where a word is a class, the class itself.
        ``shots`` keeps K clips of each label of each speaker, ``rest=True`` every other clip
        (see :func:`~edgekit.data.selection.take_shots`); ``max_per_label`` keeps the first N
        of each label. "First" is natural file order (``clip2`` before ``clip10``).
        """
        keep = list(self.clips)
        classes = self.labels
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
            classes = tuple(dict.fromkeys(labels))
            keep = [c for c in keep if c.label in classes]
        if exclude_words is not None:
            unwanted = set(exclude_words)
            keep = [c for c in keep if c.label not in unwanted and c.word not in unwanted]
            classes = tuple(x for x in classes if x not in unwanted)
        if shots is not None:
            keep = take_shots(keep, shots, rest, draw_seed)
        elif rest or draw_seed is not None:
            raise ConfigError("rest and draw_seed apply to shots: give shots too")
        if max_per_label is not None:
            keep = first_per_label(keep, max_per_label)
        return replace(self, clips=tuple(keep), labels=classes)

    def with_test_speakers(self, speakers: Iterable[str]) -> Corpus:
        """The same clips with a test split of exactly ``speakers``: their clips move to
        ``test``, and other speakers' ``test`` clips move to ``train``, so no clip of a test
        speaker is trained on or selected on. Speakers the corpus lacks raise DataError."""
        wanted = set(speakers)
        absent = sorted(wanted - {c.speaker for c in self.clips}, key=natural_key)
        if absent:
            raise DataError(self.no_match(speakers=absent))

        def split_of(clip: ClipRef) -> str:
            if clip.speaker in wanted:
                return "test"
            return "train" if clip.split == "test" else clip.split

        clips = tuple(replace(c, split=split_of(c)) for c in self.clips)
        return replace(self, clips=clips)

    def no_match(
        self,
        splits: Iterable[str] | None = None,
        speakers: Iterable[str] | None = None,
        labels: Iterable[str] | None = None,
    ) -> str:
        """Why no clip is in ``splits``, by ``speakers`` and of ``labels``: a message naming
        the splits there, the speakers there (in those splits, when some exist), where else the
        asked speakers are, and the labels there (of those speakers, when some exist)."""
        wanted_splits = None if splits is None else sorted(set(splits))
        wanted_speakers = None if speakers is None else sorted(set(speakers), key=natural_key)
        wanted_labels = None if labels is None else list(dict.fromkeys(labels))
        asked = [
            f"{kind} {', '.join(values)}"
            for kind, values in (
                ("split", wanted_splits),
                ("speaker", wanted_speakers),
                ("label", wanted_labels),
            )
            if values is not None
        ]
        found_splits = sorted({c.split for c in self.clips})
        in_splits = [c for c in self.clips if wanted_splits is None or c.split in wanted_splits]
        where = ""
        if wanted_splits is not None and in_splits:
            where = f" in {', '.join(sorted({c.split for c in in_splits}))}"
        else:
            in_splits = list(self.clips)
        found_speakers = sorted({c.speaker for c in in_splits}, key=natural_key)
        parts = [f"its splits are {_some(found_splits)}"]
        parts.append(f"its speakers{where} are {_some(found_speakers)}")
        elsewhere = {}  # asked speakers absent from the asked splits -> the splits they are in
        for speaker in wanted_speakers or []:
            if speaker not in found_speakers:
                there = sorted({c.split for c in self.clips if c.speaker == speaker})
                if there:
                    elsewhere[speaker] = there
        parts.extend(f"speaker {s} is in {', '.join(there)}" for s, there in elsewhere.items())
        nowhere = [
            s for s in wanted_speakers or [] if s not in found_speakers and s not in elsewhere
        ]
        if nowhere and where:  # the speakers listed above are those of some splits only
            every = sorted({c.speaker for c in self.clips}, key=natural_key)
            named = (
                f"speaker {nowhere[0]} is"
                if len(nowhere) == 1
                else f"speakers {', '.join(nowhere)} are"
            )
            parts.append(f"{named} in no split; all its speakers are {_some(every)}")
        by = [c for c in in_splits if wanted_speakers is None or c.speaker in wanted_speakers]
        if wanted_speakers is not None and by:
            where += f" by {', '.join(s for s in wanted_speakers if s in found_speakers)}"
        present = {c.label for c in (by or in_splits)}
        parts.append(f"its labels{where} are {_some([x for x in self.labels if x in present])}")
        return (
            f"no clips in {self.root} match {' and '.join(asked) or 'the filters'}: "
            + "; ".join(parts)
        )

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

    def load(
        self, config: FrontendConfig | None = None, progress: bool = True, window: str | None = None
    ) -> ClipSet:
        """Decode every clip to ``(N, clip_samples)`` float32 under a clip window policy
        (``window``, default the config's ``clip_window``; :mod:`edgekit.audio.window`): one row
        per clip, or several per recording under ``all-windows`` (rows of one file share its
        path, label and speaker). ``first`` reads only each clip's frames. Bad files are
        reported, not used."""
        cfg = config or FrontendConfig()
        policy = window or cfg.clip_window
        rows: list[np.ndarray] = []
        kept: list[ClipRef] = []
        failures = list(self.skipped)
        bar = tqdm(self.clips, desc="loading clips", unit="clip", disable=not progress)
        for clip in bar:
            try:
                windows = read_windows(
                    clip.path,
                    cfg.clip_samples,
                    cfg.sample_rate,
                    "first" if clip.segment else policy,
                    clip.offset_seconds,
                )
            except AudioFormatError as exc:
                failures.append(LoadFailure(clip.path, exc.reason))
                continue
            rows.append(windows * clip.gain)
            kept.extend([clip] * len(windows))
        index = {name: i for i, name in enumerate(self.labels)}
        empty = np.zeros((0, cfg.clip_samples), dtype=np.float32)
        return ClipSet(
            audio=np.concatenate(rows).astype(np.float32, copy=False) if rows else empty,
            labels=np.array([index[c.label] for c in kept], dtype=np.int64),
            label_names=self.labels,
            speakers=np.array([c.speaker for c in kept], dtype=str),
            splits=np.array([c.split for c in kept], dtype=str),
            paths=[c.path for c in kept],
            failures=failures,
        )


def _some(names: list[str], most: int = 12) -> str:
    """``a, b, c`` (the first ``most`` names, then how many more); ``none`` for no name."""
    if not names:
        return "none"
    shown = ", ".join(names[:most])
    return f"{shown} and {len(names) - most} more" if len(names) > most else shown


@dataclass(frozen=True)
class FileFormats:
    """What a set of audio files holds, from their headers."""

    files: int  # files whose header was read
    sample_rates: dict[int, int]  # sample rate (Hz) -> files, most common first
    channels: dict[int, int]  # channel count -> files, most common first
    seconds: tuple[float, float, float] | None  # shortest, median, longest; None for no file
    unreadable: int = 0  # files whose header could not be read

    def lines(self) -> list[str]:
        """Three lines for people: rates, channels, durations."""
        unread = f" ({self.unreadable} more with an unreadable header)" if self.unreadable else ""
        if self.seconds is None:
            return [f"0 files{unread}"]

        def each(counts: dict[int, int], unit: str) -> str:
            return ", ".join(f"{value}{unit} ({_files(n)})" for value, n in counts.items())

        shortest, median, longest = self.seconds
        return [
            f"{_files(self.files)}{unread}; sample rates: {each(self.sample_rates, ' Hz')}",
            f"channels: {each(self.channels, '')}",
            f"seconds per file: min {shortest:.2f}, median {median:.2f}, max {longest:.2f}",
        ]


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def file_formats(paths: Iterable[Path]) -> FileFormats:
    """Sample rates, channel counts and durations of ``paths`` (each file once)."""
    rates: Counter[int] = Counter()
    channels: Counter[int] = Counter()
    seconds: list[float] = []
    unreadable = 0
    for path in dict.fromkeys(paths):  # clips cut from one file count it once
        try:
            info = sf.info(str(path))
        except (sf.LibsndfileError, RuntimeError, OSError):
            unreadable += 1
            continue
        rates[int(info.samplerate)] += 1
        channels[int(info.channels)] += 1
        seconds.append(float(info.frames) / info.samplerate)
    span = None
    if seconds:
        span = (min(seconds), float(np.median(seconds)), max(seconds))
    return FileFormats(
        files=len(seconds),
        sample_rates=dict(rates.most_common()),
        channels=dict(channels.most_common()),
        seconds=span,
        unreadable=unreadable,
    )
