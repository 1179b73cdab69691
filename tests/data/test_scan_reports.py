"""Corpus scans name the entries that look like audio but are not files, and never hang."""

from __future__ import annotations

import csv
from pathlib import Path

from edgekit.audio.io import write_wav
from edgekit.data.speech_commands import load_speech_commands
from edgekit.data.urbansound import (
    MISSING_FILE,
    REQUIRED_COLUMNS,
    UNUSABLE_FILE,
    load_urbansound,
)
from tests.conftest import tone
from tests.data.sc_fixture import make_speech_commands


def _plant_bad_entries(folder: Path) -> dict[str, Path]:
    """A folder named like audio, a broken link, a link loop, and a link to the parent folder
    (which a recursive scan would follow for ever)."""
    entries = {
        "folder": folder / "zz00_nohash_0.wav",
        "broken": folder / "zz00_nohash_1.wav",
        "loop": folder / "zz00_nohash_2.wav",
    }
    entries["folder"].mkdir()
    entries["broken"].symlink_to(folder / "deleted.wav")
    entries["loop"].symlink_to(entries["loop"])
    (folder / "up").symlink_to(folder.parent, target_is_directory=True)
    return entries


def test_speech_commands_scan_reports_bad_entries(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path / "c", {"yes": 1, "no": 1})
    bad = _plant_bad_entries(root / "yes")
    noise_folder = root / "_background_noise_" / "fan.wav"
    noise_folder.mkdir()

    corpus = load_speech_commands(root, task="all")
    assert len(corpus) == 8  # 2 words x 4 speakers x 1 clip: the bad entries are not clips
    reasons = {s.path: s.reason for s in corpus.skipped}
    assert reasons == {
        bad["folder"]: "is a folder, not an audio file",
        bad["broken"]: f"broken link (it points to {root / 'yes' / 'deleted.wav'}, which does "
        "not exist)",
        bad["loop"]: "link loop (a symbolic link that leads back to itself)",
    }
    # the keyword task cuts silence from the noise folder: its fake file is reported too
    keywords = load_speech_commands(root, keywords=("yes",))
    assert {s.path for s in keywords.skipped} == {*bad.values(), noise_folder}
    # loading carries the scan's reports into the failures
    clips = corpus.load(progress=False)
    assert len(clips) == 8 and {f.path for f in clips.failures} == set(bad.values())


def test_urbansound_names_why_a_listed_file_is_not_usable(tmp_path: Path) -> None:
    fold = tmp_path / "audio" / "fold1"
    write_wav(fold / "1-1-0-0.wav", tone(300), 16_000)
    (fold / "2-1-0-0.wav").mkdir()
    (fold / "3-1-0-0.wav").symlink_to(fold / "3-1-0-0.wav")
    (tmp_path / "metadata").mkdir()
    with (tmp_path / "metadata" / "UrbanSound8K.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REQUIRED_COLUMNS)
        for n in (1, 2, 3, 4):  # 4-1-0-0.wav is not there at all
            writer.writerow([f"{n}-1-0-0.wav", n, 0.0, 1.0, 1, 1, 1, "car_horn"])

    corpus = load_urbansound(tmp_path)
    assert [c.path.name for c in corpus.clips] == ["1-1-0-0.wav"]
    assert {s.path.name: s.reason for s in corpus.skipped} == {
        "2-1-0-0.wav": f"{UNUSABLE_FILE}: is a folder, not an audio file",
        "3-1-0-0.wav": f"{UNUSABLE_FILE}: link loop (a symbolic link that leads back to itself)",
        "4-1-0-0.wav": MISSING_FILE,
    }
