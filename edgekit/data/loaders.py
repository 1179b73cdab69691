"""Pick the right loader for a folder by its layout."""

from __future__ import annotations

from pathlib import Path

from edgekit.data.corpus import Corpus
from edgekit.errors import CorpusLayoutError

__all__ = ["LAYOUTS", "detect_layout", "load_corpus"]

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
    raise ValueError(f"layout must be one of {[*LAYOUTS, 'auto']}, got {layout!r}")
