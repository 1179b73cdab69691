"""Loader for a manifest corpus: audio files anywhere under a folder, listed in a CSV.

Layout::

    <root>/manifest.csv     a header naming path, label and speaker (any order, any other
                            columns ignored), optionally split; one row per clip
    <root>/<path>           each row's audio file, its path relative to the CSV's folder

- Classes are the labels in the order of their first row.
- Splits: the ``split`` column when there is one (any names; ``train`` / ``validation`` /
  ``test`` are the ones ``pretrain`` uses); otherwise the Speech Commands rule hashes each speaker
  id (10% validation, 10% test), so a speaker's clips are all in one split.
- A row whose file is missing or not a usable file (a folder, a broken link, a link loop) is
  listed in :attr:`Corpus.skipped` with its line and why, never dropped silently.
- A malformed manifest raises :class:`~edgekit.errors.CorpusLayoutError` naming the file and the
  lines: a missing column, an empty row or field, a row of the wrong length, a path that is
  absolute or leaves the folder (``..``), a path listed twice, a file that is not a CSV.
"""

from __future__ import annotations

import csv
from pathlib import Path, PurePosixPath, PureWindowsPath

from edgekit.audio.io import file_problem
from edgekit.data.corpus import ClipRef, Corpus, LoadFailure
from edgekit.data.speech_commands import split_of_speaker
from edgekit.errors import CorpusLayoutError

__all__ = ["COLUMNS", "MANIFEST", "load_csv_corpus", "manifest_path"]

MANIFEST = "manifest.csv"
COLUMNS = ("path", "label", "speaker")  # required; "split" is optional
_EXPECTED = (
    f"expected a header naming {', '.join(COLUMNS)} (any order) and optionally split, "
    "then one row per clip"
)
_MAX_LISTED = 5  # bad rows named in one error message


def manifest_path(root_or_csv: Path | str) -> Path:
    """The CSV of a manifest corpus: the path itself when it is a ``.csv`` file, else
    ``<folder>/manifest.csv``."""
    path = Path(root_or_csv)
    if path.suffix.lower() == ".csv" and not path.is_dir():
        if not path.is_file():
            raise CorpusLayoutError(f"{path} not found")
        return path
    if not path.is_dir():
        raise CorpusLayoutError(f"{path} is not a folder")
    csv_path = path / MANIFEST
    if not csv_path.is_file():
        raise CorpusLayoutError(f"{MANIFEST} not found in {path}; {_EXPECTED}")
    return csv_path


def load_csv_corpus(root_or_csv: Path | str) -> Corpus:
    """Index a manifest corpus (a folder holding ``manifest.csv``, or the CSV file itself);
    nothing is decoded until :meth:`Corpus.load`. The corpus' root is the CSV's folder."""
    csv_path = manifest_path(root_or_csv)
    root = csv_path.parent
    header, rows = _read(csv_path)
    wanted = (*COLUMNS, "split")
    column = {name: i for i, name in enumerate(header) if name in wanted}  # in header order
    clips: list[ClipRef] = []
    skipped: list[LoadFailure] = []
    listed: dict[str, int] = {}  # relative path -> its line
    problems: list[str] = []
    for line, row in rows:
        if not any(field.strip() for field in row):
            problems.append(f"line {line} is empty")
            continue
        if len(row) != len(header):
            problems.append(f"line {line} has {len(row)} fields, the header {len(header)}")
            continue
        values = {name: row[i].strip() for name, i in column.items()}
        empty = [name for name, value in values.items() if not value]
        if empty:
            verb = "is" if len(empty) == 1 else "are"
            problems.append(f"line {line}: {' and '.join(empty)} {verb} empty")
            continue
        try:
            rel = _relative(values["path"])
        except ValueError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        if listed.setdefault(rel, line) != line:
            problems.append(f"line {line}: {rel} is listed again (line {listed[rel]})")
            continue
        path = root / rel
        problem = file_problem(path)
        if problem is not None:  # missing, a folder, a broken link, a link loop: reported
            skipped.append(LoadFailure(path, f"listed on line {line} of {csv_path}: {problem}"))
            continue
        speaker = values["speaker"]
        split = values.get("split") or split_of_speaker(speaker)
        clips.append(ClipRef(path, values["label"], speaker, split))
    if problems:
        shown = "; ".join(problems[:_MAX_LISTED])
        more = f" (and {len(problems) - _MAX_LISTED} more)" if len(problems) > _MAX_LISTED else ""
        rows_word = "row" if len(problems) == 1 else "rows"
        raise CorpusLayoutError(f"{csv_path}: {len(problems)} malformed {rows_word}: {shown}{more}")
    if not clips and not skipped:
        raise CorpusLayoutError(f"{csv_path} lists no clips; {_EXPECTED}")
    labels = tuple(dict.fromkeys(c.label for c in clips))
    return Corpus(root=root, clips=tuple(clips), labels=labels, skipped=tuple(skipped))


def _read(csv_path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header (stripped, lower case) and ``(line, fields)`` of each row; blank lines at the
    end are no rows. Raises when the file is no readable CSV or a required column is absent."""
    rows: list[tuple[int, list[str]]] = []
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [name.strip().lower() for name in next(reader, [])]
            rows.extend((reader.line_num, row) for row in reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        last = rows[-1][0] if rows else 1
        where = f" after line {last}" if isinstance(exc, csv.Error | UnicodeDecodeError) else ""
        raise CorpusLayoutError(f"{csv_path} is not a readable CSV{where} ({exc})") from exc
    absent = [name for name in COLUMNS if name not in header]
    if absent:
        found = ", ".join(name for name in header if name) or "nothing"
        raise CorpusLayoutError(
            f"{csv_path} line 1: the header lacks {', '.join(absent)} (it names {found}); "
            f"{_EXPECTED}"
        )
    twice = sorted({name for name in header if name and header.count(name) > 1})
    if twice:
        raise CorpusLayoutError(f"{csv_path} line 1: the header names {', '.join(twice)} twice")
    while rows and not rows[-1][1]:  # trailing blank lines
        rows.pop()
    return header, rows


def _relative(text: str) -> str:
    """A manifest path as a POSIX path inside the CSV's folder (``\\`` read as ``/``); absolute
    paths and paths that climb out with ``..`` raise ValueError."""
    if PureWindowsPath(text).is_absolute() or PurePosixPath(text).is_absolute():
        raise ValueError(f"path {text!r} is absolute; paths are relative to the CSV's folder")
    if PureWindowsPath(text).drive:
        raise ValueError(f"path {text!r} names a drive; paths are relative to the CSV's folder")
    parts = [part for part in text.replace("\\", "/").split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"path {text!r} leaves the CSV's folder (..)")
    if not parts:
        raise ValueError(f"path {text!r} names no file")
    return "/".join(parts)
