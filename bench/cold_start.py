"""Cold start on the device: from a fresh process to the first prediction of a bundle.

Protocol. Every run is a new interpreter (``python -c``, exec'd, not forked) with an empty state
folder and a clip it has never seen (a tone in noise drawn from the run's own seed). It times, with
``perf_counter``:

- ``import_s``: ``import edgekit`` and the names the device path uses (``edgekit.Learner``: torch
  and ExecuTorch's runtime);
- ``load_to_first_predict_s``: ``Learner(bundle, empty state)`` then ``predict`` of the clip;
- ``warm_predict_s``: a second ``predict`` of another clip (what every later call costs).

The baseline, side by side in the same run: ExecuTorch's own Python runtime as its docs load a
program (``executorch.runtime.Runtime``: ``load_program``, ``load_method("embed")`` and
``"classify"``, the bundle's weights read with numpy), timed the same way. Medians over the runs.

The import breakdown (``-X importtime`` of the same import in one more fresh process): cumulative
seconds of torch, executorch, numpy and edgekit's own modules. Each run also reports whether the
first prediction compiled anything (``torch._dynamo``, ``torch._inductor`` or ExecuTorch's
compiler ``executorch.exir`` imported) or opened a network connection (refused in the child).

    python bench/cold_start.py                    # the full fleet bundle, 7 runs each
    python bench/cold_start.py --quick            # the quick fleet's tiny bundle, 3 runs (< 60 s)
    python bench/cold_start.py --bundle PATH      # any exported bundle
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from _kws import Progress, fleet_data, quick_fleet_config

# Socket connections raise in the child: a download at first call would fail the run loudly.
_NO_NETWORK = """
import socket
def _refused(*args, **kwargs):
    raise OSError("cold start: no network")
socket.socket.connect = _refused
socket.create_connection = _refused
"""

OURS = (
    _NO_NETWORK
    + """
import json, sys, time
t0 = time.perf_counter()
import edgekit
edgekit.Learner  # the device path's imports: torch, the ExecuTorch runtime
t1 = time.perf_counter()
import numpy as np
clips = np.load(sys.argv[1])
bundle, state = sys.argv[2], sys.argv[3]
t2 = time.perf_counter()
learner = edgekit.Learner(bundle, state)
first = learner.predict(clips[:1])
t3 = time.perf_counter()
learner.predict(clips[1:2])
t4 = time.perf_counter()
compiled = [m for m in ("torch._dynamo", "torch._inductor", "executorch.exir") if m in sys.modules]
print(json.dumps({"import_s": t1 - t0, "load_to_first_predict_s": t3 - t2,
                  "warm_predict_s": t4 - t3, "label": first[0], "compiled": compiled}))
"""
)

BASELINE = (
    _NO_NETWORK
    + """
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import torch
from executorch.runtime import Runtime
t1 = time.perf_counter()
clips = np.load(sys.argv[1])
bundle = sys.argv[2]
labels = json.load(open(bundle + "/manifest.json"))["labels"]
slots = json.load(open(bundle + "/manifest.json"))["max_classes"]
t2 = time.perf_counter()
program = Runtime.get().load_program(bundle + "/model.pte")
embed, classify = program.load_method("embed"), program.load_method("classify")
with np.load(bundle + "/weights.npz") as w:
    names = [t["name"] for t in json.load(open(bundle + "/manifest.json"))["trainable"]]
    weights = [torch.from_numpy(w[n]) for n in names]
mask = torch.zeros(slots)
mask[: len(labels)] = 1.0

def predict(pcm):
    features = embed.execute([torch.from_numpy(pcm)])
    logits = classify.execute([*features, mask, *weights])[0]
    return [labels[int(i)] for i in logits.argmax(dim=1)]

first = predict(clips[:1])
t3 = time.perf_counter()
predict(clips[1:2])
t4 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_to_first_predict_s": t3 - t2,
                  "warm_predict_s": t4 - t3, "label": first[0], "compiled": []}))
"""
)

PACKAGES = ("torch", "executorch", "numpy", "edgekit")
TARGET_S = 0.2  # load_to_first_predict_s target on the device path


def unseen_clips(path: Path, samples: int, rate: int, seed: int) -> None:
    """Two clips never seen by the bundle: a tone of a random pitch in noise, float32 PCM."""
    rng = np.random.default_rng(10_000 + seed)
    t = np.arange(samples) / rate
    clips = [
        0.3 * np.sin(2 * np.pi * rng.uniform(200, 2000) * t) + rng.normal(0, 0.05, samples)
        for _ in range(2)
    ]
    np.save(path, np.stack(clips).astype(np.float32))


def run_child(code: str, *args: str, importtime: bool = False) -> tuple[dict[str, Any], str]:
    flags = ["-X", "importtime"] if importtime else []
    done = subprocess.run(
        [sys.executable, *flags, "-c", code, *args], capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(f"the cold-start child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def import_breakdown(stderr: str) -> dict[str, float]:
    """Seconds of each package's imports (cumulative, outermost import of the package only)
    from ``-X importtime`` lines: ``import time: self | cumulative | <indent>name``."""
    entries = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|", 2)
        level = (len(name) - len(name.lstrip())) // 2
        entries.append((level, name.strip(), int(cumulative) / 1e6))
    totals = dict.fromkeys(PACKAGES, 0.0)
    stack: list[tuple[int, str]] = []
    for level, name, seconds in reversed(entries):  # parents before their children
        while stack and stack[-1][0] >= level:
            stack.pop()
        package = name.split(".")[0]
        if package in totals and not any(n.split(".")[0] == package for _, n in stack):
            totals[package] += seconds
        stack.append((level, name))
    return {k: round(v, 3) for k, v in totals.items()}


def bundle_for(args: argparse.Namespace, say: Progress) -> Path:
    if args.bundle is not None:
        if not (args.bundle / "manifest.json").is_file():
            raise SystemExit(f"error: {args.bundle} is not a bundle (no manifest.json)")
        return Path(args.bundle)
    say("the fleet's bundle (built once, then reused)")
    config = quick_fleet_config() if args.quick else _full_config()
    return fleet_data(config, args.quick, say).bundle


def _full_config() -> Any:
    from edgekit_server.hub.fleet_data import FleetDataConfig

    return FleetDataConfig(devices=20, pretrain_speakers=16, pretrain_epochs=20)  # fleet.py's


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the tiny bundle, 3 runs (< 60 s)")
    parser.add_argument("--runs", type=int, default=None, help="fresh processes per side")
    parser.add_argument("--bundle", type=Path, default=None, help="an exported bundle")
    args = parser.parse_args()
    say = Progress("cold_start")
    runs = args.runs or (3 if args.quick else 7)
    bundle = bundle_for(args, say)
    manifest = json.loads((bundle / "manifest.json").read_text())
    rate = int(manifest["frontend"]["sample_rate"])
    ours: list[dict[str, Any]] = []
    baseline: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(runs):
            clips = Path(tmp) / f"clips-{run}.npy"
            unseen_clips(clips, int(manifest["clip_samples"]), rate, run)
            state = Path(tmp) / f"state-{run}"  # empty: the learner creates it
            ours.append(run_child(OURS, str(clips), str(bundle), str(state))[0])
            baseline.append(run_child(BASELINE, str(clips), str(bundle))[0])
            o, b = ours[-1], baseline[-1]
            say(
                f"run {run + 1}/{runs}: edgekit import {o['import_s']:.2f} s, first predict "
                f"{o['load_to_first_predict_s'] * 1e3:.0f} ms; runtime alone import "
                f"{b['import_s']:.2f} s, first predict {b['load_to_first_predict_s'] * 1e3:.0f} ms"
            )
        _, trace = run_child(
            OURS, str(Path(tmp) / "clips-0.npy"), str(bundle), str(Path(tmp) / "s"), importtime=True
        )

    def median(rows: list[dict[str, Any]], key: str) -> float:
        return round(statistics.median(r[key] for r in rows), 4)

    out: dict[str, Any] = {"quick": args.quick, "runs": runs, "bundle": str(bundle)}
    for key in ("import_s", "load_to_first_predict_s", "warm_predict_s"):
        out[key] = median(ours, key)
        out[f"baseline_{key}"] = median(baseline, key)
    out["import_breakdown_s"] = import_breakdown(trace)
    out["compiled_at_first_call"] = sorted({m for r in ours for m in r["compiled"]})
    out["same_labels_as_baseline"] = all(
        o["label"] == b["label"] for o, b in zip(ours, baseline, strict=True)
    )
    out["targets"] = {"load_to_first_predict_le_200ms": out["load_to_first_predict_s"] <= TARGET_S}
    out["wall_s"] = round(say.elapsed, 1)
    say(f"done: first predict {out['load_to_first_predict_s'] * 1e3:.0f} ms after load")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
