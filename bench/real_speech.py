"""Real speech: speaker-independent accuracy, personalisation, few-shot enrolment and detection.

Data: a DSPSpeech-20 folder (``--data DIR``, its ``manifest.csv`` listing ``path,speaker,label``;
datasets/dsp20.md says where to get it). Every speaker has 6 recordings of each of 20 words;
recordings are ~2 s with the word anywhere inside, so clips are cut by the ``energy`` window
policy (:mod:`edgekit.audio.window`). Per speaker and word, recordings 1-3 (natural file order)
adapt and 4-6 measure.

Protocol. Speakers are rotated through ``--folds`` folds that cover every speaker once. In fold
``k`` a pair of words is held out of pretraining (the pairs rotate; the first is
``beijing_city``/``beijing_background``, homophones apart from the tone). TC-ResNet is pretrained
on the other speakers' recordings of the other 18 words plus a ``_silence_`` class (generated
noise and room tone, bench/_streams.py) and exported as a bundle. Then, for each held-out speaker,
on a fresh device state through the ExecuTorch runtime:

(a) ``si_acc``: accuracy on their measure recordings of the 18 pretrained words;
(b) ``personalized_acc``: the same after ``Learner.personalize`` on their 3 adapt recordings per
    word (defaults);
(c) both held-out words enrolled (``Learner.enroll``, defaults) from 3 adapt recordings each:
    ``enrol_new_acc`` on their measure recordings (predicted among all 20 classes) and
    ``enrol_old_drop_pts``, the personalised accuracy on the old words minus the accuracy after
    enrolment;
(d) detection over one long stream per speaker: their measure recordings of all 20 words end to
    end, with 0.5-2.5 s of silence or noise between them. Keywords: the English words among the
    pretrained classes; the other words are distractors. The detection threshold is chosen on
    streams of training speakers before any test (the highest hit rate at most 0.5 false alarms
    per minute there). A hit is an event of the right keyword within 0.5 s of the word's centre;
    every other event is a false alarm. ``rtf``: detection's processing time over the audio's
    duration, the process pinned to one core.

Figures are pooled over the held-out speakers (mean and standard deviation across speakers) and
given per fold. The last line printed is a JSON object; progress goes to stderr.

    python bench/real_speech.py --data DIR            # full run: 4 folds (about 17 min on 2 cores)
    python bench/real_speech.py --data DIR --quick    # 1 fold, 5 speakers, within 60 s on 2 cores
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _kws import Progress
from _streams import background_clips, make_stream, score_events

from edgekit._quiet import quiet_dependencies
from edgekit.audio.config import FrontendConfig
from edgekit.audio.io import read_audio
from edgekit.data.corpus import ClipSet, Corpus
from edgekit.data.loaders import load_corpus
from edgekit.data.selection import natural_key
from edgekit.device.detect import DetectConfig, Event, EventPicker, StreamDetector
from edgekit.device.learner import Learner
from edgekit.export.bundle import ExportConfig, export_bundle
from edgekit.models import HeadConfig, build_model
from edgekit.models.pretrain import PretrainConfig, pretrain

SILENCE = "_silence_"
RATE = 16_000
PAIRS = (
    ("beijing_city", "beijing_background"),
    ("speech", "print"),
    ("open", "close"),
    ("signal", "project"),
)
ENGLISH = ("speech", "speaker", "signal", "process", "print", "open", "close", "project")
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
TOLERANCE = 0.5  # seconds between an event's peak and the word's centre for a hit
CALIBRATION_FA_PER_MIN = 0.5


@dataclass
class Settings:
    folds: int = 4
    epochs: int = 30
    speakers: int | None = None  # use only the first N speakers (quick runs)
    calibration_speakers: int = 2
    stream_reps: int = 3  # measure recordings per word in each detection stream
    seed: int = 0
    policy: str = "energy"


def _split_reps(corpus: Corpus) -> dict[tuple[str, str], list[Path]]:
    """``(speaker, label) -> recordings`` in natural file order (adapt = first 3)."""
    table: dict[tuple[str, str], list[Path]] = {}
    for clip in corpus.clips:
        table.setdefault((clip.speaker, clip.label), []).append(clip.path)
    return {key: sorted(paths, key=lambda p: natural_key(p.name)) for key, paths in table.items()}


def _clips(
    corpus: Corpus, speakers: list[str], labels: list[str], reps: slice, policy: str
) -> ClipSet:
    """The recordings ``reps`` of each (speaker, label), cut under ``policy``; label indices
    into ``labels``."""
    table = _split_reps(corpus)
    wanted = {p for s in speakers for lab in labels for p in table.get((s, lab), [])[reps]}
    chosen = corpus.subset(labels=labels)
    chosen = replace(chosen, clips=tuple(c for c in chosen.clips if c.path in wanted))
    return chosen.load(FrontendConfig(clip_window=policy), progress=False)


def _with_background(train: ClipSet, labels: list[str], rng: np.random.Generator) -> ClipSet:
    """``train`` plus a ``_silence_`` class as large as the mean word class."""
    count = len(train) // max(1, len(labels))
    sources = [read_audio(p) for p in rng.choice(np.array(train.paths, dtype=object), 50)]
    audio = background_clips(sources, count, train.audio.shape[1], rng)
    return ClipSet(
        audio=np.concatenate([train.audio, audio]),
        labels=np.concatenate([train.labels, np.full(count, len(labels), dtype=np.int64)]),
        label_names=(*labels, SILENCE),
        speakers=np.concatenate([train.speakers, np.array(["noise"] * count)]),
        splits=np.concatenate([train.splits, np.array(["train"] * count)]),
        paths=[*train.paths, *[Path("noise")] * count],
    )


def _bundle(train: ClipSet, out: Path, settings: Settings) -> None:
    torch.manual_seed(settings.seed)
    frontend = FrontendConfig(clip_window=settings.policy)
    head = HeadConfig(max_classes=max(HeadConfig().max_classes, len(train.label_names) + 4))
    model = build_model("tcresnet", frontend, head)
    pretrain(model, train, None, PretrainConfig(epochs=settings.epochs, seed=settings.seed), False)
    export_bundle(model, train.label_names, out, train, ExportConfig(seed=settings.seed))


def _names(clips: ClipSet) -> list[str]:
    return [clips.label_names[i] for i in clips.labels]


def _acc(learner: Learner, clips: ClipSet) -> float:
    return learner.accuracy(clips.audio, _names(clips)) if len(clips) else float("nan")


def _stream(corpus: Corpus, speaker: str, reps: slice, rng: np.random.Generator) -> Any:
    table = _split_reps(corpus)
    items = [(lab, p) for (s, lab), ps in table.items() if s == speaker for p in ps[reps]]
    return make_stream([p for _, p in items], [lab for lab, _ in items], rng)


def _detect(learner: Learner, stream: Any, keywords: list[str], threshold: float) -> Any:
    config = DetectConfig(threshold=threshold, keywords=tuple(keywords))
    events = learner.detect(stream.pcm, config)
    return score_events(stream, [(e.label, e.peak_seconds) for e in events], keywords, TOLERANCE)


class _Recorder:
    """Stands in for a detector's event picker to keep the keyword posteriors of every window,
    so that each threshold is tried on one pass of the program over the stream."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []

    def push(self, posteriors: np.ndarray) -> list[Event]:
        self.rows.append(posteriors)
        return []

    def close(self, samples: int) -> list[Event]:
        return []


def _posteriors(learner: Learner, stream: Any, keywords: list[str]) -> Any:
    detector = StreamDetector(learner, DetectConfig(keywords=tuple(keywords)))
    recorder = _Recorder()
    detector._picker = recorder  # type: ignore[assignment]  # the bench reads, not detects
    detector.feed(stream.pcm)
    detector.flush()
    return detector, np.concatenate(recorder.rows)


def _calibrate(bundle: Path, streams: list[Any], keywords: list[str], work: Path) -> float:
    """The threshold with the most hits at <= CALIBRATION_FA_PER_MIN on training speakers."""
    minutes = sum(s.minutes for s in streams)
    with Learner(bundle, work / "calibrate", read_only=True) as learner:
        runs = [(stream, *_posteriors(learner, stream, keywords)) for stream in streams]
    best = (-1.0, THRESHOLDS[-1])
    for threshold in THRESHOLDS:
        hits = total = alarms = 0
        for stream, detector, rows in runs:
            config = DetectConfig(threshold=threshold, keywords=tuple(keywords))
            picker = EventPicker(config, detector.keywords, detector.hop, detector.clip // 2, RATE)
            events = picker.push(rows) + picker.close(len(stream.pcm))
            h, n, fa = score_events(
                stream, [(e.label, e.peak_seconds) for e in events], keywords, TOLERANCE
            )
            hits, total, alarms = hits + h, total + n, alarms + fa
        rate = hits / max(1, total)
        if alarms / minutes <= CALIBRATION_FA_PER_MIN and rate > best[0]:
            best = (rate, threshold)
    return best[1]


def _one_core(run: Any) -> tuple[Any, float]:
    """``run()`` pinned to one core: ``(its result, wall seconds)``."""
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})
    try:
        start = time.perf_counter()
        return run(), time.perf_counter() - start
    finally:
        os.sched_setaffinity(0, cores)


def run_fold(
    corpus: Corpus, fold: int, held_out: list[str], settings: Settings, work: Path, say: Progress
) -> dict[str, Any]:
    words = list(corpus.labels)
    pair = list(PAIRS[fold % len(PAIRS)])
    old = [w for w in words if w not in pair]
    train_speakers = [s for s in corpus.speakers if s not in held_out]
    rng = np.random.default_rng(settings.seed + fold)
    train = _clips(corpus, train_speakers, old, slice(None), settings.policy)
    train = _with_background(train, old, rng)
    bundle = work / f"fold{fold}"
    say(f"fold {fold}: pretraining on {len(train_speakers)} speakers, {len(train)} clips")
    _bundle(train, bundle, settings)
    keywords = [w for w in ENGLISH if w in old]
    calibration = [
        _stream(corpus, s, slice(3, 3 + settings.stream_reps), rng)
        for s in train_speakers[: settings.calibration_speakers]
    ]
    threshold = _calibrate(bundle, calibration, keywords, work)
    say(f"fold {fold}: exported; detection threshold {threshold} (training speakers)")
    rows = []
    for speaker in held_out:
        measure = _clips(corpus, [speaker], old, slice(3, None), "energy")
        adapt = _clips(corpus, [speaker], old, slice(0, 3), settings.policy)
        row: dict[str, Any] = {"speaker": speaker, "n_test_clips": len(measure)}
        state = work / f"state-{speaker}"
        with Learner(bundle, state) as learner:
            row["si_acc"] = _acc(learner, measure)
            learner.personalize(adapt.audio, _names(adapt))
            row["personalized_acc"] = _acc(learner, measure)
            for word in pair:
                shots = _clips(corpus, [speaker], [word], slice(0, 3), settings.policy)
                learner.enroll(word, shots.audio)
            new = _clips(corpus, [speaker], pair, slice(3, None), "energy")
            row["enrol_new_acc"] = _acc(learner, new)
            row["enrol_old_drop_pts"] = row["personalized_acc"] - _acc(learner, measure)
            stream = _stream(corpus, speaker, slice(3, 3 + settings.stream_reps), rng)
            (hits, total, alarms), seconds = _one_core(
                lambda: _detect(learner, stream, keywords, threshold)  # noqa: B023
            )
            row["rtf"] = seconds / (stream.minutes * 60)
            row["detect_hit_rate"] = 100.0 * hits / max(1, total)
            row["false_alarms_per_min"] = alarms / stream.minutes
        shutil.rmtree(state, ignore_errors=True)
        rows.append(row)
        say(
            f"  {speaker}: si {row['si_acc']:.1f} -> personalised {row['personalized_acc']:.1f}; "
            f"enrolled {row['enrol_new_acc']:.1f} (old -{row['enrol_old_drop_pts']:.1f}); "
            f"detect {row['detect_hit_rate']:.0f}% hits, {row['false_alarms_per_min']:.2f} FA/min"
        )
    return {"fold": fold, "pair": pair, "threshold": threshold, "speakers": rows}


KEYS = (
    "si_acc",
    "personalized_acc",
    "enrol_new_acc",
    "enrol_old_drop_pts",
    "detect_hit_rate",
    "false_alarms_per_min",
    "rtf",
)


def pooled(folds: list[dict[str, Any]]) -> dict[str, Any]:
    rows = [row for fold in folds for row in fold["speakers"]]
    out: dict[str, Any] = {}
    for key in KEYS:
        values = np.array([row[key] for row in rows], dtype=np.float64)
        out[key] = round(float(np.mean(values)), 3)
        out[f"{key}_std"] = round(float(np.std(values)), 3)
    out["n_test_clips"] = int(sum(row["n_test_clips"] for row in rows))
    out["speakers_lowered_by_personalizing"] = [
        row["speaker"] for row in rows if row["personalized_acc"] < row["si_acc"]
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="A DSPSpeech-20 folder.")
    parser.add_argument("--quick", action="store_true", help="One small fold, within 60 s.")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--policy", default="energy", help="Clip window of training clips.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    quiet_dependencies()
    if not (args.data / "manifest.csv").is_file():
        sys.exit(
            f"error: {args.data} is not a DSPSpeech-20 folder (no manifest.csv there); "
            "datasets/dsp20.md says how to obtain it"
        )
    settings = Settings(args.folds, args.epochs, seed=args.seed, policy=args.policy)
    if args.quick:
        settings = replace(
            settings, folds=1, epochs=2, speakers=5, calibration_speakers=1, stream_reps=1
        )
    say = Progress("real_speech")
    corpus = load_corpus(args.data)
    speakers = corpus.speakers[: settings.speakers]
    corpus = corpus.subset(speakers=speakers)
    folds = []
    with tempfile.TemporaryDirectory(prefix="real_speech-") as tmp:
        for fold in range(settings.folds):
            held_out = speakers[fold :: settings.folds]
            if args.quick:
                held_out = held_out[:1]
            folds.append(run_fold(corpus, fold, held_out, settings, Path(tmp), say))
    result = {
        "bench": "real_speech",
        "quick": args.quick,
        "folds": settings.folds,
        "epochs": settings.epochs,
        "policy": settings.policy,
        "seconds": round(say.elapsed, 1),
        **pooled(folds),
        "per_fold": folds,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
