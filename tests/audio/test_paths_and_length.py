"""Paths that are not audio files, batches with bad files, and reads bounded by the clip length."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edgekit.audio.io import (
    MAX_AUDIO_SECONDS,
    fit_length,
    read_audio,
    read_clip,
    read_clips,
    write_wav,
)
from edgekit.audio.window import read_windows_lenient
from edgekit.errors import AudioFormatError
from tests.conftest import tone


def _bad_path(tmp_path: Path, kind: str) -> Path:
    """A path named like audio that is not a readable audio file, made on disk."""
    path = tmp_path / f"{kind}.wav"
    if kind == "folder":
        path.mkdir()
    elif kind == "broken_link":
        path.symlink_to(tmp_path / "gone.wav")
    elif kind == "self_loop":
        path.symlink_to(path)
    elif kind == "two_link_loop":
        other = tmp_path / "other.wav"
        path.symlink_to(other)
        other.symlink_to(path)
    elif kind == "fifo":  # opening a pipe for reading would block until a writer came
        os.mkfifo(path)
    return path  # "missing": nothing is made


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("folder", "is a folder, not an audio file"),
        ("missing", "no such file"),
        ("broken_link", "broken link"),
        ("self_loop", "link loop"),
        ("two_link_loop", "link loop"),
        ("fifo", "not a regular file"),
    ],
)
def test_a_path_that_is_not_a_file_says_why(tmp_path: Path, kind: str, reason: str) -> None:
    path = _bad_path(tmp_path, kind)
    for read in (lambda: read_audio(path), lambda: read_clips([path], 16_000)):
        with pytest.raises(AudioFormatError, match=reason) as info:
            read()
        assert info.value.path == path and info.value.reason.startswith(reason)


def test_a_broken_link_names_its_target(tmp_path: Path) -> None:
    path = _bad_path(tmp_path, "broken_link")
    with pytest.raises(AudioFormatError) as info:
        read_audio(path)
    assert str(tmp_path / "gone.wav") in info.value.reason


def test_lenient_batch_keeps_the_good_files_in_order(tmp_path: Path) -> None:
    write_wav(tmp_path / "a.wav", tone(300), 16_000)
    write_wav(tmp_path / "c.wav", tone(900, seconds=0.5), 16_000)  # padded to 1 s
    (tmp_path / "empty.wav").write_bytes(b"")
    files = [
        tmp_path / "a.wav",
        _bad_path(tmp_path, "folder"),
        tmp_path / "empty.wav",
        tmp_path / "c.wav",
        tmp_path / "missing.wav",
    ]
    pcm, owner, kept, failures = read_windows_lenient(files, 16_000, 16_000, "first")
    assert pcm.shape == (2, 16_000) and pcm.dtype == np.float32
    assert owner.tolist() == [0, 1]
    assert kept == [tmp_path / "a.wav", tmp_path / "c.wav"]
    np.testing.assert_array_equal(pcm[1, 8_000:], 0)  # the 0.5 s clip, zero-padded
    assert [(f.path.name, f.reason.split(" (")[0]) for f in failures] == [
        ("folder.wav", "is a folder, not an audio file"),
        ("empty.wav", "unreadable audio"),
        ("missing.wav", "no such file"),
    ]
    # the strict reader stops at the first bad file
    with pytest.raises(AudioFormatError, match="folder"):
        read_clips(files, 16_000)


def test_lenient_batch_with_no_good_file_is_empty(tmp_path: Path) -> None:
    pcm, _, kept, failures = read_windows_lenient([tmp_path / "x.wav"], 16_000, 16_000, "first")
    assert pcm.shape == (0, 16_000) and kept == [] and len(failures) == 1


def test_a_long_file_is_refused_whole_and_read_only_as_far_as_a_clip(tmp_path: Path) -> None:
    # 20 minutes at 8 kHz (twice the whole-read limit): a 300 Hz tone for the first 2 s, NaN
    # after. A reader that decoded past 2 s would fail on the NaN, so reading the first 1 s clip
    # (8_256 frames at 8 kHz with the resampler's margin) shows the read stopped early.
    rate, seconds = 8_000, 20 * 60
    pcm = np.full(rate * seconds, np.nan, dtype=np.float32)
    pcm[: 2 * rate] = tone(300, 2.0, rate)
    path = tmp_path / "long.wav"
    sf.write(path, pcm, rate, subtype="FLOAT")
    del pcm

    with pytest.raises(AudioFormatError, match=f"limit is {MAX_AUDIO_SECONDS:g} s"):
        read_audio(path)
    clip = read_clips([path], 16_000)[0]
    assert clip.shape == (16_000,) and np.isfinite(clip).all()
    assert int(np.abs(np.fft.rfft(clip)).argmax()) == 300  # 1 Hz bins over 1 s: the tone
    segment = read_audio(path, duration_seconds=1.5)  # a segment of a long file is allowed
    assert segment.shape == (24_000,)
    with pytest.raises(AudioFormatError, match="NaN"):  # the NaN is there, once read
        read_clip(path, 16_000, offset_seconds=3.0)


@pytest.mark.parametrize("rate", [8_000, 44_100, 48_000])
def test_a_bounded_clip_matches_the_whole_file_cropped(tmp_path: Path, rate: int) -> None:
    # 3 s of noise: the resampler's margin makes the first second the same as resampling all 3 s
    noise = 0.1 * np.random.default_rng(rate).standard_normal(3 * rate).astype(np.float32)
    sf.write(tmp_path / "n.wav", noise, rate, subtype="FLOAT")
    whole = fit_length(read_audio(tmp_path / "n.wav"), 16_000)
    np.testing.assert_allclose(read_clip(tmp_path / "n.wav", 16_000), whole, atol=1e-6)
