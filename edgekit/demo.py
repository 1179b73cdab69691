"""The main job on built-in defaults, end to end.

corpus -> pretrain (eager, one keyword held back) -> export a bundle -> on the device runtime:
personalise to a held-out speaker -> enrol the held-back keyword from 5 clips. Each stage prints
what it did; the summary is also written to ``<workdir>/summary.json``.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.atomic import atomic_write_bytes
from edgekit.audio.io import read_clips
from edgekit.errors import CorpusExistsError

__all__ = ["run_demo"]

NEW_WORD = "go"  # held back from pre-training, enrolled on the device


def _say(message: str) -> None:
    print(f"[edgekit demo] {message}", flush=True)


def run_demo(
    workdir: Path = Path("runs/demo"),
    corpus: Path = Path("datasets/generated/kws"),
    epochs: int = 30,
    seed: int = 0,
) -> dict[str, Any]:
    """Run every stage and return the summary (accuracies in percent)."""
    from edgekit.data.generate_kws import KwsCorpusConfig, generate_kws_corpus
    from edgekit.data.speech_commands import CORE_KEYWORDS, load_speech_commands
    from edgekit.device import Learner
    from edgekit.export.bundle import ExportConfig, export_bundle
    from edgekit.models.pretrain import PretrainConfig, pretrain_corpus, save_checkpoint

    workdir.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {}
    _start = [time.perf_counter()]

    def stage_seconds() -> float:
        elapsed = time.perf_counter() - _start[0]
        _start[0] = time.perf_counter()
        return round(elapsed, 1)

    _say(f"1/5 offline keyword corpus (espeak-ng + flite) -> {corpus}")
    try:
        root = generate_kws_corpus(corpus, KwsCorpusConfig(seed=seed))
    except CorpusExistsError:
        if not (corpus / "corpus.json").is_file():
            raise  # not a generated corpus: never overwrite the user's folder
        _say("    the generated corpus there has other settings: rebuilding it")
        root = generate_kws_corpus(corpus, KwsCorpusConfig(seed=seed), overwrite=True)
    keywords = tuple(k for k in CORE_KEYWORDS if k != NEW_WORD)
    data = load_speech_commands(root, keywords=keywords, seed=seed)
    data = data.subset(exclude_words=[NEW_WORD])
    summary["corpus"] = {
        "path": str(root),
        "clips": len(data),
        "classes": list(data.labels),
        "held_back_keyword": NEW_WORD,
        "speakers": len([s for s in data.speakers if not s.startswith("noise-")]),
        "seconds": stage_seconds(),
    }
    _say(f"    {len(data)} clips, {len(data.labels)} classes; '{NEW_WORD}' held back")

    _say(f"2/5 pretrain a TC-ResNet on the training speakers ({epochs} epochs, eager PyTorch)")
    model, report = pretrain_corpus(data, "tcresnet", PretrainConfig(epochs=epochs, seed=seed))
    save_checkpoint(model, workdir / "tcresnet.pt", report.label_names)
    summary["pretrain"] = {
        "train_clips": report.n_train,
        "best_val_acc": round(report.best_val_acc or float("nan"), 2),
        "test_acc_heldout_speakers": round(report.test_acc, 2),
        "test_clips": report.n_test,
        "seconds": stage_seconds(),
    }
    _say(f"    held-out speakers: {report.test_acc:.1f}% on {report.n_test} clips (eager)")

    _say("3/5 export the bundle (.pte with embed / train_step / classify, D0, manifest)")
    train = data.subset(splits=["train"]).load(progress=False)
    bundle = workdir / "bundle"
    manifest = export_bundle(model, report.label_names, bundle, train, ExportConfig(seed=seed))
    state = workdir / "bundle.state"
    shutil.rmtree(state, ignore_errors=True)  # the demo starts from a fresh device
    learner = Learner(bundle, state)
    test = data.subset(splits=["test"]).load(progress=False)
    names = [report.label_names[i] for i in test.labels]
    runtime_acc = learner.accuracy(test.audio, names)
    summary["export"] = {
        "bundle": str(bundle),
        "program_bytes": manifest.memory.program_bytes,
        "training_memory_bytes": manifest.memory.training.training_bytes,
        "runtime_test_acc": round(runtime_acc, 2),
        "seconds": stage_seconds(),
    }
    _say(
        f"    ExecuTorch runtime: {runtime_acc:.1f}% on the same clips "
        f"(eager {report.test_acc:.1f}%)"
    )

    # the held-out speaker the model serves worst: the user who needs personalisation most
    voices = sorted(s for s in set(test.speakers) if not s.startswith("noise-"))
    predicted = learner.predict(test.audio)
    errors = {
        v: np.mean([predicted[i] != names[i] for i in np.flatnonzero(test.speakers == v)])
        for v in voices
    }
    speaker = max(voices, key=errors.__getitem__)
    mine = np.flatnonzero(test.speakers == speaker)
    rng = np.random.default_rng(seed)
    mine = rng.permutation(mine)
    adapt, held = mine[: len(mine) // 2], mine[len(mine) // 2 :]
    held_names = [names[i] for i in held]
    _say(f"4/5 personalise on the device to held-out speaker {speaker} ({len(adapt)} clips)")
    before = learner.accuracy(test.audio[held], held_names)
    learner.personalize(test.audio[adapt], [names[i] for i in adapt], epochs=5)
    after = learner.accuracy(test.audio[held], held_names)
    summary["personalize"] = {
        "speaker": speaker,
        "adapt_clips": len(adapt),
        "eval_clips": len(held),
        "acc_before": round(before, 2),
        "acc_after": round(after, 2),
        "cache": vars(learner.cache.stats),
        "seconds": stage_seconds(),
    }
    _say(f"    {speaker}: {before:.1f}% -> {after:.1f}% on {len(held)} other clips")

    words = load_speech_commands(root, task="all").subset(labels=[NEW_WORD])
    new = [c for c in words.clips if c.split != "train"]  # only voices the model never heard
    enrol_clips = [c for c in new if c.speaker == speaker][:5]
    probe = [c for c in new if c not in enrol_clips]
    pcm = read_clips([c.path for c in enrol_clips], manifest.clip_samples)
    _say(f"5/5 enrol '{NEW_WORD}' on the device from {len(enrol_clips)} clips of {speaker}")
    learner.enroll(NEW_WORD, pcm)
    learner.save()
    old_after = learner.accuracy(test.audio[held], held_names)
    probe_pcm = read_clips([c.path for c in probe], manifest.clip_samples)
    new_acc = learner.accuracy(probe_pcm, [NEW_WORD] * len(probe))
    summary["enroll"] = {
        "word": NEW_WORD,
        "enrol_clips": len(enrol_clips),
        "old_classes_acc_after": round(old_after, 2),
        "new_word_acc_other_speakers": round(new_acc, 2),
        "new_word_eval_clips": len(probe),
        "classes_now": learner.labels,
        "seconds": stage_seconds(),
    }
    _say(
        f"    old classes {after:.1f}% -> {old_after:.1f}%; '{NEW_WORD}' recognised in "
        f"{new_acc:.1f}% of {len(probe)} clips of other unseen speakers"
    )
    atomic_write_bytes(workdir / "summary.json", json.dumps(summary, indent=2).encode())
    return summary
