"""Session fixtures of the Android app's check: the two Kotlin compilations, a real exported
bundle (kept between runs while the code that makes it is unchanged), the Python side's
fixture files, a real hub for the hub client's test, and one run of every JVM test class."""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.android import jvm
from tests.android.fixtures import write_fixtures
from tests.android.hub_served import HubLaunch

BUNDLE_CACHE = jvm.APP / "build" / "fixtures"
# the code an exported bundle depends on: a change to any of it exports the bundle again
BUNDLE_INPUTS = ["edgekit", "tests/bundle_fixture.py", "tests/data"]


@dataclass
class JvmRun:
    """One run of every JVM test class: its exit status, what it printed, where it wrote."""

    returncode: int
    output: str
    out: Path


@pytest.fixture(scope="session")
def builds() -> dict[str, jvm.Build]:
    try:
        return jvm.compile_all()
    except jvm.ToolchainMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def core(builds: dict[str, jvm.Build]) -> jvm.Build:
    build = builds["core"]
    if not build.ok:
        pytest.fail(f"the core and its tests do not compile:\n{build.output}", pytrace=False)
    return build


@pytest.fixture(scope="session")
def bundle() -> Path:
    """A bundle exported by edgekit (tests/bundle_fixture.py): three tones, four slots."""
    key = _bundle_key()
    BUNDLE_CACHE.mkdir(parents=True, exist_ok=True)
    folder = BUNDLE_CACHE / f"bundle-{key[:16]}"
    with open(BUNDLE_CACHE / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one exporter at a time (pytest-xdist workers)
        if not (folder / "manifest.json").is_file():
            from tests.bundle_fixture import build_bundle

            for old in BUNDLE_CACHE.glob("bundle-*"):
                shutil.rmtree(old, ignore_errors=True)
            with tempfile.TemporaryDirectory(dir=BUNDLE_CACHE) as work:
                made = build_bundle(Path(work))
                made.path.rename(folder)
    return folder


def _bundle_key() -> str:
    h = hashlib.sha256()
    for name in ("torch", "executorch", "numpy"):
        h.update(f"{name}=={importlib.metadata.version(name)}\n".encode())
    for entry in BUNDLE_INPUTS:
        path = jvm.ROOT / entry
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            h.update(str(file.relative_to(jvm.ROOT)).encode() + b"\0" + file.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="session", autouse=True)
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubLaunch]:
    """A real ``edgekit-hub serve`` (tests/android/hub_served.py), started first (autouse) so
    that it comes up while kotlinc compiles; ``hub.ready(bundle)`` publishes its versions.
    Stopped when the session ends."""
    launch = HubLaunch(tmp_path_factory.mktemp("hub"))
    try:
        yield launch
    finally:
        launch.stop()


@pytest.fixture(scope="session")
def jvm_run(
    core: jvm.Build, bundle: Path, hub: HubLaunch, tmp_path_factory: pytest.TempPathFactory
) -> JvmRun:
    """Every JVM test class, once, with the fixtures it reads and a folder it writes to."""
    fixtures = tmp_path_factory.mktemp("python-fixtures")
    write_fixtures(fixtures, bundle)
    out = tmp_path_factory.mktemp("kotlin-wrote")
    properties = {
        "edgekit.vectors": jvm.ROOT / "tests" / "vectors" / "signing",
        "edgekit.fixtures": fixtures,
        "edgekit.bundle": bundle,
        "edgekit.out": out,
        "edgekit.hub": hub.ready(bundle).info,
    }
    try:
        done = jvm.run_tests(core, properties)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the JVM tests ran past {exc.timeout} s", pytrace=False)
    return JvmRun(done.returncode, done.stdout + done.stderr, out)
