"""LiteRT side by side: the same head on the same frozen features, trained through TensorFlow Lite
and through edgekit.

Protocol. Generate a keyword corpus (10 keywords, ``_silence_``, ``_unknown_``: 12 classes);
pretrain a TC-ResNet whose last width is 64 with a single Linear head (64 -> 12 slots) on its
train split; export an edgekit bundle. Embed every train and test clip once through the bundle's
``embed`` (the frozen backbone in the ExecuTorch runtime): the same 64-d features for both sides.
Then a fresh head (PyTorch's default init of a 64 -> 12 Linear at the seed) is trained from
scratch on the train split's features, both sides from the same initial weights, with plain SGD
(lr 0.05, momentum 0.9: edgekit's defaults) and edgekit's default gradient-norm clipping (1.0)
applied on both sides, over the same batches of the bundle's fixed train batch (32) in the same
order (every clip once per epoch, the last batch topped up, as ``mixed_batches`` draws them
without D0), for the same epochs:

- LiteRT: a ``tf.Module`` with ``train`` / ``infer`` / ``save`` / ``restore`` signatures,
  converted with ``TFLiteConverter`` (builtin + select TensorFlow ops) and run by TensorFlow's
  ``tf.lite.Interpreter`` (one thread), in a venv of its own with the ``litert`` extra's pin;
- edgekit: the bundle's ``train_step`` through edgekit's device code (``BundleProgram``,
  ``JointMethod``: SGD in the ExecuTorch runtime), ``classify`` for inference, one thread.

Each side is a fresh process (``_peer_sides.py``), so its peak memory (VmHWM) is its own.
**Timed**: microseconds per training step (the call with a gathered batch, median over every step
after the first ``WARMUP``). Scored on the test split's features (held-out speakers); each side
then saves its weights, restores them (LiteRT: into a fresh interpreter) and scores again.

What the user installs: the ``tensorflow-cpu`` distribution and its dependencies (sizes on disk
from their installed file lists), against ``torch`` and ``executorch`` and theirs.

    python bench/peer_litert.py            # full run
    python bench/peer_litert.py --quick    # small corpus and model, < 60 s once cached

The first run creates ``bench/results/peer_litert/venv`` (about 300 MB of wheels to download,
1.3 GB on disk) and every later run reuses it; the corpus, the pretrained bundle and its features
are cached under ``bench/results/peer_litert/{quick,full}/``.
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import math
import os
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _kws import Progress, build_corpus, load_task
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from edgekit._quiet import quiet_dependencies
from edgekit.data.generate_kws import CORE_KEYWORDS, KwsCorpusConfig
from edgekit.device.mixing import mixed_batches
from edgekit.device.program import BundleProgram
from edgekit.export.bundle import ExportConfig, export_bundle
from edgekit.export.manifest import BUNDLE_FILES, read_manifest
from edgekit.export.memory import training_methods
from edgekit.export.methods import Classify
from edgekit.export.stages import batch_dim, export_method, lower
from edgekit.models import HeadConfig, KwsModel
from edgekit.models.pretrain import PretrainConfig, pretrain_corpus
from edgekit.plan.spec import TrainingPlan

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "peer_litert"
VENV = RESULTS / "venv"
SIDES = HERE / "_peer_sides.py"
PYPROJECT = HERE.parent / "pyproject.toml"
BATCH = 32  # the bundle's train_step batch (ExportConfig.train_batch)
FEATURES, SLOTS = 64, 12  # the head: 64-d pooled features -> 12 classes
LR, MOMENTUM, CLIP_NORM = 0.05, 0.9, 1.0  # edgekit's LearnerConfig defaults
WARMUP = 10  # steps left out of the step time


@dataclass(frozen=True)
class Plan:
    corpus: KwsCorpusConfig
    widths: tuple[int, ...]  # TC-ResNet widths; the last is the feature size
    pretrain_epochs: int
    epochs: int  # epochs of the head, both sides
    repeats: int  # processes per side, interleaved; the fastest counts for the step time


def make_plan(quick: bool, seed: int) -> Plan:
    if quick:  # the corpus of personalize.py --quick
        corpus = KwsCorpusConfig(seed=seed, n_speakers=16, reps=3, n_unknown_words=10)
        return Plan(corpus, (16, 24, 32, FEATURES), pretrain_epochs=5, epochs=5, repeats=2)
    # the corpus of fleet.py: 36 voices, 8 renditions of each keyword, 2 of each unknown word
    corpus = KwsCorpusConfig(seed=seed, n_speakers=36, reps=8, n_unknown_words=10, unknown_reps=2)
    return Plan(corpus, (24, 36, 48, FEATURES), pretrain_epochs=20, epochs=30, repeats=3)


# ------------------------------------------------------------------------------- data
def prepare(plan: Plan, seed: int, folder: Path, say: Progress) -> dict[str, Any]:
    """The bundle and the features of every train and test clip, built once per plan and seed.

    Returns the facts of the build (``prepared.json``); the features are in ``features.npz``.
    """
    facts_path = folder / "prepared.json"
    key = repr((plan.corpus, plan.widths, plan.pretrain_epochs))  # what the build depends on
    if facts_path.is_file() and json.loads(facts_path.read_text()).get("plan") == key:
        say(f"bundle and features cached in {folder}")
        return dict(json.loads(facts_path.read_text()), cached=True)
    c = plan.corpus
    say(f"corpus: {c.n_speakers} speakers, {c.reps} reps; pretrain {plan.pretrain_epochs} epochs")
    corpus = load_task(build_corpus(c), CORE_KEYWORDS, (), seed)
    torch.manual_seed(seed)
    model, report = pretrain_corpus(
        corpus,
        "tcresnet",
        PretrainConfig(epochs=plan.pretrain_epochs, seed=seed),
        head=HeadConfig(hidden=0, max_classes=SLOTS),
        progress=False,
        options={"widths": plan.widths},
    )
    say(f"pretrained: test acc {report.test_acc:.1f}%; exporting the bundle")
    train = corpus.subset(splits=["train"]).load(progress=False)
    bundle = folder / "bundle"
    export_bundle(model, corpus.labels, bundle, train, ExportConfig(train_batch=BATCH, seed=seed))
    test = corpus.subset(splits=["test"]).load(progress=False)
    say(f"embedding {len(train)} train and {len(test)} test clips through the bundle's embed")
    manifest = read_manifest(bundle)
    program = BundleProgram(bundle, manifest)

    def embed(audio: np.ndarray) -> np.ndarray:
        step = manifest.max_batch
        return np.concatenate(
            [program.embed(audio[i : i + step]) for i in range(0, len(audio), step)]
        )

    np.savez(
        folder / "features.npz",
        train_x=embed(train.audio),
        train_y=train.labels.astype(np.int64),
        test_x=embed(test.audio),
        test_y=test.labels.astype(np.int64),
    )
    facts = {
        "plan": key,
        "pretrain_test_acc": round(report.test_acc, 2),
        "head_program_bytes": head_program_bytes(model),
    }
    facts_path.write_text(json.dumps(facts))
    return dict(facts, cached=False)


def head_program_bytes(model: KwsModel) -> int:
    """Bytes of a program holding only the bundle's ``train_step`` and ``classify``, exported as
    the bundle exports them: the part of ``model.pte`` that the ``.tflite`` compares with (the
    rest is the front-end and backbone, ``embed``, and ``distill_step``)."""
    plan = TrainingPlan.head(model, BATCH)
    methods = training_methods(model, plan, 1.0, SLOTS, only="train_step")
    tail = plan.tail(model)
    names = [n for n, _ in tail.named_parameters()]
    weights = [p.detach().clone() for p in tail.parameters()]
    example = (torch.zeros(2, FEATURES), torch.ones(SLOTS), *weights)
    dynamic = (({0: batch_dim(ExportConfig().max_batch)}, None, *(None for _ in weights)),)
    methods["classify"] = export_method(Classify(tail, names), example, None, dynamic)
    return len(bytes(lower(methods, xnnpack=False).buffer))


def write_data(folder: Path, plan: Plan, seed: int) -> dict[str, Any]:
    """``data.npz`` for both sides: features, labels, batches, initial weights, SGD settings."""
    with np.load(folder / "features.npz") as f:
        features = {k: f[k] for k in f.files}
    n = len(features["train_y"])
    rng = np.random.default_rng(seed)
    batches = [u for _ in range(plan.epochs) for u, _ in mixed_batches(n, 0, BATCH, 0.0, rng)]
    torch.manual_seed(seed)
    head = torch.nn.Linear(FEATURES, SLOTS)  # PyTorch's default init
    w0 = head.weight.detach().numpy().T.copy()  # (in, out): as the bundle stores it
    b0 = head.bias.detach().numpy().copy()
    np.savez(
        folder / "data.npz",
        **features,
        batches=np.stack(batches).astype(np.int64),
        steps_per_epoch=math.ceil(n / BATCH),
        w0=w0,
        b0=b0,
        lr=LR,
        momentum=MOMENTUM,
        clip_norm=CLIP_NORM,
    )
    logits = features["test_x"] @ w0 + b0
    return {
        "n_train": n,
        "n_test": len(features["test_y"]),
        "steps": len(batches),
        "acc_initial": round(100.0 * float((logits.argmax(1) == features["test_y"]).mean()), 2),
    }


# ---------------------------------------------------------------------------- installs
def litert_requirements() -> list[str]:
    """The ``litert`` extra of edgekit's pyproject.toml: what this benchmark's venv installs."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    return list(project["optional-dependencies"]["litert"])


def litert_venv(say: Progress) -> float | None:
    """The benchmark's own venv with the ``litert`` extra's pins, created on first use (seconds
    it took) and reused while the pins are unchanged (None)."""
    pins = litert_requirements()
    stamp = VENV / "edgekit-litert-pins.json"
    if stamp.is_file() and json.loads(stamp.read_text()) == pins:
        return None
    say(f"creating {VENV} with {pins}: about 300 MB of wheels, a minute, once")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "-q", *pins], check=True)
    stamp.write_text(json.dumps(pins))
    return time.perf_counter() - start


def file_bytes(path: md.PackagePath) -> int:
    """Bytes on disk of one installed file (0 where it is gone)."""
    try:
        return os.stat(path.locate()).st_size
    except OSError:
        return 0


def installed(site: list[str] | None, roots: list[str]) -> dict[str, dict[str, Any]]:
    """``roots`` and everything they require (markers evaluated, no extras) in the
    distributions found on ``site`` (None: this interpreter's): version and bytes on disk."""
    found = md.distributions() if site is None else md.distributions(path=site)
    dists = {canonicalize_name(d.metadata["Name"]): d for d in found}
    out: dict[str, dict[str, Any]] = {}
    todo = [canonicalize_name(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in out or name not in dists:
            continue
        dist = dists[name]
        out[name] = {"version": dist.version, "bytes": sum(map(file_bytes, dist.files or []))}
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(req.name))
    return out


def install_sizes() -> dict[str, Any]:
    site = [str(p) for p in (VENV / "lib").glob("python*/site-packages")]
    litert = installed(site, ["tensorflow-cpu"])
    ours = installed(None, ["torch", "executorch"])

    def mb(rows: dict[str, dict[str, Any]], names: list[str] | None = None) -> float:
        return round(sum(v["bytes"] for k, v in rows.items() if names is None or k in names) / 1e6)

    return {
        "litert_install_mb": mb(litert),
        "litert_tensorflow_mb": mb(litert, ["tensorflow-cpu"]),
        "litert_packages": {k: v["version"] for k, v in sorted(litert.items())},
        "edgekit_install_mb": mb(ours),
        "edgekit_torch_executorch_mb": mb(ours, ["torch", "executorch"]),
        "edgekit_packages": len(ours),
    }


# ----------------------------------------------------------------------------- sides
def side(python: Path | str, *args: str, cwd: Path) -> dict[str, Any]:
    """One mode of ``_peer_sides.py`` in a fresh process; its last stdout line as JSON."""
    env = dict(os.environ, TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
    env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run(
        [str(python), str(SIDES), *args], capture_output=True, text=True, cwd=cwd, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def median_us(seconds: list[float]) -> float:
    """Median microseconds of the steps after the first ``WARMUP``."""
    return float(np.median(np.array(seconds[WARMUP:]) * 1e6))


def step_stats(prefix: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One side's figures: the step time of its fastest process (the lowest median), the rest
    from its first process (every process trains the same steps to the same weights)."""
    first, medians = runs[0], [median_us(r["step_s"]) for r in runs]
    best = runs[int(np.argmin(medians))]
    after = best["step_s"][WARMUP:]
    out = {
        f"{prefix}_step_us": round(min(medians), 1),
        f"{prefix}_step_us_p90": round(float(np.percentile(np.array(after) * 1e6, 90)), 1),
        f"{prefix}_step_us_runs": [round(m, 1) for m in medians],
        f"{prefix}_train_s": round(best["train_s"], 3),
        f"{prefix}_peak_mb": round(max(r["peak_mb"] for r in runs), 1),
        f"{prefix}_rss_after_import_mb": round(first["rss_after_import_mb"], 1),
        f"{prefix}_acc": round(first["acc"], 2),
        f"{prefix}_acc_same_every_run": len({r["acc"] for r in runs}) == 1,
        f"{prefix}_restored_acc": round(first["restored_acc"], 2),
        f"{prefix}_restored_same_logits": all(r["restored_same_logits"] for r in runs),
        f"{prefix}_checkpoint_bytes": first["checkpoint_bytes"],
        f"{prefix}_epoch_loss": [round(x, 4) for x in first["epoch_loss"]],
    }
    if "runtime_call_s" in first:
        calls = min(median_us(r["runtime_call_s"]) for r in runs)
        out[f"{prefix}_runtime_call_us"] = round(calls, 1)
    return out


def weight_diff(run: Path, bundle: Path) -> float:
    """Largest difference between the two sides' trained weights (LiteRT's as restored)."""
    names = [t["name"] for t in read_manifest(bundle, verify=False).trainable]
    with np.load(run / "litert-weights.npz") as a, np.load(run / "edgekit-weights.npz") as b:
        ours = {("w" if b[n].ndim == 2 else "b"): b[n] for n in names}
        return float(max(np.abs(a[k] - ours[k]).max() for k in ("w", "b")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small corpus and model (< 60 s)")
    parser.add_argument("--seed", type=int, default=0, help="corpus, pretraining, init, batches")
    args = parser.parse_args()
    quiet_dependencies()
    say = Progress("peer_litert")
    plan = make_plan(args.quick, args.seed)
    folder = RESULTS / ("quick" if args.quick else "full") / f"seed{args.seed}"
    run = folder / "run"
    run.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"quick": args.quick, "seed": args.seed, "epochs": plan.epochs}
    out["venv_created_s"] = litert_venv(say)
    prepared = prepare(plan, args.seed, folder, say)
    out["prepared_cached"] = prepared["cached"]
    out["pretrain_test_acc"] = prepared["pretrain_test_acc"]
    out |= write_data(folder, plan, args.seed)
    out |= {"batch": BATCH, "lr": LR, "momentum": MOMENTUM, "clip_norm": CLIP_NORM}
    data, bundle, python = str(folder / "data.npz"), folder / "bundle", VENV / "bin" / "python"
    tflite = str(run / "head.tflite")

    say("LiteRT: tf.Module -> SavedModel -> .tflite (its own process)")
    built = side(python, "litert-convert", data, str(run), cwd=run)
    say(f"LiteRT model: {built['model_bytes']} bytes; Flex ops {built['flex_ops']}")
    ours: list[dict[str, Any]] = []
    litert: list[dict[str, Any]] = []
    for k in range(plan.repeats):  # interleaved, each a fresh process
        say(f"run {k + 1}/{plan.repeats}: edgekit, {out['steps']} steps of the bundle's train_step")
        ours.append(side(sys.executable, "edgekit-train", data, str(bundle), str(run), cwd=run))
        say(f"run {k + 1}/{plan.repeats}: LiteRT, the same steps in tf.lite.Interpreter")
        litert.append(side(python, "litert-train", data, tflite, str(run), cwd=run))
    out |= step_stats("litert", litert) | step_stats("edgekit", ours)
    out["final_weights_max_abs_diff"] = weight_diff(run, bundle)
    out["litert_model_bytes"] = built["model_bytes"]
    out["edgekit_model_bytes"] = (bundle / BUNDLE_FILES["program"]).stat().st_size
    out["edgekit_head_program_bytes"] = prepared["head_program_bytes"]
    out["edgekit_bundle_bytes"] = sum(f.stat().st_size for f in bundle.iterdir() if f.is_file())
    out["edgekit_train_step_arena_bytes"] = read_manifest(bundle).memory.planned_bytes["train_step"]
    out |= {"litert_convert_s": round(built["convert_s"], 2), "litert_ops": built["ops"]}
    out["litert_flex_ops"] = built["flex_ops"]
    out["tensorflow"] = built["tensorflow"]
    out |= install_sizes()
    packages = ", ".join(f"{k} {v}" for k, v in out["litert_packages"].items())
    say(f"LiteRT's install: {out['litert_install_mb']} MB on disk: {packages}")
    say(
        f"edgekit's torch + executorch: {out['edgekit_install_mb']} MB on disk with the "
        f"{out['edgekit_packages'] - 2} packages they require"
    )
    out["wall_s"] = round(say.elapsed, 1)
    say(
        f"done: step {out['litert_step_us']} µs (LiteRT) vs {out['edgekit_step_us']} µs "
        f"(edgekit); accuracy {out['litert_acc']}% vs {out['edgekit_acc']}%"
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
