"""Held-out selection: natural file order, per-label shots and their rest, test speakers."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgekit.data.corpus import ClipRef, Corpus
from edgekit.data.selection import (
    Selection,
    first_per_label,
    natural_key,
    natural_order,
    short_groups,
    take_shots,
)
from edgekit.errors import ConfigError, DataError


def corpus_of(per_group: dict[tuple[str, str], int], split: str = "train") -> Corpus:
    """Clips ``<speaker>/<label>/clip<n>.wav`` (n = 1..N, no files needed), listed in string
    order so that clip10 comes before clip2 as a plain sort would put it."""
    clips = [
        ClipRef(Path(f"/c/{speaker}/{label}/clip{n}.wav"), label, speaker, split)
        for (speaker, label), count in per_group.items()
        for n in sorted(range(1, count + 1), key=str)
    ]
    labels = tuple(dict.fromkeys(label for _, label in per_group))
    return Corpus(Path("/c"), tuple(clips), labels)


def numbers(clips: tuple[ClipRef, ...] | list[ClipRef]) -> list[int]:
    return sorted(int(c.path.stem.removeprefix("clip")) for c in clips)


GROUPS = {("s1", "yes"): 12, ("s1", "no"): 4, ("s2", "yes"): 3, ("s2", "no"): 12}


def test_natural_order_compares_numbers_as_numbers() -> None:
    names = ["clip10.wav", "clip2.wav", "Clip3.wav", "clip1.wav", "a/clip10", "a/clip9"]
    assert sorted(names, key=natural_key) == [
        "a/clip9",
        "a/clip10",
        "clip1.wav",
        "clip2.wav",
        "Clip3.wav",
        "clip10.wav",
    ]
    clips = corpus_of({("s1", "yes"): 11}).clips
    assert [c.path.name for c in natural_order(clips)][:3] == [
        "clip1.wav",
        "clip2.wav",
        "clip3.wav",
    ]


def test_max_per_label_keeps_the_first_in_natural_order() -> None:
    corpus = corpus_of({("s1", "yes"): 12, ("s2", "no"): 3})
    first = corpus.subset(max_per_label=2)
    assert numbers([c for c in first.clips if c.label == "yes"]) == [1, 2]  # not clip1, clip10
    assert len(first_per_label(corpus.clips, 5)) == 5 + 3


def test_shots_take_the_first_k_of_each_label_of_each_speaker() -> None:
    corpus = corpus_of(GROUPS)
    shots = corpus.subset(shots=5)
    for speaker, label in GROUPS:
        mine = [c for c in shots.clips if (c.speaker, c.label) == (speaker, label)]
        assert numbers(mine) == list(range(1, min(5, GROUPS[(speaker, label)]) + 1))


@pytest.mark.parametrize("draw_seed", [None, 0, 7])
def test_shots_and_rest_are_disjoint_and_cover_every_clip(draw_seed: int | None) -> None:
    corpus = corpus_of(GROUPS)
    shots = corpus.subset(shots=5, draw_seed=draw_seed)
    rest = corpus.subset(shots=5, rest=True, draw_seed=draw_seed)
    assert not set(shots.clips) & set(rest.clips)
    assert set(shots.clips) | set(rest.clips) == set(corpus.clips)
    assert len(shots) == 5 + 4 + 3 + 5 and len(rest) == 7 + 0 + 0 + 7
    assert shots.labels == rest.labels == corpus.labels  # the classes stay


def test_a_draw_follows_its_seed_and_not_the_other_clips() -> None:
    corpus = corpus_of(GROUPS)
    drawn = corpus.subset(shots=5, draw_seed=3)
    assert drawn == corpus.subset(shots=5, draw_seed=3)
    assert numbers(drawn.subset(speakers=["s1"], labels=["yes"]).clips) != [1, 2, 3, 4, 5]
    # one speaker alone draws what it drew among the others: a draw per speaker and label
    alone = corpus.subset(speakers=["s2"], shots=5, draw_seed=3)
    assert alone.clips == drawn.subset(speakers=["s2"]).clips
    assert corpus.subset(shots=5, draw_seed=4) != drawn


def test_short_groups_name_the_speaker_label_pairs_the_shots_take_whole() -> None:
    clips = corpus_of(GROUPS).clips
    assert short_groups(clips, 4) == {("s1", "no"): 4, ("s2", "yes"): 3}
    beyond = [c for c in clips if int(c.path.stem.removeprefix("clip")) > 4]
    assert take_shots(clips, 4, rest=True) == beyond  # in the order given


def test_a_selection_refuses_what_it_cannot_mean() -> None:
    with pytest.raises(ConfigError, match="shots must be >= 1, got 0"):
        Selection(shots=0)
    with pytest.raises(ConfigError, match="give shots too"):
        Selection(rest=True)
    with pytest.raises(ConfigError, match="give shots too"):
        corpus_of(GROUPS).subset(draw_seed=1)
    with pytest.raises(ConfigError, match="max_per_label must be >= 1"):
        Selection(max_per_label=0)
    chosen = Selection(speakers=("s2",), shots=2, rest=True)
    assert numbers(chosen.apply(corpus_of(GROUPS)).clips) == [3, *range(3, 13)]


def test_test_speakers_become_exactly_the_test_split() -> None:
    train = corpus_of({k: n for k, n in GROUPS.items() if k[0] == "s1"})
    test = corpus_of({k: n for k, n in GROUPS.items() if k[0] == "s2"}, split="test")
    corpus = Corpus(train.root, train.clips + test.clips, train.labels)  # s2: test by its rule
    held = corpus.with_test_speakers(["s1"])
    assert {c.speaker for c in held.clips if c.split == "test"} == {"s1"}
    assert {c.split for c in held.clips if c.speaker == "s2"} == {"train"}
    with pytest.raises(DataError, match="speaker zz: its splits are test, train"):
        corpus.with_test_speakers(["s1", "zz"])
