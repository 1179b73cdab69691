"""Memory-bounded sparse training: accuracy against measured training memory, per architecture.

Protocol (the personalisation task of bench/personalize.py). For each architecture: pretrain on
the generated keyword corpus without "go"; the user is the held-out speaker the model serves
worst, with more of their clips rendered by the same generator. A planner (importance = Fisher
information on D0) is made for the model. Budgets: log-uniform from the smallest feasible plan
to the memory of the largest trainable set, plus 64 KiB, 256 KiB and 1 MiB where feasible, and
unbounded. For each budget two plans: the planner's sparse plan, and the "last-k" baseline (the
top k layers whole, the largest k that fits). Each plan is exported to a bundle, and its
training memory is read back from the written ``.pte`` (every method's planned arena) and
checked against the plan's report and the budget. Then, on the device runtime only, for each
seed: personalise on the user's clips, enrol "go" from five of their clips, and score the user's
other clips of every class (old keywords and "go"). Accuracy is the mean over seeds; ``epoch_s``
is the mean time of one personalisation epoch over cached features.

Every plan's ``model.pte`` and ``memory.json`` stay under ``bench/results/memory_budget/``, and
``accuracy_vs_memory.png`` plots both schemes. The last line printed is a JSON object.

    python bench/memory_budget.py            # three architectures, 3 seeds (tens of minutes)
    python bench/memory_budget.py --quick    # TC-ResNet, fewer budgets, one seed (< 60 s)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _figure import figure, finish
from _kws import Progress, build_corpus, load_task, render_speaker, speaker_accuracy
from personalize import NEW_WORD, OLD_KEYWORDS, UserData
from personalize import Plan as UserSizes
from personalize import make_plan as personalize_sizes

from edgekit._quiet import quiet_dependencies
from edgekit.atomic import atomic_write_bytes
from edgekit.budget.config import PlanConfig
from edgekit.budget.search import Planner
from edgekit.data.corpus import Corpus
from edgekit.data.d0 import select_d0
from edgekit.device import Learner, LearnerConfig
from edgekit.export.bundle import BUNDLE_FILES, ExportConfig, export_bundle
from edgekit.export.memory import pte_arenas
from edgekit.models import KwsModel
from edgekit.models.pretrain import (
    PretrainConfig,
    load_checkpoint,
    pretrain_corpus,
    save_checkpoint,
)
from edgekit.plan.spec import TrainingPlan

RESULTS = Path(__file__).resolve().parent / "results" / "memory_budget"
FIXED_BUDGETS = (64 << 10, 256 << 10, 1 << 20)
DEFAULT_ARCH = "tcresnet"
SCHEMES = ("sparse", "last-k")
THREADS_PRETRAIN = max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Sizes:
    user: UserSizes  # corpus and the user's clips, as bench/personalize.py makes them
    archs: tuple[str, ...]
    pretrain_epochs: dict[str, int]
    log_budgets: int  # log-uniform budgets from the smallest plan to the largest set (0: none)
    fixed_budgets: tuple[int, ...]
    seeds: tuple[int, ...]
    epochs: int  # personalisation epochs
    enroll_epochs: int
    batches: tuple[int, ...] = PlanConfig().batches  # train_step batches the planner may pick
    cache_budget: int | None = None  # bound on cached features (D0 included); None: none
    row_group: int = 1  # output rows per sparse unit


def sizes(quick: bool) -> Sizes:
    if quick:
        return Sizes(
            user=personalize_sizes(True, 0),
            archs=(DEFAULT_ARCH,),
            pretrain_epochs={DEFAULT_ARCH: 10},
            log_budgets=0,  # only the fixed budgets that fit, and unbounded
            fixed_budgets=(64 << 10, 256 << 10),
            seeds=(0,),
            epochs=5,
            enroll_epochs=10,
            batches=(8,),  # one batch size: a third of the programs to export and measure
            cache_budget=1 << 20,  # D0 fits at the pooled cut only: one cut, one embed lowering
            row_group=4,  # a quarter of the units: fewer programs to measure in the search
        )
    return Sizes(
        user=personalize_sizes(False, 0),
        archs=("tcresnet", "resnet", "dscnn"),
        pretrain_epochs={"tcresnet": 20, "resnet": 20, "dscnn": 12},  # dscnn trains slowly
        log_budgets=6,
        fixed_budgets=FIXED_BUDGETS,
        seeds=(0, 1, 2),
        epochs=20,
        enroll_epochs=20,
    )


# ------------------------------------------------------------------------------ setup
def pretrained(arch: str, corpus: Corpus, epochs: int, seed: int, say: Progress) -> KwsModel:
    """The arch pretrained on the corpus (a checkpoint under results/ is reused)."""
    path = RESULTS / "models" / f"{arch}-{corpus.root.name}-e{epochs}-s{seed}.pt"
    if path.is_file():
        model, _, _ = load_checkpoint(path)
        return model
    say(f"{arch}: pretraining {epochs} epochs")
    torch.manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS_PRETRAIN)  # the timed runs use one thread; pretraining all
    model, report = pretrain_corpus(
        corpus, arch, PretrainConfig(epochs=epochs, seed=seed), progress=False
    )
    torch.set_num_threads(threads)
    save_checkpoint(model, path, report.label_names, test_acc=report.test_acc)
    return model.eval()


def budgets_for(planner: Planner, s: Sizes) -> tuple[list[int | None], int, int]:
    """Log-uniform budgets over [smallest plan, largest set], the fixed ones inside, None."""
    low = planner.smallest(s.cache_budget).measured.training_bytes
    high = planner.unbounded(s.cache_budget).measured.training_bytes
    spaced = (
        np.geomspace(low, high, s.log_budgets).round().astype(int).tolist() if s.log_budgets else []
    )
    inside = [b for b in s.fixed_budgets if low <= b <= high]
    return [*sorted(set(spaced) | set(inside)), None], low, high


# ------------------------------------------------------------------------ evaluation
def check_program(folder: Path, plan: TrainingPlan) -> int:
    """Training bytes recomputed from the written .pte; must equal the plan's report."""
    pte = (folder / BUNDLE_FILES["program"]).read_bytes()
    arenas = pte_arenas(pte)
    manifest = json.loads((folder / "manifest.json").read_text())
    optimizer = 4 * sum(int(np.prod(t["shape"])) for t in manifest["trainable"])
    # the one-step methods with the momentum outside their arenas; train_steps (where exported)
    # holds its momentum in its arena (TrainingMemory.from_arenas; portable plans: no delegates)
    one_step = max(arenas["train_step"], arenas["distill_step"]) + (
        optimizer if plan.momentum else 0
    )
    measured = max(one_step, arenas.get("train_steps", 0))
    if measured != plan.measured.training_bytes:
        raise RuntimeError(
            f"{folder}: the program needs {measured} bytes, the plan says "
            f"{plan.measured.training_bytes}"
        )
    if manifest["memory"]["training"]["training_bytes"] != measured:
        raise RuntimeError(f"{folder}: the manifest disagrees with its program")
    return measured


def evaluate(
    bundle: Path, data: UserData, s: Sizes, seed: int, state: Path
) -> tuple[float, float, float, float]:
    """``(acc all, acc old, acc new, s/epoch)`` after personalising and enrolling "go"."""
    shutil.rmtree(state, ignore_errors=True)
    learner = Learner(bundle, state, LearnerConfig(seed=seed))
    targets = np.array([learner.labels.index(x) for x in data.train_labels], dtype=np.int64)
    features = learner.embed(data.train_pcm)
    start = time.perf_counter()
    learner.train_features(features, targets, s.epochs)
    epoch_s = (time.perf_counter() - start) / s.epochs
    learner._remember(features, targets)  # what personalize() does after training
    learner.enroll(NEW_WORD, data.new_train_pcm, s.enroll_epochs)
    old = np.array(learner.predict(data.test_pcm)) == np.array(data.test_labels)
    new = np.array(learner.predict(data.new_test_pcm)) == NEW_WORD
    hits = np.concatenate([old, new])
    return 100 * hits.mean(), 100 * old.mean(), 100 * new.mean(), epoch_s


def run_arch(arch: str, corpus: Corpus, s: Sizes, run_dir: Path, say: Progress) -> list[dict]:
    model = pretrained(arch, corpus, s.pretrain_epochs[arch], 0, say)
    by_speaker = speaker_accuracy(model, corpus)
    speaker = min(by_speaker, key=lambda k: (by_speaker[k], k))
    u = s.user
    clips = render_speaker(speaker, u.corpus, u.speaker_reps, u.speaker_unknown_reps)
    data = UserData.split(clips, u)
    n_test = len(data.test_pcm) + len(data.new_test_pcm)
    say(
        f"{arch}: user {speaker} ({by_speaker[speaker]:.1f}% before); "
        f"{len(data.train_pcm)} clips to adapt, {n_test} to test"
    )
    train = corpus.subset(splits=["train"]).load(progress=False)
    export = ExportConfig(seed=0)
    d0 = select_d0(train, export.d0_per_class, export.seed)
    planner = Planner(
        model,
        d0.audio,
        len(corpus.labels),
        config=PlanConfig(batches=s.batches, row_group=s.row_group),
    )
    budgets, low, high = budgets_for(planner, s)
    say(f"{arch}: smallest plan {low:,} B, largest set {high:,} B; budgets {budgets}")
    rows, done = [], {}
    for budget in budgets:
        for scheme in SCHEMES:
            started = time.perf_counter()
            make = planner.sparse if scheme == "sparse" else planner.last_k
            plan = make(budget, s.cache_budget)
            plan_s = time.perf_counter() - started
            name = f"{scheme}-{'unbounded' if budget is None else budget}"
            folder = run_dir / arch / name
            key = plan.key()
            if key not in done:  # the same program: export and evaluate once
                bundle = folder / "bundle"
                started = time.perf_counter()
                export_bundle(
                    model, corpus.labels, bundle, train, export, plan=plan, lowered=planner.lowered
                )
                exported = time.perf_counter() - started
                say(f"    planned in {plan_s:.1f} s, exported in {exported:.1f} s")
                measured = check_program(bundle, plan)
                scores = [evaluate(bundle, data, s, seed, folder / "state") for seed in s.seeds]
                done[key] = (folder, measured, np.mean(scores, axis=0).tolist())
                shutil.copy(bundle / BUNDLE_FILES["program"], folder / "model.pte")
                shutil.rmtree(bundle)  # D0 of a deep cut is large; the program is what is kept
                shutil.rmtree(folder / "state", ignore_errors=True)
            first, measured, (acc, acc_old, acc_new, epoch_s) = done[key]
            folder.mkdir(parents=True, exist_ok=True)
            report = {"plan": plan.to_dict(), "program": str(first / "model.pte")}
            atomic_write_bytes(folder / "memory.json", json.dumps(report, indent=2).encode())
            row = {
                "arch": arch,
                "budget": budget,
                "measured_bytes": int(measured),
                "acc": round(acc, 2),
                "epoch_s": round(epoch_s, 5),
                "scheme": scheme,
                "pte": str((first / "model.pte").relative_to(RESULTS.parent.parent)),
                "acc_old": round(acc_old, 2),
                "acc_new": round(acc_new, 2),
                "cut": plan.cut,
                "batch": plan.batch,
                "trainable_params": plan.trainable_params(model),
                "within_budget": budget is None or measured <= budget,
            }
            rows.append(row)
            say(
                f"{arch} {name}: {measured:,} B, cut {plan.cut}, batch {plan.batch}, "
                f"{row['trainable_params']:,} entries -> {row['acc']}%"
            )
    return rows


# --------------------------------------------------------------------------- summary
def gaps(rows: list[dict]) -> list[float]:
    """sparse - last-k accuracy at every (arch, numeric budget)."""
    by = {(r["arch"], r["budget"], r["scheme"]): r["acc"] for r in rows}
    return [
        by[(a, b, "sparse")] - by[(a, b, "last-k")]
        for (a, b, scheme) in by
        if scheme == "sparse" and b is not None
    ]


def summary(rows: list[dict]) -> dict[str, Any]:
    out: dict[str, Any] = {"budgets": rows}
    out["all_within_budget"] = all(r["within_budget"] for r in rows)
    sparse = {
        r["budget"]: r["acc"] for r in rows if r["arch"] == DEFAULT_ARCH and r["scheme"] == "sparse"
    }
    if 256 << 10 in sparse:
        out["acc_256k_minus_unbounded_pts"] = round(sparse[256 << 10] - sparse[None], 2)
    else:
        out["acc_256k_minus_unbounded_pts"] = None  # 256 KiB is outside this run's budgets
    diff = gaps(rows)
    out["sparse_minus_lastk_pts_best"] = round(max(diff), 2)
    out["sparse_minus_lastk_pts_worst"] = round(min(diff), 2)
    out["targets"] = {
        "all_within_budget": out["all_within_budget"],
        "acc_256k_within_2pts_of_unbounded": out["acc_256k_minus_unbounded_pts"] is not None
        and out["acc_256k_minus_unbounded_pts"] >= -2,
        "sparse_beats_lastk_by_1pt_somewhere": out["sparse_minus_lastk_pts_best"] >= 1,
        "sparse_never_0_5pt_worse": out["sparse_minus_lastk_pts_worst"] >= -0.5,
    }
    return out


def plot(rows: list[dict], path: Path) -> None:
    from matplotlib.ticker import NullFormatter

    archs = list(dict.fromkeys(r["arch"] for r in rows))
    fig, axes = figure(len(archs), width=5.0)
    for ax, arch in zip(axes, archs, strict=True):
        for scheme, marker in (("sparse", "o-"), ("last-k", "s--")):
            pts = sorted(
                (r["measured_bytes"], r["acc"])
                for r in rows
                if r["arch"] == arch and r["scheme"] == scheme
            )
            ax.plot([p[0] / 1024 for p in pts], [p[1] for p in pts], marker, label=scheme)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap on a short range
        ax.set_title(arch)
    finish(
        fig,
        axes,
        path,
        "measured training memory (KiB)",
        "accuracy: personalised + 'go' enrolled (%)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="TC-ResNet, few budgets (< 60 s)")
    parser.add_argument("--arch", action="append", help="only these architectures (repeatable)")
    args = parser.parse_args()
    quiet_dependencies()
    torch.set_num_threads(1)
    say = Progress("memory_budget")
    s = sizes(args.quick)
    if args.arch:
        s = replace(s, archs=tuple(args.arch))
    run_dir = RESULTS / ("quick" if args.quick else "full")
    shutil.rmtree(run_dir, ignore_errors=True)
    corpus = load_task(build_corpus(s.user.corpus), OLD_KEYWORDS, (NEW_WORD,), 0)
    rows = []
    for arch in s.archs:
        rows += run_arch(arch, corpus, s, run_dir, say)
    out = summary(rows)
    plot(rows, run_dir / "accuracy_vs_memory.png")
    out["plot"] = str((run_dir / "accuracy_vs_memory.png").relative_to(RESULTS.parent.parent))
    out["quick"] = args.quick
    out["seeds"] = list(s.seeds)
    out["cache_budget_bytes"] = s.cache_budget
    out["wall_s"] = round(say.elapsed, 1)
    say(f"done: targets {out['targets']}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
