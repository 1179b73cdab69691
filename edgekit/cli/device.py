"""The commands that run a bundle as a device does: ``info``, ``personalize``, ``evaluate``,
``predict``, ``enroll`` (through the ExecuTorch runtime, with the device's saved state)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from edgekit.cli.options import Bundle, FirstN, Speakers, State
from edgekit.errors import DataError

__all__ = ["enroll", "evaluate", "info", "personalize", "predict"]


def info(bundle: Bundle, state: State = None) -> None:
    """Print a bundle's manifest and memory report (verifying its hashes)."""
    from edgekit.device import Learner
    from edgekit.plan.report import memory_table

    learner = Learner(bundle, state)
    typer.echo(json.dumps(learner.manifest.to_dict(), indent=2))
    report = {"device_labels": learner.labels, **learner.memory_report().to_dict()}
    typer.echo(json.dumps(report, indent=2))
    typer.echo(memory_table(learner.plan))


def _labelled_clips(
    learner_labels: Sequence[str],
    corpus: Path,
    speaker: list[str] | None,
    max_per_label: int | None,
    split: str | None,
) -> tuple[Any, list[str]]:
    from edgekit.data.loaders import load_for_labels

    data = load_for_labels(corpus, list(learner_labels))
    data = data.subset(
        splits=[split] if split else None, speakers=speaker, max_per_label=max_per_label
    )
    if not data.clips:
        raise DataError(f"no clips in {corpus} match the split/speaker filters")
    clips = data.load()
    for failure in clips.failures:
        typer.echo(f"skipped {failure.path}: {failure.reason}")
    return clips.audio, [data.labels[i] for i in clips.labels]


def personalize(
    bundle: Bundle,
    corpus: Annotated[Path, typer.Argument(help="Labelled clips (Speech Commands layout).")],
    state: State = None,
    speaker: Speakers = None,
    max_per_label: FirstN = None,
    split: Annotated[str | None, typer.Option(help="Only this split.")] = None,
    epochs: Annotated[int, typer.Option(help="Epochs over the clips.")] = 5,
    mix_ratio: Annotated[float, typer.Option(help="Share of each batch from D0.")] = 0.5,
) -> None:
    """Train the bundle's head on the device runtime with the user's clips (mixing D0)."""
    from edgekit.device import Learner, LearnerConfig

    learner = Learner(bundle, state, LearnerConfig(mix_ratio=mix_ratio))
    pcm, labels = _labelled_clips(learner.labels, corpus, speaker, max_per_label, split)
    before = learner.accuracy(pcm, labels)
    history = learner.personalize(pcm, labels, epochs=epochs, progress=True)
    path = learner.save()
    typer.echo(
        f"personalised on {len(pcm)} clips: loss {history[0]:.3f} -> {history[-1]:.3f}, "
        f"accuracy on them {before:.1f}% -> {learner.accuracy(pcm, labels):.1f}%; state {path}"
    )


def evaluate(
    bundle: Bundle,
    corpus: Annotated[Path, typer.Argument(help="Labelled clips (Speech Commands layout).")],
    state: State = None,
    speaker: Speakers = None,
    split: Annotated[str | None, typer.Option(help="Only this split.")] = "test",
) -> None:
    """Accuracy of the device model (bundle + saved state) on labelled clips."""
    from edgekit.device import Learner

    learner = Learner(bundle, state)
    pcm, labels = _labelled_clips(learner.labels, corpus, speaker, None, split)
    typer.echo(f"accuracy {learner.accuracy(pcm, labels):.1f}% on {len(pcm)} clips")


def predict(
    bundle: Bundle,
    files: Annotated[list[Path], typer.Argument(help="Audio files (any rate and channels).")],
    state: State = None,
) -> None:
    """Label audio files with the device model."""
    from edgekit.audio.io import read_clips
    from edgekit.device import Learner

    learner = Learner(bundle, state)
    labels = learner.predict(read_clips(files, learner.manifest.clip_samples))
    for path, label in zip(files, labels, strict=True):
        typer.echo(f"{path}\t{label}")


def enroll(
    bundle: Bundle,
    name: Annotated[str, typer.Argument(help="The new class.")],
    files: Annotated[list[Path], typer.Argument(help="A few clips of it (5 is enough).")],
    state: State = None,
    epochs: Annotated[int, typer.Option(help="Epochs over the new clips.")] = 20,
    mix_ratio: Annotated[
        float | None,
        typer.Option(
            help="Share of each batch from D0 + replay (default: class-balanced). Lower learns "
            "the new class faster but forgets more of the old ones."
        ),
    ] = None,
) -> None:
    """Add a new class into a free slot of the bundle's head from a few clips."""
    from edgekit.audio.io import read_clips
    from edgekit.device import Learner

    learner = Learner(bundle, state)
    pcm = read_clips(files, learner.manifest.clip_samples)
    history = learner.enroll(name, pcm, epochs, mix_ratio)
    path = learner.save()
    typer.echo(
        f"enrolled {name!r} from {len(files)} clips (loss {history[0]:.3f} -> {history[-1]:.3f}); "
        f"{len(learner.labels)}/{learner.manifest.max_classes} slots used; state {path}"
    )
