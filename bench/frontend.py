"""Front-end throughput and parity: librosa vs eager PyTorch vs the ExecuTorch runtime (XNNPACK).

All three process the same batch of 1 s clips with the same configuration; librosa is called per
clip (that is how it is used), ours take the batch. The last line printed is a JSON object.

    python bench/frontend.py            # full run
    python bench/frontend.py --quick    # within 60 s on 2 cores
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import numpy as np
import torch

from edgekit._quiet import quiet_dependencies
from edgekit.audio.config import FrontendConfig
from edgekit.audio.frontend import LogMel
from edgekit.export.frontend import export_frontend
from edgekit.runtime import Program


def make_clips(n: int, cfg: FrontendConfig, seed: int = 0) -> np.ndarray:
    """Noise at many levels, tones, chirps and silence: a mix that exercises the dB floor."""
    rng = np.random.default_rng(seed)
    t = np.arange(cfg.clip_samples) / cfg.sample_rate
    clips = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            x = rng.standard_normal(t.size) * 10 ** rng.uniform(-5, 0)
        elif kind == 1:
            x = rng.uniform(0.01, 1) * np.sin(2 * np.pi * rng.uniform(50, 7_900) * t)
        elif kind == 2:
            x = 0.5 * np.sin(2 * np.pi * (100 + rng.uniform(1e3, 7e3) * t) * t)
        else:
            x = np.zeros(t.size) if i % 8 == 3 else np.clip(3 * rng.standard_normal(t.size), -1, 1)
        clips.append(x)
    return np.stack(clips).astype(np.float32)


def best_rate(fn: Callable[[], object], clips: int, repeats: int) -> float:
    """Clips per second of the fastest of ``repeats`` runs (after one warm-up run)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return clips / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small batch, few repeats (< 60 s)")
    parser.add_argument("--batch", type=int, default=None, help="clips per batch (default 64)")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats (default 5)")
    args = parser.parse_args()
    quiet_dependencies()
    batch = args.batch or (32 if args.quick else 64)
    repeats = args.repeats or (3 if args.quick else 5)

    import librosa

    cfg = FrontendConfig()
    clips = make_clips(batch, cfg)
    kwargs = cfg.librosa_kwargs()

    def run_librosa() -> np.ndarray:
        return np.stack(
            [
                librosa.power_to_db(
                    librosa.feature.melspectrogram(y=c, **kwargs),
                    ref=1.0,
                    amin=cfg.amin,
                    top_db=cfg.top_db,
                )
                for c in clips
            ]
        )

    frontend = LogMel(cfg).eval()
    pcm = torch.from_numpy(clips)

    def run_eager() -> np.ndarray:
        with torch.no_grad():
            return frontend(pcm).numpy()

    export_start = time.perf_counter()
    program = Program(export_frontend(cfg, max_batch=batch))
    export_s = time.perf_counter() - export_start

    def run_executorch() -> np.ndarray:
        return program.run("logmel", pcm)[0].numpy()

    reference, eager, runtime = run_librosa(), run_eager(), run_executorch()
    result = {
        "batch": batch,
        "torch_threads": torch.get_num_threads(),
        "librosa_clips_per_s": round(best_rate(run_librosa, batch, repeats), 1),
        "eager_clips_per_s": round(best_rate(run_eager, batch, repeats), 1),
        "executorch_clips_per_s": round(best_rate(run_executorch, batch, repeats), 1),
        "max_abs_diff_db": float(np.abs(runtime - reference).max()),
        "max_abs_diff_db_eager": float(np.abs(eager - reference).max()),
        "export_s": round(export_s, 1),
    }
    result["executorch_vs_librosa"] = round(
        result["executorch_clips_per_s"] / result["librosa_clips_per_s"], 2
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
