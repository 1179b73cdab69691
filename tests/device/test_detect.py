"""Keyword events in a stream: the event logic on made-up posteriors, then the fixture bundle
listening to its own clips placed in silence (through the ExecuTorch runtime)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from edgekit.device import DetectConfig, Event, Learner, StreamDetector
from edgekit.device.detect import EventPicker, detect
from edgekit.errors import ConfigError, CorruptBundle, DataError, ExportError
from edgekit.export.bundle import ExportConfig, export_bundle
from edgekit.export.manifest import Manifest, read_manifest
from tests.bundle_fixture import BuiltBundle
from tests.device.faults import copy_bundle, edit_manifest

RATE = 16_000
PLACED = (1.5, 4.5, 7.0)  # seconds where a keyword clip starts
SECONDS = 9.0


# ----------------------------------------------------------- the event logic alone
def _pick(posteriors: list[float], **settings: float) -> list[Event]:
    """Events of one keyword whose posterior per window (hop 0.1 s) is ``posteriors``;
    windows are 1 s (half of it on each side of a window's centre)."""
    config = DetectConfig(smooth_seconds=0.0, **settings)  # type: ignore[arg-type]
    picker = EventPicker(config, ("kw",), hop=1600, half_window=8000, rate=RATE)
    rows = np.array(posteriors, dtype=np.float32)[:, None]
    return picker.push(rows) + picker.close(len(posteriors) * 1600)


def test_an_event_spans_its_windows_and_peaks_at_its_best() -> None:
    (event,) = _pick([0, 0, 0.8, 0.9, 0.75, 0, 0], threshold=0.7)
    assert event.label == "kw" and event.score == pytest.approx(0.9)
    assert event.peak_seconds == pytest.approx(0.3)
    # first and last firing centres (0.2 s, 0.4 s), half a window out; clamped at the start
    assert (event.start_seconds, event.end_seconds) == pytest.approx((0.0, 0.9))


def test_the_threshold_opens_events_and_nothing_below_it_does() -> None:
    scores = [0, 0.65, 0, 0, 0.8, 0]
    assert [e.score for e in _pick(scores, threshold=0.7)] == pytest.approx([0.8])
    assert len(_pick(scores, threshold=0.6, refractory_seconds=0.0)) == 2
    assert _pick(scores, threshold=0.9) == []


def test_refractory_counts_from_an_events_opening_and_never_opens_mid_run() -> None:
    # runs open at 0.1 s, 0.6 s (lasting to 1.2 s) and 1.5 s
    scores = [0, 0.9, 0, 0, 0, 0, *[0.9] * 7, 0, 0, 0.9, 0]
    starts = [e.start_seconds for e in _pick(scores, refractory_seconds=0.0)]
    assert starts == pytest.approx([0.0, 0.1, 1.0])  # half a window before each run
    # 1 s: the run at 0.6 s is suppressed whole (not opened at 1.1 s), the one at 1.5 s opens
    opened = [e.peak_seconds for e in _pick(scores, refractory_seconds=1.0)]
    assert opened == pytest.approx([0.1, 1.5])
    assert len(_pick(scores, refractory_seconds=2.0)) == 1


def test_smoothing_averages_the_last_windows_and_times_them_at_their_middle() -> None:
    config = DetectConfig(smooth_seconds=0.3, threshold=0.5)  # 3 windows
    picker = EventPicker(config, ("kw",), hop=1600, half_window=8000, rate=RATE)
    rows = np.array([0, 0, 1, 1, 1, 0, 0, 0], dtype=np.float32)[:, None]
    (event,) = picker.push(rows[:3]) + picker.push(rows[3:]) + picker.close(8 * 1600)
    # averages >= 0.5 at windows 3..5 (2/3, 1, 2/3), timed 0.1 s earlier: 0.2 .. 0.4 s
    assert event.score == pytest.approx(1.0) and event.peak_seconds == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"hop_seconds": 0}, "hop_seconds"),
        ({"hop_seconds": float("nan")}, "hop_seconds"),
        ({"smooth_seconds": -1}, "smooth_seconds"),
        ({"threshold": 1.5}, "threshold"),
        ({"threshold": 0}, "threshold"),
        ({"refractory_seconds": float("inf")}, "refractory_seconds"),
        ({"batch": 0}, "batch"),
        ({"batch": True}, "batch"),
        ({"keywords": ()}, "keywords"),
        ({"keywords": ("go", "go")}, "keywords"),
    ],
)
def test_a_bad_setting_is_refused_by_name(settings: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigError, match=f"DetectConfig.{says} must be"):
        DetectConfig(**settings)  # type: ignore[arg-type]


def test_settings_round_trip_through_a_dict_and_only_whole_ones_load() -> None:
    config = DetectConfig(threshold=0.8, keywords=("a", "b"), batch=2)
    assert DetectConfig.from_dict(config.to_dict()) == config
    assert config.to_dict()["keywords"] == ["a", "b"]  # as JSON holds it
    for bad in ({**config.to_dict(), "extra": 1}, {"threshold": 0.8}, ["threshold"]):
        with pytest.raises(ConfigError, match="exactly"):
            DetectConfig.from_dict(bad)


# ----------------------------------------------------------- the bundle listening
@pytest.fixture(scope="module")
def listening(built: BuiltBundle, tmp_path_factory: pytest.TempPathFactory) -> Learner:
    return Learner(built.path, tmp_path_factory.mktemp("state"), read_only=True)


def keyword_not_silence(learner: Learner) -> str:
    """A label the model does not give silence: the tone model has no silence class, so it
    names silence as one of its tones, which this test then does not listen for."""
    silence = np.zeros((1, learner.manifest.clip_samples), dtype=np.float32)
    heard = learner.labels[int(learner.probabilities(learner.program.embed(silence)).argmax())]
    return next(label for label in learner.live if label != heard)


def recording(built: BuiltBundle, keyword: str) -> np.ndarray:
    """Silence with the fixture's own clips of ``keyword`` at :data:`PLACED`."""
    clips = built.clips.audio[built.clips.labels == built.manifest.labels.index(keyword)]
    pcm = np.zeros(round(SECONDS * RATE), dtype=np.float32)
    for clip, at in zip(clips, PLACED, strict=False):
        pcm[round(at * RATE) : round(at * RATE) + len(clip)] = clip
    return pcm


def test_events_come_where_the_keyword_was_said(built: BuiltBundle, listening: Learner) -> None:
    keyword, cached = keyword_not_silence(listening), len(listening.cache)
    events = listening.detect(recording(built, keyword), DetectConfig(keywords=(keyword,)))
    assert [e.label for e in events] == [keyword] * len(PLACED)
    for event, at in zip(events, PLACED, strict=True):
        assert event.start_seconds <= at and at + 1.0 <= event.end_seconds  # the word within
        assert at <= event.peak_seconds <= at + 1.0 and event.score >= 0.7
    assert len(listening.cache) == cached == 0  # a stream's windows never reach the cache
    assert not any(listening.cache.folder.iterdir())


def test_chunks_of_any_size_give_the_events_of_the_whole(
    built: BuiltBundle, listening: Learner
) -> None:
    pcm = recording(built, keyword_not_silence(listening))
    config = DetectConfig(batch=3)  # every live label: silence's tone too, so many events
    whole = listening.detect(pcm, config)
    assert len(whole) > len(PLACED)
    detector, rng, at, chunked = StreamDetector(listening, config), np.random.default_rng(0), 0, []
    for size in [1, 7, 0, *rng.integers(1, 6000, size=200)]:
        chunked += detector.feed(pcm[at : at + size])
        at += size
    assert at >= len(pcm)
    assert chunked + detector.flush() == whole


def test_refractory_and_threshold_on_the_bundle(built: BuiltBundle, listening: Learner) -> None:
    keyword = keyword_not_silence(listening)
    pcm, config = recording(built, keyword), DetectConfig(keywords=(keyword,))
    assert len(listening.detect(pcm, replace(config, refractory_seconds=SECONDS))) == 1
    scores = [e.score for e in listening.detect(pcm, replace(config, threshold=0.5))]
    assert min(scores) >= 0.5
    assert listening.detect(pcm, replace(config, threshold=min(1.0, max(scores) + 1e-3))) == []


def test_what_a_stream_refuses(listening: Learner) -> None:
    with pytest.raises(ConfigError, match=r"keywords \['nope'\] are not live labels"):
        StreamDetector(listening, DetectConfig(keywords=("nope",)))
    with pytest.raises(ConfigError, match="within one window"):
        StreamDetector(listening, DetectConfig(hop_seconds=2.0))
    detector = StreamDetector(listening)
    detector.feed(np.zeros(RATE, dtype=np.float32))
    bad = np.zeros(RATE, dtype=np.float32)
    bad[RATE // 2] = np.nan
    with pytest.raises(DataError, match=r"NaN or Inf samples \(the first at 1.500 s\)"):
        detector.feed(bad)
    huge = StreamDetector(listening)
    with pytest.raises(DataError, match=r"from 0\.00 s give non-finite features"):
        huge.feed(np.full(2 * RATE, 1e30, dtype=np.float32))  # the stream ends with it
    assert huge.flush() == []
    with pytest.raises(DataError, match="1-D"):
        detector.feed(np.zeros((2, 10), dtype=np.float32))
    with pytest.raises(DataError, match="48000 Hz"):
        detect(listening, np.zeros(10, dtype=np.float32), sample_rate=48_000)
    assert listening.detect(np.zeros(0, dtype=np.float32)) == []


# ----------------------------------------------------------- the manifest's settings
def test_the_manifest_carries_the_settings_under_its_digest(built: BuiltBundle) -> None:
    m = read_manifest(built.path)
    assert m.detection == replace(DetectConfig(), batch=min(4, m.max_batch)).to_dict()
    assert Manifest.from_dict(m.to_dict()) == m


def test_the_device_listens_with_the_manifests_settings(
    built: BuiltBundle, listening: Learner, tmp_path: Path
) -> None:
    keyword = keyword_not_silence(listening)
    bundle = copy_bundle(built.path, tmp_path / "bundle")
    settings = DetectConfig(keywords=(keyword,), refractory_seconds=SECONDS, batch=2)
    edit_manifest(bundle, lambda m: m.__setitem__("detection", settings.to_dict()))
    events = Learner(bundle, tmp_path / "state", read_only=True).detect(recording(built, keyword))
    assert [e.label for e in events] == [keyword]  # its keyword, its refractory


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda d: d.__setitem__("threshold", 2), "detection settings are invalid"),
        (lambda d: d.pop("hop_seconds"), "detection settings are invalid"),
        (lambda d: d.__setitem__("keywords", ["nope"]), "not labels of the bundle"),
        (lambda d: d.__setitem__("batch", 10**5), "detection settings are invalid"),
        (lambda d: d.__setitem__("batch", 60_000), "over the bundle's max_batch"),
    ],
)
def test_bad_settings_in_a_manifest_are_refused(
    built: BuiltBundle, tmp_path: Path, change: object, says: str
) -> None:
    bundle = copy_bundle(built.path, tmp_path / "bundle")
    edit_manifest(bundle, lambda m: change(m["detection"]))  # type: ignore[operator]
    with pytest.raises(CorruptBundle, match=says):
        read_manifest(bundle)


def test_an_old_or_edited_manifest_is_refused(built: BuiltBundle, tmp_path: Path) -> None:
    old = copy_bundle(built.path, tmp_path / "old")
    edit_manifest(old, lambda m: (m.pop("detection"), m.__setitem__("schema", 4)))
    with pytest.raises(CorruptBundle, match="reads schema 5: export the bundle again"):
        read_manifest(old)
    edited = copy_bundle(built.path, tmp_path / "edited")
    edit_manifest(edited, lambda m: m["detection"].__setitem__("threshold", 0.1), sign=False)
    with pytest.raises(CorruptBundle, match="changed after export"):
        read_manifest(edited)


def test_export_refuses_keywords_that_are_not_labels(built: BuiltBundle, tmp_path: Path) -> None:
    config = ExportConfig(detection=DetectConfig(keywords=("nope",)))
    with pytest.raises(ExportError, match=r"detection keywords \['nope'\]"):
        export_bundle(built.model, built.manifest.labels, tmp_path / "b", built.clips, config)
    assert not (tmp_path / "b").exists()
