"""The synthetic speaker catalogue, and one function that makes a speaker say a word.

A speaker is an engine, a voice and a voice variant: an espeak-ng English accent with a variant
(``+m1`` .. ``+m8``, ``+f1`` .. ``+f5``, ``+croak``, Klatt and named variants) or a flite voice.
Pitch and rate arguments of :func:`synth` are small deviations around the speaker's own voice
(augmentation within a speaker); they never make a new speaker.

Both engines are deterministic: the same speaker, word, pitch and rate give the same samples.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from edgekit.errors import ConfigError, EdgekitError, ToolMissingError

__all__ = [
    "ENGINE_PROGRAMS",
    "SPEAKERS",
    "Speaker",
    "SynthesisError",
    "require_tools",
    "synth",
    "tool_versions",
]

ENGINE_PROGRAMS = {"espeak": "espeak-ng", "flite": "flite"}  # engine -> program on PATH

# Each accent with its variants, every variant used once so that no two speakers share a timbre.
# Column r of every row forms round r of the catalogue. "en" is espeak-ng's British English voice
# ("en-gb" ignores variants in espeak-ng 1.51). paul (clips) and grandpa (unvoiced) are left out.
_ESPEAK_VOICES: dict[str, tuple[str, ...]] = {
    "en-us": ("m1", "f1", "Andy", "klatt"),
    "en": ("f2", "m2", "Annie", "Mike"),
    "en-gb-scotland": ("m3", "f3", "Michael", "belinda"),
    "en-gb-x-rp": ("f4", "m4", "linda", "edward"),
    "en-gb-x-gbclan": ("m5", "f5", "croak", "steph"),
    "en-gb-x-gbcwmd": ("grandma", "m6", "david", "aunty"),
    "en-029": ("m7", "anika", "robert", "shelby"),
    "en-us-nyc": ("m8", "klatt3", "quincy"),
}
_FLITE_VOICES = ("slt", "awb", "rms", "kal16", "kal")  # kal is an 8 kHz diphone voice

# Mean F0 (Hz) of the flite voices that honour ``int_f0_target_mean``. The clustergen voices
# awb and rms ignore it (or misbehave), so their pitch is moved by relabelling the sample rate.
_FLITE_F0_HZ = {"kal": 105.0, "kal16": 105.0, "slt": 165.0}
_ESPEAK_PITCH = 50  # espeak-ng's default -p (0..99); +10 raises F0 by about 12%
_ESPEAK_PITCH_PER_LN = 87.0  # -p units per natural-log unit of F0 ratio (measured, approximate)
_ESPEAK_WPM = 175  # espeak-ng's default speed (-s, words per minute)
_TIMEOUT_S = 60.0


class SynthesisError(EdgekitError):
    """A synthesis engine failed; the message holds the command and its stderr."""


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker. ``id`` is filename-safe and holds no underscore."""

    id: str  # e.g. "esp-en-gb-scotland-f3", "flite-slt"
    engine: str  # "espeak" or "flite"
    voice: str  # espeak-ng language voice ("en-gb-x-rp") or flite voice ("slt")
    variant: str  # espeak-ng variant file in voices/!v ("m3", "Annie"); "" for flite

    def __post_init__(self) -> None:
        if self.engine not in ENGINE_PROGRAMS:
            raise ConfigError(
                f"Speaker.engine must be one of {sorted(ENGINE_PROGRAMS)}, got {self.engine!r}"
            )


def _catalogue() -> tuple[Speaker, ...]:
    """Round-robin order, so that the first N speakers mix accents, sexes and engines."""
    speakers: list[Speaker] = []
    for r, flite_voice in enumerate(_FLITE_VOICES):
        speakers.append(Speaker(f"flite-{flite_voice}", "flite", flite_voice, ""))
        for accent, variants in _ESPEAK_VOICES.items():
            if r < len(variants):
                v = variants[r]
                speakers.append(Speaker(f"esp-{accent}-{v.lower()}", "espeak", accent, v))
    return tuple(speakers)


SPEAKERS: tuple[Speaker, ...] = _catalogue()  # every speaker the generator can use (36)


def require_tools(engines: Iterable[str]) -> None:
    """Raise :class:`ToolMissingError` naming every program the engines need that is not on PATH."""
    missing = sorted({ENGINE_PROGRAMS[e] for e in engines if not shutil.which(ENGINE_PROGRAMS[e])})
    if missing:
        raise ToolMissingError(
            f"{' and '.join(missing)} not found on PATH; the keyword corpus generator needs them: "
            "apt-get install espeak-ng flite"
        )


def tool_versions() -> dict[str, str]:
    """The first line of ``--version`` of each engine program found on PATH (provenance)."""
    versions: dict[str, str] = {}
    for program in ENGINE_PROGRAMS.values():
        if shutil.which(program):
            done = subprocess.run(
                [program, "--version"], capture_output=True, text=True, timeout=_TIMEOUT_S
            )
            lines = [ln.strip() for ln in done.stdout.splitlines() if "version" in ln.lower()]
            lines = lines or done.stdout.strip().splitlines() or [""]
            versions[program] = lines[0].split("Data at:")[0].strip()
    return versions


def _command(speaker: Speaker, word: str, pitch: float, rate: float, wav: Path) -> list[str]:
    if speaker.engine == "espeak":
        p = min(99, max(0, round(_ESPEAK_PITCH + _ESPEAK_PITCH_PER_LN * math.log(pitch))))
        voice = f"{speaker.voice}+{speaker.variant}" if speaker.variant else speaker.voice
        speed = min(450, max(80, round(_ESPEAK_WPM * rate)))
        return ["espeak-ng", "-v", voice, "-p", str(p), "-s", str(speed), "-w", str(wav), word]
    if speaker.engine == "flite":
        cmd = ["flite", "-voice", speaker.voice, "-t", word, "-o", str(wav)]
        stretch = 1.0 / rate
        if speaker.voice in _FLITE_F0_HZ:
            f0 = _FLITE_F0_HZ[speaker.voice] * pitch
            cmd += ["--setf", f"int_f0_target_mean={f0:.2f}"]
        else:  # pitch moves by relabelling the rate, which also shortens by 1/pitch
            stretch *= pitch
        return [*cmd, "--setf", f"duration_stretch={stretch:.4f}"]
    raise AssertionError(f"unreachable: Speaker validates its engine, got {speaker.engine!r}")


def synth(
    speaker: Speaker, word: str, pitch: float = 1.0, rate: float = 1.0
) -> tuple[np.ndarray, int]:
    """Speak ``word`` as ``speaker``; return mono float32 samples and their sample rate.

    ``pitch`` and ``rate`` are ratios around the speaker's own voice (1.0 = unchanged; e.g.
    1.05 = 5% higher / faster). For the flite voices awb and rms the returned rate is the engine's
    rate times ``pitch``: resampling to a fixed rate then shifts the pitch (and the formants a
    little, like vocal-tract-length perturbation).
    """
    if pitch <= 0 or rate <= 0:
        raise ConfigError(f"pitch and rate must be > 0, got {pitch} and {rate}")
    with tempfile.TemporaryDirectory(prefix="edgekit-tts-") as tmp:
        wav = Path(tmp) / "out.wav"
        cmd = _command(speaker, word, pitch, rate, wav)
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=_TIMEOUT_S)
        except FileNotFoundError as exc:
            require_tools([speaker.engine])
            raise ToolMissingError(f"{cmd[0]} cannot be run ({exc})") from exc
        except subprocess.TimeoutExpired as exc:
            raise SynthesisError(f"timed out after {_TIMEOUT_S:.0f} s: {' '.join(cmd)}") from exc
        if done.returncode != 0:
            problem = f"exit status {done.returncode}"
        elif not wav.is_file() or wav.stat().st_size <= 44:  # 44 bytes: a WAV header only
            problem = "no audio written"
        else:
            problem = ""
        if problem:
            raise SynthesisError(f"{' '.join(cmd)} failed ({problem}): {done.stderr.strip()}")
        data, rate_hz = sf.read(str(wav), dtype="float32", always_2d=True)
    pcm = data.mean(axis=1, dtype=np.float32)
    if speaker.engine == "flite" and speaker.voice not in _FLITE_F0_HZ:
        rate_hz = round(rate_hz * pitch)
    return pcm, int(rate_hz)
