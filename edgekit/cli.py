"""The ``edgekit`` command line. Every command takes plain folders and prints what it did."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from edgekit._quiet import quiet_dependencies
from edgekit.errors import ConfigError, DataError, EdgekitError

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
    keyword: Annotated[
        list[str] | None, typer.Option(help="Keywords of the keyword task (repeatable).")
    ] = None,
    exclude_word: Annotated[
        list[str] | None, typer.Option(help="Leave this word out entirely (repeatable).")
    ] = None,
    seed: Seed = 0,
) -> None:
    """Train a model on a corpus (eager PyTorch) and report accuracy on held-out speakers."""
    from edgekit.data.speech_commands import CORE_KEYWORDS, load_speech_commands
    from edgekit.models.pretrain import PretrainConfig, pretrain_corpus, save_checkpoint

    keywords = tuple(keyword) if keyword else CORE_KEYWORDS
    data = load_speech_commands(corpus, task=task, keywords=keywords, seed=seed)  # type: ignore[arg-type]
    data = data.subset(speakers=speaker, max_per_label=max_per_label, exclude_words=exclude_word)
    model, report = pretrain_corpus(data, arch, PretrainConfig(epochs=epochs, seed=seed))
    save_checkpoint(model, out, report.label_names, test_acc=report.test_acc)
    for line in report.load_failures:
        typer.echo(f"skipped {line}")
    typer.echo(
        f"{arch}: {report.n_train} train / {report.n_validation} validation / {report.n_test} "
        f"test clips; validation {report.best_val_acc or float('nan'):.1f}%, test on held-out "
        f"speakers {report.test_acc:.1f}%; checkpoint {out}"
    )


Bundle = Annotated[Path, typer.Argument(help="A bundle folder (from `edgekit export`).")]
State = Annotated[Path | None, typer.Option(help="Device state folder (default: <bundle>.state).")]
Speakers = Annotated[list[str] | None, typer.Option("--speaker", help="Only these speakers.")]
FirstN = Annotated[int | None, typer.Option(help="Only the first N clips of each label.")]


Budget = Annotated[
    str | None,
    typer.Option(help="Training-memory budget: 256KiB, 1MiB, 64kB, bytes, or 'unbounded'."),
]
CacheBudget = Annotated[
    str | None,
    typer.Option(help="Bound on cached features (D0 included), e.g. 8MiB; default unbounded."),
]
Scheme = Annotated[str, typer.Option(help="sparse (the planner's rule) or last-k (baseline).")]
D0PerClass = Annotated[int, typer.Option(help="Clips per class in D0.")]


def _d0_clips(corpus: Path, labels: list[str], per_class: int, seed: int) -> Any:
    from edgekit.data.d0 import select_d0
    from edgekit.data.loaders import load_for_labels

    data = load_for_labels(corpus, labels, seed=seed).subset(splits=["train"])
    clips = data.load()
    for failure in clips.failures:
        typer.echo(f"skipped {failure.path}: {failure.reason}")
    return clips, select_d0(clips, per_class, seed)


@app.command()
def plan(
    model: Annotated[str, typer.Argument(help="A checkpoint, or an architecture name.")],
    corpus: Annotated[
        Path | None, typer.Argument(help="Corpus whose train split is D0 (for importance).")
    ] = None,
    budget: Budget = "unbounded",
    cache_budget: CacheBudget = None,
    scheme: Scheme = "sparse",
    momentum: Annotated[bool, typer.Option(help="Count SGD momentum buffers.")] = True,
    d0_per_class: D0PerClass = 20,
    out: Annotated[Path | None, typer.Option(help="Write the plan as JSON here.")] = None,
    seed: Seed = 0,
) -> None:
    """Plan what trains on the device within a memory budget; print the plan and its memory."""
    from edgekit.budget.config import PlanConfig
    from edgekit.budget.make import check_scheme, choose_plan, load_model, planner_for
    from edgekit.plan.report import memory_table
    from edgekit.plan.sizes import parse_bytes

    limit, cache_limit = parse_bytes(budget), parse_bytes(cache_budget)
    check_scheme(scheme)
    loaded, labels = load_model(model)
    d0 = None
    if corpus is not None:
        if labels is None:
            raise ConfigError(
                "a corpus ranks an untrained architecture's units by nothing: pass a checkpoint"
            )
        _, d0 = _d0_clips(corpus, list(labels), d0_per_class, seed)
    config = PlanConfig(momentum=momentum, seed=seed)
    planner = planner_for(loaded, d0, config=config, progress=True)
    chosen = choose_plan(planner, limit, cache_limit, scheme)
    typer.echo(memory_table(chosen))
    if out is not None:
        chosen.save(out)
        typer.echo(f"plan written to {out}")


@app.command()
def export(
    checkpoint: Annotated[Path, typer.Argument(help="A checkpoint from `edgekit pretrain`.")],
    corpus: Annotated[Path, typer.Argument(help="Corpus whose train split provides D0.")],
    out: Annotated[Path, typer.Option(help="Bundle folder to write.")] = Path("runs/bundle"),
    d0_per_class: D0PerClass = 20,
    train_batch: Annotated[int, typer.Option(help="Batch of train_step without a budget.")] = 32,
    budget: Budget = None,
    cache_budget: CacheBudget = None,
    scheme: Scheme = "sparse",
    plan_file: Annotated[
        Path | None, typer.Option("--plan", help="A plan from `edgekit plan --out`.")
    ] = None,
    seed: Seed = 0,
) -> None:
    """Export a checkpoint to an on-device training bundle (.pte + weights + D0 + manifest).

    Without --budget or --plan the whole head trains over pooled features.
    """
    from edgekit.budget.make import check_scheme, choose_plan, planner_for
    from edgekit.export.bundle import ExportConfig, export_bundle
    from edgekit.models.pretrain import load_checkpoint
    from edgekit.plan.sizes import parse_bytes
    from edgekit.plan.spec import TrainingPlan

    limit, cache_limit = parse_bytes(budget), parse_bytes(cache_budget)
    check_scheme(scheme)
    model, labels, _ = load_checkpoint(checkpoint)
    clips, d0 = _d0_clips(corpus, list(labels), d0_per_class, seed)
    config = ExportConfig(train_batch=train_batch, d0_per_class=d0_per_class, seed=seed)
    chosen, lowered = None, None
    if plan_file is not None:
        chosen = TrainingPlan.load(plan_file)
    elif limit is not None or cache_limit is not None:
        planner = planner_for(model, d0, config=None, progress=True)
        chosen = choose_plan(planner, limit, cache_limit, scheme)
        lowered = planner.lowered
    manifest = export_bundle(model, labels, out, clips, config, plan=chosen, lowered=lowered)
    typer.echo(
        f"bundle {out}: {len(manifest.labels)} classes in {manifest.max_classes} slots, "
        f"program {manifest.memory.program_bytes} bytes, training memory "
        f"{manifest.memory.training.training_bytes} bytes"
    )


@app.command()
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


@app.command()
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


@app.command()
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


@app.command()
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


@app.command()
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


def main(argv: list[str] | None = None) -> None:
    """Entry point: a user error (an :class:`~edgekit.errors.EdgekitError`) prints one
    ``error:`` line on stderr and exits 2; anything else is a bug and keeps its traceback.

    ``argv``: the arguments (default: the process's own).
    """
    quiet_dependencies()
    try:
        app(args=argv)
    except EdgekitError as exc:
        typer.secho(f"error: {one_line(exc)}", fg=typer.colors.RED, err=True)
        sys.exit(2)


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (a wrapped library message can span several)."""
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip())


if __name__ == "__main__":
    main()
