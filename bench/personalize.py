"""On-device personalisation: eager PyTorch through the whole model vs edgekit's cached features.

Protocol. Generate a keyword corpus; pretrain TC-ResNet on its train split without one keyword
("go": neither a class nor part of ``_unknown_``); export a bundle (D0 from the train split). The
user is the held-out test speaker the pretrained model recognises worst; many more of their clips
are rendered with the same generator. Then, with the same threads, data, initial head, SGD
settings and batches (``mixed_batches``, same seed, same D0 mixing):

(a) eager: a copy of the head trained in PyTorch, the front-end and frozen backbone run on every
    step (pcm -> ``model.embed`` under no_grad -> head -> loss -> backward -> SGD). D0 is held as
    clips, as a trainer without a feature cache must hold it;
(b) edgekit: a :class:`~edgekit.device.learner.Learner` that embeds every clip once through the
    runtime's ``embed`` into its feature cache and trains with the program's ``train_step``.
    Timed again on a bundle whose training methods run on XNNPACK and that has ``train_steps``
    (several SGD steps per call, the update inside the program): stepping ``train_step``
    (``*_xnnpack``) and through ``train_steps`` (``*_fused``), same batches.

Both are scored on the user's other clips. Then the personalised learner enrols "go" from five
clips with and without D0 mixing (old-class forgetting, new-class accuracy); one cached epoch is
profiled; and the training step of every head and tail the SDK ships is timed alone, eager vs
runtime, at batches 32, 64 and 128 (``_steps.py``).

Threads: one by default for both PyTorch and the runtime's pool (``--threads`` to change): tiny
training steps gain nothing from more, and on a shared 2-core machine a second thread makes eager
timings erratic. Timed runs are repeated, interleaved (eager, runtime, eager, ...), fastest kept.

The last line printed is a JSON object (accuracies in percent); progress goes to stderr.

    python bench/personalize.py            # full run (a few minutes)
    python bench/personalize.py --quick    # smaller corpus and model, within 60 s on 2 cores
                                           # (its model and bundles reused once built)
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _kws import (
    Progress,
    SpeakerClips,
    build_bundle,
    build_corpus,
    load_task,
    render_speaker,
    reused_bundles,
    speaker_accuracy,
)
from _steps import (
    Config,
    compare,
    eager_step,
    epoch_profile,
    fused_profile,
    runtime_step,
    step_by_config,
)
from torch import nn

from edgekit._quiet import quiet_dependencies
from edgekit.data.corpus import ClipSet
from edgekit.data.d0 import select_d0
from edgekit.data.generate_kws import CORE_KEYWORDS, KwsCorpusConfig
from edgekit.device.learner import Learner, LearnerConfig
from edgekit.device.mixing import mixed_batches
from edgekit.export.bundle import BUNDLE_FILES, ExportConfig, export_bundle
from edgekit.export.methods import TrainStep, masked_logits
from edgekit.export.stages import LoweredCache
from edgekit.models import KwsModel
from edgekit.plan.spec import TrainingPlan
from edgekit.runtime import Program

NEW_WORD = "go"  # held out of pretraining, enrolled on the device
OLD_KEYWORDS = tuple(w for w in CORE_KEYWORDS if w != NEW_WORD)
RESULTS = Path(__file__).resolve().parent / "results" / "personalize"
BATCH = 32  # the bundle's train_step batch (ExportConfig.train_batch)
STEPS_PER_CALL = 4  # train_steps of the XNNPACK bundle (ExportConfig.steps_per_call)
QUICK_STEPS_PER_CALL = 2  # --quick: a graph a quarter the size, lowered in a quarter the time


@dataclass(frozen=True)
class Plan:
    """Sizes of one run."""

    corpus: KwsCorpusConfig  # the pretraining corpus
    pretrain_epochs: int
    speaker_reps: int  # renditions of every keyword by the user
    speaker_unknown_reps: int  # renditions of every unknown word by the user (rep 0 trains)
    personalize_reps: int  # the first reps of each old keyword train; the others test
    epochs: int  # personalisation epochs, (a) and (b)
    enroll_clips: int  # "go" clips enrolled from
    enroll_epochs: int
    repeats: int  # timed runs of (a) and (b); the fastest counts
    step_batches: tuple[int, ...]  # batches of step_ratio_by_head
    step_rounds: int  # rounds of timed steps; the fastest round counts


def make_plan(quick: bool, seed: int) -> Plan:
    if quick:
        return Plan(
            corpus=KwsCorpusConfig(seed=seed, n_speakers=16, reps=3, n_unknown_words=10),
            pretrain_epochs=10,
            speaker_reps=10,
            speaker_unknown_reps=2,
            personalize_reps=3,
            epochs=10,
            enroll_clips=5,
            enroll_epochs=20,
            repeats=2,
            step_batches=(32,),
            step_rounds=2,
        )
    return Plan(
        corpus=KwsCorpusConfig(seed=seed),  # the default corpus: 30 speakers, 2,700 clips
        pretrain_epochs=20,
        speaker_reps=30,
        speaker_unknown_reps=3,
        personalize_reps=5,
        epochs=20,
        enroll_clips=5,
        enroll_epochs=20,
        repeats=3,
        step_batches=(32, 64, 128),
        step_rounds=5,
    )


@dataclass
class UserData:
    """The user's clips: personalisation, old-class test, and the new word's enrol/test clips."""

    train_pcm: np.ndarray
    train_labels: list[str]
    test_pcm: np.ndarray
    test_labels: list[str]
    new_train_pcm: np.ndarray
    new_test_pcm: np.ndarray

    @classmethod
    def split(cls, clips: SpeakerClips, plan: Plan) -> UserData:
        unknown_words = plan.corpus.unknown_words
        task = clips.labels(OLD_KEYWORDS)
        train = np.concatenate(
            [
                clips.select(OLD_KEYWORDS, range(plan.personalize_reps)),
                clips.select(unknown_words, range(1)),
            ]
        )
        old = clips.select((*OLD_KEYWORDS, *unknown_words), range(plan.speaker_reps))
        test = np.setdiff1d(old, train)
        new_train = clips.select((NEW_WORD,), range(plan.enroll_clips))
        new_test = clips.select((NEW_WORD,), range(plan.enroll_clips, plan.speaker_reps))
        return cls(
            train_pcm=clips.audio[train],
            train_labels=task[train].tolist(),
            test_pcm=clips.audio[test],
            test_labels=task[test].tolist(),
            new_train_pcm=clips.audio[new_train],
            new_test_pcm=clips.audio[new_test],
        )


# ------------------------------------------------------------------------------ (a) eager
class EagerTrainer:
    """The usual way: the whole model runs on every step, only a copy of the head trains."""

    def __init__(self, model: KwsModel, labels: list[str], d0: ClipSet, cfg: LearnerConfig) -> None:
        self.model = model.eval()
        self.index = {name: i for i, name in enumerate(labels)}
        self.d0_pcm, self.d0_y = d0.audio, d0.labels
        self.cfg = cfg
        self.mask = torch.zeros(model.head.config.max_classes)
        self.mask[: len(labels)] = 1.0
        self.head: nn.Module = copy.deepcopy(model.head)

    def targets(self, labels: list[str]) -> np.ndarray:
        return np.array([self.index[x] for x in labels], dtype=np.int64)

    def train(self, pcm: np.ndarray, labels: list[str], epochs: int) -> float:
        """A fresh copy of the pretrained head, trained ``epochs``; returns seconds per epoch."""
        self.head = copy.deepcopy(self.model.head).train()
        step = TrainStep(self.head)
        opt = torch.optim.SGD(self.head.parameters(), lr=self.cfg.lr, momentum=self.cfg.momentum)
        rng = np.random.default_rng(self.cfg.seed)
        y_user = self.targets(labels)
        start = time.perf_counter()
        for _ in range(epochs):
            for u, d in mixed_batches(len(pcm), len(self.d0_pcm), BATCH, self.cfg.mix_ratio, rng):
                clips = torch.from_numpy(np.concatenate([pcm[u], self.d0_pcm[d]]))
                y = torch.from_numpy(np.concatenate([y_user[u], self.d0_y[d]]))
                with torch.no_grad():
                    features = self.model.embed(clips)
                loss, _ = step(features, y, self.mask)
                opt.zero_grad()
                loss.backward()
                if self.cfg.clip_norm is not None:  # the same clipping as the Learner
                    nn.utils.clip_grad_norm_(self.head.parameters(), self.cfg.clip_norm)
                opt.step()
        return (time.perf_counter() - start) / epochs

    @torch.no_grad()
    def accuracy(self, pcm: np.ndarray, labels: list[str], head: nn.Module | None = None) -> float:
        head = self.head if head is None else head
        logits = torch.cat(
            [
                masked_logits(head(self.model.embed(torch.from_numpy(pcm[i : i + 256]))), self.mask)
                for i in range(0, len(pcm), 256)
            ]
        )
        return 100.0 * float((logits.argmax(1).numpy() == self.targets(labels)).mean())


def head_max_abs_diff(head: nn.Module, learner: Learner) -> float:
    """Largest difference between an eager head and the learner's (kept transposed)."""
    linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
    diffs = []
    for i, linear in enumerate(linears, start=1):
        weight, bias = (
            learner.weights[f"head.fc{i}.weight_t"].t(),
            learner.weights[f"head.fc{i}.bias"],
        )
        diffs.append(float((linear.weight.detach() - weight).abs().max()))
        diffs.append(float((linear.bias.detach() - bias).abs().max()))
    return max(diffs)


# ---------------------------------------------------------------------------- (b) edgekit
def timed_cached(
    bundle: Path, state: Path, cfg: LearnerConfig, pcm: np.ndarray, labels: list[str], epochs: int
) -> tuple[Learner, float, float]:
    """The two halves of ``Learner.personalize``, timed: ``(learner, embed s, s/epoch)``.

    ``personalize`` is ``embed`` (through the feature cache) then ``train_features``, then it
    keeps the clips for replay; the learners timed here are thrown away.
    """
    learner = Learner(bundle, state, cfg)
    targets = np.array([learner.labels.index(x) for x in labels], dtype=np.int64)
    start = time.perf_counter()
    features = learner.embed(pcm)
    embedded = time.perf_counter()
    learner.train_features(features, targets, epochs)
    done = time.perf_counter()
    return learner, embedded - start, (done - embedded) / epochs


def personalise(
    plan: Plan, eager: EagerTrainer, bundle: Path, data: UserData, say: Progress
) -> tuple[dict[str, Any], Learner]:
    """(a) and (b) on the same clips and batches, timed ``plan.repeats`` times, interleaved.

    The first timed learner starts with a cold cache (every clip through the runtime's embed
    once), later ones find it warm. The learner that is scored and kept is trained apart, with
    ``Learner.personalize`` itself.
    """
    cfg, pcm, labels, epochs = eager.cfg, data.train_pcm, data.train_labels, plan.epochs
    timing_state = bundle.with_name("state-timing")
    eager_s, cached_s, embed_s, stats = [], [], [], []
    for _ in range(plan.repeats):
        eager_s.append(eager.train(pcm, labels, epochs))
        timed, embed, epoch = timed_cached(bundle, timing_state, cfg, pcm, labels, epochs)
        embed_s.append(embed)
        cached_s.append(epoch)
        stats.append(replace(timed.cache.stats))
    say(f"    s/epoch: eager {np.round(eager_s, 4)}, cached {np.round(cached_s, 6)}")
    if not np.array_equal(timed.d0_labels, eager.d0_y):
        raise RuntimeError("the bench's D0 clips are not the bundle's D0")

    profiled = Learner(bundle, bundle.with_name("state-profile"), cfg)  # thrown away
    targets = np.array([profiled.labels.index(x) for x in labels], dtype=np.int64)
    profile = epoch_profile(profiled, profiled.embed(pcm), targets, epochs, plan.repeats)
    say(f"    one cached epoch: {profile}")

    learner = Learner(bundle, bundle.with_name("state-personalised"), cfg)
    start = time.perf_counter()
    learner.personalize(pcm, labels, epochs)
    personalize_s = time.perf_counter() - start
    fresh = Learner(bundle, bundle.with_name("state-fresh"), cfg)
    test_pcm, test_labels = data.test_pcm, data.test_labels
    out: dict[str, Any] = {
        "epoch_s_eager": min(eager_s),
        "epoch_s_cached": min(cached_s),
        "first_epoch_s_cached": embed_s[0] + cached_s[0],
        "cached_speedup": round(min(eager_s) / min(cached_s), 1),
        "acc_before": round(fresh.accuracy(test_pcm, test_labels), 2),
        "acc_before_eager": round(eager.accuracy(test_pcm, test_labels, eager.model.head), 2),
        "acc_eager": round(eager.accuracy(test_pcm, test_labels), 2),
        "acc_cached": round(learner.accuracy(test_pcm, test_labels), 2),
        # final weights, (a) vs (b): same batches; features from eager vs the runtime's embed
        "head_max_abs_diff": head_max_abs_diff(eager.head, learner),
        "personalize_s": round(personalize_s, 4),  # the public call: cold cache, all epochs
        "embed_s_cold_cache": round(embed_s[0], 4),
        "cache_runs": [{"hits": c.hits, "misses": c.misses} for c in stats],
        "epoch_s_eager_runs": [round(s, 4) for s in eager_s],
        "epoch_s_cached_runs": [round(s, 6) for s in cached_s],
        "epoch_profile": profile,
    }
    if len(embed_s) > 1:
        out["embed_s_warm_cache"] = round(min(embed_s[1:]), 5)
    learner.save()
    return out, learner


def cached_only(
    plan: Plan, bundle: Path, eager: EagerTrainer, cfg: LearnerConfig, data: UserData, name: str
) -> dict[str, Any]:
    """(b) with another bundle of the same model, timed ``plan.repeats`` times interleaved with
    (a) again (a busy machine slows both alike): seconds per cached epoch and per eager epoch
    (the fastest of each), the speedup, an epoch profile and the accuracy, keyed ``*_<name>``."""
    pcm, labels = data.train_pcm, data.train_labels
    state = bundle.with_name(f"state-timing-{name}")
    eager_s, epochs = [], []
    for _ in range(plan.repeats):
        eager_s.append(eager.train(pcm, labels, plan.epochs))
        epochs.append(timed_cached(bundle, state, cfg, pcm, labels, plan.epochs)[2])
    profiled = Learner(bundle, bundle.with_name(f"state-profile-{name}"), cfg)  # thrown away
    targets = np.array([profiled.labels.index(x) for x in labels], dtype=np.int64)
    features = profiled.embed(pcm)
    if cfg.fused_steps and profiled.program.steps():
        profile = fused_profile(profiled, features, targets, plan.epochs, plan.repeats, bundle)
    else:
        profile = epoch_profile(profiled, features, targets, plan.epochs, plan.repeats)
    learner = Learner(bundle, bundle.with_name(f"state-personalised-{name}"), cfg)
    learner.personalize(pcm, labels, plan.epochs)
    return {
        f"epoch_s_cached_{name}": round(min(epochs), 6),
        f"epoch_s_eager_{name}": round(min(eager_s), 6),
        f"cached_speedup_{name}": round(min(eager_s) / min(epochs), 1),
        f"epoch_profile_{name}": profile,
        f"acc_cached_{name}": round(learner.accuracy(data.test_pcm, data.test_labels), 2),
    }


def enrol(
    plan: Plan, bundle: Path, cfg: LearnerConfig, data: UserData, before: float
) -> dict[str, Any]:
    """Enrol the new word into the personalised state, without and with D0 mixing."""
    out: dict[str, Any] = {
        "n_new_train": len(data.new_train_pcm),
        "n_new_test": len(data.new_test_pcm),
    }
    for key, mix in (("no_mix", 0.0), ("mix", None)):
        learner = Learner(bundle, bundle.with_name("state-personalised"), cfg)  # restores it
        learner.enroll(NEW_WORD, data.new_train_pcm, plan.enroll_epochs, mix)
        after = learner.accuracy(data.test_pcm, data.test_labels)
        new = learner.accuracy(data.new_test_pcm, [NEW_WORD] * len(data.new_test_pcm))
        out[f"old_acc_after_enrol_{key}"] = round(after, 2)
        out[f"forgetting_{key}_pts"] = round(before - after, 2)
        out["new_class_acc" if mix is None else f"new_class_acc_{key}"] = round(new, 2)
    out["enroll_epochs"] = plan.enroll_epochs
    return out


# ------------------------------------------------------------------------ step timing
def default_head_step(
    plan: Plan, model: KwsModel, bundle: Path, learner: Learner, cfg: LearnerConfig
) -> dict[str, float]:
    """The bundle's head at its batch on D0 features: eager vs the program's ``train_step``."""
    features = np.ascontiguousarray(learner.d0_features[:BATCH], dtype=np.float32)
    labels = torch.from_numpy(learner.d0_labels[:BATCH].astype(np.int64))
    inputs = (torch.from_numpy(features), labels, learner.class_mask)
    program = Program((bundle / BUNDLE_FILES["program"]).read_bytes())
    head_plan = TrainingPlan.head(model, BATCH)
    config = Config("bundle", model, head_plan.cut)
    eager, et = compare(
        (
            eager_step(config, head_plan, "train_step", inputs, cfg),
            runtime_step(program, "train_step", inputs, cfg),
        ),
        plan.step_rounds,
    )
    return {"step_us_eager_head": round(eager, 1), "step_us_executorch_head": round(et, 1)}


# --------------------------------------------------------------------------------- main
def set_threads(threads: int) -> tuple[int, int]:
    """The same number of threads for eager PyTorch and the ExecuTorch runtime's thread pool."""
    from executorch.extension.pybindings import portable_lib

    torch.set_num_threads(threads)
    portable_lib._unsafe_reset_threadpool(threads)  # XNNPACK's pool (embed); default: all cores
    return torch.get_num_threads(), int(portable_lib._threadpool_get_thread_count())


def targets(out: dict[str, Any]) -> dict[str, bool]:
    """The issue's targets, judged on this run's figures."""
    return {
        "cached_speedup_ge_50": out["cached_speedup"] >= 50,
        "cached_speedup_ge_200": out["cached_speedup"] >= 200,
        "cached_speedup_ge_200_xnnpack": out["cached_speedup_xnnpack"] >= 200,
        "acc_within_1pt_xnnpack": abs(out["acc_eager"] - out["acc_cached_xnnpack"]) <= 1.0,
        "cached_speedup_ge_200_fused": out["cached_speedup_fused"] >= 200,
        "acc_within_1pt_fused": abs(out["acc_eager"] - out["acc_cached_fused"]) <= 1.0,
        "every_step_ratio_le_half": out["step_ratio_worst"] <= 0.5,
        "every_step_ratio_le_half_xnnpack": out["step_ratio_worst_xnnpack"] <= 0.5,
        "acc_within_1pt": abs(out["acc_eager"] - out["acc_cached"]) <= 1.0,
        "executorch_step_not_slower": out["step_us_executorch_head"] <= out["step_us_eager_head"],
        "mixing_forgets_half_or_1pt": out["forgetting_mix_pts"]
        <= max(1.0, 0.5 * out["forgetting_no_mix_pts"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small corpus and model (< 60 s)")
    parser.add_argument("--seed", type=int, default=0, help="corpus, training and batch seed")
    parser.add_argument("--threads", type=int, default=1, help="threads for both (default 1)")
    args = parser.parse_args()
    quiet_dependencies()
    say = Progress("personalize")
    plan = make_plan(args.quick, args.seed)
    threads, et_threads = set_threads(args.threads)
    run_dir = RESULTS / ("quick" if args.quick else "full") / f"seed{args.seed}"
    shutil.rmtree(run_dir, ignore_errors=True)  # a fresh bundle, cold caches, no saved state
    bundle = run_dir / "bundle"
    out: dict[str, Any] = {"quick": args.quick, "seed": args.seed, "threads": threads}
    out["executorch_threads"] = et_threads

    c = plan.corpus
    say(f"corpus: {c.n_speakers} speakers, {c.reps} reps, {c.n_unknown_words} unknown words")
    corpus = load_task(build_corpus(c), OLD_KEYWORDS, (NEW_WORD,), args.seed)
    say(f"pretrain tcresnet ({plan.pretrain_epochs} epochs, {NEW_WORD!r} held out)")
    export = ExportConfig(train_batch=BATCH, seed=args.seed)
    steps = QUICK_STEPS_PER_CALL if args.quick else STEPS_PER_CALL
    kernels = replace(export, training_kernels="xnnpack", steps_per_call=steps)
    xnnpack = run_dir / "bundle-xnnpack"
    if args.quick:  # a warm run reuses the model and both bundles: within 60 s
        kept = RESULTS / "quick" / f"bundles-seed{args.seed}"
        exports = {bundle.name: export, xnnpack.name: kernels}
        model, test_acc, train_clips = reused_bundles(
            corpus, kept, plan.pretrain_epochs, args.seed, exports, say
        )
        for name in exports:
            shutil.copytree(kept / name, run_dir / name)
    else:
        lowered = LoweredCache()  # the XNNPACK-kernels bundle reuses embed and classify
        model, report, train_clips = build_bundle(
            corpus, bundle, plan.pretrain_epochs, args.seed, export, say, lowered
        )
        export_bundle(model, list(corpus.labels), xnnpack, train_clips, kernels, lowered=lowered)
        test_acc = report.test_acc
    by_speaker = speaker_accuracy(model, corpus)
    speaker = min(by_speaker, key=lambda s: (by_speaker[s], s))  # the worst-served user
    out["pretrain_test_acc"] = round(test_acc, 2)
    out["test_speaker_acc"] = {s: round(a, 2) for s, a in by_speaker.items()}
    out["speaker"] = speaker
    say(f"bundles ready; the user is {speaker} ({by_speaker[speaker]:.1f}% before)")
    data = UserData.split(
        render_speaker(speaker, c, plan.speaker_reps, plan.speaker_unknown_reps), plan
    )
    out |= {"n_personalize": len(data.train_pcm), "n_test": len(data.test_pcm)}
    out["epochs"] = plan.epochs

    cfg = LearnerConfig(seed=args.seed)
    eager = EagerTrainer(
        model, list(corpus.labels), select_d0(train_clips, export.d0_per_class, export.seed), cfg
    )
    say(f"personalise on {len(data.train_pcm)} clips, {plan.epochs} epochs: (a) eager, (b) cached")
    result, learner = personalise(plan, eager, bundle, data, say)
    out |= result
    say(f"(b) again with the XNNPACK training kernels, and train_steps of {steps} steps")
    stepping = replace(cfg, fused_steps=False)  # one train_step call per batch
    out |= cached_only(plan, xnnpack, eager, stepping, data, "xnnpack")
    out |= cached_only(plan, xnnpack, eager, cfg, data, "fused")
    say(f"enrol {NEW_WORD!r} from {plan.enroll_clips} clips, without and with D0 mixing")
    out |= enrol(plan, bundle, cfg, data, out["acc_cached"])
    say("training step of the bundle's head, eager vs the runtime's train_step")
    out |= default_head_step(plan, model, bundle, learner, cfg)
    say(f"training steps of every shipped head and tail, batches {plan.step_batches}")
    out |= step_by_config(plan.step_batches, plan.step_rounds, cfg, args.seed, args.quick, say)
    out["targets"] = targets(out)
    for key in ("epoch_s_eager", "epoch_s_cached", "first_epoch_s_cached"):
        out[key] = round(out[key], 6)
    out["wall_s"] = round(say.elapsed, 1)
    say(f"done: speedup {out['cached_speedup']}x, targets {out['targets']}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
