"""The UrbanSound8K loader on small hand-made folders in its layout, bad files included."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edgekit.audio.config import FrontendConfig
from edgekit.audio.io import write_wav
from edgekit.data.urbansound import (
    MISSING_FILE,
    REQUIRED_COLUMNS,
    US8K_CLASSES,
    fold_splits,
    load_urbansound,
)
from edgekit.errors import ConfigError, CorpusLayoutError
from tests.conftest import tone

CONFIG = FrontendConfig(clip_seconds=4.0)


def _write_csv(
    root: Path, rows: list[list[object]], header: tuple[str, ...] = REQUIRED_COLUMNS
) -> None:
    path = root / "metadata" / "UrbanSound8K.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _row(name: str, fs_id: int, fold: int, class_id: int, label: str) -> list[object]:
    return [name, fs_id, 0.0, 4.0, 1, fold, class_id, label]


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """Three folds of the real classes 1, 3 and 8, mixed formats, four bad files, one missing."""
    audio = tmp_path / "audio"
    rows = []
    for fold, (fs_id, class_id) in enumerate([(100, 1), (200, 3), (300, 8)], start=1):
        for n in range(2):
            name = f"{fs_id}-{class_id}-0-{n}.wav"
            write_wav(audio / f"fold{fold}" / name, tone(300 + 100 * n, 4.0, 22_050), 22_050)
            rows.append(_row(name, fs_id, fold, class_id, US8K_CLASSES[class_id]))
    # formats a reader must cope with: 8 kHz stereo (2.5 s, padded) and an upper-case .FLAC
    stereo = np.stack([tone(440, 2.5, 8_000), tone(440, 2.5, 8_000, amp=0.1)], axis=1)
    sf.write(audio / "fold1" / "400-3-0-0.wav", stereo, 8_000)
    sf.write(audio / "fold2" / "500-8-0-0.FLAC", tone(700, 5.0, 44_100), 44_100, format="FLAC")
    rows += [
        _row("400-3-0-0.wav", 400, 1, 3, "dog_bark"),
        _row("500-8-0-0.FLAC", 500, 2, 8, "siren"),
    ]
    # bad files: random bytes, zero bytes, NaN samples; and a row without its file
    (audio / "fold1" / "600-1-0-0.wav").write_bytes(np.random.default_rng(0).bytes(2_000))
    (audio / "fold2" / "700-1-0-0.wav").write_bytes(b"")
    nan = tone(440, 1.0, 22_050)
    nan[500] = np.nan
    sf.write(audio / "fold3" / "800-3-0-0.wav", nan, 22_050, subtype="FLOAT")
    rows += [
        _row("600-1-0-0.wav", 600, 1, 1, "car_horn"),
        _row("700-1-0-0.wav", 700, 2, 1, "car_horn"),
        _row("800-3-0-0.wav", 800, 3, 3, "dog_bark"),
        _row("900-8-0-0.wav", 900, 3, 8, "siren"),
    ]
    _write_csv(tmp_path, rows)
    return tmp_path


def test_index_maps_rows_to_clips(corpus_dir: Path) -> None:
    corpus = load_urbansound(corpus_dir)

    assert corpus.labels == ("car_horn", "dog_bark", "siren")  # by classID: 1, 3, 8
    assert len(corpus) == 11  # 12 rows, one file missing
    clip = next(c for c in corpus.clips if c.path.name == "200-3-0-1.wav")
    assert (clip.label, clip.speaker, clip.split) == ("dog_bark", "200", "fold2")
    assert clip.path == corpus_dir / "audio" / "fold2" / "200-3-0-1.wav"
    assert corpus.counts()["fold1"] == {"car_horn": 3, "dog_bark": 1}


def test_missing_file_is_counted_not_dropped(corpus_dir: Path) -> None:
    corpus = load_urbansound(corpus_dir)

    missing = corpus_dir / "audio" / "fold3" / "900-8-0-0.wav"
    assert [(s.path, s.reason) for s in corpus.skipped] == [(missing, MISSING_FILE)]
    assert "missing" in MISSING_FILE and "UrbanSound8K.csv" in MISSING_FILE


def test_load_reports_every_bad_file_and_decodes_the_rest(corpus_dir: Path) -> None:
    clips = load_urbansound(corpus_dir).load(CONFIG, progress=False)

    reasons = {f.path.name: f.reason for f in clips.failures}
    assert set(reasons) == {"600-1-0-0.wav", "700-1-0-0.wav", "800-3-0-0.wav", "900-8-0-0.wav"}
    assert "unreadable" in reasons["600-1-0-0.wav"]
    assert "unreadable" in reasons["700-1-0-0.wav"]  # 0 bytes: not even a header
    assert "NaN" in reasons["800-3-0-0.wav"]
    assert reasons["900-8-0-0.wav"] == MISSING_FILE
    assert all(f.path.is_absolute() for f in clips.failures)
    # the good ones: 6 tones + 8 kHz stereo + FLAC, as 16 kHz mono float32 of 4 s
    assert len(clips) == 8
    assert clips.audio.dtype == np.float32 and clips.audio.shape == (8, 64_000)
    stereo = clips.audio[[p.name for p in clips.paths].index("400-3-0-0.wav")]
    assert 0.18 < np.abs(stereo[1_000:39_000]).max() < 0.22  # mono mix of 0.3 and 0.1 tones
    assert not stereo[40_500:].any()  # 2.5 s, zero-padded to 4 s
    flac = clips.audio[[p.name for p in clips.paths].index("500-8-0-0.FLAC")]
    assert abs(int(np.abs(np.fft.rfft(flac)).argmax()) / 4 - 700) <= 1  # cropped 5 s -> 4 s
    assert clips.label_names == ("car_horn", "dog_bark", "siren")


def test_fold_splits_follow_the_protocol(corpus_dir: Path) -> None:
    corpus = load_urbansound(corpus_dir)

    for fold in (1, 2, 3):
        train, test = fold_splits(corpus, fold)
        assert {c.split for c in test.clips} == {f"fold{fold}"}
        assert f"fold{fold}" not in {c.split for c in train.clips}
        assert len(train) + len(test) == len(corpus)
        assert not {c.speaker for c in train.clips} & {c.speaker for c in test.clips}
        assert train.labels == test.labels == corpus.labels
    # the missing file (fold 3) follows its fold
    assert len(fold_splits(corpus, 3)[1].skipped) == 1 and not fold_splits(corpus, 3)[0].skipped
    with pytest.raises(ConfigError, match=r"test_fold must be one of .*\[1, 2, 3\], got 4"):
        fold_splits(corpus, 4)


def test_other_class_names_and_ids_work(tmp_path: Path) -> None:
    rows = []
    for fs_id, (class_id, label) in enumerate(
        [(7, "tram"), (2, "rain"), (7, "bell"), (40, "wind")]
    ):
        name = f"{fs_id}.wav"
        write_wav(tmp_path / "audio" / "fold5" / name, tone(200 + 50 * fs_id), 16_000)
        rows.append(_row(name, fs_id, 5, class_id, label))
    write_wav(tmp_path / "audio" / "fold9" / "9.wav", tone(900), 16_000)
    rows.append(_row("9.wav", 9, 9, 2, "rain"))
    _write_csv(tmp_path, rows)

    corpus = load_urbansound(tmp_path)

    assert corpus.labels == ("rain", "bell", "tram", "wind")  # classID, then name
    clips = corpus.load(FrontendConfig(clip_seconds=1.0), progress=False)
    assert len(clips) == 5 and not clips.failures
    train, test = fold_splits(corpus, 9)
    assert len(train) == 4 and [c.label for c in test.clips] == ["rain"]


@pytest.mark.parametrize(
    ("present", "missing"),
    [
        ("audio", "metadata/UrbanSound8K.csv not found"),
        ("csv", "audio/ not found"),
        ("", "metadata/UrbanSound8K.csv and audio/ not found"),
    ],
)
def test_folder_not_in_layout_names_what_is_missing(
    tmp_path: Path, present: str, missing: str
) -> None:
    if present == "audio":
        (tmp_path / "audio").mkdir()
    if present == "csv":
        _write_csv(tmp_path, [_row("a.wav", 1, 1, 0, "air_conditioner")])

    with pytest.raises(CorpusLayoutError, match=missing) as info:
        load_urbansound(tmp_path)
    assert str(tmp_path) in str(info.value) and "expected the UrbanSound8K layout" in str(
        info.value
    )


def test_csv_missing_columns_names_them(tmp_path: Path) -> None:
    (tmp_path / "audio").mkdir()
    header = tuple(c for c in REQUIRED_COLUMNS if c not in ("fold", "classID"))
    _write_csv(tmp_path, [["a.wav", 1, 0, 4, 1, "dog_bark"]], header=header)

    with pytest.raises(CorpusLayoutError, match="lacks the columns fold, classID"):
        load_urbansound(tmp_path)


def test_malformed_rows_are_one_error_naming_them(tmp_path: Path) -> None:
    (tmp_path / "audio").mkdir()
    rows = [
        _row("a.wav", 1, 1, 3, "dog_bark"),
        ["b.wav", 1, 0, 4, 1, "x", 3, "dog_bark"],
        _row("../c.wav", 1, 1, 3, "dog_bark"),
        _row("d.wav", 1, 1, 4, "dog_bark"),
        _row("a.wav", 1, 1, 3, "dog_bark"),
    ]
    _write_csv(tmp_path, rows)

    with pytest.raises(CorpusLayoutError, match="4 malformed rows") as info:
        load_urbansound(tmp_path)
    message = str(info.value)
    assert "line 3: fold must be an integer, got 'x'" in message
    assert "line 4: slice_file_name must be a plain file name, got '../c.wav'" in message
    assert "line 5: class 'dog_bark' has classID 4, but classID 3 on an earlier line" in message
    assert "line 6: fold1/a.wav is listed again (line 2)" in message


def test_csv_without_rows_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "audio").mkdir()
    _write_csv(tmp_path, [])

    with pytest.raises(CorpusLayoutError, match="lists no clips"):
        load_urbansound(tmp_path)
