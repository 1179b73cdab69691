"""Pick the right loader for a folder by its layout, and make a task's classes on any layout."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from edgekit.data.corpus import ClipRef, Corpus
from edgekit.data.selection import natural_order
from edgekit.data.speech_commands import CORE_KEYWORDS, SILENCE, UNKNOWN, KeywordsNotFound
from edgekit.errors import ConfigError, CorpusLayoutError

__all__ = ["LAYOUTS", "TASKS", "detect_layout", "load_corpus", "load_for_labels", "load_task"]

LAYOUTS = ("speech-commands", "urbansound", "manifest")
TASKS = ("keywords", "all")


def detect_layout(folder: Path) -> str:
    """``manifest`` for a ``.csv`` file or a folder holding ``manifest.csv``; ``urbansound``
    when ``metadata/UrbanSound8K.csv`` exists; else ``speech-commands``."""
    from edgekit.data.csv_corpus import MANIFEST

    if folder.suffix.lower() == ".csv" and not folder.is_dir():
        return "manifest"
    if not folder.is_dir():
        raise CorpusLayoutError(f"{folder} is not a folder")
    if (folder / MANIFEST).is_file():
        return "manifest"
    if (folder / "metadata" / "UrbanSound8K.csv").is_file():
        return "urbansound"
    return "speech-commands"


def load_corpus(folder: Path | str, layout: str = "auto") -> Corpus:
    """Index a corpus with one class per word folder / sound class / manifest label.

    ``layout`` is one of :data:`LAYOUTS` or ``auto``.
    """
    folder = Path(folder)
    if layout == "auto":
        layout = detect_layout(folder)
    if layout == "speech-commands":
        from edgekit.data.speech_commands import load_speech_commands

        return load_speech_commands(folder, task="all")
    if layout == "urbansound":
        from edgekit.data.urbansound import load_urbansound

        return load_urbansound(folder)
    if layout == "manifest":
        from edgekit.data.csv_corpus import load_csv_corpus

        return load_csv_corpus(folder)
    raise ConfigError(f"layout must be one of {[*LAYOUTS, 'auto']}, got {layout!r}")


def load_task(
    folder: Path | str,
    task: str = "all",
    keywords: Sequence[str] = CORE_KEYWORDS,
    exclude_words: Iterable[str] = (),
    seed: int = 0,
    unknown_fraction: float | None = 0.1,
    layout: str = "auto",
) -> Corpus:
    """Index a corpus of any layout for a task: ``all`` (one class per label) or ``keywords``.

    The keyword task's classes are ``keywords``, ``_silence_`` (only where the corpus has such
    clips, or cuts them from Speech Commands background noise) and ``_unknown_``: a corpus'
    own ``_unknown_`` clips as they are, else every other label's clips, subsampled in each split
    to ``unknown_fraction`` of its keyword clips (``None``: all of them), drawn with ``seed``.
    ``exclude_words`` (labels, or ``_silence_`` / ``_unknown_``) leave the corpus entirely
    before anything is counted: no class, no clip.
    """
    if task not in TASKS:
        raise ConfigError(f"task must be one of {list(TASKS)}, got {task!r}")
    folder = Path(folder)
    if layout == "auto":
        layout = detect_layout(folder)
    excluded = tuple(dict.fromkeys(exclude_words))
    if layout == "speech-commands":  # its own rules: list files, background noise
        from edgekit.data.speech_commands import load_speech_commands

        return load_speech_commands(
            folder,
            task=task,  # type: ignore[arg-type]
            keywords=tuple(keywords),
            unknown_fraction=unknown_fraction,
            seed=seed,
            exclude_words=excluded,
        )
    corpus = load_corpus(folder, layout)
    strangers = [w for w in excluded if w not in corpus.labels and w not in (SILENCE, UNKNOWN)]
    if strangers:
        raise ConfigError(
            f"words to leave out {strangers} are not labels of {corpus.root}; found "
            f"{list(corpus.labels)}"
        )
    corpus = corpus.subset(exclude_words=excluded)
    if not corpus.labels:
        raise ConfigError(f"every label of {corpus.root} is left out: no class remains")
    if task == "all":
        return corpus
    return _keyword_task(corpus, keywords, excluded, seed, unknown_fraction)


def _keyword_task(
    corpus: Corpus,
    keywords: Sequence[str],
    excluded: Sequence[str],
    seed: int,
    unknown_fraction: float | None,
) -> Corpus:
    """The keyword task over a corpus whose classes are its labels (see :func:`load_task`)."""
    keywords = tuple(k for k in dict.fromkeys(keywords) if k not in excluded)
    if not keywords:
        raise ConfigError("the keyword task needs at least one keyword that is not left out")
    absent = [k for k in keywords if k not in corpus.labels]
    if absent:
        raise KeywordsNotFound(corpus.root, absent, list(corpus.labels), kind="labels")
    by_label: dict[str, list[ClipRef]] = defaultdict(list)
    for clip in corpus.clips:
        by_label[clip.label].append(clip)
    clips = [c for k in keywords for c in by_label[k]]
    per_split: dict[str, int] = defaultdict(int)
    for clip in clips:
        per_split[clip.split] += 1
    if UNKNOWN in corpus.labels:  # the corpus' own unknown clips, as they are
        clips.extend(by_label[UNKNOWN])
    elif UNKNOWN not in excluded:
        pools: dict[str, list[ClipRef]] = defaultdict(list)
        for clip in corpus.clips:
            if clip.label not in keywords and clip.label != SILENCE:
                word = clip.word or clip.label
                pools[clip.split].append(replace(clip, label=UNKNOWN, word=word))
        rng = random.Random(seed)
        for split in sorted(pools):
            pool = natural_order(pools[split])
            if unknown_fraction is not None:
                wanted = math.ceil(per_split[split] * unknown_fraction)
                pool = natural_order(rng.sample(pool, min(len(pool), wanted)))
            clips.extend(pool)
    clips.extend(by_label[SILENCE])
    labels = [*keywords, *(x for x in (SILENCE, UNKNOWN) if x in corpus.labels)]
    if UNKNOWN not in labels and UNKNOWN not in excluded:
        labels.append(UNKNOWN)
    return replace(corpus, clips=tuple(clips), labels=tuple(labels))


def load_for_labels(folder: Path | str, labels: Sequence[str], seed: int = 0) -> Corpus:
    """Index a corpus of any layout with the classes of a model or bundle: the corpus' classes
    are ``labels``, in their order, so that clip label indices are indices into them.

    Speech Commands: labels that include ``_unknown_`` / ``_silence_`` mean the keyword task
    over the other labels; otherwise one class per folder, restricted to ``labels``. Other
    layouts: clips of the labels keep them; clips of other labels become ``_unknown_`` when it
    is among ``labels`` (all of them, ``_silence_`` clips aside), else are left out.
    """
    labels = list(labels)
    folder = Path(folder)
    layout = detect_layout(folder)
    if layout == "speech-commands":
        return _speech_commands_for_labels(folder, labels, seed)
    base = load_corpus(folder, layout)
    if UNKNOWN in labels and UNKNOWN not in base.labels:
        clips = [
            c if c.label in labels else replace(c, label=UNKNOWN, word=c.word or c.label)
            for c in base.clips
            if c.label in labels or c.label != SILENCE
        ]
        base = replace(base, clips=tuple(clips))
    corpus = base.subset(labels=labels)
    if not corpus.clips:
        raise CorpusLayoutError(
            f"no clips of the classes {labels} in {folder}; its labels are {list(base.labels)}"
        )
    return corpus


def _speech_commands_for_labels(folder: Path, labels: list[str], seed: int) -> Corpus:
    from edgekit.data.speech_commands import load_speech_commands

    if UNKNOWN in labels or SILENCE in labels:
        keywords = tuple(x for x in labels if x not in (UNKNOWN, SILENCE))
        absent = [x for x in (SILENCE, UNKNOWN) if x not in labels]  # a class left out
        corpus = load_speech_commands(
            folder, task="keywords", keywords=keywords, seed=seed, exclude_words=absent
        )
        missing = [x for x in corpus.labels if x not in labels]
        if missing:
            raise CorpusLayoutError(f"the corpus has classes {missing} that are not in {labels}")
        return corpus.subset(labels=labels)  # the classes in the order of ``labels``
    corpus = load_speech_commands(folder, task="all").subset(labels=labels)
    if not corpus.clips:
        raise CorpusLayoutError(f"no clips of the classes {labels} in {folder}")
    return corpus
