"""Pick the right loader for a folder by its layout."""

from __future__ import annotations

from pathlib import Path

from edgekit.data.corpus import Corpus
from edgekit.errors import ConfigError, CorpusLayoutError

__all__ = ["LAYOUTS", "detect_layout", "load_corpus", "load_for_labels"]

LAYOUTS = ("speech-commands", "urbansound")


def detect_layout(folder: Path) -> str:
    """``urbansound`` when ``metadata/UrbanSound8K.csv`` exists, else ``speech-commands``."""
    if not folder.is_dir():
        raise CorpusLayoutError(f"{folder} is not a folder")
    if (folder / "metadata" / "UrbanSound8K.csv").is_file():
        return "urbansound"
    return "speech-commands"


def load_corpus(folder: Path | str, layout: str = "auto") -> Corpus:
    """Index a corpus folder with one class per word folder / sound class.

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
    raise ConfigError(f"layout must be one of {[*LAYOUTS, 'auto']}, got {layout!r}")


def load_for_labels(folder: Path | str, labels: list[str], seed: int = 0) -> Corpus:
    """Index a Speech Commands folder with the classes of a model or bundle.

    Labels that include ``_unknown_`` / ``_silence_`` mean the keyword task over the other
    labels; otherwise one class per folder, restricted to ``labels``. Either way the corpus'
    classes are ``labels``, in their order, so that clip label indices are indices into them.
    """
    from edgekit.data.speech_commands import SILENCE, UNKNOWN, load_speech_commands

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
