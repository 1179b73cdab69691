"""The UrbanSound8K layout: a loader for the real corpus (or any folder in its layout), and folds.

Layout (Salamon et al., 2014)::

    <root>/metadata/UrbanSound8K.csv   slice_file_name,fsID,start,end,salience,fold,classID,class
    <root>/audio/fold<N>/<slice_file_name>

Each CSV row becomes a :class:`ClipRef` with ``label = class``, ``speaker = fsID`` (the source
recording: slices of one recording are never split across folds) and ``split = "fold<N>"``. A row
whose audio file is missing or not a usable file (a folder, a broken link, a link loop) is
recorded in :attr:`Corpus.skipped` with the reason; audio files that no row lists
carry no label and are not indexed. Evaluation follows the corpus' 10-fold protocol
(:func:`fold_splits`); the folds are never reshuffled.
"""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

from edgekit.audio.io import NO_SUCH_FILE, file_problem
from edgekit.data.corpus import ClipRef, Corpus, LoadFailure
from edgekit.errors import ConfigError, CorpusLayoutError, DataError

__all__ = ["METADATA_CSV", "REQUIRED_COLUMNS", "US8K_CLASSES", "fold_splits", "load_urbansound"]

METADATA_CSV = "metadata/UrbanSound8K.csv"
REQUIRED_COLUMNS = (
    "slice_file_name",
    "fsID",
    "start",
    "end",
    "salience",
    "fold",
    "classID",
    "class",
)
# The real corpus' classes, in classID order (0..9).
US8K_CLASSES = (
    "air_conditioner",
    "car_horn",
    "children_playing",
    "dog_bark",
    "drilling",
    "engine_idling",
    "gun_shot",
    "jackhammer",
    "siren",
    "street_music",
)
MISSING_FILE = f"file listed in {METADATA_CSV} is missing"
UNUSABLE_FILE = f"file listed in {METADATA_CSV} is not usable"
_EXPECTED = f"expected the UrbanSound8K layout: {METADATA_CSV} and audio/fold<N>/"
_MAX_LISTED = 5  # bad rows named in one error message


def load_urbansound(root: Path | str) -> Corpus:
    """Index a folder in the UrbanSound8K layout; nothing is decoded until :meth:`Corpus.load`.

    Classes are ordered by ``classID``, then name. Raises :class:`CorpusLayoutError` naming what is
    missing or malformed: the CSV, the ``audio/`` folder, CSV columns, or unparsable rows.
    """
    root = Path(root)
    csv_path = root / METADATA_CSV
    checks = ((METADATA_CSV, csv_path.is_file()), ("audio/", (root / "audio").is_dir()))
    missing = [name for name, present in checks if not present]
    if missing:
        raise CorpusLayoutError(f"{' and '.join(missing)} not found in {root}; {_EXPECTED}")
    rows = _read_rows(csv_path)
    clips: list[ClipRef] = []
    skipped: list[LoadFailure] = []
    class_ids: dict[str, int] = {}
    listed: dict[Path, int] = {}  # path -> line
    problems: list[str] = []
    for line, row in rows:
        try:
            name, fs_id, fold, class_id, label = _parse_row(row)
        except ValueError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        if class_ids.setdefault(label, class_id) != class_id:
            problems.append(
                f"line {line}: class {label!r} has classID {class_id}, "
                f"but classID {class_ids[label]} on an earlier line"
            )
            continue
        path = root / "audio" / f"fold{fold}" / name
        if listed.setdefault(path, line) != line:
            problems.append(f"line {line}: fold{fold}/{name} is listed again (line {listed[path]})")
            continue
        problem = file_problem(path)
        if problem is None:
            clips.append(ClipRef(path=path, label=label, speaker=fs_id, split=f"fold{fold}"))
        else:  # missing, a folder, a broken link or a link loop: named, never dropped silently
            reason = MISSING_FILE if problem == NO_SUCH_FILE else f"{UNUSABLE_FILE}: {problem}"
            skipped.append(LoadFailure(path, reason))
    if problems:
        shown = "; ".join(problems[:_MAX_LISTED])
        more = f" (and {len(problems) - _MAX_LISTED} more)" if len(problems) > _MAX_LISTED else ""
        rows_word = "row" if len(problems) == 1 else "rows"
        raise CorpusLayoutError(f"{csv_path}: {len(problems)} malformed {rows_word}: {shown}{more}")
    if not class_ids:
        raise CorpusLayoutError(f"{csv_path} lists no clips; {_EXPECTED}")
    labels = tuple(name for _, name in sorted((cid, name) for name, cid in class_ids.items()))
    clips.sort(key=lambda c: (_fold_number(c.split), c.path.name))
    return Corpus(root=root, clips=tuple(clips), labels=labels, skipped=tuple(skipped))


def fold_splits(corpus: Corpus, test_fold: int) -> tuple[Corpus, Corpus]:
    """The 10-fold protocol's split for ``test_fold``: ``(train = every other fold, test)``.

    Failures in :attr:`Corpus.skipped` follow the fold their file belongs to.
    """
    folds = sorted({_fold_number(c.split) for c in corpus.clips})
    if test_fold not in folds:
        raise ConfigError(f"test_fold must be one of the corpus' folds {folds}, got {test_fold}")
    if len(folds) < 2:
        raise DataError(f"fold_splits needs at least 2 folds, got only fold {test_fold}")
    test_split = f"fold{test_fold}"
    train_splits = [f"fold{f}" for f in folds if f != test_fold]
    in_test = [s for s in corpus.skipped if s.path.parent.name == test_split]
    in_train = [s for s in corpus.skipped if s.path.parent.name != test_split]
    train = replace(corpus.subset(splits=train_splits), skipped=tuple(in_train))
    test = replace(corpus.subset(splits=[test_split]), skipped=tuple(in_test))
    return train, test


def _read_rows(csv_path: Path) -> list[tuple[int, dict[str, str]]]:
    """``(line number, row)`` pairs; raises when a required column is absent."""
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            absent = [c for c in REQUIRED_COLUMNS if c not in header]
            if absent:
                raise CorpusLayoutError(
                    f"{csv_path} lacks the columns {', '.join(absent)}; "
                    f"expected {','.join(REQUIRED_COLUMNS)}"
                )
            reader.fieldnames = header
            return [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CorpusLayoutError(f"{csv_path} is not a readable CSV ({exc})") from exc


def _parse_row(row: dict[str, str]) -> tuple[str, str, int, int, str]:
    """``(file name, fsID, fold, classID, class)``; ValueError names the bad field."""

    def field(column: str) -> str:
        value = (row.get(column) or "").strip()
        if not value:
            raise ValueError(f"{column} is empty")
        return value

    def integer(column: str) -> int:
        value = field(column)
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{column} must be an integer, got {value!r}") from None

    name = field("slice_file_name")
    if Path(name).name != name or name in (".", ".."):
        raise ValueError(f"slice_file_name must be a plain file name, got {name!r}")
    fold = integer("fold")
    if fold < 0:
        raise ValueError(f"fold must be >= 0, got {fold}")
    return name, field("fsID"), fold, integer("classID"), field("class")


def _fold_number(split: str) -> int:
    number = split.removeprefix("fold")
    if not number.isdigit():
        raise DataError(f"split must be 'fold<N>' (an UrbanSound8K corpus), got {split!r}")
    return int(number)
