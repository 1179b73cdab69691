"""The main job on built-in defaults: corpus -> front-end on ExecuTorch -> train -> test.

Each stage prints what it did; the summary is also written to ``<workdir>/summary.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgekit.atomic import atomic_write_bytes

__all__ = ["run_demo"]


def _say(message: str) -> None:
    print(f"[edgekit demo] {message}", flush=True)


def run_demo(
    workdir: Path = Path("runs/demo"),
    corpus: Path = Path("datasets/generated/kws"),
    epochs: int = 30,
    seed: int = 0,
) -> dict[str, Any]:
    """Generate (or reuse) the offline corpus, check the exported front-end, train, evaluate."""
    from edgekit.audio.config import FrontendConfig
    from edgekit.audio.frontend import LogMel
    from edgekit.data.generate_kws import KwsCorpusConfig, generate_kws_corpus
    from edgekit.data.speech_commands import load_speech_commands
    from edgekit.export.frontend import export_frontend
    from edgekit.models.pretrain import PretrainConfig, pretrain_corpus, save_checkpoint
    from edgekit.runtime import Program

    workdir.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {}

    start = time.perf_counter()
    _say(f"1/4 offline keyword corpus (espeak-ng + flite) -> {corpus}")
    root = generate_kws_corpus(corpus, KwsCorpusConfig(seed=seed))
    data = load_speech_commands(root, seed=seed)
    summary["corpus"] = {
        "path": str(root),
        "clips": len(data),
        "labels": list(data.labels),
        "speakers": len(data.speakers),
        "seconds": round(time.perf_counter() - start, 1),
    }
    _say(f"    {len(data)} clips, {len(data.labels)} classes, {len(data.speakers)} speakers")

    start = time.perf_counter()
    cfg = FrontendConfig()
    _say("2/4 log-mel front-end exported to ExecuTorch (XNNPACK), checked against eager")
    pte = export_frontend(cfg, max_batch=32)
    atomic_write_bytes(workdir / "frontend.pte", pte)
    probe = data.subset(splits=["test"], max_per_label=2).load(cfg, progress=False)
    pcm = torch.from_numpy(probe.audio[:32])
    runtime = Program(pte).run("logmel", pcm)[0].numpy()
    eager = LogMel(cfg)(pcm).detach().numpy()
    diff = float(np.abs(runtime - eager).max())
    summary["frontend"] = {
        "pte": str(workdir / "frontend.pte"),
        "bytes": len(pte),
        "max_abs_diff_db_vs_eager": diff,
        "seconds": round(time.perf_counter() - start, 1),
    }
    _say(f"    {len(pte)} bytes; runtime vs eager max |diff| {diff:.2e} dB on {len(pcm)} clips")

    start = time.perf_counter()
    _say(f"3/4 train a TC-ResNet keyword spotter ({epochs} epochs, eager PyTorch)")
    model, report = pretrain_corpus(
        data, "tcresnet", PretrainConfig(epochs=epochs, seed=seed), cfg, progress=True
    )
    save_checkpoint(model, workdir / "tcresnet.pt", report.label_names, test_acc=report.test_acc)
    summary["train"] = {
        "arch": report.arch,
        "train_clips": report.n_train,
        "validation_clips": report.n_validation,
        "best_val_acc": report.best_val_acc,
        "checkpoint": str(workdir / "tcresnet.pt"),
        "seconds": round(time.perf_counter() - start, 1),
    }
    for line in report.load_failures:
        _say(f"    skipped {line}")

    _say("4/4 test on held-out speakers")
    speakers = [s for s in report.test_speakers if not s.startswith("noise-")]  # _silence_ sources
    summary["test"] = {
        "clips": report.n_test,
        "speakers": speakers,
        "accuracy_pct": round(report.test_acc, 2),
    }
    _say(
        f"    test accuracy {report.test_acc:.1f}% on {report.n_test} clips of "
        f"{len(speakers)} unseen speakers"
    )
    atomic_write_bytes(workdir / "summary.json", json.dumps(summary, indent=2).encode())
    return summary
