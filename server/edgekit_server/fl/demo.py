"""The federated stage of ``make demo``: a few heterogeneous phones, a few rounds, one new class.

Four clients on three architectures federate on Flower's Simulation Engine (``flwr run``); two
of them (on different architectures) have recorded a keyword the pretrained models never heard
("go") and report it as data impressions, from which the other two are to learn it without a
single clip of it. Per-round accuracy and the accuracy of those two on "go" are printed; a PNG
plot compares local training alone. The zero-shot part is weak today (README, "Benchmarks").
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from edgekit.atomic import atomic_write_bytes
from edgekit_server.fl.build import FederationConfig, build_federation
from edgekit_server.fl.driver import run_local_only
from edgekit_server.fl.engines import run_simulation

__all__ = ["DEMO", "run_demo"]

APP_DIR = Path(__file__).resolve().parents[2]
DEMO = FederationConfig(
    dataset="kws",
    n_clients=4,
    new_labels=("go",),
    owners_per_new=2,
    missing_old=1,
    kws_speakers=24,
    kws_reps=5,
    kws_unknown_words=25,  # backbones that tell more words apart learn "go" from impressions
    pretrain_epochs=15,
    test_per_class=25,
)


def _say(message: str) -> None:
    print(f"[edgekit-fl demo] {message}", flush=True)


def run_demo(workdir: Path = Path("runs/demo/federation"), rounds: int = 5) -> dict[str, Any]:
    started = time.perf_counter()
    _say("1/3 federation workspace: corpus, three pretrained architectures, four clients")
    ws = build_federation(workdir / "workspace", DEMO)
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
        "workspace": str(ws.root),
        "num-server-rounds": rounds,
        "impressions": True,
    }
    result = run_simulation(APP_DIR, workdir / "flwr", len(spec.clients), run_config)
    if not result.ok:
        raise RuntimeError(f"the federated run failed: {result.status} {result.details}")
    federated = json.loads((ws.server_dir / "results.json").read_text())
    for r in federated["rounds"]:
        _say(
            f"    round {r['round']}: accuracy {r['acc']:.2f}% (old classes {r['acc_old']:.2f}%, "
            f"new {r['acc_new']:.2f}%)"
        )
    outsiders = [c.id for c in spec.clients if not c.new_labels]
    last = {int(k): v for k, v in federated["rounds"][-1]["per_client"].items()}
    zero_shot = [last[c]["acc_new"] for c in outsiders]
    _say(
        "    the new class, at the clients that never recorded it: "
        + ", ".join(f"client {c} {a:.2f}%" for c, a in zip(outsiders, zero_shot, strict=True))
    )
    summary = {
        "clients": len(spec.clients),
        "architectures": spec.archs,
        "new_class": list(spec.true_new_labels),
        "rounds": rounds,
        "acc_local": round(local["acc"], 2),
        "acc_federated_per_round": [round(r["acc"], 2) for r in federated["rounds"]],
        "new_class_acc_clients_without_it": [round(a, 2) for a in zero_shot],
        "registry": federated.get("registry"),
        "seconds": round(time.perf_counter() - started, 1),
        "plot": str(workdir / "accuracy_per_round.png"),
    }
    _plot(local["acc"], federated["rounds"], workdir / "accuracy_per_round.png")
    atomic_write_bytes(workdir / "summary.json", json.dumps(summary, indent=2).encode())
    _say(f"    plot: {summary['plot']}; summary: {workdir / 'summary.json'}")
    return summary


def _plot(local: float, rounds: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    x = [r["round"] for r in rounds]
    ax.plot(x, [r["acc"] for r in rounds], marker="o", label="federated + impressions: all")
    ax.plot(x, [r["acc_new"] for r in rounds], marker="s", label="federated: new class")
    ax.axhline(local, color="grey", ls="--", label="local training only: all")
    ax.set_xlabel("round")
    ax.set_ylabel("mean client accuracy, common test set (%)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
