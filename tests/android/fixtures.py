"""What the Python SDK writes for the app's JVM tests to compare with: event sequences and the
events ``edgekit.device.detect`` finds in them, expiry times as ``datetime.fromisoformat`` reads
them, floats as ``repr`` prints them, canonical JSON, numpy archives, and what Python reads in
an exported bundle. Deterministic: fixed seeds."""

from __future__ import annotations

import json
import random
import struct
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from edgekit.device.detect import DetectConfig, EventPicker
from edgekit.export.manifest import read_manifest

__all__ = ["sample_arrays", "write_fixtures"]

RATE = 16_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def write_fixtures(out: Path, bundle: Path) -> None:
    """Every fixture file of the JVM tests, into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    _dump(out / "detect_cases.json", detect_cases())
    _dump(out / "iso_times.json", iso_times())
    _dump(out / "floats.json", floats())
    _dump(out / "canonical.json", canonical_cases(bundle))
    _dump(out / "bundle_expected.json", bundle_expected(bundle))
    arrays = sample_arrays()
    np.savez(out / "arrays.npz", **arrays)  # type: ignore[arg-type]
    np.savez_compressed(out / "arrays_deflated.npz", **arrays)  # type: ignore[arg-type]
    _dump(out / "arrays.json", {name: _describe(a) for name, a in arrays.items()})
    from tests.android.listen_fixtures import write_listen_fixtures  # core/listen's files

    write_listen_fixtures(out, bundle)
    from tests.android.train_fixtures import write_train_fixtures  # core/train's and core/state's

    write_train_fixtures(out, bundle)
    from tests.android.update_fixtures import write_update_fixtures  # core/update's files

    write_update_fixtures(out, bundle)


def _dump(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data))


# ------------------------------------------------------------------------------ detection
def detect_cases() -> list[dict[str, Any]]:
    """Posterior sequences fed in chunks, with the events Python's EventPicker finds."""
    rng = np.random.default_rng(2024)
    cases = [_case("threshold exactly at a float32 value", _rows([0, 0.7, 0.7, 0]), {}, [4])]
    cases.append(_case("a tie goes to the first keyword", [[0.8, 0.8]] * 3 + [[0, 0]], {}, [4]))
    cases.append(
        _case(
            "refractory suppresses a whole run",
            _rows([0, 0.9, 0, 0, 0, 0, *[0.9] * 7, 0, 0, 0.9, 0]),
            {"smooth_seconds": 0.0, "refractory_seconds": 1.0},
            [3, 5, 9],
        )
    )
    for i in range(120):
        keywords = int(rng.integers(1, 5))
        hop_seconds = float(rng.choice([0.05, 0.1, 0.25]))
        settings = {
            "hop_seconds": hop_seconds,
            "smooth_seconds": float(rng.choice([0.0, 0.3, 0.5, 1.0, 1.5, 3.0])) * hop_seconds / 0.1,
            "threshold": float(rng.choice([0.5, 0.6, 0.7, 0.9])),
            "refractory_seconds": float(rng.choice([0.0, 0.3, 1.0, 2.0])),
        }
        rows = _bursts(rng, int(rng.integers(20, 400)), keywords)
        ends = np.cumsum(rng.integers(1, 60, size=len(rows)))  # chunks of 1 to 59 windows
        chunks = [*(int(e) for e in ends[ends < len(rows)]), len(rows)]
        cases.append(_case(f"random {i}", rows.tolist(), settings, chunks))
    return cases


def _rows(values: list[float]) -> list[list[float]]:
    return [[v] for v in values]


def _bursts(rng: np.random.Generator, n: int, keywords: int) -> np.ndarray:
    """Posteriors of ``keywords`` words: low noise, with bursts where one word rises."""
    rows = rng.dirichlet(np.ones(keywords + 1), size=n)[:, :keywords] * 0.5
    start = 0
    while True:
        start += int(rng.integers(3, 40))
        if start >= n:
            break
        length, word = int(rng.integers(1, 16)), int(rng.integers(keywords))
        peak = rng.uniform(0.4, 1.0)
        rows[start : start + length, word] = peak * rng.uniform(
            0.7, 1.0, size=len(rows[start : start + length])
        )
        start += length
    return rows.astype(np.float32)


def _case(
    name: str, rows: list[list[float]], settings: dict[str, Any], chunk_ends: list[int]
) -> dict[str, Any]:
    config = DetectConfig(**settings)
    keywords = tuple(["yes", "no", "up", "down"][: len(rows[0])])
    hop, half = round(config.hop_seconds * RATE), RATE // 2
    picker = EventPicker(config, keywords, hop, half, RATE)
    data = np.asarray(rows, dtype=np.float32)
    chunks, events, start = [], [], 0
    for end in chunk_ends:
        chunks.append(data[start:end].tolist())
        events += picker.push(data[start:end])
        start = end
    samples = len(rows) * hop
    events += picker.close(samples)
    return {
        "name": name,
        "config": config.to_dict(),
        "keywords": list(keywords),
        "hop": hop,
        "half_window": half,
        "rate": RATE,
        "chunks": chunks,
        "samples": samples,
        "events": [e.to_dict() for e in events],
    }


# ------------------------------------------------------------------------------ times
def iso_times() -> list[list[Any]]:
    """``[text, microseconds since 1970 that Python reads (None: refused or naive), hub form]``."""
    rng = random.Random(11)
    hub: list[str] = []
    for _ in range(400):
        moment = datetime(1970, 1, 1) + timedelta(
            seconds=rng.randrange(0, 4_000_000_000),
            microseconds=rng.choice([0, rng.randrange(10**6)]),
        )
        offset = timedelta(minutes=rng.choice([0, 0, 60, -300, 330, 345, -690, 14 * 60, -12 * 60]))
        aware = moment.replace(tzinfo=timezone(offset))
        text = aware.isoformat(timespec=rng.choice(["auto", "seconds", "milliseconds", "minutes"]))
        hub += [text, text.replace("+00:00", "Z"), text.replace("T", " ")]
    others = [
        "2027-06-01",
        "2027-06-01T00:00:00",
        "20270601T000000+0000",
        "2027-W22-1T00:00:00+00:00",
        "2027-06-01T00+00:00",
        "2027-06-01x00:00:00+00:00",
        "2027-06-01T00:00:00 +00:00",
        "2027-06-01T00:00:00.1234567+00:00",
        "2027-06-01T00:00:00,5+00:00",
        "2027-06-01T00:00:00+05",
        "2027-06-01T00:00:00+0530",
        "2027-06-01T00:00:00+05:30:15.5",
        "2027-06-01T00:00:00+23:59",
        "2027-06-01T00:00:00-23:59:59.999999",
        "1027-06-01T00:00:100+00:00",
        "0001-01-01T00:00:00+01:00",
    ]
    alphabet = "0123456789-+:.,TZW zx"
    for base in hub[:60]:
        for _ in range(40):
            chars = list(base)
            i = rng.randrange(len(chars))
            op = rng.random()
            if op < 0.4:
                chars[i] = rng.choice(alphabet)
            elif op < 0.7:
                chars.insert(i, rng.choice(alphabet))
            else:
                del chars[i]
            others.append("".join(chars))
    seen: set[str] = set()
    rows = []
    for text, form in [(t, True) for t in hub] + [(t, False) for t in others]:
        if text not in seen:
            seen.add(text)
            rows.append([text, _micros(text), form])
    return rows


def _micros(text: str) -> int | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None  # the device refuses a time without its offset
    return (moment - EPOCH) // timedelta(microseconds=1)


# ------------------------------------------------------------------------------ floats, JSON
def floats() -> list[list[str]]:
    """``[the double's bits in hex, repr(double)]`` over many magnitudes and edge values."""
    rng = random.Random(5)
    values = [
        0.1,
        0.2,
        0.3,
        1e16,
        1e15,
        9999999999999998.0,
        1e-4,
        1e-5,
        5e-324,
        2.2250738585072014e-308,
        1.7976931348623157e308,
        2.0**53,
        2.0**63,
        123456789012345678.0,
        1e22,
        1e23,
        -0.0,
        0.0,
        8000.0,
        1e-10,
        80.0,
        2.0,
        0.5,
        1 / 3,
        2 / 3,
        100.0,
        1e100,
        4.35,
        0.000123,
    ]
    for _ in range(3000):
        bits = rng.getrandbits(64)
        x = struct.unpack("<d", struct.pack("<Q", bits))[0]
        if np.isfinite(x):
            values.append(x)
        values.append(float(f"{rng.random():.{rng.randint(1, 17)}g}e{rng.randint(-30, 30)}"))
        values.append(float(rng.randint(-(10**12), 10**12)) / 10 ** rng.randint(0, 6))
    return [[struct.pack(">d", x).hex(), repr(x)] for x in values]


def canonical_cases(bundle: Path) -> list[dict[str, str]]:
    """JSON documents with ``json.dumps`` of each: canonical (as manifests are hashed), default."""
    docs: list[Any] = [
        {"b": 1, "a": [1.5, -0.0, 1e-10, 8000.0, 1e22, 123456789.123, 2**70], "A": None},
        {"\u00e9t\u00e9": "caf\u00e9 \U0001d11e", "ctrl": "\x00\x1f\x7f\t\n", "q": '"\\/'},
        {"\U0001d11e": 1, "\uffff": 2, "z": 3, "": {}},
        [True, False, None, [], {}, "", 0, -1, 3.0],
        {"nested": {"y": {"b": [1, {"d": 2, "c": 1}]}, "x": 0.1}},
        json.loads((bundle / "manifest.json").read_text()),
    ]
    return [
        {
            "source": json.dumps(doc, indent=2, ensure_ascii=False),
            "canonical": json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True),
            "default": json.dumps(doc),
        }
        for doc in docs
    ]


# ------------------------------------------------------------------------------ arrays
def sample_arrays() -> dict[str, np.ndarray]:
    """Arrays of every dtype and layout the app reads, as numpy writes them."""
    rng = np.random.default_rng(7)
    return {
        "f4": rng.standard_normal((3, 4)).astype(np.float32),
        "f4_fortran": np.asfortranarray(rng.standard_normal((2, 3, 4)).astype(np.float32)),
        "f4_big_endian": rng.standard_normal(5).astype(">f4"),
        "f8": rng.standard_normal((2, 2)),
        "i4": np.array([-(2**31), 0, 2**31 - 1], dtype=np.int32),
        "i8": rng.integers(-(2**62), 2**62, size=(2, 3), dtype=np.int64),
        "u1": np.frombuffer(b'{"labels": ["yes"]}', dtype=np.uint8),
        "b1": np.array([True, False, True]),
        "text": np.array(["yes", "", "caf\u00e9", "\U0001d11e clef", "a\x00b"]),
        "text_2d": np.array([["a", "bb"], ["ccc", ""]]),
        "scalar": np.array(0.5, dtype=np.float32),
        "empty": np.zeros((0, 4), dtype=np.int64),
    }


def _describe(a: np.ndarray) -> dict[str, Any]:
    return {
        "descr": a.dtype.newbyteorder("<").str if a.dtype.byteorder != "|" else a.dtype.str,
        "shape": list(a.shape),
        "values": a.ravel(order="C").tolist(),
    }


def bundle_expected(bundle: Path) -> dict[str, Any]:
    """What the Python SDK reads in ``bundle``."""
    manifest = read_manifest(bundle)
    with np.load(bundle / "weights.npz") as w, np.load(bundle / "d0.npz") as d0:
        weights = {t["name"]: w[t["name"]].ravel().tolist() for t in manifest.trainable}
        features, labels = d0["features"].ravel().tolist(), d0["labels"].tolist()
    return {
        "labels": manifest.labels,
        "max_classes": manifest.max_classes,
        "feature_size": manifest.feature_size,
        "clip_samples": manifest.clip_samples,
        "sample_rate": manifest.frontend["sample_rate"],
        "train_batch": manifest.train_batch,
        "max_batch": manifest.max_batch,
        "trainable": [{"name": t["name"], "shape": t["shape"]} for t in manifest.trainable],
        "detection": manifest.detection,
        "weights": weights,
        "d0_features": features,
        "d0_labels": labels,
    }
