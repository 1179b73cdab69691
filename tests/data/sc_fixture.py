"""Build tiny folders in the Speech Commands layout, with real WAV/FLAC files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from edgekit.audio.io import write_wav


def make_speech_commands(
    root: Path,
    words: dict[str, int],
    speakers: tuple[str, ...] = ("aa11", "bb22", "cc33", "dd44"),
    lists: bool = True,
    noise_seconds: float = 5.0,
    step_hz: float = 50.0,
) -> Path:
    """``words`` maps a folder name to clips per speaker; speaker dd44 is test, cc33 validation.

    Word i is a tone of ``200 + i * step_hz`` Hz.
    """
    rng = np.random.default_rng(0)
    val, test = [], []
    for w_index, (word, per_speaker) in enumerate(words.items()):
        for s in speakers:
            for n in range(per_speaker):
                pcm = 0.2 * np.sin(
                    2 * np.pi * (200 + step_hz * w_index) * np.arange(16_000) / 16_000
                )
                rel = f"{word}/{s}_nohash_{n}.wav"
                write_wav(root / rel, pcm.astype(np.float32), 16_000)
                if s == "cc33":
                    val.append(rel)
                if s == "dd44":
                    test.append(rel)
    if lists:
        (root / "validation_list.txt").write_text("\n".join(val) + "\n")
        (root / "testing_list.txt").write_text("\n".join(test) + "\n")
    if noise_seconds:
        noise = 0.1 * rng.standard_normal(round(noise_seconds * 16_000)).astype(np.float32)
        write_wav(root / "_background_noise_" / "white_noise.wav", noise, 16_000)
    return root


def add_odd_files(root: Path, word: str) -> dict[str, Path]:
    """A corrupt, an empty, a NaN, an 8 kHz stereo, a FLAC and an off-pattern file in ``word``."""
    folder = root / word
    t = np.arange(8_000) / 8_000
    files = {
        "corrupt": folder / "ee55_nohash_0.wav",
        "empty": folder / "ee55_nohash_1.wav",
        "nan": folder / "ee55_nohash_2.wav",
        "stereo8k": folder / "ee55_nohash_3.wav",
        "flac": folder / "ee55_nohash_4.FLAC",
        "odd_name": folder / "recording-from-phone.wav",
    }
    files["corrupt"].write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage" * 8)
    files["empty"].write_bytes(b"")
    nan = np.full(16_000, 0.1, dtype=np.float32)
    nan[5] = np.nan
    sf.write(files["nan"], nan, 16_000, subtype="FLOAT")
    stereo = np.stack([0.3 * np.sin(2 * np.pi * 300 * t)] * 2, axis=1)
    sf.write(files["stereo8k"], stereo, 8_000)
    sf.write(files["flac"], 0.3 * np.sin(2 * np.pi * 300 * np.arange(16_000) / 16_000), 16_000)
    write_wav(files["odd_name"], np.full(12_000, 0.05, dtype=np.float32), 16_000)
    return files
