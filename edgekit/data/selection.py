"""Which clips of a corpus a command uses: natural file order, per-label shots and their rest.

A held-out measurement is only as good as its split, so every rule here is deterministic and
stated in terms a user can check by listing the files:

- **Natural order**: file paths compared with their numbers as numbers (``clip2`` before
  ``clip10``), then by the offset inside the file. "The first N" always means this order.
- **Shots**: ``shots=K`` keeps, for each speaker and each label, the first K clips in natural
  order, or K drawn at random when a ``draw_seed`` is given (each speaker and label drawn on its
  own, so the draw does not depend on which other clips are present). ``rest=True`` keeps exactly
  the clips that ``shots=K`` leaves: with the same other filters the two sets are disjoint and
  together cover every clip (adapt on the shots, measure on the rest).
- **Max per label**: the first N clips of each label, natural order (after shots or rest).

Each function keeps the clips it selects in the order it was given them.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from edgekit.errors import ConfigError

if TYPE_CHECKING:
    from edgekit.data.corpus import ClipRef, Corpus

__all__ = [
    "Selection",
    "first_per_label",
    "natural_key",
    "natural_order",
    "short_groups",
    "take_shots",
]

_DIGITS = re.compile(r"(\d+)")


NaturalKey = tuple[tuple[tuple[str, int], ...], str]


def natural_key(text: str) -> NaturalKey:
    """A sort key that compares runs of digits as numbers: ``clip2`` < ``clip10`` < ``Clip11``
    (letters compare case-insensitively, ties as written, so the order is total)."""
    parts = _DIGITS.split(text)  # text, digits, text, digits, ... (always text first)
    key = tuple(
        (part.casefold(), 0) if i % 2 == 0 else ("", int(part)) for i, part in enumerate(parts)
    )
    return key, text


def _clip_key(clip: ClipRef) -> tuple[NaturalKey, float]:
    return natural_key(clip.path.as_posix()), clip.offset_seconds


def natural_order(clips: Iterable[ClipRef]) -> list[ClipRef]:
    """``clips`` sorted by path in natural order, then by offset inside the file."""
    return sorted(clips, key=_clip_key)


def _groups(clips: Sequence[ClipRef], by_speaker: bool) -> dict[tuple[str, str], list[int]]:
    """Indices of ``clips`` per (speaker, label), or per ("", label), each in natural order."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i in sorted(range(len(clips)), key=lambda i: _clip_key(clips[i])):
        clip = clips[i]
        groups[(clip.speaker if by_speaker else "", clip.label)].append(i)
    return groups


def _at_least_one(name: str, value: int) -> None:
    if value < 1:
        raise ConfigError(f"{name} must be >= 1, got {value}")


def first_per_label(clips: Sequence[ClipRef], n: int) -> list[ClipRef]:
    """The first ``n`` clips of each label, in natural order."""
    _at_least_one("clips kept per label", n)
    keep = {i for members in _groups(clips, by_speaker=False).values() for i in members[:n]}
    return [clip for i, clip in enumerate(clips) if i in keep]


def take_shots(
    clips: Sequence[ClipRef], shots: int, rest: bool = False, draw_seed: int | None = None
) -> list[ClipRef]:
    """``shots`` clips of each label of each speaker (the first ones in natural order, or drawn
    with ``draw_seed``); with ``rest=True``, every other clip instead."""
    _at_least_one("shots", shots)
    chosen: set[int] = set()
    for (speaker, label), members in _groups(clips, by_speaker=True).items():
        if draw_seed is None:
            chosen.update(members[:shots])
        else:  # one generator per speaker and label: a draw independent of the other groups
            rng = random.Random(f"{draw_seed}/{speaker}/{label}")
            chosen.update(rng.sample(members, min(shots, len(members))))
    return [clip for i, clip in enumerate(clips) if (i in chosen) != rest]


def short_groups(clips: Sequence[ClipRef], shots: int) -> dict[tuple[str, str], int]:
    """``{(speaker, label): clips}`` for each speaker and label with ``shots`` clips or fewer:
    the shots take all of them, and the rest has none of them."""
    sizes = {key: len(members) for key, members in _groups(clips, by_speaker=True).items()}
    return {key: n for key, n in sorted(sizes.items()) if n <= shots}


@dataclass(frozen=True)
class Selection:
    """Filters applied in this order: splits, speakers, labels, shots (or their rest), then the
    first ``max_per_label`` of each label. ``None`` means no filter."""

    splits: tuple[str, ...] | None = None
    speakers: tuple[str, ...] | None = None
    labels: tuple[str, ...] | None = None
    shots: int | None = None
    rest: bool = False
    draw_seed: int | None = None
    max_per_label: int | None = None

    def __post_init__(self) -> None:
        if self.shots is not None:
            _at_least_one("shots", self.shots)
        if self.max_per_label is not None:
            _at_least_one("max_per_label", self.max_per_label)
        if self.shots is None and (self.rest or self.draw_seed is not None):
            raise ConfigError("rest and draw_seed apply to shots: give shots too")

    def apply(self, corpus: Corpus) -> Corpus:
        """The clips of ``corpus`` this selection keeps (its classes stay, unless ``labels``)."""
        return corpus.subset(
            splits=self.splits,
            speakers=self.speakers,
            labels=self.labels,
            shots=self.shots,
            rest=self.rest,
            draw_seed=self.draw_seed,
            max_per_label=self.max_per_label,
        )
