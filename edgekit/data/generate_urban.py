"""An offline, procedural corpus in the UrbanSound8K layout (for tests, demos and CI).

Ten classes are synthesised in numpy (:mod:`edgekit.data.urban_synth`). As in the real corpus,
clips are *slices* of *source recordings* (fsID): every slice of a source shares its random
parameters (pitch, rate, timbre, ambience) and its fold. Each clip's generator is seeded from
``(seed, classID, source, slice)``, so a seed gives byte-identical files whatever the worker count.
The corpus is built in ``<out>.partial`` and renamed into place: a crash leaves nothing
half-built at ``out``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from edgekit.atomic import atomic_write_bytes, building
from edgekit.audio.io import write_wav
from edgekit.data.urban_synth import SYNTHS, background
from edgekit.data.urbansound import METADATA_CSV, REQUIRED_COLUMNS, US8K_CLASSES
from edgekit.errors import ConfigError, CorpusExistsError

__all__ = [
    "CorpusExistsError",
    "SliceSpec",
    "UrbanCorpusConfig",
    "generate_urban_corpus",
    "plan_urban_corpus",
    "render_slice",
]

GENERATOR = "edgekit.data.generate_urban"
GENERATOR_VERSION = 1  # bump whenever the synthesis changes what a seed produces
CORPUS_JSON = "corpus.json"
HIGH_RATE = 44_100  # Hz, the rate of the few files not at config.sample_rate
# stream tags: keep the generators of the plan, a source, its ambience and a slice independent
_PLAN, _SOURCE, _AMBIENCE, _SLICE = 0, 1, 2, 3


@dataclass(frozen=True)
class UrbanCorpusConfig:
    """What to generate. The defaults build 400 clips (73 MB) in about 10 s on 2 cores."""

    clips_per_class: int = 40  # slices per class, >= n_folds (every fold holds every class)
    slices_per_source: int = 4  # most slices cut from one source recording (fsID), >= 1
    n_folds: int = 10  # folds; all slices of a source share one; every class is in every fold; >= 2
    clip_seconds: float = 4.0  # length of a full slice in seconds, in [0.1, 30]
    short_fraction: float = 0.1  # fraction of slices shorter than clip_seconds (25-100 %), [0, 1]
    background_fraction: float = 0.3  # fraction of salience-2 (background) slices, in [0, 1]
    snr_foreground_db: tuple[float, float] = (6.0, 24.0)  # SNR range of salience-1 slices, dB
    snr_background_db: tuple[float, float] = (-3.0, 6.0)  # SNR range of salience-2 slices, dB
    peak_dbfs: tuple[float, float] = (-24.0, -1.0)  # range of each file's peak level, dBFS, <= 0
    sample_rate: int = 22_050  # Hz, the rate of most files, in [8000, 96000]
    high_rate_fraction: float = 0.05  # fraction of files written at 44.1 kHz instead, [0, 1]
    stereo_fraction: float = 0.05  # fraction of files written as 2-channel, [0, 1]
    seed: int = 0  # base seed, >= 0; same seed and fields -> byte-identical files

    def __post_init__(self) -> None:
        def need(ok: bool, what: str, got: Any) -> None:
            if not ok:
                raise ConfigError(f"UrbanCorpusConfig.{what}, got {got!r}")

        need(self.slices_per_source >= 1, "slices_per_source must be >= 1", self.slices_per_source)
        need(self.n_folds >= 2, "n_folds must be >= 2", self.n_folds)
        need(
            self.clips_per_class >= self.n_folds,
            f"clips_per_class must be >= n_folds, the {self.n_folds} folds (each holds every "
            "class)",
            self.clips_per_class,
        )
        need(0.1 <= self.clip_seconds <= 30, "clip_seconds must be in [0.1, 30]", self.clip_seconds)
        fractions = ("short", "background", "high_rate", "stereo")
        for name in (f"{f}_fraction" for f in fractions):
            need(0 <= getattr(self, name) <= 1, f"{name} must be in [0, 1]", getattr(self, name))
        for name in ("snr_foreground_db", "snr_background_db", "peak_dbfs"):
            low, high = getattr(self, name)
            need(low <= high, f"{name} must be a (low, high) range with low <= high", (low, high))
        need(self.peak_dbfs[1] <= 0, "peak_dbfs must be <= 0 dBFS", self.peak_dbfs)
        need(
            8_000 <= self.sample_rate <= 96_000,
            "sample_rate must be in [8000, 96000]",
            self.sample_rate,
        )
        need(self.seed >= 0, "seed must be >= 0", self.seed)

    @property
    def sources_per_class(self) -> int:
        """Enough sources for ``slices_per_source`` each, and at least one per fold."""
        return max(math.ceil(self.clips_per_class / self.slices_per_source), self.n_folds)

    def slices_of(self, source: int) -> int:
        """Slices of source ``source`` (0-based): the clips shared out as evenly as possible."""
        share, extra = divmod(self.clips_per_class, self.sources_per_class)
        return share + (source < extra)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (ranges as lists), as stored in ``corpus.json``."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class SliceSpec:
    """One clip to render: where it goes, what it is and how it is written."""

    class_id: int
    source: int  # index of the source recording within its class
    slice: int  # index of the slice within its source
    fs_id: int  # the source's id, unique in the corpus
    fold: int  # 1..n_folds, the same for every slice of a source
    start: float  # seconds into the (virtual) source recording
    end: float  # seconds
    salience: int  # 1 foreground, 2 background
    snr_db: float  # event-to-ambience power ratio, dB
    peak_dbfs: float  # the file's peak level, dBFS
    sample_rate: int  # Hz
    channels: int  # 1 or 2

    @property
    def file_name(self) -> str:
        return f"{self.fs_id}-{self.class_id}-0-{self.slice}.wav"

    @property
    def relative_path(self) -> str:
        return f"audio/fold{self.fold}/{self.file_name}"


def plan_urban_corpus(config: UrbanCorpusConfig) -> list[SliceSpec]:
    """Every slice of the corpus, sorted by file name (the CSV's order). Pure and deterministic."""
    rng = np.random.default_rng([config.seed, _PLAN])
    n_sources = config.sources_per_class * len(US8K_CLASSES)
    fs_ids = rng.choice(np.arange(1_000, 200_000), size=n_sources, replace=False)
    specs: list[SliceSpec] = []
    for class_id in range(len(US8K_CLASSES)):
        order = rng.permutation(config.sources_per_class)
        for source in range(config.sources_per_class):
            slices = config.slices_of(source)
            fs_id = int(fs_ids[class_id * config.sources_per_class + source])
            start = round(float(rng.uniform(0, 60)), 6)
            for index in range(slices):
                full = rng.random() >= config.short_fraction
                length = config.clip_seconds * (1.0 if full else float(rng.uniform(0.25, 1.0)))
                salience = 2 if rng.random() < config.background_fraction else 1
                snr = config.snr_foreground_db if salience == 1 else config.snr_background_db
                end = round(start + length, 6)
                specs.append(
                    SliceSpec(
                        class_id=class_id,
                        source=source,
                        slice=index,
                        fs_id=fs_id,
                        fold=int(order[source] % config.n_folds) + 1,
                        start=start,
                        end=end,
                        salience=salience,
                        snr_db=float(rng.uniform(*snr)),
                        peak_dbfs=float(rng.uniform(*config.peak_dbfs)),
                        sample_rate=config.sample_rate,
                        channels=1,
                    )
                )
                start = round(end + float(rng.uniform(0, 2)), 6)
    # exact counts of the odd formats, spread at random
    pick = rng.permutation(len(specs))
    n_high = round(config.high_rate_fraction * len(specs))
    n_stereo = round(config.stereo_fraction * len(specs))
    high, stereo = set(pick[:n_high].tolist()), set(pick[::-1][:n_stereo].tolist())
    specs = [
        _with_format(s, HIGH_RATE if i in high else s.sample_rate, 2 if i in stereo else 1)
        for i, s in enumerate(specs)
    ]
    return sorted(specs, key=lambda s: s.file_name)


def render_slice(spec: SliceSpec, seed: int) -> np.ndarray:
    """The slice's samples, ``(n,)`` or ``(n, 2)`` float32 in [-1, 1]. Pure and deterministic."""
    key = [seed, spec.class_id, spec.source]
    src = np.random.default_rng([*key, _SOURCE])
    ambience = np.random.default_rng([*key, _AMBIENCE])
    rng = np.random.default_rng([*key, _SLICE, spec.slice])
    sr = spec.sample_rate
    n = max(round((spec.end - spec.start) * sr), 1)
    event = SYNTHS[US8K_CLASSES[spec.class_id]](src, rng, n, sr)
    noise = background(ambience, rng, n, sr)
    p_event, p_noise = np.mean(event**2) + 1e-12, np.mean(noise**2) + 1e-12
    mix = event * np.sqrt(p_noise * 10 ** (spec.snr_db / 10) / p_event) + noise
    if spec.channels == 2:
        delay = int(rng.integers(1, 30))
        other = np.concatenate([np.zeros(delay), mix])[:n]
        mix = np.stack([mix, rng.uniform(0.6, 1.0) * other], axis=1)
    mix *= 10 ** (spec.peak_dbfs / 20) / (np.abs(mix).max() + 1e-12)
    return np.clip(mix, -1, 1).astype(np.float32)


def generate_urban_corpus(
    out: Path,
    config: UrbanCorpusConfig = UrbanCorpusConfig(),
    *,
    workers: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> Path:
    """Build the corpus at ``out`` (``metadata/UrbanSound8K.csv``, ``audio/fold<N>/``,
    ``corpus.json``) and return ``out``.

    If ``out`` already holds this corpus (same ``corpus.json`` parameters) it is returned at once.
    If it holds anything else, :class:`CorpusExistsError` is raised unless ``overwrite=True``.
    ``workers`` processes render the clips (default: the CPU count; 1 renders in this process).
    """
    out = Path(out)
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    manifest = _manifest(config)
    if out.exists() and _existing_matches(out, manifest, overwrite):
        return out
    specs = plan_urban_corpus(config)
    with building(out) as build:
        for fold in range(1, config.n_folds + 1):
            (build / "audio" / f"fold{fold}").mkdir(parents=True)
        _render_all(build, specs, config.seed, workers, progress)
        _write_metadata(build, specs)
        summary = json.dumps(manifest | {"clips": len(specs)}, indent=2) + "\n"
        atomic_write_bytes(build / CORPUS_JSON, summary.encode())  # last: marks a complete build
    return out


def _with_format(spec: SliceSpec, sample_rate: int, channels: int) -> SliceSpec:
    return SliceSpec(**{**asdict(spec), "sample_rate": sample_rate, "channels": channels})


def _manifest(config: UrbanCorpusConfig) -> dict[str, Any]:
    return {
        "generator": GENERATOR,
        "version": GENERATOR_VERSION,
        "classes": list(US8K_CLASSES),
        "config": config.to_dict(),
    }


def _existing_matches(out: Path, manifest: dict[str, Any], overwrite: bool) -> bool:
    """True when ``out`` holds this corpus; raises when it holds something else (unless asked)."""
    if out.is_dir() and not any(out.iterdir()):
        return False
    try:
        found = json.loads((out / CORPUS_JSON).read_text())
        same = {k: found.get(k) for k in manifest} == manifest
        why = "was built with different parameters"
    except (OSError, ValueError, AttributeError):
        same, why = False, f"has no readable {CORPUS_JSON} (not a generated corpus)"
    if same:
        return True
    if overwrite:
        return False
    raise CorpusExistsError(
        f"{out} already exists and {why}; pass --overwrite (Python: overwrite=True) to replace "
        "it, or choose another folder"
    )


def _render_one(build: Path, seed: int, spec: SliceSpec) -> None:
    write_wav(build / spec.relative_path, render_slice(spec, seed), spec.sample_rate)


def _render_all(
    build: Path, specs: list[SliceSpec], seed: int, workers: int | None, progress: bool
) -> None:
    workers = workers or os.cpu_count() or 1
    job = partial(_render_one, build, seed)
    bar = tqdm(total=len(specs), desc="synthesising urban clips", unit="clip", disable=not progress)
    with bar:
        if workers == 1:
            for spec in specs:
                job(spec)
                bar.update()
            return
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(job, specs, chunksize=max(1, len(specs) // (8 * workers))):
                bar.update()


def _write_metadata(build: Path, specs: list[SliceSpec]) -> None:
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(REQUIRED_COLUMNS)
    for s in specs:
        row = [s.file_name, s.fs_id, s.start, s.end, s.salience, s.fold]
        writer.writerow([*row, s.class_id, US8K_CLASSES[s.class_id]])
    atomic_write_bytes(build / METADATA_CSV, text.getvalue().encode())
