"""``edgekit detect``: keyword events in recordings of any length, as a phone listening would find
them (:mod:`edgekit.device.detect`, with the bundle's ``detection`` settings unless a flag says
otherwise).

A file is decoded :data:`SEGMENT_SECONDS` at a time and fed to one stream detector, so a two-hour
recording never sits in memory; the device state is only read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from edgekit.cli.options import Bundle, State
from edgekit.errors import AudioFormatError, ConfigError, DataError

__all__ = ["detect"]

SEGMENT_SECONDS = 60.0  # decoded at a time: 60 s of 48 kHz stereo float32 is 23 MB
# read on each side of a segment and dropped after resampling, so segments join as one whole-file
# read would (soxr's filter reaches about 256 output samples, 16 ms at 16 kHz); 0.1 s is a whole
# number of samples at the usual rates (8, 11.025, 16, 22.05, 32, 44.1, 48, 96 kHz)
MARGIN_SECONDS = 0.1
PROGRESS_SECONDS = 60.0  # files longer than this show a progress bar (seconds of audio)

_BUNDLES = " (default: the bundle's)."
Hop = Annotated[float | None, typer.Option(help="Seconds between window centres" + _BUNDLES)]
Smooth = Annotated[
    float | None, typer.Option(help="Seconds of windows the posterior is averaged over" + _BUNDLES)
]
Refractory = Annotated[
    float | None,
    typer.Option(help="Seconds after an event opens in which no other opens" + _BUNDLES),
]


def _seconds(path: Path) -> float:
    """The file's length in seconds; AudioFormatError for a file that cannot be read."""
    import soundfile as sf

    from edgekit.audio.io import file_problem

    problem = file_problem(path)
    if problem is not None:
        raise AudioFormatError(path, problem)
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
        raise AudioFormatError(path, f"unreadable audio ({exc})") from exc
    if info.frames <= 0 or info.samplerate <= 0:
        raise AudioFormatError(path, "empty audio (no samples)")
    return float(info.frames / info.samplerate)


def _segments(path: Path, seconds: float, rate: int) -> Iterator[np.ndarray]:
    """The file as mono float32 at ``rate``, one :data:`SEGMENT_SECONDS` piece after another
    (contiguous: together they are the whole file)."""
    from edgekit.audio.io import read_audio

    start = 0.0
    while start < seconds:
        lead = min(MARGIN_SECONDS, start)
        pcm = read_audio(path, rate, start - lead, SEGMENT_SECONDS + lead + MARGIN_SECONDS)
        skip = round(lead * rate)
        yield pcm[skip : skip + round(SEGMENT_SECONDS * rate)]
        start += SEGMENT_SECONDS


def _config(base: Any, flags: dict[str, Any]) -> Any:
    """``base`` with the flags given; a bad value is a ConfigError naming its flag."""
    from edgekit.device.detect import field_problem

    given = {name: value for name, value in flags.items() if value is not None}
    for name, value in given.items():
        problem = field_problem(name, value)
        if problem:
            flag = "--keyword" if name == "keywords" else "--" + name.replace("_", "-")
            raise ConfigError(f"{flag} {problem}, got {value!r}")
    return replace(base, **given)


def _line(path: Path, event: Any, as_json: bool) -> str:
    if as_json:
        times = {k: round(v, 3) for k, v in event.to_dict().items() if k.endswith("_seconds")}
        return json.dumps(
            {"file": str(path), "label": event.label, **times, "score": round(event.score, 4)}
        )
    return (
        f"{path}\t{event.start_seconds:.2f}\t{event.end_seconds:.2f}\t{event.label}\t"
        f"{event.score:.3f}"
    )


def detect(
    bundle: Bundle,
    files: Annotated[
        list[Path], typer.Argument(help="Recordings of any length (any rate and channels).")
    ],
    state: State = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Smoothed posterior that opens an event, in (0, 1] (default: the bundle's)."
        ),
    ] = None,
    hop_seconds: Hop = None,
    smooth_seconds: Smooth = None,
    refractory_seconds: Refractory = None,
    keyword: Annotated[
        list[str] | None,
        typer.Option(
            "--keyword",
            help="Only this keyword (repeat for several; default: every live label but "
            "_silence_ and _unknown_).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per event.")] = False,
) -> None:
    """Find keywords in long recordings: one line per event (FILE, start and end in seconds,
    label, score) and a summary with the real-time factor on stderr. A bad file is skipped (one
    line on stderr) and the others are still read, then the exit status is 1."""
    from edgekit.device import DetectConfig, Learner, StreamDetector

    learner = Learner(bundle, state, read_only=True)
    flags = {
        "threshold": threshold,
        "hop_seconds": hop_seconds,
        "smooth_seconds": smooth_seconds,
        "refractory_seconds": refractory_seconds,
        "keywords": tuple(keyword) if keyword else None,
    }
    base = DetectConfig.from_dict(learner.manifest.detection)
    detector = StreamDetector(learner, _config(base, flags))
    events = skipped = 0
    audio = busy = 0.0  # seconds of audio read, seconds spent on them
    for path in files:
        started = time.perf_counter()
        try:
            found, seconds = _one_file(detector, path, as_json)
            events, audio = events + found, audio + seconds
        except (AudioFormatError, DataError) as exc:
            detector.reset()
            reason = exc.reason if isinstance(exc, AudioFormatError) else str(exc)
            typer.echo(f"skipped {path}: {reason}", err=True)
            skipped += 1
        busy += time.perf_counter() - started
    speed = f", real-time factor {busy / audio:.3f}" if audio else ""
    typer.echo(
        f"{events} events in {len(files) - skipped} of {len(files)} files: {audio:.1f} s of "
        f"audio in {busy:.1f} s{speed}",
        err=True,
    )
    if skipped:
        raise typer.Exit(1)


def _one_file(detector: Any, path: Path, as_json: bool) -> tuple[int, float]:
    """Print the events of one file as they are found: ``(how many, seconds of audio)``."""
    from tqdm.auto import tqdm

    rate, events = detector.sample_rate, 0
    seconds = _seconds(path)
    bar = tqdm(
        total=round(seconds),
        unit="s",
        desc=path.name,
        leave=False,
        disable=seconds <= PROGRESS_SECONDS,
        bar_format="{desc}: {percentage:3.0f}% {n:.0f}/{total} s [{elapsed}<{remaining}]",
    )
    with bar:
        for pcm in _segments(path, seconds, rate):
            for event in detector.feed(pcm):
                typer.echo(_line(path, event, as_json))
                events += 1
            bar.update(len(pcm) / rate)
    for event in detector.flush():
        typer.echo(_line(path, event, as_json))
        events += 1
    return events, seconds
