"""The synthetic keyword corpus: Speech Commands layout, speakers, splits, determinism, reuse.

These tests run the real espeak-ng and flite on tiny corpora (a few dozen clips each).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edgekit.data.generate_kws import (
    CORE_KEYWORDS,
    UNKNOWN_WORDS,
    CorpusExistsError,
    KwsCorpusConfig,
    assign_splits,
    generate_kws_corpus,
)
from edgekit.data.noise import (
    background_noises,
    brown_noise,
    pink_noise,
    place,
    scale_to_snr,
    trim_silence,
)
from edgekit.data.speakers import SPEAKERS, Speaker, SynthesisError, synth
from edgekit.errors import ConfigError, ToolMissingError

TINY = KwsCorpusConfig(n_speakers=4, reps=2, n_unknown_words=2, noise_seconds=3.0)
MICRO = KwsCorpusConfig(n_speakers=3, reps=1, n_unknown_words=1, noise_seconds=2.0)


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _speaker_of(relative: str) -> str:
    return Path(relative).name.split("_nohash_")[0]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_kws_corpus(tmp_path_factory.mktemp("kws") / "tiny", TINY, progress=False)


def test_layout_is_speech_commands_v2(tiny: Path) -> None:
    words = set(CORE_KEYWORDS) | set(UNKNOWN_WORDS[:2])
    folders = {p.name for p in tiny.iterdir() if p.is_dir()}
    assert folders == words | {"_background_noise_"}  # no _silence_, no .partial left
    assert not tiny.with_name("tiny.partial").exists()
    for word in words:
        reps = TINY.reps if word in CORE_KEYWORDS else TINY.unknown_reps
        names = sorted(p.name for p in (tiny / word).iterdir())
        expected = sorted(f"{s.id}_nohash_{r}.wav" for s in SPEAKERS[:4] for r in range(reps))
        assert names == expected
    for clip in tiny.glob("*/*_nohash_*.wav"):
        info = sf.info(str(clip))
        assert (info.samplerate, info.channels, info.frames) == (16_000, 1, 16_000)
        assert info.subtype == "PCM_16"
        pcm, _ = sf.read(str(clip), dtype="float32")
        assert 0.0 < np.max(np.abs(pcm)) < 1.0
    noises = sorted((tiny / "_background_noise_").glob("*.wav"))
    assert len(noises) >= 5
    for noise in noises:
        info = sf.info(str(noise))
        assert (info.samplerate, info.channels, info.frames) == (16_000, 1, 48_000)
    for listing in ("validation_list.txt", "testing_list.txt"):
        lines = (tiny / listing).read_text().splitlines()
        assert lines and all(re.fullmatch(r"[a-z]+/[a-z0-9-]+_nohash_\d+\.wav", ln) for ln in lines)
        assert all((tiny / ln).is_file() for ln in lines)
    manifest = json.loads((tiny / "corpus.json").read_text())
    assert manifest["parameters"] == TINY.to_dict()
    assert [s["id"] for s in manifest["speakers"]] == [s.id for s in SPEAKERS[:4]]


def test_default_config_has_at_least_24_distinct_filename_safe_speakers() -> None:
    config = KwsCorpusConfig()
    ids = [s.id for s in config.speakers]
    assert config.n_speakers >= 24 and len(set(ids)) == len(ids) == config.n_speakers
    assert len(SPEAKERS) >= 30
    assert {s.engine for s in config.speakers} == {"espeak", "flite"}
    for speaker in SPEAKERS:
        assert re.fullmatch(r"[a-z0-9-]+", speaker.id), speaker.id
        assert not speaker.variant.startswith("mb") and speaker.voice != "awb_time"


def test_every_catalogue_speaker_sounds_different() -> None:
    digests = set()
    for speaker in SPEAKERS:
        pcm, rate = synth(speaker, "yes")
        assert rate >= 8_000 and pcm.size > rate // 10
        digests.add(hashlib.sha256(pcm.tobytes()).hexdigest())
    assert len(digests) == len(SPEAKERS)


def test_splits_hold_out_whole_speakers(tiny: Path) -> None:
    validation = {_speaker_of(ln) for ln in (tiny / "validation_list.txt").read_text().split()}
    test = {_speaker_of(ln) for ln in (tiny / "testing_list.txt").read_text().split()}
    everyone = {_speaker_of(str(p)) for p in tiny.glob("*/*_nohash_*.wav")}
    train = everyone - validation - test
    assert validation and test and train
    assert not validation & test
    held_out_files = set((tiny / "validation_list.txt").read_text().split())
    assert all(_speaker_of(ln) in validation for ln in held_out_files)
    in_validation = {str(p.relative_to(tiny)) for p in tiny.glob("*/*_nohash_*.wav")}
    assert {f for f in in_validation if _speaker_of(f) in validation} == held_out_files
    splits = json.loads((tiny / "corpus.json").read_text())["splits"]
    assert (set(splits["train"]), set(splits["validation"]), set(splits["test"])) == (
        train,
        validation,
        test,
    )


def test_default_splits_hold_out_at_least_two_speakers_each() -> None:
    splits = assign_splits(KwsCorpusConfig())
    train, validation, test = (set(splits[k]) for k in ("train", "validation", "test"))
    assert len(validation) >= 2 and len(test) >= 2
    assert not (train & validation) and not (train & test) and not (validation & test)
    assert train | validation | test == {s.id for s in KwsCorpusConfig().speakers}


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    first = generate_kws_corpus(tmp_path / "a", MICRO, workers=1, progress=False)
    second = generate_kws_corpus(tmp_path / "b", MICRO, workers=5, progress=False)
    third = generate_kws_corpus(tmp_path / "c", replace(MICRO, seed=1), progress=False)

    a, b, c = _tree(first), _tree(second), _tree(third)
    assert a == b
    assert a.keys() == c.keys()
    clips = [k for k in a if "_nohash_" in k]
    assert all(a[k] != c[k] for k in clips)


def test_existing_identical_corpus_is_reused(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = {p: p.stat().st_mtime_ns for p in tiny.rglob("*")}
    monkeypatch.setenv("PATH", "")  # reuse must not need the synthesisers

    assert generate_kws_corpus(tiny, TINY, progress=False) == tiny

    assert {p: p.stat().st_mtime_ns for p in tiny.rglob("*")} == before


def test_existing_folder_with_other_parameters_is_refused(tiny: Path) -> None:
    before = _tree(tiny)
    with pytest.raises(CorpusExistsError, match=r"other parameters.*overwrite=True"):
        generate_kws_corpus(tiny, replace(TINY, seed=7), progress=False)
    assert _tree(tiny) == before


def test_foreign_folder_is_refused_unless_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "kws"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(CorpusExistsError, match="not a keyword corpus"):
        generate_kws_corpus(out, MICRO, progress=False)
    assert (out / "notes.txt").read_text() == "mine"

    generate_kws_corpus(out, MICRO, progress=False, overwrite=True)

    assert not (out / "notes.txt").exists()
    assert json.loads((out / "corpus.json").read_text())["parameters"] == MICRO.to_dict()
    assert not any(p.name.startswith("kws.") for p in tmp_path.iterdir())


def test_missing_tools_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(ToolMissingError, match=r"espeak-ng and flite.*apt-get install espeak-ng"):
        generate_kws_corpus(tmp_path / "kws", MICRO, progress=False)
    assert not (tmp_path / "kws").exists() and not (tmp_path / "kws.partial").exists()

    os.symlink("/usr/bin/espeak-ng", empty / "espeak-ng")
    with pytest.raises(ToolMissingError, match=r"^flite not found"):
        generate_kws_corpus(tmp_path / "kws", MICRO, progress=False)


def test_failed_synthesis_reports_command_and_stderr() -> None:
    with pytest.raises(SynthesisError, match=r"espeak-ng -v xx-nosuch .*voice does not exist"):
        synth(Speaker("esp-xx", "espeak", "xx-nosuch", ""), "yes")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("n_speakers", 2, "n_speakers must be in"),
        ("n_speakers", len(SPEAKERS) + 1, "n_speakers must be in"),
        ("reps", 0, "reps must be >= 1"),
        ("n_unknown_words", len(UNKNOWN_WORDS) + 1, "n_unknown_words must be in"),
        ("seed", -1, "seed must be >= 0"),
        ("validation_fraction", 0.5, "validation_fraction must be in"),
        ("test_fraction", 0.0, "test_fraction must be in"),
        ("pitch_jitter", 0.5, "pitch_jitter must be in"),
        ("level_dbfs", (-10.0, 3.0), "level_dbfs must be"),
        ("snr_db", (30.0, 5.0), "snr_db must be"),
        ("clean_fraction", 1.5, "clean_fraction must be in"),
        ("noise_seconds", 1.0, "noise_seconds must be in"),
    ],
)
def test_config_rejects_bad_values(field: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=f"{message}.*got"):
        KwsCorpusConfig(**{field: value})  # type: ignore[arg-type]


def test_fractions_must_leave_a_training_speaker() -> None:
    with pytest.raises(ConfigError, match="leave >= 1 training speaker"):
        KwsCorpusConfig(n_speakers=4, validation_fraction=0.4, test_fraction=0.4)


def test_noise_is_seeded_and_coloured() -> None:
    a, b = background_noises(2.0, 16_000, seed=3), background_noises(2.0, 16_000, seed=3)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["white_noise"], background_noises(2.0, 16_000, 4)["white_noise"])

    def octave_drop_db(x: np.ndarray) -> float:  # power 500-1000 Hz over 1-2 kHz, in dB
        power = np.abs(np.fft.rfft(x)) ** 2
        freqs = np.fft.rfftfreq(x.size, 1 / 16_000)
        low = power[(freqs >= 500) & (freqs < 1000)].sum()
        return float(10 * np.log10(low / power[(freqs >= 1000) & (freqs < 2000)].sum()))

    rng = np.random.default_rng(0)
    assert octave_drop_db(pink_noise(64_000, 16_000, rng)) == pytest.approx(0.0, abs=0.5)
    assert octave_drop_db(brown_noise(64_000, 16_000, rng)) == pytest.approx(3.0, abs=0.5)


def test_clip_maths_trim_place_and_snr() -> None:
    tone = np.sin(np.linspace(0, 200 * np.pi, 4_000)).astype(np.float32)
    padded = np.concatenate([np.zeros(3_200, np.float32), tone, np.zeros(4_800, np.float32)])
    trimmed = trim_silence(padded, margin=0)
    assert trimmed.size == 4_000 and np.array_equal(trimmed, tone)

    for shift in (0.0, 0.5, 0.999):
        clip, inside = place(tone, 16_000, shift)
        assert clip.size == 16_000 and np.array_equal(inside, tone)
        assert np.array_equal(np.trim_zeros(clip), np.trim_zeros(tone))  # all of it, once
    long_clip, long_inside = place(np.ones(20_000, np.float32), 16_000, 0.5)
    assert long_clip.size == long_inside.size == 16_000

    noise = np.random.default_rng(0).standard_normal(16_000)
    scaled = scale_to_snr(tone, noise, 10.0)
    snr = 10 * np.log10(
        np.mean(tone.astype(np.float64) ** 2) / np.mean(scaled.astype(np.float64) ** 2)
    )
    assert snr == pytest.approx(10.0, abs=1e-3)
