"""Build tiny manifest corpora (a manifest.csv and real audio files) for the loader tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def tone_file(path: Path, freq: float = 440.0, seconds: float = 0.25) -> Path:
    """A short FLAC tone at 16 kHz (decoding pads it to a clip)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(round(seconds * 16_000)) / 16_000
    sf.write(path, (0.2 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 16_000)
    return path


def make_manifest(
    root: Path,
    words: tuple[str, ...] = ("yes", "no", "cat"),
    speakers: tuple[str, ...] = ("s1", "s2"),
    per_speaker: int = 3,
    header: str = "path,speaker,label",
    split_of: dict[str, str] | None = None,
) -> Path:
    """``<root>/<speaker>/<speaker>-<word>-<n>.flac`` for each speaker, word and n (1-based),
    listed in ``<root>/manifest.csv`` speaker by speaker, with ``header``'s columns (``split``
    from ``split_of[speaker]`` when the header names it)."""
    columns = header.split(",")
    lines = [header]
    for s in speakers:
        for w_index, word in enumerate(words):
            for n in range(1, per_speaker + 1):
                rel = f"{s}/{s}-{word}-{n}.flac"
                tone_file(root / rel, 300.0 + 100 * w_index)
                value = {"path": rel, "speaker": s, "label": word}
                value["split"] = (split_of or {}).get(s, "train")
                lines.append(",".join(value[c] for c in columns))
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    return root
