"""The options and arguments several commands share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Seed = Annotated[int, typer.Option(help="Random seed; the same seed gives the same result.")]
Workers = Annotated[int | None, typer.Option(help="Parallel workers (default: all cores).")]
Overwrite = Annotated[bool, typer.Option(help="Replace a folder built with other settings.")]

Bundle = Annotated[Path, typer.Argument(help="A bundle folder (from `edgekit export`).")]
State = Annotated[Path | None, typer.Option(help="Device state folder (default: <bundle>.state).")]
ResetState = Annotated[
    bool,
    typer.Option(
        help="Set the saved state aside (renamed, kept) and start from the bundle's weights: "
        "the way past a damaged state."
    ),
]

CorpusPath = Annotated[
    Path,
    typer.Argument(
        help="Labelled clips: a Speech Commands or UrbanSound8K folder, or a folder with a "
        "manifest.csv (path,label,speaker[,split]), or that CSV."
    ),
]

# Which clips of a corpus a command uses (edgekit.cli.selection applies them).
Speakers = Annotated[
    list[str] | None, typer.Option("--speaker", help="Only this speaker (repeatable).")
]
Split = Annotated[
    str | None,
    typer.Option(help="Only this split (train, validation, test, fold3, ...); 'all' for every."),
]
Shots = Annotated[
    int | None,
    typer.Option(
        help="Only K clips of each label of each speaker: the first K in file order "
        "(clip2 before clip10), or K drawn with --draw-seed."
    ),
]
Rest = Annotated[
    bool,
    typer.Option(
        "--rest",
        help="Every clip that --shots leaves instead (with the same options: disjoint from the "
        "shots, and together they cover every clip). Adapt on --shots, measure on --rest.",
    ),
]
DrawSeed = Annotated[
    int | None,
    typer.Option(help="Draw the --shots clips at random with this seed instead of the first K."),
]
FirstN = Annotated[
    int | None,
    typer.Option(help="Only the first N clips of each label (file order, clip2 before clip10)."),
]

Budget = Annotated[
    str | None,
    typer.Option(help="Training-memory budget: 256KiB, 1MiB, 64kB, bytes, or 'unbounded'."),
]
CacheBudget = Annotated[
    str | None,
    typer.Option(help="Bound on cached features (D0 included), e.g. 8MiB; default unbounded."),
]
Scheme = Annotated[str, typer.Option(help="sparse (the planner's rule) or last-k (baseline).")]
StepsPerCall = Annotated[
    int | None,
    typer.Option(
        "--steps-per-call",
        help="SGD steps per call of the program (2 to 64 adds train_steps: the update runs "
        "inside the program, several batches a call; its memory is measured and counted). "
        "Default 1: one train_step call per batch. With --plan: the plan's own unless given.",
    ),
]
Kernels = Annotated[
    str | None,
    typer.Option(
        "--training-kernels",
        help="What runs train_step/distill_step: portable (the default; all memory in the "
        "plan's arena) or xnnpack (faster on deeper cuts and larger batches; its delegate "
        "memory is measured and counted). With --plan: the plan's own unless given.",
    ),
]
D0PerClass = Annotated[int, typer.Option(help="Clips per class in D0.")]
