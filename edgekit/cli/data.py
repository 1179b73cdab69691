"""``edgekit data``: generate and inspect audio corpora."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from edgekit.cli.options import (
    DrawSeed,
    FirstN,
    Overwrite,
    Rest,
    Seed,
    Shots,
    Speakers,
    Split,
    Workers,
)
from edgekit.errors import ConfigError

if TYPE_CHECKING:
    from edgekit.data.corpus import Corpus
    from edgekit.data.selection import Selection

__all__ = ["app", "print_corpus"]

app = typer.Typer(help="Generate and inspect audio corpora.", no_args_is_help=True)

T = TypeVar("T")
_FIELD = re.compile(r"^\w+Config\.(\w+)")  # "KwsCorpusConfig.n_speakers must be ..."


def _in_flags(make: Callable[[], T], flags: dict[str, str]) -> T:
    """``make()``; a refused configuration field that is one of ``flags`` is named by its flag
    (``KwsCorpusConfig.n_speakers must be ...`` -> ``--speakers must be ...``)."""
    try:
        return make()
    except ConfigError as exc:
        match = _FIELD.match(str(exc))
        if match is None or match.group(1) not in flags:
            raise
        raise ConfigError(flags[match.group(1)] + str(exc)[match.end() :]) from exc


@app.command("kws")
def kws(
    out: Annotated[Path, typer.Argument(help="Folder to write (Speech Commands layout).")] = Path(
        "datasets/generated/kws"
    ),
    speakers: Annotated[int | None, typer.Option(help="Synthetic speakers (>= 3).")] = None,
    reps: Annotated[int | None, typer.Option(help="Utterances per speaker per keyword.")] = None,
    unknown_words: Annotated[int | None, typer.Option(help="Words for _unknown_.")] = None,
    seed: Seed = 0,
    workers: Workers = None,
    overwrite: Overwrite = False,
) -> None:
    """Synthesise an offline keyword-spotting corpus with espeak-ng and flite."""
    from dataclasses import replace

    from edgekit.data.generate_kws import KwsCorpusConfig, generate_kws_corpus

    changes: dict[str, Any] = {
        "n_speakers": speakers,
        "reps": reps,
        "n_unknown_words": unknown_words,
    }
    flags = {
        "seed": "--seed",
        "n_speakers": "--speakers",
        "reps": "--reps",
        "n_unknown_words": "--unknown-words",
    }
    config = _in_flags(
        lambda: replace(
            KwsCorpusConfig(seed=seed), **{k: v for k, v in changes.items() if v is not None}
        ),
        flags,
    )
    root = generate_kws_corpus(out, config, workers=workers, overwrite=overwrite)
    print_corpus(root, "speech-commands")


@app.command("urban")
def urban(
    out: Annotated[Path, typer.Argument(help="Folder to write (UrbanSound8K layout).")] = Path(
        "datasets/generated/urban"
    ),
    clips_per_class: Annotated[int | None, typer.Option(help="Clips per class.")] = None,
    seed: Seed = 0,
    workers: Workers = None,
    overwrite: Overwrite = False,
) -> None:
    """Synthesise an offline urban-sound corpus (10 classes, 10 folds)."""
    from dataclasses import replace

    from edgekit.data.generate_urban import UrbanCorpusConfig, generate_urban_corpus

    flags = {"seed": "--seed", "clips_per_class": "--clips-per-class"}
    config = _in_flags(lambda: UrbanCorpusConfig(seed=seed), flags)
    if clips_per_class is not None:
        config = _in_flags(lambda: replace(config, clips_per_class=clips_per_class), flags)
    root = generate_urban_corpus(out, config, workers=workers, overwrite=overwrite)
    print_corpus(root, "urbansound")


@app.command("inspect")
def inspect_corpus(
    folder: Annotated[Path, typer.Argument(help="A corpus folder, or a manifest CSV.")],
    layout: Annotated[
        str, typer.Option(help="speech-commands, urbansound, manifest, or auto (detect).")
    ] = "auto",
    check: Annotated[
        bool, typer.Option(help="Decode every clip; report bad files, rates, channels, durations.")
    ] = False,
    speaker: Speakers = None,
    split: Split = None,
    shots: Shots = None,
    rest: Rest = False,
    draw_seed: DrawSeed = None,
    max_per_label: FirstN = None,
) -> None:
    """Count clips per split and label (of the clips the selection options keep); with --check,
    decode them all, list failures, and give the decoded files' sample rates, channel counts
    and durations."""
    from edgekit.cli.selection import selection

    chosen = selection(speaker, split, shots, rest, draw_seed, max_per_label)
    corpus = print_corpus(folder, layout, chosen)
    if check:
        from edgekit.data.corpus import file_formats

        clips = corpus.load()
        typer.echo(f"decoded {len(clips)} clips; {len(clips.failures)} could not be used")
        for failure in clips.failures:
            typer.echo(f"  {failure.path}: {failure.reason}")
        for line in file_formats(clips.paths).lines():
            typer.echo(f"  {line}")


def print_corpus(folder: Path, layout: str, chosen: Selection | None = None) -> Corpus:
    """Index ``folder`` and print its clips (those ``chosen`` keeps) per split and label, and the
    files skipped."""
    from edgekit.cli.selection import select
    from edgekit.data.loaders import load_corpus

    everything = load_corpus(folder, layout)
    corpus = everything if chosen is None else select(everything, chosen)
    counts = corpus.counts()
    of = f" (of {len(everything)})" if len(corpus) < len(everything) else ""
    typer.echo(
        f"{folder}: {len(corpus)} clips{of}, {len(corpus.labels)} labels, "
        f"{len(corpus.speakers)} speakers/sources"
    )
    for split in sorted(counts):
        row = counts[split]
        typer.echo(
            f"  {split:<10} {sum(row.values()):>6} clips  "
            + " ".join(f"{label}={row.get(label, 0)}" for label in corpus.labels)
        )
    for failure in corpus.skipped:
        typer.echo(f"  skipped {failure.path}: {failure.reason}")
    return corpus
