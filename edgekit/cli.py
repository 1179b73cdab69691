"""The ``edgekit`` command line. Every command takes plain folders and prints what it did."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from edgekit._quiet import quiet_dependencies
from edgekit.errors import EdgekitError

if TYPE_CHECKING:
    from edgekit.data.corpus import Corpus

__all__ = ["app", "main"]

app = typer.Typer(
    help="edgekit: train speech and sound models on the phone.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Generate and inspect audio corpora.", no_args_is_help=True)
app.add_typer(data_app, name="data")

Seed = Annotated[int, typer.Option(help="Random seed; the same seed gives the same result.")]
Workers = Annotated[int | None, typer.Option(help="Parallel workers (default: all cores).")]
Overwrite = Annotated[bool, typer.Option(help="Replace a folder built with other settings.")]


@data_app.command("kws")
def data_kws(
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
    config = replace(
        KwsCorpusConfig(seed=seed), **{k: v for k, v in changes.items() if v is not None}
    )
    root = generate_kws_corpus(out, config, workers=workers, overwrite=overwrite)
    _print_corpus(root, "speech-commands")


@data_app.command("urban")
def data_urban(
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

    config = UrbanCorpusConfig(seed=seed)
    if clips_per_class is not None:
        config = replace(config, clips_per_class=clips_per_class)
    root = generate_urban_corpus(out, config, workers=workers, overwrite=overwrite)
    _print_corpus(root, "urbansound")


@data_app.command("inspect")
def data_inspect(
    folder: Annotated[Path, typer.Argument(help="A corpus folder.")],
    layout: Annotated[
        str, typer.Option(help="speech-commands, urbansound, or auto (detect).")
    ] = "auto",
    check: Annotated[bool, typer.Option(help="Decode every clip and report bad files.")] = False,
) -> None:
    """Count clips per split and label; with --check, decode them all and list failures."""
    corpus = _print_corpus(folder, layout)
    if check:
        clips = corpus.load()
        typer.echo(f"decoded {len(clips)} clips; {len(clips.failures)} could not be used")
        for failure in clips.failures:
            typer.echo(f"  {failure.path}: {failure.reason}")


@app.command()
def pretrain(
    corpus: Annotated[Path, typer.Argument(help="A folder in the Speech Commands layout.")],
    out: Annotated[Path, typer.Option(help="Checkpoint to write.")] = Path("runs/model.pt"),
    arch: Annotated[str, typer.Option(help="tcresnet, resnet or dscnn.")] = "tcresnet",
    task: Annotated[str, typer.Option(help="keywords (12-class) or all (one per folder).")] = (
        "keywords"
    ),
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 30,
    speaker: Annotated[
        list[str] | None, typer.Option(help="Only these speakers (repeatable).")
    ] = None,
    max_per_label: Annotated[
        int | None, typer.Option(help="Only the first N clips of each label.")
    ] = None,
    seed: Seed = 0,
) -> None:
    """Train a model on a corpus (eager PyTorch) and report accuracy on held-out speakers."""
    from edgekit.data.speech_commands import load_speech_commands
    from edgekit.models.pretrain import PretrainConfig, pretrain_corpus, save_checkpoint

    data = load_speech_commands(corpus, task=task, seed=seed)  # type: ignore[arg-type]
    data = data.subset(speakers=speaker, max_per_label=max_per_label)
    model, report = pretrain_corpus(data, arch, PretrainConfig(epochs=epochs, seed=seed))
    save_checkpoint(model, out, report.label_names, test_acc=report.test_acc)
    for line in report.load_failures:
        typer.echo(f"skipped {line}")
    typer.echo(
        f"{arch}: {report.n_train} train / {report.n_validation} validation / {report.n_test} "
        f"test clips; validation {report.best_val_acc or float('nan'):.1f}%, test on held-out "
        f"speakers {report.test_acc:.1f}%; checkpoint {out}"
    )


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Where outputs go.")] = Path("runs/demo"),
    corpus: Annotated[Path, typer.Option(help="Generated corpus folder.")] = Path(
        "datasets/generated/kws"
    ),
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 30,
    seed: Seed = 0,
) -> None:
    """Run the main job end to end on built-in defaults."""
    from edgekit.demo import run_demo

    summary = run_demo(workdir=workdir, corpus=corpus, epochs=epochs, seed=seed)
    typer.echo(json.dumps(summary, indent=2))


def _print_corpus(folder: Path, layout: str) -> Corpus:
    from edgekit.data.loaders import load_corpus

    corpus = load_corpus(folder, layout)
    counts = corpus.counts()
    typer.echo(
        f"{folder}: {len(corpus)} clips, {len(corpus.labels)} labels, "
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


def main() -> None:
    """Entry point: user errors print one line and exit 2; bugs keep their traceback."""
    quiet_dependencies()
    try:
        app()
    except EdgekitError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
    except ValueError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
