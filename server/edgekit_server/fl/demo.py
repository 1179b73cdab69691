"""The federated stage of ``make demo``: four phones on two architectures, one new word.

Phones on two architectures (TC-ResNet and Res8, two of each) federate on Flower's Simulation
Engine (``flwr run``). Two of them, one per architecture, have recorded a keyword the pretrained
models never heard ("go") and report it as data impressions, from which the other two are to
learn it without a single clip of it. Each phone also lacks up to three old keywords, which it
can only learn from the others. Per-round accuracy, local training alone for as many rounds, and
how often the phones that never recorded "go" recognise it are printed; a PNG plot shows the
same. The settings are the benchmark's (``bench/zero_shot_fl.py``) scaled down to fit a few
minutes; docs/design.md says why the demo leaves DS-CNN out.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.atomic import atomic_write_bytes
from edgekit.errors import ConfigError
from edgekit_server.errors import FlowerError
from edgekit_server.fl.build import FederationConfig, build_federation
from edgekit_server.fl.driver import run_local_only
from edgekit_server.fl.engines import run_simulation

__all__ = ["DEMO", "run_demo"]

APP_DIR = Path(__file__).resolve().parents[2]
DEMO = FederationConfig(
    dataset="kws",
    n_clients=4,
    archs=("tcresnet", "resnet"),  # each phone without "go" shares an architecture with an owner
    new_labels=("go",),
    owners_per_new=2,
    new_clips="pooled",  # the clients' share of "go" goes to its two owners
    missing_old=3,  # each phone lacks 0..3 old keywords
    kws_speakers=24,
    kws_reps=5,
    kws_unknown_words=25,  # backbones that tell more words apart learn "go" from impressions
    kws_unknown_reps=2,
    pretrain_epochs=15,
    test_per_class=25,
)
ROUNDS = 20
# the benchmark's 48 impressions per new class and owner (ImpressionConfig's default is 64); "go",
# the only new class, keeps a full share in D0 mixing (ClientConfig's default is 0.4):
# docs/design.md, "The demo's federation"
RUN_CONFIG: dict[str, int | float | str | bool] = {
    "impressions": True,
    "impression-count": 48,
    "added-class-mass": 1.0,
}


def _say(message: str) -> None:
    print(f"[edgekit-fl demo] {message}", flush=True)


def run_demo(
    workdir: Path = Path("runs/demo/federation"),
    rounds: int | None = None,
    pretrain_seed: int | None = None,
) -> dict[str, Any]:
    """Build (or reuse) the demo's workspace, run local training alone and the federation for
    ``rounds`` rounds (default ``ROUNDS``), print and plot them; returns the summary."""
    rounds = ROUNDS if rounds is None else rounds
    if rounds < 1:
        raise ConfigError(f"rounds must be >= 1, got {rounds}")
    started = time.perf_counter()
    config = replace(DEMO, pretrain_seed=pretrain_seed)
    _say(
        f"1/3 federation workspace: corpus, {len(config.archs)} pretrained architectures "
        f"({', '.join(config.archs)}), {config.n_clients} phones"
    )
    ws = build_federation(workdir / "workspace", config)
    spec = ws.spec()
    for c in spec.clients:
        new = f", new class {c.new_labels}" if c.new_labels else ""
        _say(f"    client {c.id}: {c.arch}, {c.n_examples} clips, {len(c.labels)} classes{new}")
    _say(f"2/3 local training only, {rounds} rounds (the baseline)")
    ws.reset_run()
    local = run_local_only(ws, rounds)
    _say(f"    mean client accuracy {local['acc']:.2f}%")
    _say(f"3/3 Flower Simulation Engine, {rounds} rounds, new classes reported as impressions")
    ws.reset_run()
    run_config: dict[str, int | float | str | bool] = {
        **RUN_CONFIG,
        "workspace": str(ws.root),
        "num-server-rounds": rounds,
    }
    result = run_simulation(APP_DIR, workdir / "flwr", len(spec.clients), run_config)
    if not result.ok:
        raise FlowerError(
            f"the federated run failed: {result.status} {result.details}\n{result.log[-3000:]}"
        )
    federated = json.loads((ws.server_dir / "results.json").read_text())
    for r in federated["rounds"]:
        _say(
            f"    round {r['round']}: accuracy {r['acc']:.2f}% (old classes {r['acc_old']:.2f}%, "
            f"new {r['acc_new']:.2f}%)"
        )
    outsiders = [c.id for c in spec.clients if not c.new_labels]
    rounds_out = federated["rounds"]
    zero_shot = [_per_client(r, outsiders, "acc_new") for r in rounds_out]
    final, gain = rounds_out[-1]["acc"], rounds_out[-1]["acc"] - local["acc"]
    new_word = ", ".join(spec.true_new_labels)
    headline = (
        f"After {rounds} rounds the federated phones score {final:.1f}% against "
        f"{local['acc']:.1f}% for local training alone ({gain:+.1f} points), and the phones "
        f"that never recorded {new_word!r} recognise it {np.mean(zero_shot[-1]):.1f}% of the time"
    )
    _say(
        f"    {new_word!r} at the phones that never recorded it: "
        + ", ".join(f"client {c} {a:.2f}%" for c, a in zip(outsiders, zero_shot[-1], strict=True))
    )
    summary = {
        "headline": headline,
        "clients": len(spec.clients),
        "architectures": spec.archs,
        "new_class": list(spec.true_new_labels),
        "rounds": rounds,
        "pretrain_seed": pretrain_seed,
        "acc_local": round(local["acc"], 2),
        "acc_federated_per_round": [round(r["acc"], 2) for r in rounds_out],
        "new_class_acc_clients_without_it": [round(a, 2) for a in zero_shot[-1]],
        "registry": federated.get("registry"),
        "seconds": round(time.perf_counter() - started, 1),
        "plot": str(workdir / "accuracy_per_round.png"),
    }
    zero_shot_mean = [float(np.mean(z)) for z in zero_shot]
    _plot(local["acc"], rounds_out, zero_shot_mean, new_word, len(spec.archs), workdir)
    atomic_write_bytes(workdir / "summary.json", json.dumps(summary, indent=2).encode())
    _say(headline)
    _say(f"    plot: {summary['plot']}; summary: {workdir / 'summary.json'}")
    return summary


def _per_client(metrics: dict[str, Any], clients: list[int], key: str) -> list[float]:
    """``key`` of each of ``clients`` in one round's metrics (JSON keys are strings)."""
    per = {int(k): v for k, v in metrics["per_client"].items()}
    return [float(per[c][key]) for c in clients]


def _plot(
    local: float,
    rounds: list[dict[str, Any]],
    zero_shot: list[float],
    word: str,
    n_archs: int,
    out: Path,
) -> None:
    """Mean accuracy per round, federated against local alone, and the new word at the phones
    that never recorded it; whole rounds on the x axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6.4, 4))
    x = [r["round"] for r in rounds]
    ax.plot(x, [r["acc"] for r in rounds], marker="o", label="federated: all words")
    ax.plot(x, zero_shot, marker="s", label=f"federated: {word!r}, phones without its clips")
    ax.axhline(local, color="grey", ls="--", label="local training alone: all words")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("round")
    ax.set_ylabel("mean accuracy on a common test set (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"Federated keyword spotting on phones of {n_archs} architectures", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "accuracy_per_round.png", dpi=120)
    plt.close(fig)
