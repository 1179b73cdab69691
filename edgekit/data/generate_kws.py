"""An offline keyword-spotting corpus in the Google Speech Commands v2 layout.

Synthetic speakers (:mod:`edgekit.data.speakers`) say the ten core keywords and some of the
``_unknown_`` words; every utterance is trimmed, shifted inside a 1 s clip, given a random level
and mixed with procedurally generated background noise (:mod:`edgekit.data.noise`)::

    <out>/<word>/<speaker>_nohash_<rep>.wav        16 kHz mono 16-bit, 1.0 s
    <out>/_background_noise_/<kind>.wav            long noise files (no _silence_ folder)
    <out>/validation_list.txt, testing_list.txt    "word/file.wav", held-out speakers only
    <out>/corpus.json                              parameters, speakers and their splits

Splits are speaker-disjoint. Every random draw is seeded from ``(seed, speaker, word, rep)``, so
the same seed and parameters give byte-identical files whatever the worker count. The corpus is
built in ``<out>.partial`` and renamed to ``<out>`` when complete.
"""

from __future__ import annotations

import json
import os
import zlib
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from edgekit.atomic import atomic_write_bytes, building
from edgekit.audio.io import resample, write_wav
from edgekit.data.noise import background_noises, limit_peak, place, scale_to_snr, trim_silence
from edgekit.data.speakers import (
    SPEAKERS,
    Speaker,
    SynthesisError,
    require_tools,
    synth,
    tool_versions,
)
from edgekit.errors import ConfigError, CorpusExistsError

__all__ = [
    "CORE_KEYWORDS",
    "UNKNOWN_WORDS",
    "CorpusExistsError",
    "KwsCorpusConfig",
    "assign_splits",
    "generate_kws_corpus",
    "render_clip",
]

CORE_KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
UNKNOWN_WORDS = (
    *("bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house", "marvin", "nine"),
    *("one", "seven", "sheila", "six", "three", "tree", "two", "wow", "zero", "backward"),
    *("forward", "follow", "learn", "visual"),
)
SAMPLE_RATE = 16_000  # Hz, as Speech Commands
CLIP_SAMPLES = 16_000  # 1.0 s
NOISE_DIR = "_background_noise_"
FORMAT = "edgekit-synthetic-kws/1"  # corpus.json "format"; bump when the output changes


@dataclass(frozen=True)
class KwsCorpusConfig:
    """What to generate. The default (30 speakers, 2,700 clips) builds in well under a minute."""

    seed: int = 0  # >= 0; every random draw derives from (seed, speaker, word, rep)
    n_speakers: int = 30  # in [3, len(SPEAKERS)]; the first n speakers of the catalogue
    reps: int = 8  # utterances per speaker per core keyword, >= 1
    n_unknown_words: int = 10  # in [0, len(UNKNOWN_WORDS)]; the first n of UNKNOWN_WORDS
    unknown_reps: int = 1  # utterances per speaker per unknown word, >= 1
    validation_fraction: float = 0.1  # share of speakers held out for validation, in (0, 0.5)
    test_fraction: float = 0.1  # share of speakers held out for test, in (0, 0.5)
    pitch_jitter: float = 0.05  # max relative pitch deviation within a speaker, in [0, 0.5)
    rate_jitter: float = 0.12  # max relative speaking-rate deviation within a speaker, [0, 0.5)
    level_dbfs: tuple[float, float] = (-20.0, -1.0)  # speech peak level range in dBFS, <= 0
    snr_db: tuple[float, float] = (5.0, 30.0)  # speech-to-noise ratio range in dB, low <= high
    clean_fraction: float = 0.2  # share of clips left without background noise, in [0, 1]
    noise_seconds: float = 20.0  # length of each _background_noise_ file in s, in [2, 600]

    def __post_init__(self) -> None:
        def need(ok: bool, what: str, got: Any) -> None:
            if not ok:
                raise ConfigError(f"KwsCorpusConfig.{what}, got {got!r}")

        n_max = len(SPEAKERS)
        need(self.seed >= 0, "seed must be >= 0", self.seed)
        need(3 <= self.n_speakers <= n_max, f"n_speakers must be in [3, {n_max}]", self.n_speakers)
        need(self.reps >= 1, "reps must be >= 1", self.reps)
        n_words = len(UNKNOWN_WORDS)
        need(
            0 <= self.n_unknown_words <= n_words,
            f"n_unknown_words must be in [0, {n_words}]",
            self.n_unknown_words,
        )
        need(self.unknown_reps >= 1, "unknown_reps must be >= 1", self.unknown_reps)
        for name in ("validation_fraction", "test_fraction"):
            value = getattr(self, name)
            need(0 < value < 0.5, f"{name} must be in (0, 0.5)", value)
        need(
            self.n_speakers - self.n_validation - self.n_test >= 1,
            "validation_fraction + test_fraction must leave >= 1 training speaker",
            (self.validation_fraction, self.test_fraction),
        )
        need(0 <= self.pitch_jitter < 0.5, "pitch_jitter must be in [0, 0.5)", self.pitch_jitter)
        need(0 <= self.rate_jitter < 0.5, "rate_jitter must be in [0, 0.5)", self.rate_jitter)
        lo, hi = self.level_dbfs
        need(lo <= hi <= 0, "level_dbfs must be (low, high) with low <= high <= 0", self.level_dbfs)
        need(
            self.snr_db[0] <= self.snr_db[1], "snr_db must be (low, high), low <= high", self.snr_db
        )
        need(0 <= self.clean_fraction <= 1, "clean_fraction must be in [0, 1]", self.clean_fraction)
        need(
            2 <= self.noise_seconds <= 600, "noise_seconds must be in [2, 600]", self.noise_seconds
        )

    @property
    def speakers(self) -> tuple[Speaker, ...]:
        return SPEAKERS[: self.n_speakers]

    @property
    def unknown_words(self) -> tuple[str, ...]:
        return UNKNOWN_WORDS[: self.n_unknown_words]

    @property
    def n_validation(self) -> int:
        return max(1, round(self.validation_fraction * self.n_speakers))

    @property
    def n_test(self) -> int:
        return max(1, round(self.test_fraction * self.n_speakers))

    def to_dict(self) -> dict[str, Any]:
        """The parameters as JSON values (tuples become lists)."""
        data: dict[str, Any] = json.loads(json.dumps(asdict(self)))
        return data


def _rng(seed: int, *keys: str | int) -> np.random.Generator:
    """A generator seeded from ``seed`` and stable hashes of ``keys`` (never Python's ``hash``)."""
    ints = [zlib.crc32(k.encode()) if isinstance(k, str) else k for k in keys]
    return np.random.default_rng([seed, *ints])


def assign_splits(config: KwsCorpusConfig) -> dict[str, tuple[str, ...]]:
    """Speaker ids per split: a seeded draw of ``n_test`` + ``n_validation`` held-out speakers."""
    ids = [s.id for s in config.speakers]
    order = [ids[i] for i in _rng(config.seed, "splits").permutation(len(ids))]
    n_test, n_val = config.n_test, config.n_validation
    held_out = n_test + n_val
    return {
        "train": tuple(sorted(order[held_out:])),
        "validation": tuple(sorted(order[n_test:held_out])),
        "test": tuple(sorted(order[:n_test])),
    }


def render_clip(
    speaker: Speaker, word: str, rep: int, config: KwsCorpusConfig, noises: list[np.ndarray]
) -> np.ndarray:
    """One finished 1 s clip at 16 kHz; every draw comes from ``(seed, speaker, word, rep)``."""
    rng = _rng(config.seed, speaker.id, word, rep)
    pitch = 1.0 + rng.uniform(-config.pitch_jitter, config.pitch_jitter)
    rate = 1.0 + rng.uniform(-config.rate_jitter, config.rate_jitter)
    level = 10.0 ** (rng.uniform(*config.level_dbfs) / 20.0)
    shift = rng.random()
    noisy = rng.random() >= config.clean_fraction
    kind, offset, snr = rng.integers(len(noises)), rng.random(), rng.uniform(*config.snr_db)

    pcm, rate_hz = synth(speaker, word, pitch, rate)
    speech = trim_silence(resample(pcm, rate_hz, SAMPLE_RATE))
    peak = float(np.max(np.abs(speech))) if speech.size else 0.0
    if peak == 0.0:
        raise SynthesisError(f"{speaker.id} produced silence for {word!r}")
    clip, inside = place(speech * (level / peak), CLIP_SAMPLES, shift)
    if noisy:
        noise = noises[kind]
        start = int(offset * (noise.shape[0] - CLIP_SAMPLES + 1))
        clip = clip + scale_to_snr(inside, noise[start : start + CLIP_SAMPLES], snr)
    return limit_peak(clip)


def _jobs(config: KwsCorpusConfig) -> list[tuple[Speaker, str, int]]:
    words = [(w, config.reps) for w in CORE_KEYWORDS]
    words += [(w, config.unknown_reps) for w in config.unknown_words]
    return [(s, w, rep) for s in config.speakers for w, reps in words for rep in range(reps)]


def _clip_name(speaker: Speaker, word: str, rep: int) -> str:
    return f"{word}/{speaker.id}_nohash_{rep}.wav"


def _stored_parameters(out: Path) -> dict[str, Any] | None:
    """The parameters of the corpus in ``out``, or None when there is no readable corpus.json."""
    try:
        data = json.loads((out / "corpus.json").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    params = data.get("parameters")
    return params if isinstance(params, dict) else None


def _render_all(
    jobs: list[tuple[Speaker, str, int]],
    root: Path,
    config: KwsCorpusConfig,
    noises: list[np.ndarray],
    workers: int,
    progress: bool,
) -> None:
    def one(job: tuple[Speaker, str, int]) -> None:
        speaker, word, rep = job
        clip = render_clip(speaker, word, rep, config, noises)
        write_wav(root / _clip_name(speaker, word, rep), clip, SAMPLE_RATE)

    bar = tqdm(total=len(jobs), desc="synthesising keywords", unit="clip", disable=not progress)
    pool = ThreadPoolExecutor(max_workers=workers)  # the work is mostly TTS subprocesses
    try:
        for future in as_completed([pool.submit(one, job) for job in jobs]):
            future.result()
            bar.update()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()


def _manifest(config: KwsCorpusConfig, splits: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    split_of = {sid: name for name, ids in splits.items() for sid in ids}
    per_speaker = config.reps * len(CORE_KEYWORDS) + config.unknown_reps * config.n_unknown_words
    return {
        "format": FORMAT,
        "parameters": config.to_dict(),
        "sample_rate": SAMPLE_RATE,
        "clip_samples": CLIP_SAMPLES,
        "keywords": list(CORE_KEYWORDS),
        "unknown_words": list(config.unknown_words),
        "speakers": [{**asdict(s), "split": split_of[s.id]} for s in config.speakers],
        "splits": {name: list(ids) for name, ids in splits.items()},
        "clips": {name: len(ids) * per_speaker for name, ids in splits.items()},
        "tools": tool_versions(),
    }


def generate_kws_corpus(
    out: Path,
    config: KwsCorpusConfig = KwsCorpusConfig(),
    *,
    workers: int | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> Path:
    """Build the corpus in ``out`` and return ``out``.

    An ``out`` built earlier with the same parameters is reused as it is (unless ``overwrite``).
    An ``out`` holding anything else (another corpus, other files) raises
    :class:`CorpusExistsError`, unless ``overwrite`` (then it is replaced); an empty folder is
    used. Raises :class:`~edgekit.errors.ToolMissingError` when espeak-ng or flite is missing.
    ``workers`` threads run synthesis (default: twice the CPU count, as they mostly wait on
    subprocesses and disk); the output does not depend on it.
    """
    out = Path(out)
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    if out.exists() and not overwrite:
        stored = _stored_parameters(out)
        if stored == config.to_dict():
            return out
        if stored is not None:
            raise CorpusExistsError(
                f"{out} holds a keyword corpus built with other parameters ({stored}); "
                "pass --overwrite (Python: overwrite=True) to rebuild it, or choose another folder"
            )
        if not out.is_dir() or any(out.iterdir()):
            raise CorpusExistsError(
                f"{out} exists and is not a keyword corpus (no valid corpus.json); "
                "pass --overwrite (Python: overwrite=True) to replace it, or choose another folder"
            )
    require_tools({s.engine for s in config.speakers})

    with building(out) as partial:
        noises = background_noises(config.noise_seconds, SAMPLE_RATE, config.seed)
        for name, pcm in noises.items():
            write_wav(partial / NOISE_DIR / f"{name}.wav", pcm, SAMPLE_RATE)
        jobs = _jobs(config)
        n_workers = workers or min(32, 2 * (os.cpu_count() or 1))
        _render_all(jobs, partial, config, list(noises.values()), n_workers, progress)

        splits = assign_splits(config)
        lists = (("validation", "validation_list.txt"), ("test", "testing_list.txt"))
        for split, filename in lists:
            held_out = set(splits[split])
            names = sorted(_clip_name(s, w, r) for s, w, r in jobs if s.id in held_out)
            (partial / filename).write_text("".join(f"{name}\n" for name in names))
        manifest = json.dumps(_manifest(config, splits), indent=2) + "\n"
        atomic_write_bytes(partial / "corpus.json", manifest.encode())  # last: marks it complete
    return out
