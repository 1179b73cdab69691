"""The commands that make a bundle: ``pretrain`` a model, ``plan`` its training, ``export`` it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from edgekit.cli.options import (
    Budget,
    CacheBudget,
    CorpusPath,
    D0PerClass,
    DrawSeed,
    FirstN,
    Kernels,
    Rest,
    Scheme,
    Seed,
    Shots,
    Speakers,
    Split,
    StepsPerCall,
)
from edgekit.errors import ConfigError, CorpusLayoutError

if TYPE_CHECKING:
    from edgekit.data.selection import Selection

__all__ = ["export", "plan", "pretrain"]


def pretrain(
    corpus: CorpusPath,
    out: Annotated[Path, typer.Option(help="Checkpoint to write.")] = Path("runs/model.pt"),
    arch: Annotated[str, typer.Option(help="tcresnet, resnet or dscnn.")] = "tcresnet",
    task: Annotated[
        str,
        typer.Option(
            help="keywords (the --keyword words, _unknown_ and _silence_) or all (one class "
            "per word folder or label)."
        ),
    ] = "keywords",
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 30,
    test_speaker: Annotated[
        list[str] | None,
        typer.Option(
            help="Make the test split exactly this speaker (repeatable): never trained or "
            "selected on; other speakers' test clips go to train."
        ),
    ] = None,
    speaker: Speakers = None,
    split: Split = None,
    shots: Shots = None,
    rest: Rest = False,
    draw_seed: DrawSeed = None,
    max_per_label: FirstN = None,
    keyword: Annotated[
        list[str] | None, typer.Option(help="Keywords of the keyword task (repeatable).")
    ] = None,
    exclude_word: Annotated[
        list[str] | None, typer.Option(help="Leave this word out entirely (repeatable).")
    ] = None,
    clip_window: Annotated[
        str,
        typer.Option(
            help="How a clip is cut from a longer recording: energy (the loudest clip-length "
            "window, centred on the word), first (its first clip length) or all-windows (every "
            "window holding most of the word, to train on; the loudest to measure). Kept in "
            "the checkpoint and bundle: every later command cuts clips the same way."
        ),
    ] = "energy",
    seed: Seed = 0,
) -> None:
    """Train a model on a corpus (eager PyTorch): on its train split, selecting on validation,
    and report accuracy on the test split's held-out speakers."""
    from edgekit.audio.config import FrontendConfig
    from edgekit.audio.window import CLIP_WINDOWS
    from edgekit.cli.selection import select, selection
    from edgekit.data.loaders import TASKS, load_task
    from edgekit.data.speech_commands import CORE_KEYWORDS, KeywordsNotFound
    from edgekit.models.pretrain import PretrainConfig, pretrain_corpus, save_checkpoint

    _at_least(1, epochs=epochs)
    if clip_window not in CLIP_WINDOWS:
        raise ConfigError(
            f"--clip-window must be one of {', '.join(CLIP_WINDOWS)}, got {clip_window!r}"
        )
    if task not in TASKS:
        raise ConfigError(f"--task must be one of {', '.join(TASKS)}, got {task!r}")
    if speaker and test_speaker:  # the test speakers stay in, whatever --speaker keeps
        speaker = [*speaker, *test_speaker]
    chosen = selection(speaker, split, shots, rest, draw_seed, max_per_label)
    keywords = tuple(keyword) if keyword else CORE_KEYWORDS
    try:
        data = load_task(
            corpus, task, keywords=keywords, exclude_words=exclude_word or (), seed=seed
        )
    except KeywordsNotFound as exc:
        raise CorpusLayoutError(
            f"{exc}: pass --keyword for each keyword, or --task all for one class per word"
        ) from exc
    if test_speaker:
        data = data.with_test_speakers(test_speaker)
    config = PretrainConfig(epochs=epochs, seed=seed)
    frontend = FrontendConfig(clip_window=clip_window)
    model, report = pretrain_corpus(select(data, chosen), arch, config, frontend)
    save_checkpoint(model, out, report.label_names, test_acc=report.test_acc)
    for line in report.load_failures:
        typer.echo(f"skipped {line}")
    validation = (
        "no validation split"
        if report.best_val_acc is None
        else f"validation {report.best_val_acc:.1f}%"
    )
    test = f"test on held-out speakers {report.test_acc:.1f}%" if report.n_test else "no test split"
    if test_speaker and report.n_test:
        test += f" ({', '.join(report.test_speakers)})"
    typer.echo(
        f"{arch}: {len(report.label_names)} classes, {report.n_train} train / "
        f"{report.n_validation} validation / {report.n_test} test clips; {validation}, {test}; "
        f"checkpoint {out}"
    )


def _at_least(low: int, **values: int | None) -> None:
    """Refuse a value below ``low``, naming its command-line flag (``max_per_label`` ->
    ``--max-per-label``)."""
    for name, value in values.items():
        if value is not None and value < low:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= {low}, got {value}")


def _d0_clips(
    model: Any, corpus: Path, labels: list[str], per_class: int, seed: int, chosen: Selection
) -> Any:
    """D0's clips, cut as ``model``'s front-end cuts clips (its clip window)."""
    from edgekit.cli.selection import select
    from edgekit.data.d0 import select_d0
    from edgekit.data.loaders import load_for_labels

    data = select(load_for_labels(corpus, labels, seed=seed), chosen)
    clips = data.load(model.frontend.config)
    for failure in clips.failures:
        typer.echo(f"skipped {failure.path}: {failure.reason}")
    return clips, select_d0(clips, per_class, seed)


def plan(
    model: Annotated[str, typer.Argument(help="A checkpoint, or an architecture name.")],
    corpus: Annotated[
        Path | None,
        typer.Argument(help="Corpus whose clips (--split train by default) give D0's importance."),
    ] = None,
    budget: Budget = "unbounded",
    cache_budget: CacheBudget = None,
    scheme: Scheme = "sparse",
    kernels: Kernels = None,
    momentum: Annotated[bool, typer.Option(help="Count SGD momentum buffers.")] = True,
    d0_per_class: D0PerClass = 20,
    batch: Annotated[
        list[int] | None,
        typer.Option(
            help="A train_step batch to consider (repeatable; default 32, 16 and 8). Fewer "
            "batches, fewer programs to export and measure."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the plan as JSON here.")] = None,
    speaker: Speakers = None,
    split: Split = "train",
    shots: Shots = None,
    rest: Rest = False,
    draw_seed: DrawSeed = None,
    max_per_label: FirstN = None,
    seed: Seed = 0,
) -> None:
    """Plan what trains on the device within a memory budget; print the plan and its memory."""
    from edgekit.budget.config import PlanConfig
    from edgekit.budget.make import (
        check_kernels,
        check_scheme,
        choose_plan,
        load_model,
        planner_for,
    )
    from edgekit.cli.selection import selection
    from edgekit.plan.report import memory_table
    from edgekit.plan.sizes import parse_bytes

    limit, cache_limit = parse_bytes(budget), parse_bytes(cache_budget)
    check_scheme(scheme)
    check_kernels(kernels)
    _at_least(1, d0_per_class=d0_per_class)
    for each in batch or ():
        _at_least(1, batch=each)
    d0_from = selection(speaker, split, shots, rest, draw_seed, max_per_label)
    loaded, labels = load_model(model)
    d0 = None
    if corpus is not None:
        if labels is None:
            raise ConfigError(
                "a corpus ranks an untrained architecture's units by nothing: pass a checkpoint"
            )
        _, d0 = _d0_clips(loaded, corpus, list(labels), d0_per_class, seed, d0_from)
    config = PlanConfig(momentum=momentum, seed=seed, kernels=kernels or "portable")
    if batch:
        config = replace(config, batches=tuple(sorted(set(batch), reverse=True)))
    planner = planner_for(loaded, d0, config=config, progress=True)
    chosen = choose_plan(planner, limit, cache_limit, scheme)
    typer.echo(memory_table(chosen))
    if out is not None:
        chosen.save(out)
        typer.echo(f"plan written to {out}")


def plans(budget: str | None, cache_limit: int | None) -> bool:
    """Whether ``export`` plans within budgets: any --budget ('unbounded' too: the plan that
    `edgekit plan --budget unbounded` chooses) or a --cache-budget bound; else the default
    pooled head."""
    return budget is not None or cache_limit is not None


def export(
    checkpoint: Annotated[Path, typer.Argument(help="A checkpoint from `edgekit pretrain`.")],
    corpus: Annotated[
        Path, typer.Argument(help="Corpus whose clips (--split train by default) provide D0.")
    ],
    out: Annotated[Path, typer.Option(help="Bundle folder to write.")] = Path("runs/bundle"),
    d0_per_class: D0PerClass = 20,
    train_batch: Annotated[int, typer.Option(help="Batch of train_step without a budget.")] = 32,
    budget: Budget = None,
    cache_budget: CacheBudget = None,
    scheme: Scheme = "sparse",
    plan_file: Annotated[
        Path | None, typer.Option("--plan", help="A plan from `edgekit plan --out`.")
    ] = None,
    kernels: Kernels = None,
    steps_per_call: StepsPerCall = None,
    speaker: Speakers = None,
    split: Split = "train",
    shots: Shots = None,
    rest: Rest = False,
    draw_seed: DrawSeed = None,
    max_per_label: FirstN = None,
    seed: Seed = 0,
    int8: Annotated[
        bool,
        typer.Option(
            "--int8",
            help="int8 frozen backbone, calibrated on D0 (front-end and training stay float32).",
        ),
    ] = False,
) -> None:
    """Export a checkpoint to an on-device training bundle (.pte + weights + D0 + manifest).

    Without --budget, a --cache-budget bound or --plan the whole head trains over pooled
    features; with --budget (even 'unbounded') it exports the plan `edgekit plan` chooses.
    """
    from edgekit.budget.config import PlanConfig
    from edgekit.budget.make import check_kernels, check_scheme, choose_plan, planner_for
    from edgekit.cli.selection import selection
    from edgekit.export.bundle import ExportConfig, export_bundle
    from edgekit.models.pretrain import load_checkpoint
    from edgekit.plan.sizes import parse_bytes
    from edgekit.plan.spec import TrainingPlan, check_steps_per_call

    limit, cache_limit = parse_bytes(budget), parse_bytes(cache_budget)
    check_scheme(scheme)
    check_kernels(kernels)
    if steps_per_call is not None:
        check_steps_per_call(steps_per_call, "--steps-per-call")
    _at_least(1, d0_per_class=d0_per_class, train_batch=train_batch)
    if plan_file is not None and (budget is not None or cache_budget is not None):
        raise ConfigError("--plan holds its budgets: pass --plan or --budget/--cache-budget")
    d0_from = selection(speaker, split, shots, rest, draw_seed, max_per_label)
    model, labels, _ = load_checkpoint(checkpoint)
    clips, d0 = _d0_clips(model, corpus, list(labels), d0_per_class, seed, d0_from)
    config = ExportConfig(
        train_batch=train_batch,
        d0_per_class=d0_per_class,
        seed=seed,
        quantize=int8,
        training_kernels=kernels or "portable",
        steps_per_call=steps_per_call or 1,
    )
    chosen, lowered = None, None
    if plan_file is not None:
        chosen = TrainingPlan.load(plan_file)
        if kernels is not None and chosen.kernels != kernels:
            chosen = replace(chosen, kernels=kernels, memory=None)
        if steps_per_call is not None and chosen.steps_per_call != steps_per_call:
            chosen = replace(chosen, steps_per_call=steps_per_call, memory=None)
    elif plans(budget, cache_limit):
        kernel_config = PlanConfig(kernels=config.training_kernels)
        planner = planner_for(model, d0, config=kernel_config, progress=True)
        chosen = choose_plan(planner, limit, cache_limit, scheme)
        lowered = planner.lowered
        if config.steps_per_call > 1:  # measured again on export, within the same budget
            chosen = replace(chosen, steps_per_call=config.steps_per_call, memory=None)
    manifest = export_bundle(
        model, labels, out, clips, config, plan=chosen, lowered=lowered, progress=True
    )
    typer.echo(
        f"bundle {out}: {len(manifest.labels)} classes in {manifest.max_classes} slots, "
        f"program {manifest.memory.program_bytes} bytes{' (int8 backbone)' if int8 else ''}, "
        f"training memory {manifest.memory.training.training_bytes} bytes"
    )
