"""The Speech Commands loader on tiny real folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgekit.audio.config import FrontendConfig
from edgekit.audio.io import write_wav
from edgekit.data.speech_commands import (
    SILENCE,
    UNKNOWN,
    load_speech_commands,
    speaker_of,
    which_set,
)
from edgekit.errors import CorpusLayoutError
from tests.data.sc_fixture import add_odd_files, make_speech_commands

WORDS = {"yes": 3, "no": 3, "cat": 2, "dog": 2}


def test_all_task_uses_every_folder(tmp_path: Path) -> None:
    corpus = load_speech_commands(make_speech_commands(tmp_path, WORDS), task="all")
    assert corpus.labels == ("cat", "dog", "no", "yes")
    assert len(corpus) == sum(WORDS.values()) * 4
    counts = corpus.counts()
    assert counts["test"]["yes"] == 3 and counts["validation"]["cat"] == 2
    assert {c.speaker for c in corpus.clips if c.split == "test"} == {"dd44"}


def test_keywords_task_has_silence_and_unknown(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path, WORDS)
    corpus = load_speech_commands(root, keywords=("yes", "no"), unknown_fraction=None)
    assert corpus.labels == ("yes", "no", SILENCE, UNKNOWN)
    counts = corpus.counts()
    assert counts["train"][UNKNOWN] == 2 * 2 * 2  # cat+dog, 2 speakers, 2 clips
    assert counts["train"][SILENCE] == 2  # ceil(10% of 12 keyword clips)
    clips = corpus.load(progress=False)
    assert clips.audio.shape == (len(corpus), 16_000)
    silence = clips.audio[clips.labels == corpus.labels.index(SILENCE)]
    assert silence.shape[0] == sum(c[SILENCE] for c in counts.values())
    assert np.abs(silence).max() > 0  # cut from the background noise file


def test_unknown_is_subsampled_per_split(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path, {"yes": 5, "no": 5, "cat": 5, "dog": 5})
    corpus = load_speech_commands(root, keywords=("yes", "no"), unknown_fraction=0.1)
    assert corpus.counts()["train"][UNKNOWN] == 2  # ceil(0.1 * 20)


def test_silence_segments_do_not_leak_across_splits(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path, {"yes": 20, "no": 20}, noise_seconds=60)
    corpus = load_speech_commands(root, keywords=("yes", "no"), silence_fraction=0.5)
    where: dict[tuple[str, float], set[str]] = {}
    for c in corpus.clips:
        if c.label == SILENCE:
            where.setdefault((str(c.path), c.offset_seconds), set()).add(c.split)
    assert where and all(len(splits) == 1 for splits in where.values())


def test_missing_lists_fall_back_to_speaker_hashing(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path, WORDS, lists=False)
    corpus = load_speech_commands(root, task="all")
    for clip in corpus.clips:
        assert clip.split == which_set(clip.path.name)
    by_speaker: dict[str, set[str]] = {}
    for clip in corpus.clips:
        by_speaker.setdefault(clip.speaker, set()).add(clip.split)
    assert all(len(s) == 1 for s in by_speaker.values())


def test_which_set_matches_the_reference_rule() -> None:
    # values from the Speech Commands README's which_set with 10/10 percentages
    names = [f"{i:08x}_nohash_0.wav" for i in range(2000)]
    shares = {s: sum(which_set(n) == s for n in names) / len(names) for s in ("train", "test")}
    assert 0.75 < shares["train"] < 0.85 and 0.07 < shares["test"] < 0.13
    assert which_set("abc_nohash_0.wav") == which_set("abc_nohash_7.wav")


def test_odd_files_are_reported_and_good_ones_load(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path, WORDS)
    odd = add_odd_files(root, "yes")
    corpus = load_speech_commands(root, task="all")
    clips = corpus.load(FrontendConfig(), progress=False)
    failed = {f.path: f.reason for f in clips.failures}
    assert set(failed) == {odd["corrupt"], odd["empty"], odd["nan"]}
    assert "NaN" in failed[odd["nan"]]
    assert len(clips) == len(corpus) - 3
    loaded = dict(zip(clips.paths, range(len(clips)), strict=True))
    stereo = clips.audio[loaded[odd["stereo8k"]]]
    assert stereo.shape == (16_000,) and np.abs(stereo[15_000:15_900]).max() > 0.25
    assert int(np.abs(np.fft.rfft(stereo)).argmax()) == 300  # 1 s at 8 kHz, pitch kept
    assert odd["flac"] in loaded
    assert clips.speakers[loaded[odd["odd_name"]]] == "recording-from-phone"


def test_speaker_of() -> None:
    assert speaker_of(Path("yes/0a7c2a8d_nohash_3.wav")) == "0a7c2a8d"
    assert speaker_of(Path("yes/my_clip.wav")) == "my_clip"


def test_max_per_label_and_speaker_filter(tmp_path: Path) -> None:
    corpus = load_speech_commands(make_speech_commands(tmp_path, WORDS), task="all")
    first = corpus.subset(max_per_label=2)
    assert all(n <= 2 for row in first.counts().values() for n in row.values())
    assert len(first) == 2 * len(WORDS)
    only = corpus.subset(speakers=["aa11"])
    assert only.speakers == ["aa11"]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("empty", "no <word>/<file>.wav folders"),
        ("one_list", "testing_list.txt not found"),
        ("no_keyword", "keyword folders"),
        ("no_noise", "_background_noise_/"),
        ("not_a_folder", "is not a folder"),
    ],
)
def test_layout_errors_name_what_is_missing(tmp_path: Path, setup: str, message: str) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    if setup == "one_list":
        make_speech_commands(root, WORDS)
        (root / "testing_list.txt").unlink()
    elif setup == "no_keyword":
        make_speech_commands(root, {"cat": 1})
    elif setup == "no_noise":
        make_speech_commands(root, {"yes": 2, "no": 2}, noise_seconds=0)
    elif setup == "not_a_folder":
        root = tmp_path / "missing"
    kwargs = {"keywords": ("yes", "no")} if setup == "no_noise" else {}
    with pytest.raises(CorpusLayoutError, match=message):
        load_speech_commands(root, **kwargs)  # type: ignore[arg-type]


def test_an_excluded_word_leaves_every_task_entirely(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path, WORDS)
    # the 'all' task: no class, no clip
    corpus = load_speech_commands(root, task="all", exclude_words=["cat"])
    assert corpus.labels == ("dog", "no", "yes") and all(c.word != "cat" for c in corpus.clips)
    # the keyword task: an excluded keyword is no class, an excluded other word no _unknown_ clip,
    # and _silence_ follows the keywords that remain (ceil(10% of 6 'no' clips) in train)
    kws = load_speech_commands(
        root, keywords=("yes", "no"), unknown_fraction=None, exclude_words=["yes", "dog"]
    )
    assert kws.labels == ("no", SILENCE, UNKNOWN)
    assert {c.word for c in kws.clips if c.label == UNKNOWN} == {"cat"}
    assert kws.counts()["train"] == {"no": 6, SILENCE: 1, UNKNOWN: 4}
    # a class of the keyword task itself
    assert load_speech_commands(root, keywords=("yes",), exclude_words=[SILENCE]).labels == (
        "yes",
        UNKNOWN,
    )


def test_subset_excludes_classes_and_orders_them_as_asked(tmp_path: Path) -> None:
    corpus = load_speech_commands(make_speech_commands(tmp_path, WORDS), task="all")
    assert corpus.subset(exclude_words=["no"]).labels == ("cat", "dog", "yes")
    chosen = corpus.subset(labels=["yes", "cat"])
    clips = chosen.load(progress=False)
    assert chosen.labels == clips.label_names == ("yes", "cat")
    assert [chosen.labels[i] for i in clips.labels] == [p.parent.name for p in clips.paths]


def test_load_for_labels_gives_the_classes_in_the_model_order(tmp_path: Path) -> None:
    from edgekit.data.loaders import load_for_labels

    root = make_speech_commands(tmp_path, WORDS)
    assert load_for_labels(root, ["yes", "cat"]).labels == ("yes", "cat")
    assert load_for_labels(root, ["no", UNKNOWN]).labels == ("no", UNKNOWN)  # no _silence_


def test_no_match_names_the_splits_and_speakers_there(tmp_path: Path) -> None:
    corpus = load_speech_commands(make_speech_commands(tmp_path, WORDS), task="all")
    message = corpus.no_match(["test"], ["zz99"])
    assert message.endswith(
        "match split test and speaker zz99: its splits are test, train, validation; its "
        "speakers in test are dd44; speaker zz99 is in no split; all its speakers are aa11, bb22, "
        "cc33, dd44; its labels in test are cat, dog, no, yes"
    )
    message = corpus.no_match(["dev"], None)
    assert "its speakers are aa11, bb22, cc33, dd44;" in message
    # a speaker of another split is named with it; labels follow the class order
    message = corpus.subset(labels=["yes", "cat"]).no_match(["test"], ["aa11"], ["dog"])
    assert message.endswith(
        "match split test and speaker aa11 and label dog: its splits are test, train, "
        "validation; its speakers in test are dd44; speaker aa11 is in train; its labels in "
        "test are yes, cat"
    )


def _test_set(root: Path) -> Path:
    """The official test set's layout: keyword folders, _unknown_/ named <word>_<speaker>_...,
    _silence_/; no list files, no background noise."""
    make_speech_commands(root, {"yes": 1, "no": 1}, lists=False, noise_seconds=0)
    for name in ("bed_ee55_nohash_0", "bed_ff66_nohash_0", "cat_ee55_nohash_1"):
        write_wav(root / UNKNOWN / f"{name}.wav", np.full(16_000, 0.1, np.float32), 16_000)
    write_wav(root / SILENCE / "silence_0.wav", np.zeros(16_000, np.float32), 16_000)
    return root


def test_the_official_test_set_layout_is_all_test_with_its_own_unknown_and_silence(
    tmp_path: Path,
) -> None:
    root = _test_set(tmp_path)
    corpus = load_speech_commands(root, keywords=("yes", "no"))
    assert corpus.labels == ("yes", "no", SILENCE, UNKNOWN)
    assert {c.split for c in corpus.clips} == {"test"}  # no list files, yet no hashing
    assert corpus.counts()["test"] == {"yes": 4, "no": 4, SILENCE: 1, UNKNOWN: 3}
    unknown = [c for c in corpus.clips if c.label == UNKNOWN]  # every one, as it is
    assert sorted((c.word, c.speaker) for c in unknown) == [
        ("bed", "ee55"),
        ("bed", "ff66"),
        ("cat", "ee55"),
    ]
    silence = [c for c in corpus.clips if c.label == SILENCE]
    assert [(c.path.parent.name, c.offset_seconds, c.gain) for c in silence] == [
        (SILENCE, 0.0, 1.0)
    ]  # the shipped file, not cut from noise
    # the 'all' task: the two folders are classes as they are
    assert set(load_speech_commands(root, task="all").labels) == {"yes", "no", SILENCE, UNKNOWN}
    # the same folders with the training archive's list files are no test set
    (root / "validation_list.txt").write_text("")
    (root / "testing_list.txt").write_text("")
    assert {c.split for c in load_speech_commands(root, task="all").clips} == {"train"}
