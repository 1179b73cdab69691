"""The manifest (CSV) corpus loader, and the tasks of any layout, on tiny real folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgekit.data.csv_corpus import load_csv_corpus
from edgekit.data.loaders import detect_layout, load_corpus, load_for_labels, load_task
from edgekit.data.speech_commands import SILENCE, UNKNOWN, KeywordsNotFound, split_of_speaker
from edgekit.errors import ConfigError, CorpusLayoutError
from tests.data.manifest_fixture import make_manifest, tone_file

HEADER_LINE = "path,speaker,label"


def test_a_manifest_indexes_its_rows_in_any_column_order(tmp_path: Path) -> None:
    root = make_manifest(tmp_path, header="label,path,speaker")
    corpus = load_csv_corpus(root)
    assert corpus.root == root and len(corpus) == 3 * 2 * 3 and not corpus.skipped
    assert corpus.labels == ("yes", "no", "cat")  # the order of their first row
    first = corpus.clips[0]
    assert (first.path, first.label, first.speaker) == (root / "s1/s1-yes-1.flac", "yes", "s1")
    # no split column: the speaker is hashed, so a speaker's clips share one split
    assert all(c.split == split_of_speaker(c.speaker) for c in corpus.clips)
    clips = corpus.load(progress=False)  # the paths are real files relative to the CSV
    assert clips.audio.shape == (18, 16_000) and np.abs(clips.audio[:, :3000]).max() > 0.1


def test_the_split_column_and_the_csv_file_itself(tmp_path: Path) -> None:
    root = make_manifest(
        tmp_path, header="split,path,label,speaker", split_of={"s1": "train", "s2": "test"}
    )
    csv_path = root / "manifest.csv"
    for given in (root, csv_path):
        assert detect_layout(given) == "manifest"
        corpus = load_corpus(given)
        assert corpus.counts() == {"train": {"yes": 3, "no": 3, "cat": 3}} | {
            "test": {"yes": 3, "no": 3, "cat": 3}
        }
    other = csv_path.rename(tmp_path / "mine.csv")  # any name, when the file is given
    assert len(load_csv_corpus(other)) == 18


def test_missing_and_unusable_files_are_reported_with_their_line(tmp_path: Path) -> None:
    tone_file(tmp_path / "a.flac")
    (tmp_path / "folder.wav").mkdir()
    (tmp_path / "manifest.csv").write_text(
        f"{HEADER_LINE}\na.flac,s1,yes\ngone.flac,s1,yes\nfolder.wav,s2,no\n"
    )
    corpus = load_csv_corpus(tmp_path)
    assert [c.path.name for c in corpus.clips] == ["a.flac"]
    reasons = {f.path.name: f.reason for f in corpus.skipped}
    assert reasons["gone.flac"].startswith("listed on line 3 of ")
    assert reasons["gone.flac"].endswith("manifest.csv: no such file")
    assert "line 4" in reasons["folder.wav"] and "is a folder" in reasons["folder.wav"]
    assert corpus.labels == ("yes",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("path,label\na.flac,yes\n", "line 1: the header lacks speaker (it names path, label)"),
        (f"{HEADER_LINE}\na.flac,s1,yes\n,,\n", "line 3 is empty"),
        (f"{HEADER_LINE}\na.flac,s1,yes\n\nb.flac,s1,yes\n", "line 3 is empty"),
        (f"{HEADER_LINE}\na.flac,,\n", "line 2: speaker and label are empty"),
        (f"{HEADER_LINE}\na.flac,s1\n", "line 2 has 2 fields, the header 3"),
        (f"{HEADER_LINE}\n/abs/a.flac,s1,yes\n", "line 2: path '/abs/a.flac' is absolute"),
        (f"{HEADER_LINE}\nC:\\a.flac,s1,yes\n", "line 2: path 'C:\\\\a.flac' is absolute"),
        (f"{HEADER_LINE}\nx/../../a.flac,s1,yes\n", "line 2: path 'x/../../a.flac' leaves"),
        (f"{HEADER_LINE}\na.flac,s1,yes\n./a.flac,s2,no\n", "line 3: a.flac is listed again"),
        (f"{HEADER_LINE},path\n", "line 1: the header names path twice"),
        (f"{HEADER_LINE}\n", "lists no clips"),
        ("", "the header lacks path, label, speaker (it names nothing)"),
    ],
)
def test_a_malformed_manifest_names_the_file_and_the_line(
    tmp_path: Path, text: str, message: str
) -> None:
    tone_file(tmp_path / "a.flac")
    (tmp_path / "manifest.csv").write_text(text)
    with pytest.raises(CorpusLayoutError) as raised:
        load_csv_corpus(tmp_path)
    assert str(raised.value).startswith(str(tmp_path / "manifest.csv"))
    assert message in str(raised.value)


def test_an_unreadable_manifest_or_none_is_a_layout_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusLayoutError, match=r"manifest\.csv not found in"):
        load_csv_corpus(tmp_path)
    (tmp_path / "manifest.csv").write_bytes(b"path,speaker,label\n\xff\xfe\x00bad,s,l\n")
    with pytest.raises(CorpusLayoutError, match=r"manifest\.csv is not a readable CSV"):
        load_csv_corpus(tmp_path)


def test_tasks_on_a_manifest(tmp_path: Path) -> None:
    root = make_manifest(tmp_path, words=("yes", "no", "cat", "dog", SILENCE), per_speaker=2)
    assert load_task(root, "all").labels == ("yes", "no", "cat", "dog", SILENCE)
    kws = load_task(root, "keywords", keywords=("no", "yes"), unknown_fraction=None)
    assert kws.labels == ("no", "yes", SILENCE, UNKNOWN)
    unknown = [c for c in kws.clips if c.label == UNKNOWN]
    assert sorted({c.word for c in unknown}) == ["cat", "dog"] and len(unknown) == 8
    # --exclude-word: no class, no clip, in either task
    kws = load_task(root, "keywords", keywords=("yes",), exclude_words=["dog", SILENCE])
    assert kws.labels == ("yes", UNKNOWN)
    assert all(c.word != "dog" and c.label != SILENCE for c in kws.clips)
    assert "dog" not in load_task(root, "all", exclude_words=["dog"]).labels
    # _unknown_ is subsampled as in Speech Commands: ceil(10% of each split's keyword clips)
    sampled = load_task(root, "keywords", keywords=("yes", "no"))
    for split, row in sampled.counts().items():
        assert row[UNKNOWN] == int(np.ceil(0.1 * (row["yes"] + row["no"]))), split
    # no _silence_ class without _silence_ clips
    plain = make_manifest(tmp_path / "plain", words=("yes", "cat"), per_speaker=1)
    assert load_task(plain, "keywords", keywords=("yes",)).labels == ("yes", UNKNOWN)
    with pytest.raises(KeywordsNotFound, match="'up'"):
        load_task(plain, "keywords", keywords=("yes", "up"))
    with pytest.raises(ConfigError, match=r"\['typo'\] are not labels"):
        load_task(plain, "all", exclude_words=["typo"])


def test_load_for_labels_on_a_manifest(tmp_path: Path) -> None:
    root = make_manifest(tmp_path, per_speaker=1)
    only = load_for_labels(root, ["cat", "yes"])
    assert only.labels == ("cat", "yes") and {c.label for c in only.clips} == {"cat", "yes"}
    clips = only.load(progress=False)
    assert [only.labels[i] for i in clips.labels] == [p.stem.split("-")[1] for p in clips.paths]
    mapped = load_for_labels(root, ["yes", UNKNOWN])
    assert mapped.labels == ("yes", UNKNOWN) and len(mapped) == 6  # 'no' and 'cat': _unknown_
    assert sorted(c.word for c in mapped.clips if c.label == UNKNOWN) == ["cat"] * 2 + ["no"] * 2
    with pytest.raises(CorpusLayoutError, match="its labels are"):
        load_for_labels(root, ["up"])
