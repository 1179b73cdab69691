"""Loader for the Google Speech Commands layout (v2, or any folder laid out the same way).

Layout: ``<root>/<word>/<speaker>_nohash_<n>.wav``, optional ``validation_list.txt`` and
``testing_list.txt`` (paths relative to the root), and ``_background_noise_/`` with long noise
recordings. Any word folders work (a folder of spoken digits is a valid corpus).

- Speaker id: the part of the file name before ``_nohash_``; a file name without ``_nohash_``
  uses its whole stem as the speaker id.
- Splits: the two list files when present; otherwise the corpus README's rule (a SHA-1 hash of
  the speaker id picks the split, 10% validation / 10% test), which keeps speakers disjoint.
- Tasks: ``"all"`` uses every word folder as a class (the 35-class task on v2). ``"keywords"`` is
  the 12-class task: the keywords, ``_unknown_`` (every other word, subsampled per split to
  ``unknown_fraction`` of that split's keyword clips) and ``_silence_`` (1 s segments of the
  background noise at a random gain in [0, 1], ``silence_fraction`` of that split's keyword
  clips; noise segments are assigned to splits by the same hashing rule, so no segment is shared).
- The official test set (``speech_commands_test_set_v0.02``): word folders plus ``_unknown_/``
  and ``_silence_/`` folders of clips, no list files and no ``_background_noise_/``. Every clip
  is in the ``test`` split. In both tasks these two folders are classes as they are: the
  ``_unknown_`` clips (named ``<word>_<speaker>_nohash_<n>.wav``) keep their label and are not
  subsampled, no other word is drawn into ``_unknown_``, and no silence is cut from noise.
- Entries named like audio that are not usable files (a folder named ``x.wav``, a broken link, a
  link loop) are listed in :attr:`Corpus.skipped` with the reason, never dropped silently.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections import defaultdict
from pathlib import Path
from typing import Literal

import soundfile as sf

from edgekit.audio.io import file_problem, is_audio_file
from edgekit.data.corpus import ClipRef, Corpus, LoadFailure
from edgekit.errors import ConfigError, CorpusLayoutError

__all__ = [
    "CORE_KEYWORDS",
    "SILENCE",
    "UNKNOWN",
    "KeywordsNotFound",
    "load_speech_commands",
    "speaker_of",
    "split_of_speaker",
    "which_set",
]

CORE_KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
SILENCE = "_silence_"
UNKNOWN = "_unknown_"
BACKGROUND = "_background_noise_"
_MAX_PER_CLASS = 2**27 - 1


class KeywordsNotFound(CorpusLayoutError):
    """Keywords of the keyword task that are not word folders (or labels) of the corpus."""

    def __init__(
        self, root: Path, missing: list[str], found: list[str], kind: str = "folders"
    ) -> None:
        super().__init__(f"keyword {kind} {missing} not found in {root}; found {found}")
        self.root, self.missing, self.found = root, missing, found


def speaker_of(path: Path) -> str:
    """``abc123_nohash_0.wav`` -> ``abc123``; a name without ``_nohash_`` -> its stem."""
    stem = path.stem
    return stem.split("_nohash_", 1)[0] if "_nohash_" in stem else stem


def which_set(name: str, validation_percent: float = 10.0, testing_percent: float = 10.0) -> str:
    """The Speech Commands README's split rule, hashing the speaker part of a file name."""
    key = re.sub(r"_nohash_.*$", "", Path(name).name)
    return split_of_speaker(key, validation_percent, testing_percent)


def split_of_speaker(
    speaker: str, validation_percent: float = 10.0, testing_percent: float = 10.0
) -> str:
    """:func:`which_set`'s rule for a speaker id as it is (any characters, ``/`` included)."""
    digest = int(hashlib.sha1(speaker.encode()).hexdigest(), 16)
    percent = (digest % (_MAX_PER_CLASS + 1)) * (100.0 / _MAX_PER_CLASS)
    if percent < validation_percent:
        return "validation"
    if percent < validation_percent + testing_percent:
        return "test"
    return "train"


def _read_list(path: Path) -> set[str]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusLayoutError(f"{path} is not a readable list of clips ({exc})") from exc
    return {line.strip() for line in text.splitlines() if line.strip()}


def _audio_files(folder: Path) -> tuple[list[Path], list[LoadFailure]]:
    """The usable audio files directly in ``folder`` (sorted), and the entries named like audio
    that are not usable files (folders, broken links, link loops). Never recurses, so a link
    back to a parent folder cannot loop."""
    try:
        entries = sorted(p for p in folder.iterdir() if is_audio_file(p))
    except OSError as exc:
        return [], [LoadFailure(folder, f"cannot list the folder ({exc.strerror or exc})")]
    files, failures = [], []
    for path in entries:
        problem = file_problem(path)
        if problem is None:
            files.append(path)
        else:
            failures.append(LoadFailure(path, problem))
    return files, failures


def _word_files(root: Path) -> tuple[dict[str, list[Path]], list[LoadFailure]]:
    words: dict[str, list[Path]] = {}
    failures: list[LoadFailure] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name.startswith(".") or folder.name == BACKGROUND:
            continue
        files, bad = _audio_files(folder)
        failures.extend(bad)
        if files:
            words[folder.name] = files
    return words, failures


def _is_test_set(root: Path, words: dict[str, list[Path]]) -> bool:
    """The official test set's layout: ``_unknown_/`` and ``_silence_/`` folders of clips, no
    ``_background_noise_/`` and no list files."""
    lists = (root / "validation_list.txt").exists() or (root / "testing_list.txt").exists()
    shipped = UNKNOWN in words and SILENCE in words
    return shipped and not lists and not (root / BACKGROUND).is_dir()


def _speaker_and_word(path: Path, folder: str) -> tuple[str, str]:
    """The speaker id and word of a clip: a clip of the test set's ``_unknown_/`` is named
    ``<word>_<speaker>_nohash_<n>.wav``; any other clip's word is its folder."""
    speaker = speaker_of(path)
    if folder == UNKNOWN and "_nohash_" in path.stem and "_" in speaker:
        word, speaker = speaker.rsplit("_", 1)
        return speaker, word
    return speaker, folder


def _splits(root: Path, words: dict[str, list[Path]], test_set: bool) -> dict[Path, str]:
    if test_set:
        return {f: "test" for group in words.values() for f in group}
    val_list, test_list = root / "validation_list.txt", root / "testing_list.txt"
    if val_list.exists() != test_list.exists():
        missing = test_list if val_list.exists() else val_list
        raise CorpusLayoutError(
            f"{missing.name} not found in {root}: the Speech Commands layout has both "
            "validation_list.txt and testing_list.txt, or neither (then speakers are hashed)"
        )
    files = [f for group in words.values() for f in group]
    if not val_list.exists():
        return {f: which_set(f.name) for f in files}
    validation, testing = _read_list(val_list), _read_list(test_list)
    split = {}
    for f in files:
        rel = f.relative_to(root).as_posix()
        split[f] = "validation" if rel in validation else "test" if rel in testing else "train"
    return split


def _silence_clips(
    root: Path, per_split: dict[str, int], clip_seconds: float, rng: random.Random
) -> tuple[list[ClipRef], list[LoadFailure]]:
    """Cut background noise into 1 s segments, split them by hashing, draw the needed counts."""
    noise_dir = root / BACKGROUND
    segments: dict[str, list[tuple[Path, float]]] = defaultdict(list)
    files, failures = _audio_files(noise_dir) if noise_dir.is_dir() else ([], [])
    for path in files:
        try:
            seconds = sf.info(str(path)).duration
        except (sf.LibsndfileError, RuntimeError) as exc:
            failures.append(LoadFailure(path, f"unreadable background noise ({exc})"))
            continue
        for k in range(int(seconds // clip_seconds)):
            split = which_set(f"{path.stem}-{k}_nohash_0")
            segments[split].append((path, k * clip_seconds))
    clips = []
    for split, count in sorted(per_split.items()):
        pool = segments.get(split) or [seg for group in segments.values() for seg in group]
        if count and not pool:
            raise CorpusLayoutError(
                f"{BACKGROUND}/ with at least {clip_seconds:g} s of readable audio is needed in "
                f"{root} to make the keyword task's {SILENCE} clips; add background noise "
                "recordings there, or use a task without a silence class"
            )
        for _ in range(count):
            path, offset = pool[rng.randrange(len(pool))]
            speaker = f"noise-{path.stem}"
            gain = rng.random()
            clips.append(ClipRef(path, SILENCE, speaker, split, offset, gain, BACKGROUND, True))
    return clips, failures


def load_speech_commands(
    root: Path | str,
    task: Literal["keywords", "all"] = "keywords",
    keywords: tuple[str, ...] = CORE_KEYWORDS,
    silence_fraction: float = 0.1,
    unknown_fraction: float | None = 0.1,
    clip_seconds: float = 1.0,
    seed: int = 0,
    exclude_words: tuple[str, ...] | list[str] = (),
) -> Corpus:
    """Index a Speech Commands folder as a :class:`Corpus` (nothing is decoded yet).

    ``task="keywords"``: classes are ``keywords`` + ``_silence_`` + ``_unknown_``;
    ``unknown_fraction=None`` keeps every non-keyword clip. ``task="all"``: one class per folder.
    ``exclude_words`` (word folders, or ``_silence_`` / ``_unknown_``) are left out entirely,
    before anything is counted: no class, no clip, not drawn into ``_unknown_``, and the
    ``_unknown_`` / ``_silence_`` shares follow the keywords that remain. A name that is neither
    raises :class:`~edgekit.errors.ConfigError`.
    """
    root = Path(root)
    if not root.is_dir():
        raise CorpusLayoutError(f"{root} is not a folder")
    words, scan_failures = _word_files(root)
    if not words:
        raise CorpusLayoutError(
            f"no <word>/<file>.wav folders found in {root}; expected the Speech Commands layout "
            "<root>/<word>/<speaker>_nohash_<n>.wav"
        )
    if task not in ("keywords", "all"):
        raise ConfigError(f"task must be 'keywords' or 'all', got {task!r}")
    for name, value in (
        ("silence_fraction", silence_fraction),
        ("unknown_fraction", unknown_fraction),
    ):
        if value is not None and not 0 <= value <= 10:
            raise ConfigError(f"{name} must be in [0, 10], got {value}")
    excluded = set(exclude_words)
    strangers = sorted(excluded - set(words) - {SILENCE, UNKNOWN})
    if strangers:
        raise ConfigError(
            f"words to leave out {strangers} are not word folders of {root}; found {sorted(words)}"
        )
    test_set = _is_test_set(root, words)  # before any folder is left out
    words = {word: files for word, files in words.items() if word not in excluded}
    if not words:
        raise ConfigError(f"every word folder of {root} is left out: no class remains")
    keywords = tuple(k for k in keywords if k not in excluded)
    split_of = _splits(root, words, test_set)

    def ref(path: Path, label: str, folder: str) -> ClipRef:
        speaker, word = _speaker_and_word(path, folder)
        return ClipRef(path, label, speaker, split_of[path], word=word)

    if task == "all":
        clips = [ref(p, word, word) for word, files in words.items() for p in files]
        return Corpus(root, tuple(clips), tuple(words), tuple(scan_failures))

    if not keywords:
        raise ConfigError("the keyword task needs at least one keyword that is not left out")
    absent = [k for k in keywords if k not in words]
    if absent:
        raise KeywordsNotFound(root, absent, sorted(words))
    rng = random.Random(seed)
    clips = [ref(p, word, word) for word in keywords for p in words[word]]
    per_split: dict[str, int] = defaultdict(int)
    for clip in clips:
        per_split[clip.split] += 1
    unknown_by_split: dict[str, list[ClipRef]] = defaultdict(list)
    others = [w for w in words if w not in keywords and w not in (SILENCE, UNKNOWN)]
    if UNKNOWN in words:  # a corpus that ships its own unknown clips: those, as they are
        clips.extend(ref(p, UNKNOWN, UNKNOWN) for p in words[UNKNOWN])
        others = []
    for word in others if UNKNOWN not in excluded else []:
        for p in words[word]:
            unknown_by_split[split_of[p]].append(ref(p, UNKNOWN, word))
    for split in sorted(unknown_by_split):
        pool = unknown_by_split[split]
        if unknown_fraction is not None:
            pool = rng.sample(pool, min(len(pool), math.ceil(per_split[split] * unknown_fraction)))
        clips.extend(sorted(pool, key=lambda c: str(c.path)))
    failures = scan_failures
    if SILENCE in words:  # a corpus that ships its own silence clips
        clips.extend(ref(p, SILENCE, SILENCE) for p in words[SILENCE])
    elif silence_fraction > 0 and SILENCE not in excluded:
        wanted = {s: math.ceil(n * silence_fraction) for s, n in per_split.items()}
        silence, noise_failures = _silence_clips(root, wanted, clip_seconds, rng)
        clips.extend(silence)
        failures = failures + noise_failures
    labels = (*keywords, *(x for x in (SILENCE, UNKNOWN) if x not in excluded))
    return Corpus(root, tuple(clips), labels, tuple(failures))
