"""Finding the word in a recording longer than the clip: first, energy, all-windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgekit.audio.io import read_clip, write_wav
from edgekit.audio.window import (
    check_clip_window,
    loudest_start,
    read_windows,
    read_windows_lenient,
    word_windows,
)
from edgekit.errors import ConfigError
from tests.conftest import tone

RATE = 16_000


def recording(word_at: float, seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """Quiet room noise with a 0.4 s 'word' (a 700 Hz tone) starting at ``word_at`` seconds."""
    rng = np.random.default_rng(seed)
    pcm = (0.003 * rng.standard_normal(round(seconds * RATE))).astype(np.float32)
    word = tone(700.0, 0.4, amp=0.3)
    start = round(word_at * RATE)
    pcm[start : start + len(word)] += word
    return pcm


@pytest.mark.parametrize("word_at", [0.0, 0.55, 1.2, 1.6])
def test_energy_window_holds_the_whole_word_centred(word_at: float) -> None:
    pcm = recording(word_at)
    start = loudest_start(pcm, RATE)
    centre = (word_at + 0.2) * RATE
    assert start <= word_at * RATE and start + RATE >= (word_at + 0.4) * RATE
    if 0.3 <= word_at <= 1.3:  # room on both sides: the word sits in the middle
        assert abs(start + RATE / 2 - centre) <= 0.02 * RATE


def test_energy_prefers_the_word_over_a_louder_low_rumble() -> None:
    pcm = recording(1.4)
    t = np.arange(RATE // 2) / RATE
    pcm[: RATE // 2] += (0.5 * np.sin(2 * np.pi * 20.0 * t)).astype(np.float32)  # 20 Hz, loud
    start = loudest_start(pcm, RATE)
    assert start + RATE >= 1.8 * RATE


def test_policies_cut_what_they_say() -> None:
    pcm = recording(1.2)
    first = word_windows(pcm, RATE, "first")
    np.testing.assert_array_equal(first, pcm[None, :RATE])
    energy = word_windows(pcm, RATE, "energy")
    assert energy.shape == (1, RATE)
    every = word_windows(pcm, RATE, "all-windows")
    assert every.shape[1] == RATE and 1 <= len(every) <= 5
    assert any(np.array_equal(w, energy[0]) for w in every) or len(every) > 1
    loud = (every.astype(np.float64) ** 2).sum(axis=1)
    assert loud.min() >= 0.4 * loud.max()  # each kept window holds much of the word


def test_a_short_file_is_the_same_clip_under_every_policy() -> None:
    pcm = recording(0.1, seconds=0.7)
    clips = [word_windows(pcm, RATE, p) for p in ("first", "energy", "all-windows")]
    for clip in clips:
        np.testing.assert_array_equal(clip, clips[0])
        assert clip.shape == (1, RATE)


def test_read_windows_from_files(tmp_path: Path) -> None:
    good = tmp_path / "word.wav"
    write_wav(good, recording(1.3), RATE)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    np.testing.assert_array_equal(read_windows(good, RATE, RATE, "first")[0], read_clip(good, RATE))
    energy = read_windows(good, RATE, RATE, "energy")
    assert energy.shape == (1, RATE) and np.abs(energy).max() > 0.2
    pcm, owner, kept, failures = read_windows_lenient([good, bad, good], RATE, RATE, "all-windows")
    assert kept == [good, good] and len(failures) == 1 and failures[0].path == bad
    assert len(pcm) == len(owner) and set(owner.tolist()) == {0, 1}


def test_an_unknown_policy_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="first, energy, all-windows"):
        check_clip_window("middle")
