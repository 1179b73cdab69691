"""Keyword events in a stream of audio of any length: windows, smoothing, threshold, refractory.

Window ``k`` is one clip of the bundle (``clip_samples``) centred on the stream's sample
``k * hop``: the stream is read as if zeros came before its first and after its last sample, so a
word at the very start or end is covered, and windows run while their centre is inside the stream.
Windows go through the program's ``embed`` (never the feature cache: a stream's windows are seen
once) in groups of ``batch``, then ``classify``. The posterior of each keyword is averaged over
the last ``smooth_seconds`` of windows (causal), timed at the mean centre of those windows. An
event opens when the top keyword's smoothed posterior rises to ``threshold`` at least
``refractory_seconds`` after the previous event opened, lasts while that keyword stays the top one
at or above the threshold, and is reported when it closes. docs/detection.md says more.

A :class:`StreamDetector` takes PCM in chunks of any size and holds a bounded ring of samples, so
the same events come for one long array and for the same audio fed in pieces.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from edgekit.errors import ConfigError, DataError
from edgekit.export.detection import DetectConfig, field_problem

if TYPE_CHECKING:
    from edgekit.device.learner import Learner

__all__ = ["DetectConfig", "Event", "EventPicker", "StreamDetector", "detect", "field_problem"]


@dataclass(frozen=True)
class Event:
    """One detected keyword; times in seconds from the stream's first sample.

    ``[start_seconds, end_seconds]`` is the audio the event's windows cover (the word lies
    within it); ``peak_seconds`` is when the smoothed posterior peaked, ``score`` that peak."""

    label: str
    start_seconds: float
    end_seconds: float
    peak_seconds: float
    score: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Run:
    """An open event: its keyword (index), first and last firing times and peak (samples)."""

    keyword: int
    first: float
    last: float
    peak: float
    score: float


class EventPicker:
    """Smoothing, threshold and refractory over the keywords' posteriors, window by window.

    Times are counted in samples of the stream (a smoothed posterior's time may fall half way
    between two window centres); ``half_window`` samples on each side of the first and last firing
    times make an event's span."""

    def __init__(
        self, config: DetectConfig, keywords: tuple[str, ...], hop: int, half_window: int, rate: int
    ) -> None:
        self.config, self.keywords = config, keywords
        self.hop, self.half, self.rate = hop, half_window, rate
        self.span = config.smooth_windows()
        self.refractory = config.refractory_seconds * rate  # samples
        self._recent = np.zeros((0, len(keywords)), dtype=np.float32)  # last span - 1 rows
        self._count = 0  # windows seen
        self._firing: int | None = None  # keyword at or above the threshold at the last window
        self._open: _Run | None = None  # the event being detected
        self._last_onset: float | None = None  # time of the last event's opening

    def push(self, posteriors: np.ndarray) -> list[Event]:
        """The events that close within these windows' ``(n, keywords)`` posteriors."""
        rows = np.concatenate([self._recent, posteriors])
        before, events = len(self._recent), []
        for i in range(before, len(rows)):
            k = self._count + i - before  # this window's index in the stream
            lo = max(0, i - self.span + 1)
            smoothed = rows[lo : i + 1].mean(axis=0)
            # the mean centre of the averaged windows: undoes the causal average's delay
            time = (k - (i - lo) / 2) * self.hop
            top = int(np.argmax(smoothed))
            score = float(smoothed[top])
            events += self._step(top if score >= self.config.threshold else None, time, score)
        self._count += len(posteriors)
        self._recent = rows[max(0, len(rows) - self.span + 1) :] if self.span > 1 else rows[:0]
        return events

    def _step(self, firing: int | None, time: float, score: float) -> list[Event]:
        events, run = [], self._open
        if run is not None and firing == run.keyword:
            run.last = time
            if score > run.score:
                run.peak, run.score = time, score
        else:
            if run is not None:
                events.append(self._close(math.inf))
            rising = firing is not None and firing != self._firing  # never mid-way up a run
            free = self._last_onset is None or time - self._last_onset >= self.refractory
            if firing is not None and rising and free:
                self._open = _Run(firing, time, time, time, score)
                self._last_onset = time
        self._firing = firing
        return events

    def _close(self, end: float) -> Event:
        """The open event as reported, its span ending by ``end`` (samples)."""
        run = self._open
        assert run is not None
        self._open = None
        return Event(
            label=self.keywords[run.keyword],
            start_seconds=max(0.0, run.first - self.half) / self.rate,
            end_seconds=min(end, run.last + self.half) / self.rate,
            peak_seconds=run.peak / self.rate,
            score=run.score,
        )

    def close(self, samples: int) -> list[Event]:
        """The event still open when the stream ends after ``samples`` samples."""
        return [self._close(samples)] if self._open is not None else []


class StreamDetector:
    """Keyword events of ``learner`` in PCM fed in chunks of any size (mono float32 at the
    bundle's rate): :meth:`feed` returns the events that closed, :meth:`flush` ends the stream
    with the rest and makes the detector ready for a new one.

    It holds at most ``clip_samples + 2 * batch * hop`` samples and the last ``smooth_seconds``
    of posteriors, whatever the length of the stream or of a chunk."""

    def __init__(self, learner: Learner, config: DetectConfig | None = None) -> None:
        m = learner.manifest
        self.learner = learner
        self.config = config or DetectConfig.from_dict(m.detection)
        self.sample_rate = int(m.frontend["sample_rate"])
        self.clip = m.clip_samples
        self.hop = round(self.config.hop_seconds * self.sample_rate)
        if not 1 <= self.hop <= self.clip:
            raise ConfigError(
                f"hop_seconds {self.config.hop_seconds:g} must be within one window "
                f"({self.clip / self.sample_rate:g} s) and one sample: audio between windows "
                "would go unheard"
            )
        self.batch = min(self.config.batch, m.max_batch)  # what one embed call may take
        self.keywords = _keywords(learner, self.config.keywords)
        self.columns = [learner.labels.index(k) for k in self.keywords]  # their slots
        self.reset()

    def reset(self) -> None:
        """Forget the stream: the next sample fed is the first of a new one."""
        self._seen = 0  # samples fed
        self._next = 0  # the next window to run
        self._buf = np.zeros(self.clip // 2, dtype=np.float32)  # the zeros before the stream
        self._buf_start = -(self.clip // 2)  # stream position of _buf[0]
        self._picker = EventPicker(
            self.config, self.keywords, self.hop, self.clip // 2, self.sample_rate
        )

    def feed(self, chunk: np.ndarray) -> list[Event]:
        """Add ``chunk`` (1-D) to the stream; the events that closed. A chunk holding NaN or Inf
        raises DataError and nothing of it is used (the stream goes on without it); windows whose
        features are not finite (samples far outside [-1, 1]) raise DataError and end the stream
        (the next sample fed starts a new one)."""
        chunk = np.asarray(chunk, dtype=np.float32)
        if chunk.ndim != 1:
            raise DataError(f"a chunk of the stream must be 1-D samples, got shape {chunk.shape}")
        bad = np.flatnonzero(~np.isfinite(chunk))
        if len(bad):
            at = (self._seen + bad[0]) / self.sample_rate
            raise DataError(f"the stream holds NaN or Inf samples (the first at {at:.3f} s)")
        events, step = [], self.batch * self.hop  # bounds what the ring holds
        for start in range(0, len(chunk), step):
            piece = chunk[start : start + step]
            self._buf = np.concatenate([self._buf, piece])
            self._seen += len(piece)
            events += self._run(self._ready(self._seen))
        return events

    def flush(self) -> list[Event]:
        """End the stream: its last windows (zeros after it) and the events still open."""
        last = -(-self._seen // self.hop)  # windows whose centre falls inside the stream
        end = (last - 1) * self.hop - self.clip // 2 + self.clip  # the last window's end
        self._buf = np.concatenate([self._buf, np.zeros(max(0, end - self._seen), np.float32)])
        events = []
        while self._next < last:
            events += self._run(min(self.batch, last - self._next))
        events += self._picker.close(self._seen)
        self.reset()
        return events

    def _ready(self, available: int) -> int:
        """Windows to run now: a whole group of ``batch`` whose last window is complete (fixed
        groups make the program's batches, and so its results, the same however chunks come)."""
        start = self._next * self.hop - self.clip // 2
        complete = max(0, (available - self.clip - start) // self.hop + 1)
        return complete // self.batch * self.batch

    def _run(self, n: int) -> list[Event]:
        """Embed, classify and pick the next ``n`` windows, in groups of ``batch``."""
        events = []
        while n > 0:
            count = min(self.batch, n)
            n -= count
            offset = self._next * self.hop - self.clip // 2 - self._buf_start
            windows = np.stack(
                [self._buf[s : s + self.clip] for s in offset + self.hop * np.arange(count)]
            )
            features = self.learner.program.embed(windows)
            if not np.isfinite(features).all():
                at = self._next * self.hop / self.sample_rate
                self.reset()
                raise DataError(
                    f"the windows from {at:.2f} s give non-finite features (samples far outside "
                    "[-1, 1]?)"
                )
            events += self._picker.push(self.learner.probabilities(features)[:, self.columns])
            self._next += count
            drop = self._next * self.hop - self.clip // 2 - self._buf_start  # before the next
            self._buf, self._buf_start = self._buf[drop:], self._buf_start + drop
        return events


def _keywords(learner: Learner, asked: tuple[str, ...] | None) -> tuple[str, ...]:
    """The keywords to detect: ``asked`` (each a live label), or every live label but
    ``_silence_`` and ``_unknown_``."""
    from edgekit.data.speech_commands import SILENCE, UNKNOWN

    live = learner.live
    if asked is None:
        words = tuple(label for label in live if label not in (SILENCE, UNKNOWN))
        if not words:
            raise ConfigError(f"no keyword to detect: the live labels are {list(live)}")
        return words
    missing = [k for k in asked if k not in live]
    if missing:
        raise ConfigError(f"keywords {missing} are not live labels of this device ({list(live)})")
    return asked


def detect(
    learner: Learner,
    pcm: np.ndarray,
    config: DetectConfig | None = None,
    *,
    sample_rate: int | None = None,
) -> list[Event]:
    """Keyword events in ``pcm`` (1-D, at the bundle's rate: ``sample_rate``, when given, must
    be it); ``config`` defaults to the manifest's ``detection``."""
    detector = StreamDetector(learner, config)
    if sample_rate is not None and sample_rate != detector.sample_rate:
        raise DataError(
            f"pcm at {sample_rate} Hz: the bundle listens at {detector.sample_rate} Hz "
            "(edgekit.audio.io.resample converts)"
        )
    return detector.feed(pcm) + detector.flush()
