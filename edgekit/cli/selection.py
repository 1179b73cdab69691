"""The clip-selection options of every command that reads a corpus, checked and applied in one
place: ``--speaker``, ``--split``, ``--shots``, ``--rest``, ``--draw-seed``, ``--max-per-label``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import typer

from edgekit.data.corpus import Corpus
from edgekit.data.selection import Selection, short_groups
from edgekit.errors import ConfigError, DataError

__all__ = ["ALL_SPLITS", "select", "selection"]

ALL_SPLITS = "all"  # --split all: every split
_SHOWN = 5  # speaker/label pairs named in one note


def selection(
    speaker: Sequence[str] | None = None,
    split: str | None = None,
    shots: int | None = None,
    rest: bool = False,
    draw_seed: int | None = None,
    max_per_label: int | None = None,
    labels: Sequence[str] | None = None,
) -> Selection:
    """The selection the options ask for; a bad combination is refused by its flags. Check it
    before any slow work (loading a bundle, indexing a corpus)."""
    for flag, value in (("--shots", shots), ("--max-per-label", max_per_label)):
        if value is not None and value < 1:
            raise ConfigError(f"{flag} must be >= 1, got {value}")
    if shots is None and rest:
        raise ConfigError("--rest needs --shots: it takes the clips that --shots leaves")
    if shots is None and draw_seed is not None:
        raise ConfigError("--draw-seed needs --shots: it draws the --shots clips")
    return Selection(
        splits=None if split in (None, ALL_SPLITS) else (split,),
        speakers=tuple(speaker) if speaker else None,
        labels=tuple(labels) if labels is not None else None,
        shots=shots,
        rest=rest,
        draw_seed=draw_seed,
        max_per_label=max_per_label,
    )


def select(corpus: Corpus, chosen: Selection) -> Corpus:
    """The clips of ``corpus`` that ``chosen`` keeps. Speaker/label pairs that ``--shots`` takes
    whole are one note on stderr; a selection that leaves no clip is a DataError naming the
    splits, speakers and labels there are."""
    if chosen == Selection():  # no filter: the corpus as it is, even with no clip
        return corpus
    picked = chosen.apply(corpus)
    if chosen.shots is None:
        if not picked.clips:
            raise DataError(_no_match(corpus, chosen))
        return picked
    before = replace(chosen, shots=None, rest=False, draw_seed=None, max_per_label=None)
    candidates = before.apply(corpus)
    if not candidates.clips:
        raise DataError(_no_match(corpus, chosen))
    if not picked.clips:
        raise DataError(
            f"--shots {chosen.shots} --rest leaves no clip of {corpus.root}: each speaker has at "
            f"most {chosen.shots} clips of each label among the {len(candidates)} clips the "
            "other options select, and --shots takes them all"
        )
    _note_short(candidates, chosen.shots, chosen.rest)
    return picked


def _no_match(corpus: Corpus, chosen: Selection) -> str:
    message = corpus.no_match(chosen.splits, chosen.speakers, chosen.labels)
    if chosen.splits is not None and replace(chosen, splits=None).apply(corpus).clips:
        message += f"; --split {ALL_SPLITS} takes every split"
    return message


def _note_short(candidates: Corpus, shots: int, rest: bool) -> None:
    """One line on stderr for the speaker/label pairs with too few clips to be split."""
    short = short_groups(candidates.clips, shots)
    if not rest:
        short = {key: n for key, n in short.items() if n < shots}
    if not short:
        return
    named = ", ".join(f"{s}/{label} ({n})" for (s, label), n in list(short.items())[:_SHOWN])
    more = f" and {len(short) - _SHOWN} more" if len(short) > _SHOWN else ""
    pairs = f"{len(short)} speaker/label pairs that have"
    if rest:
        what = f"--rest has no clip of the {pairs} {shots} clips or fewer"
    else:
        what = f"--shots {shots} takes every clip of the {pairs} fewer"
    typer.echo(f"note: {what}: {named}{more}", err=True)
