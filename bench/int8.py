"""int8 frozen backbone vs float32: program size, embed latency, personalisation accuracy.

Protocol, for each seed: the personalisation task of ``personalize.py`` (generated keyword corpus,
TC-ResNet pretrained on its train split without "go", the user the held-out test speaker the
model serves worst, more of their clips rendered). The pretrained model is exported twice with the
same ``ExportConfig`` and the same D0: (a) float32, the baseline, and (b) with
``ExportConfig(quantize=True)``: the backbone below the cut int8, calibrated on D0. For each bundle:

- size: bytes of ``model.pte``;
- latency: ``embed`` of one clip (and ``embed_logmel`` of one log-mel: the backbone alone), one
  thread for PyTorch and the runtime; the two programs run interleaved, the median of the rounds;
- accuracy: a ``Learner`` (same config and seed for both) personalises on the user's clips and is
  scored on their other clips; then it enrols "go" from five clips (new-class accuracy, old-class
  accuracy after). Also: cosine of the int8 features to float32's on the user's test clips.

Figures per seed and the mean over seeds. The last line printed is a JSON object; progress goes
to stderr.

    python bench/int8.py            # full run: the default corpus, seeds 0 1 2
    python bench/int8.py --quick    # the quick corpus and pretraining, one seed; reuses the
                                    # bundles of an earlier quick run of the same code (--fresh)
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _kws import (
    Progress,
    build_corpus,
    load_task,
    pretrain_tcresnet,
    render_speaker,
    source_digest,
    speaker_accuracy,
)
from personalize import BATCH, NEW_WORD, OLD_KEYWORDS, Plan, UserData, make_plan, set_threads
from torch.nn import functional as F

from edgekit._quiet import quiet_dependencies
from edgekit.data.corpus import Corpus
from edgekit.device.learner import Learner, LearnerConfig
from edgekit.export.bundle import BUNDLE_FILES, ExportConfig, export_bundle
from edgekit.export.stages import LoweredCache
from edgekit.models import KwsModel
from edgekit.models.pretrain import load_checkpoint, save_checkpoint
from edgekit.runtime import Program

RESULTS = Path(__file__).resolve().parent / "results" / "int8"
SIDES = ("fp32", "int8")


def pretrained(corpus: Corpus, epochs: int, seed: int, say: Progress) -> KwsModel:
    """TC-ResNet pretrained on the corpus' train split (a checkpoint under results/ is reused)."""
    path = RESULTS / "models" / f"tcresnet-{corpus.root.name}-e{epochs}-s{seed}.pt"
    if path.is_file():
        say(f"pretrained model reused: {path.name}")
        return load_checkpoint(path)[0]
    say(f"pretrain tcresnet ({epochs} epochs, {NEW_WORD!r} held out)")
    torch.set_num_threads(2)  # every core for pretraining; the timed runs use one thread
    model, report = pretrain_tcresnet(corpus, epochs, seed)
    torch.set_num_threads(1)
    save_checkpoint(model, path, report.label_names, test_acc=report.test_acc)
    return model.eval()


def export_both(
    model: KwsModel, corpus: Corpus, folder: Path, config: ExportConfig, fresh: bool, say: Progress
) -> tuple[dict[str, Path], dict[str, float] | None]:
    """The float32 and the int8 bundle of ``model``, same config and D0; seconds of each export
    (None: both reused, unless ``fresh``, from an earlier run of the same model, config and
    export code).

    One lowered cache serves both: the training methods and ``classify`` do not depend on the
    backbone's precision, so the int8 export lowers only its ``embed`` and ``embed_logmel``."""
    paths = {side: folder / side for side in SIDES}
    stamp = {
        "model": model.digest(),
        "config": repr(config),
        "code": source_digest("export", "audio"),
    }
    saved = folder / "stamp.json"
    if not fresh and saved.is_file() and json.loads(saved.read_text()) == stamp:
        say("both bundles reused (warm cache: same model, config and export code)")
        return paths, None
    shutil.rmtree(folder, ignore_errors=True)
    train = corpus.subset(splits=["train"]).load(progress=False)
    cache = LoweredCache()
    seconds = {}
    for side in SIDES:
        start = time.perf_counter()
        cfg = ExportConfig(
            train_batch=config.train_batch,
            d0_per_class=config.d0_per_class,
            seed=config.seed,
            quantize=side == "int8",
        )
        export_bundle(model, corpus.labels, paths[side], train, cfg, lowered=cache)
        seconds[side] = round(time.perf_counter() - start, 1)
        say(f"exported {side} in {seconds[side]} s")
    saved.write_text(json.dumps(stamp))
    return paths, seconds


def latency(
    bundles: dict[str, Path], model: KwsModel, clip: np.ndarray, rounds: int, iters: int
) -> dict[str, dict[str, float]]:
    """Milliseconds per call of ``embed`` (one clip) and ``embed_logmel`` (its log-mel), each
    side's median over ``rounds`` interleaved rounds of ``iters`` calls."""
    programs = {
        side: Program((path / BUNDLE_FILES["program"]).read_bytes())
        for side, path in bundles.items()
    }
    pcm = torch.from_numpy(clip[None])
    inputs = {"embed": pcm, "embed_logmel": model.frontend(pcm).detach()}
    out: dict[str, dict[str, float]] = {side: {} for side in bundles}
    for method, x in inputs.items():
        times: dict[str, list[float]] = {side: [] for side in bundles}
        for program in programs.values():
            for _ in range(max(5, iters)):
                program.run(method, x)
        for _ in range(rounds):
            for side, program in programs.items():
                start = time.perf_counter()
                for _ in range(iters):
                    program.run(method, x)
                times[side].append((time.perf_counter() - start) / iters)
        for side in bundles:
            out[side][f"{method}_ms"] = round(1e3 * statistics.median(times[side]), 4)
    return out


def accuracy(bundle: Path, data: UserData, plan: Plan, seed: int) -> dict[str, float]:
    """Personalise a fresh learner on the user's clips, then enrol the new word (percent)."""
    state = bundle.with_name(bundle.name + ".state")
    shutil.rmtree(state, ignore_errors=True)
    learner = Learner(bundle, state, LearnerConfig(seed=seed))
    out = {"acc_before": learner.accuracy(data.test_pcm, data.test_labels)}
    learner.personalize(data.train_pcm, data.train_labels, plan.epochs)
    out["acc"] = learner.accuracy(data.test_pcm, data.test_labels)
    learner.enroll(NEW_WORD, data.new_train_pcm, plan.enroll_epochs)
    out["new_class_acc"] = learner.accuracy(data.new_test_pcm, [NEW_WORD] * len(data.new_test_pcm))
    out["old_acc_after_enrol"] = learner.accuracy(data.test_pcm, data.test_labels)
    learner.close()
    return {k: round(v, 2) for k, v in out.items()}


def feature_cosine(bundles: dict[str, Path], pcm: np.ndarray) -> dict[str, float]:
    """Cosine of each clip's int8 features to its float32 features (runtime ``embed`` both)."""
    feats = {side: Learner(path, read_only=True).embed(pcm) for side, path in bundles.items()}
    cos = F.cosine_similarity(torch.from_numpy(feats["int8"]), torch.from_numpy(feats["fp32"]))
    return {
        "feature_cos_min": round(float(cos.min()), 4),
        "feature_cos_mean": round(float(cos.mean()), 5),
    }


def run_seed(quick: bool, seed: int, fresh: bool, say: Progress) -> dict[str, Any]:
    plan = make_plan(quick, seed)
    c = plan.corpus
    say(f"seed {seed}: corpus of {c.n_speakers} speakers, {c.reps} reps")
    corpus = load_task(build_corpus(c), OLD_KEYWORDS, (NEW_WORD,), seed)
    model = pretrained(corpus, plan.pretrain_epochs, seed, say)
    by_speaker = speaker_accuracy(model, corpus)
    speaker = min(by_speaker, key=lambda s: (by_speaker[s], s))  # the worst-served user
    folder = RESULTS / ("quick" if quick else "full") / f"seed{seed}"
    config = ExportConfig(train_batch=BATCH, d0_per_class=8 if quick else 20, seed=seed)
    bundles, export_s = export_both(model, corpus, folder, config, fresh, say)
    say(f"the user is {speaker}; rendering their clips")
    data = UserData.split(
        render_speaker(speaker, c, plan.speaker_reps, plan.speaker_unknown_reps), plan
    )
    rounds, iters = (7, 5) if quick else (30, 10)
    say(f"embed latency, one clip, one thread: {rounds} rounds of {iters} calls")
    timing = latency(bundles, model, data.test_pcm[0], rounds, iters)
    out: dict[str, Any] = {"seed": seed, "speaker": speaker, "export_s": export_s}
    for side, path in bundles.items():
        out[f"pte_bytes_{side}"] = (path / BUNDLE_FILES["program"]).stat().st_size
        say(f"personalise and enrol on the {side} bundle")
        out[side] = {**timing[side], **accuracy(path, data, plan, seed)}
    out |= feature_cosine(bundles, data.test_pcm)
    out["size_ratio"] = round(out["pte_bytes_int8"] / out["pte_bytes_fp32"], 4)
    out["latency_ratio"] = round(out["int8"]["embed_ms"] / out["fp32"]["embed_ms"], 4)
    out["backbone_latency_ratio"] = round(
        out["int8"]["embed_logmel_ms"] / out["fp32"]["embed_logmel_ms"], 4
    )
    out["acc_drop_pts"] = round(out["fp32"]["acc"] - out["int8"]["acc"], 2)
    fe_bytes = sum(b.numel() * b.element_size() for b in model.frontend.buffers())
    out["frontend_const_bytes"] = fe_bytes  # the window and the filterbank's nonzeros
    say(
        f"seed {seed}: size x{out['size_ratio']}, embed latency x{out['latency_ratio']}, "
        f"acc {out['fp32']['acc']} -> {out['int8']['acc']}"
    )
    return out


def mean(runs: list[dict[str, Any]], *keys: str) -> float:
    values = []
    for run in runs:
        value: Any = run
        for key in keys:
            value = value[key]
        values.append(float(value))
    return round(statistics.fmean(values), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smaller corpus and pretraining, one seed"
    )
    parser.add_argument("--seeds", type=int, nargs="+", help="default: 0 1 2 (quick: 0)")
    parser.add_argument(
        "--fresh", action="store_true", help="--quick: export again even if the bundles are there"
    )
    args = parser.parse_args()
    quiet_dependencies()
    say = Progress("int8")
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    threads, et_threads = set_threads(1)
    fresh = args.fresh or not args.quick  # a full run always exports (and times) both
    runs = [run_seed(args.quick, seed, fresh, say) for seed in seeds]
    out: dict[str, Any] = {
        "size_ratio": mean(runs, "size_ratio"),
        "latency_ratio": mean(runs, "latency_ratio"),
        "acc_drop_pts": mean(runs, "acc_drop_pts"),
        "backbone_latency_ratio": mean(runs, "backbone_latency_ratio"),
    }
    for side in SIDES:
        out[f"pte_bytes_{side}"] = round(mean(runs, f"pte_bytes_{side}"))
        for key in ("embed_ms", "embed_logmel_ms", "acc", "new_class_acc", "old_acc_after_enrol"):
            out[f"{key}_{side}"] = mean(runs, side, key)
    out["feature_cos_min"] = min(run["feature_cos_min"] for run in runs)
    out["targets"] = {
        "size_le_0.3x": out["size_ratio"] <= 0.3,
        "embed_faster": all(run["latency_ratio"] < 1.0 for run in runs),
        "acc_within_1pt": out["acc_drop_pts"] <= 1.0,
    }
    out |= {"per_seed": runs, "seeds": seeds, "quick": args.quick}
    out |= {"threads": threads, "executorch_threads": et_threads, "wall_s": round(say.elapsed, 1)}
    say(f"done: {json.dumps({k: out[k] for k in ('size_ratio', 'latency_ratio', 'acc_drop_pts')})}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
