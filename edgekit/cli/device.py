"""The commands that run a bundle as a device does: ``info``, ``personalize``, ``evaluate``,
``predict``, ``enroll`` (through the ExecuTorch runtime, with the device's saved state)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from edgekit.cli.options import (
    Bundle,
    CorpusPath,
    DrawSeed,
    FirstN,
    ResetState,
    Rest,
    Shots,
    Speakers,
    Split,
    State,
)
from edgekit.errors import ConfigError, DataError, NonFiniteInput

if TYPE_CHECKING:
    from edgekit.audio.config import FrontendConfig
    from edgekit.data.corpus import Corpus
    from edgekit.data.selection import Selection

NON_FINITE = "its features are not finite (samples far outside [-1, 1]?)"

__all__ = ["enroll", "evaluate", "info", "personalize", "predict"]


def info(bundle: Bundle, state: State = None) -> None:
    """Print a bundle's manifest and memory report (verifying its hashes)."""
    from edgekit.device import Learner
    from edgekit.plan.report import memory_table

    learner = Learner(bundle, state, read_only=True)
    typer.echo(json.dumps(learner.manifest.to_dict(), indent=2))
    report = {"device_labels": learner.labels, **learner.memory_report().to_dict()}
    typer.echo(json.dumps(report, indent=2))
    typer.echo(memory_table(learner.plan))


def _finite(learner: Any, pcm: Any, paths: Sequence[Path]) -> tuple[Any, list[int]]:
    """The clips whose features are finite, each other one reported as skipped: ``(their pcm,
    their indices)``. They are embedded here, with progress, into the learner's cache, from
    which the command's own calls then read them."""
    try:
        learner.embed(pcm, progress=True)
        return pcm, list(range(len(pcm)))
    except NonFiniteInput as exc:
        bad = set(exc.indices)
    for i in sorted(bad):
        typer.echo(f"skipped {paths[i]}: {NON_FINITE}", err=True)
    keep = [i for i in range(len(pcm)) if i not in bad]
    return pcm[keep], keep


def _frontend(learner: Any) -> FrontendConfig:
    from edgekit.audio.config import FrontendConfig

    return FrontendConfig.from_dict(learner.manifest.frontend)


def _window(learner: Any, training: bool) -> str:
    """The bundle's clip window: every window of its policy to train on, one clip to measure."""
    from edgekit.audio.window import measure_window

    policy = _frontend(learner).clip_window
    return policy if training else measure_window(policy)


def _usable_files(
    learner: Any, files: Sequence[Path], none_left: str, training: bool = False
) -> tuple[Any, list[Path]]:
    """The clips of ``files`` (cut by the bundle's clip window) that read and give finite
    features, and the file of each; each other file is one ``skipped`` line on stderr. One bad
    file alone is its own error; no usable file among several is a DataError (``none_left``
    ends its message)."""
    from edgekit.audio.window import read_windows_lenient

    cfg = _frontend(learner)
    pcm, owner, kept, failures = read_windows_lenient(
        files, learner.manifest.clip_samples, cfg.sample_rate, _window(learner, training)
    )
    if not kept and len(files) == 1:
        raise failures[0]
    for failure in failures:
        typer.echo(f"skipped {failure.path}: {failure.reason}", err=True)
    paths = [kept[i] for i in owner]
    pcm, good = _finite(learner, pcm, paths) if kept else (pcm, [])
    if not good:
        raise DataError(f"none of the {len(files)} files is usable audio{none_left}")
    return pcm, [paths[i] for i in good]


def _check_mix_ratio(value: float | None) -> None:
    if value is not None and not 0 <= value < 1:
        raise ConfigError(f"--mix-ratio must be in [0, 1), got {value}")


def _state_set_aside(learner: Any) -> None:
    if learner.set_aside is not None:
        typer.echo(f"the previous state was set aside as {learner.set_aside}", err=True)


def _refused(learner: Any) -> str:
    n = learner.refused_steps
    return f"; {n} steps refused (NaN/Inf loss or gradients)" if n else ""


def _labelled_clips(
    learner: Any, corpus: Path, chosen: Selection, training: bool
) -> tuple[Any, list[str]]:
    """The clips of ``corpus`` that ``chosen`` keeps, labelled with the bundle's classes."""
    from edgekit.cli.selection import select
    from edgekit.data.loaders import load_for_labels

    data = select(load_for_labels(corpus, list(learner.labels)), chosen)
    return _decoded(learner, data, corpus, training)


def _decoded(learner: Any, data: Corpus, corpus: Path, training: bool) -> tuple[Any, list[str]]:
    """``data``'s clips (cut by the bundle's clip window) that decode and give finite features,
    and their labels; each other clip is one ``skipped`` line on stderr."""
    clips = data.load(_frontend(learner), window=_window(learner, training))
    for failure in clips.failures:
        typer.echo(f"skipped {failure.path}: {failure.reason}", err=True)
    if not len(clips):
        raise DataError(f"none of the {len(data.clips)} clips of {corpus} is usable audio")
    pcm, keep = _finite(learner, clips.audio, clips.paths)
    if not keep:
        raise DataError(f"none of the clips of {corpus} gives finite features")
    return pcm, [data.labels[clips.labels[i]] for i in keep]


def personalize(
    bundle: Bundle,
    corpus: CorpusPath,
    state: State = None,
    reset_state: ResetState = False,
    speaker: Speakers = None,
    split: Split = None,
    shots: Shots = None,
    rest: Rest = False,
    draw_seed: DrawSeed = None,
    max_per_label: FirstN = None,
    epochs: Annotated[int, typer.Option(help="Epochs over the clips.")] = 5,
    mix_ratio: Annotated[float, typer.Option(help="Share of each batch from D0.")] = 0.5,
) -> None:
    """Train the bundle's head on the device runtime with the user's clips (mixing D0)."""
    from edgekit.cli.selection import selection
    from edgekit.device import Learner, LearnerConfig

    _check_mix_ratio(mix_ratio)
    chosen = selection(speaker, split, shots, rest, draw_seed, max_per_label)
    config = LearnerConfig(mix_ratio=mix_ratio)
    learner = Learner(bundle, state, config, reset_state=reset_state)
    _state_set_aside(learner)
    pcm, labels = _labelled_clips(learner, corpus, chosen, training=True)
    before = learner.accuracy(pcm, labels)
    history = learner.personalize(pcm, labels, epochs=epochs, progress=True)
    path = learner.save()
    typer.echo(
        f"personalised on {len(pcm)} clips: loss {history[0]:.3f} -> {history[-1]:.3f}, "
        f"accuracy on them {before:.1f}% -> {learner.accuracy(pcm, labels):.1f}%; state "
        f"{path}{_refused(learner)}"
    )


def evaluate(
    bundle: Bundle,
    corpus: CorpusPath,
    state: State = None,
    speaker: Speakers = None,
    split: Split = "test",
    shots: Shots = None,
    rest: Rest = False,
    draw_seed: DrawSeed = None,
    max_per_label: FirstN = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Also write the confusion matrix as a PNG image to this file (needs "
            "matplotlib: pip install 'edgekit[plot]')."
        ),
    ] = None,
) -> None:
    """Accuracy of the device model (bundle + saved state) on labelled clips, per class, and
    its confusion matrix."""
    from edgekit.cli.confusion import confusion_table, plot_confusion, require_matplotlib
    from edgekit.cli.selection import selection
    from edgekit.device import Learner

    chosen = selection(speaker, split, shots, rest, draw_seed, max_per_label)
    if plot is not None:
        require_matplotlib()  # before the slow part
    learner = Learner(bundle, state, read_only=True)
    pcm, labels = _labelled_clips(learner, corpus, chosen, training=False)
    predicted = learner.predict(pcm)
    hits = sum(p == t for p, t in zip(predicted, labels, strict=True))
    accuracy = f"accuracy {100.0 * hits / len(labels):.1f}% on {len(pcm)} clips"
    typer.echo(accuracy)
    typer.echo(confusion_table(labels, predicted, learner.labels))
    if plot is not None:
        plot_confusion(labels, predicted, learner.labels, plot, title=accuracy)
        typer.echo(f"confusion matrix written to {plot}")


def predict(
    bundle: Bundle,
    files: Annotated[list[Path], typer.Argument(help="Audio files (any rate and channels).")],
    state: State = None,
) -> None:
    """Label audio files with the device model; a bad file is skipped (one line on stderr) and
    the others are still labelled, then the exit status is 1."""
    from edgekit.device import Learner

    learner = Learner(bundle, state, read_only=True)
    pcm, usable = _usable_files(learner, files, "")
    for path, label in zip(usable, learner.predict(pcm), strict=True):
        typer.echo(f"{path}\t{label}")
    if len(usable) < len(files):
        raise typer.Exit(1)


def enroll(
    bundle: Bundle,
    name: Annotated[str, typer.Argument(help="The new class.")],
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="A few clips of it (5 is enough); or --corpus and --label."),
    ] = None,
    state: State = None,
    reset_state: ResetState = False,
    epochs: Annotated[int, typer.Option(help="Epochs over the new clips.")] = 20,
    mix_ratio: Annotated[
        float | None,
        typer.Option(
            help="Share of each batch from D0 + replay, in [0, 1) (default: class-balanced, "
            "which learned new words better than a fixed 0.5 in our measurements on speech)."
        ),
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option(help="Take the clips from this corpus instead of FILES (with --label)."),
    ] = None,
    label: Annotated[
        str | None, typer.Option(help="The --corpus label whose clips are enrolled as NAME.")
    ] = None,
    speaker: Speakers = None,
    split: Split = None,
    shots: Shots = None,
    rest: Rest = False,
    draw_seed: DrawSeed = None,
    max_per_label: FirstN = None,
) -> None:
    """Add a new class into a free slot of the bundle's head from a few clips: FILES, or the
    clips of --label in --corpus that the selection options keep (e.g. --speaker S --shots 5).
    Bad clips are skipped (one line each on stderr) and the class is enrolled from the good ones;
    with FILES the exit status is then 1. With no good clip nothing is enrolled."""
    from edgekit.cli.selection import selection
    from edgekit.data.selection import Selection
    from edgekit.device import Learner

    _check_mix_ratio(mix_ratio)
    chosen = selection(speaker, split, shots, rest, draw_seed, max_per_label)
    if files and corpus is not None:
        raise ConfigError("pass the clips as FILE... or as --corpus DIR --label WORD, not both")
    if corpus is None:
        if label is not None or chosen != Selection():
            raise ConfigError(
                "--label and the selection options (--speaker, --split, --shots, --rest, "
                "--draw-seed, --max-per-label) pick clips of --corpus: pass --corpus DIR"
            )
        if not files:
            raise ConfigError("no clips: pass FILE... or --corpus DIR --label WORD")
    elif label is None:
        raise ConfigError("--corpus needs --label: the corpus' label to enrol as NAME")
    learner = Learner(bundle, state, reset_state=reset_state)
    _state_set_aside(learner)
    if corpus is not None and label is not None:
        pcm, _ = _decoded(learner, _clips_of(corpus, label, chosen), corpus, training=True)
        used = f"{len(pcm)} clips of {label!r} in {corpus}"
        skipped = 0
    else:
        listed = files or []
        pcm, rows = _usable_files(learner, listed, "; nothing enrolled", training=True)
        good = list(dict.fromkeys(rows))  # a file gives several clips under all-windows
        skipped = len(listed) - len(good)
        used = f"{len(good)} of {len(listed)} clips ({skipped} skipped)" if skipped else ""
        used = used or f"{len(good)} clips"
    history = learner.enroll(name, pcm, epochs, mix_ratio)
    path = learner.save()
    typer.echo(
        f"enrolled {name!r} from {used} (loss {history[0]:.3f} -> {history[-1]:.3f}); "
        f"{len(learner.labels)}/{learner.manifest.max_classes} slots used; state "
        f"{path}{_refused(learner)}"
    )
    if skipped:
        raise typer.Exit(1)


def _clips_of(corpus: Path, label: str, chosen: Selection) -> Corpus:
    """The clips of ``label`` in ``corpus`` (any layout, one class per label) that ``chosen``
    keeps."""
    from dataclasses import replace

    from edgekit.cli.selection import select
    from edgekit.data.loaders import load_corpus

    everything = load_corpus(corpus)
    if label not in everything.labels:
        raise ConfigError(
            f"--label {label} is not a label of {corpus}; its labels are "
            f"{', '.join(everything.labels)}"
        )
    return select(everything, replace(chosen, labels=(label,)))
