"""The audio policy: formats, rates, channels, lengths, and bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edgekit.audio.io import fit_length, is_audio_file, read_audio, split_windows, write_wav
from edgekit.errors import AudioFormatError
from tests.conftest import tone


def test_stereo_8k_is_mono_16k(tmp_path: Path) -> None:
    left, right = tone(440, rate=8_000), tone(440, rate=8_000, amp=0.1)
    sf.write(tmp_path / "s.wav", np.stack([left, right], axis=1), 8_000, subtype="PCM_24")
    pcm = read_audio(tmp_path / "s.wav")
    assert pcm.dtype == np.float32 and pcm.ndim == 1 and pcm.shape[0] == 16_000
    # the mono mix of 0.3 and 0.1 amplitude tones peaks near 0.2
    assert 0.18 < np.abs(pcm[100:-100]).max() < 0.22


def test_flac_upper_case_extension_and_44k(tmp_path: Path) -> None:
    path = tmp_path / "clip.FLAC"
    sf.write(path, tone(1_000, rate=44_100), 44_100, format="FLAC")
    assert is_audio_file(path)
    pcm = read_audio(path)
    assert pcm.shape[0] == 16_000
    spectrum = np.abs(np.fft.rfft(pcm))
    assert abs(int(spectrum.argmax()) - 1_000) <= 1  # 1 Hz bins over 1 s


def test_resampled_matches_its_16k_twin(tmp_path: Path) -> None:
    sf.write(tmp_path / "a.wav", tone(440, rate=44_100), 44_100)
    sf.write(tmp_path / "b.wav", tone(440), 16_000, subtype="FLOAT")
    a, b = read_audio(tmp_path / "a.wav"), read_audio(tmp_path / "b.wav")
    np.testing.assert_allclose(a[200:-200], b[200:-200], atol=2e-3)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "unreadable"),
        (b"RIFF\x00\x00garbage-not-a-wav" * 10, "unreadable"),
    ],
)
def test_bad_bytes_raise_naming_the_file(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioFormatError, match=reason) as info:
        read_audio(path)
    assert info.value.path == path and "bad.wav" in str(info.value)


def test_nan_and_inf_are_rejected(tmp_path: Path) -> None:
    for bad in (np.nan, np.inf):
        pcm = tone(440)
        pcm[100] = bad
        sf.write(tmp_path / "x.wav", pcm, 16_000, subtype="FLOAT")
        with pytest.raises(AudioFormatError, match="NaN or Inf"):
            read_audio(tmp_path / "x.wav")


def test_zero_sample_file_is_empty(tmp_path: Path) -> None:
    sf.write(tmp_path / "e.wav", np.zeros(0, dtype=np.float32), 16_000)
    with pytest.raises(AudioFormatError, match="empty"):
        read_audio(tmp_path / "e.wav")


def test_fit_length_pads_and_crops() -> None:
    x = np.arange(10, dtype=np.float32)
    assert fit_length(x, 4).tolist() == [0, 1, 2, 3]
    assert fit_length(x, 12).tolist() == [*range(10), 0, 0]


def test_split_windows_covers_the_signal() -> None:
    x = np.arange(25, dtype=np.float32)
    w = split_windows(x, 10)
    assert w.shape == (3, 10)
    assert w[2].tolist() == [20, 21, 22, 23, 24, 0, 0, 0, 0, 0]
    assert split_windows(x[:4], 10).shape == (1, 10)


def test_write_wav_is_atomic_and_leaves_no_temp(tmp_path: Path) -> None:
    write_wav(tmp_path / "out.wav", tone(440), 16_000)
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]
    with pytest.raises(Exception):  # noqa: B017 - any libsndfile error
        write_wav(tmp_path / "out.wav", np.zeros((2, 2, 2)), 16_000)
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]
    assert sf.info(str(tmp_path / "out.wav")).frames == 16_000


def test_written_files_get_the_usual_mode(tmp_path: Path) -> None:
    import os

    write_wav(tmp_path / "m.wav", tone(440), 16_000)
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "m.wav").stat().st_mode & 0o777 == 0o666 & ~mask
