"""The JVM side of the Android app's check: its Kotlin compiler, its two compilations and the
runner of its JVM tests (``make android-check`` installs the tools; these helpers use them).

Two kotlinc runs, side by side (kotlinc takes ~10 s to start, so as few as possible):

- ``app``: every Kotlin source of the app (``android-demo/app/src/main``) with the compile-only
  stubs of ``android.*``, of ExecuTorch's Android API and of the generated ``R``
  (``android-demo/stubs``): does the whole app compile against the APIs it calls?
- ``core``: the plain-Kotlin core (``ai.edgekit.demo.core``) with the JVM tests, against JUnit 4,
  kotlin-test and Bouncy Castle only: no stub on this class path, so the core cannot lean on
  Android, and the tests run it as it is.

Each output folder keeps a digest of its inputs and is reused while they are unchanged.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "android-demo"
MAIN = APP / "app" / "src" / "main" / "java"
TESTS = APP / "app" / "src" / "test" / "java"
STUBS = APP / "stubs"
CORE_PACKAGE = Path("ai/edgekit/demo/core")
# EDGEKIT_JVM_BUILD: another output folder, so that two checks can run side by side
BUILD = Path(os.environ.get("EDGEKIT_JVM_BUILD", APP / "build" / "jvm"))
CATALOG = APP / "gradle" / "libs.versions.toml"
DEBIAN_JARS = {  # Debian packages junit4 and libbcprov-java
    "junit": Path("/usr/share/java/junit4.jar"),
    "hamcrest": Path("/usr/share/java/hamcrest-core.jar"),
    "bcprov": Path("/usr/share/java/bcprov.jar"),
}
FLAGS = ["-Werror", "-jvm-target", "17", "-no-reflect"]
RUNNER = "ai.edgekit.demo.core.testing.RunAll"
# kotlinc is a short-lived JVM: the C1 compiler alone and the serial collector halve its CPU
# time here (17 s instead of 29 s for the core and its tests on 2 cores)
JAVA_OPTS = "-Xmx1g -XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


class ToolchainMissing(RuntimeError):
    """A tool of the check is not installed: ``make android-check`` installs it."""


@dataclass
class Build:
    """One kotlinc run: its output folder, what it printed, whether it was reused."""

    name: str
    classes: Path
    ok: bool
    output: str
    seconds: float
    reused: bool


def kotlin_version() -> str:
    """The Kotlin version the Gradle build pins (``gradle/libs.versions.toml``)."""
    found = re.search(r'^kotlin\s*=\s*"([^"]+)"', CATALOG.read_text(), re.MULTILINE)
    if not found:
        raise ToolchainMissing(f"{CATALOG} pins no kotlin version")
    return found.group(1)


def kotlin_home() -> Path:
    """JetBrains' compiler from npm (``kotlin-compiler``) at the pinned version."""
    version = kotlin_version()
    default = ROOT / ".tools" / f"kotlin-compiler-{version}" / "node_modules" / "kotlin-compiler"
    home = Path(os.environ.get("KOTLIN_HOME", default))
    build = home / "build.txt"
    if not (home / "bin" / "kotlinc").is_file() or not build.is_file():
        raise ToolchainMissing(f"no Kotlin compiler at {home}: run `make android-check`")
    if build.read_text().strip() != version:
        raise ToolchainMissing(
            f"{home} is Kotlin {build.read_text().strip()}, the app pins {version}: "
            "run `make android-check`"
        )
    return home


def jars() -> dict[str, Path]:
    """The class path of the core and its tests: Kotlin's own jars and Debian's."""
    lib = kotlin_home() / "lib"
    found = {
        "kotlin-stdlib": lib / "kotlin-stdlib.jar",
        "kotlin-test": lib / "kotlin-test.jar",
        "kotlin-test-junit": lib / "kotlin-test-junit.jar",
        **DEBIAN_JARS,
    }
    missing = [str(p) for p in found.values() if not p.is_file()]
    if missing:
        raise ToolchainMissing(f"missing {missing}: run `make android-check`")
    return found


def sources() -> dict[str, list[Path]]:
    """The files of each compilation."""
    app = sorted(MAIN.rglob("*.kt"))
    core = sorted((MAIN / CORE_PACKAGE).rglob("*.kt"))
    stubs = sorted(p for p in STUBS.rglob("*") if p.suffix in (".kt", ".java"))
    return {"app": app + stubs, "core": core + sorted(TESTS.rglob("*.kt"))}


def compile_all() -> dict[str, Build]:
    """Both compilations, run side by side; each reused while its inputs are unchanged."""
    home, classpath = kotlin_home(), jars()
    plans = {
        "app": [classpath["bcprov"]],
        "core": [classpath[k] for k in ("kotlin-test", "kotlin-test-junit", "junit", "hamcrest")]
        + [classpath["bcprov"]],
    }
    started: dict[str, tuple[subprocess.Popen[str], Path, str, float]] = {}
    builds: dict[str, Build] = {}
    for name, files in sources().items():
        out = BUILD / name
        digest = _digest(home, files, plans[name])
        if (out / ".digest").is_file() and (out / ".digest").read_text() == digest:
            builds[name] = Build(name, out, True, "", 0.0, reused=True)
            continue
        staging = BUILD / f"{name}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
        command = [
            str(home / "bin" / "kotlinc"),
            *FLAGS,
            "-cp",
            os.pathsep.join(str(p) for p in plans[name]),
            "-d",
            str(staging),
            *(str(p) for p in files),
        ]
        env = {**os.environ, "JAVA_OPTS": os.environ.get("KOTLINC_JAVA_OPTS", JAVA_OPTS)}
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        started[name] = (process, staging, digest, time.monotonic())
    for name, (process, staging, digest, t0) in started.items():
        output, _ = process.communicate()
        ok = process.returncode == 0
        out = BUILD / name
        if ok:
            (staging / ".digest").write_text(digest)
            staging.rename(out)
        builds[name] = Build(name, out, ok, output, time.monotonic() - t0, reused=False)
    return builds


def _digest(home: Path, files: list[Path], classpath: list[Path]) -> str:
    h = hashlib.sha256(" ".join([str(home), *FLAGS]).encode())
    for path in [*files, *classpath]:
        h.update(str(path).encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def test_classes(classes: Path) -> list[str]:
    """The JVM test classes compiled into ``classes`` (``*Test``, not nested)."""
    return sorted(
        ".".join(p.relative_to(classes).with_suffix("").parts)
        for p in classes.rglob("*Test.class")
        if "$" not in p.name
    )


def run_tests(core: Build, properties: dict[str, Path]) -> subprocess.CompletedProcess[str]:
    """Every JVM test class of ``core`` in one JVM, with ``properties`` (folders) set."""
    classpath = [core.classes, *jars().values()]
    command = [
        "java",
        *(f"-D{key}={value}" for key, value in sorted(properties.items())),
        "-cp",
        os.pathsep.join(str(p) for p in classpath),
        RUNNER,
        *test_classes(core.classes),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)
