"""The Android app on this machine (no Android SDK here): every Kotlin source compiles against
compile-only stubs of the APIs it calls, and the plain-Kotlin core passes its JVM tests on real
data, the same verdicts, events and arrays as the Python SDK; what Kotlin writes, Python reads."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from edgekit.device.hub_update import unpack_update
from edgekit.export.manifest import read_manifest
from tests.android import jvm
from tests.android.conftest import JvmRun
from tests.android.fixtures import sample_arrays

pytestmark = pytest.mark.slow


def test_every_app_source_compiles_against_the_stubs(builds: dict[str, jvm.Build]) -> None:
    app = builds["app"]
    assert app.ok, f"the app does not compile against its stubs:\n{app.output}"
    compiled = {p.stem for p in app.classes.rglob("*.class")}
    for source in jvm.MAIN.rglob("*.kt"):
        assert any(name.startswith(source.stem) for name in compiled), f"{source} made no class"


def test_the_core_and_its_tests_stand_without_android_or_executorch(core: jvm.Build) -> None:
    for source in (jvm.MAIN / jvm.CORE_PACKAGE).rglob("*.kt"):
        imports = re.findall(r"^import (\S+)", source.read_text(), re.MULTILINE)
        foreign = [
            i
            for i in imports
            if i.startswith(("android.", "org.pytorch.", "ai.edgekit.demo.runtime"))
        ]
        assert not foreign, f"{source} imports {foreign}: the core must run on a plain JVM"
    packages = {p.relative_to(core.classes).parts[0] for p in core.classes.rglob("*.class")}
    assert packages == {"ai"}, f"the tests' class path holds {packages}: stubs must stay out"


def test_every_jvm_test_passes(jvm_run: JvmRun) -> None:
    assert jvm_run.returncode == 0, f"the JVM tests failed:\n{jvm_run.output}"
    summary = jvm_run.output.strip().splitlines()[-1]
    assert re.match(r"\d+ classes, \d+ tests, 0 failed or skipped", summary), summary


def test_numpy_reads_the_arrays_kotlin_wrote(jvm_run: JvmRun) -> None:
    written = jvm_run.out / "arrays_kotlin.npz"
    assert written.is_file(), jvm_run.output
    expected = sample_arrays()
    with np.load(written, allow_pickle=False) as data:
        assert list(data.files) == list(expected)
        for name, original in expected.items():
            little = original.astype(original.dtype.newbyteorder("<"))
            assert data[name].dtype == little.dtype, name
            np.testing.assert_array_equal(data[name], little, err_msg=name)


def test_kotlin_writes_the_npy_bytes_numpy_writes(jvm_run: JvmRun) -> None:
    """Each array's .npy is byte for byte what numpy writes for it (C order, little-endian)."""
    with zipfile.ZipFile(jvm_run.out / "arrays_kotlin.npz") as archive:
        for name, original in sample_arrays().items():
            buffer = io.BytesIO()
            c_order = np.array(original, order="C", dtype=original.dtype.newbyteorder("<"))
            np.lib.format.write_array(buffer, c_order, allow_pickle=False)
            assert archive.read(f"{name}.npy") == buffer.getvalue(), name


def test_kotlin_rewrites_the_exported_weights_unchanged(jvm_run: JvmRun, bundle: Path) -> None:
    with (
        np.load(bundle / "weights.npz") as original,
        np.load(jvm_run.out / "weights_roundtrip.npz") as back,
    ):
        assert list(back.files) == list(original.files)
        for name in original.files:
            assert back[name].dtype == original[name].dtype
            np.testing.assert_array_equal(back[name], original[name])


def test_python_reads_the_update_kotlin_wrote(jvm_run: JvmRun, bundle: Path) -> None:
    """The hub's update format (edgekit.device.hub_update): the tensors of the version, a label
    per slot, softmax rows on D0."""
    manifest = read_manifest(bundle)
    arrays, slot_labels, scores = unpack_update((jvm_run.out / "update.npz").read_bytes())
    assert slot_labels == manifest.labels + [""] * (manifest.max_classes - len(manifest.labels))
    assert {t["name"]: tuple(t["shape"]) for t in manifest.trainable} == {
        name: a.shape for name, a in arrays.items()
    }
    with np.load(bundle / "weights.npz") as weights, np.load(bundle / "d0.npz") as d0:
        for name, a in arrays.items():
            np.testing.assert_array_equal(a, weights[name])
        assert scores.dtype == np.float32 and scores.shape == (
            len(d0["labels"]),
            manifest.max_classes,
        )
    assert np.allclose(scores.sum(axis=1), 1.0, atol=1e-6)


def test_the_stubbed_r_class_names_only_resources_that_exist() -> None:
    r_class = (jvm.STUBS / "generated-r" / "ai" / "edgekit" / "demo" / "R.java").read_text()
    res = jvm.APP / "app" / "src" / "main" / "res"
    layouts = {p.stem for p in (res / "layout").glob("*.xml")}
    ids = set(
        re.findall(r"@\+id/(\w+)", "".join(p.read_text() for p in (res / "layout").glob("*.xml")))
    )
    values = "".join(p.read_text() for p in (res / "values").glob("*.xml"))
    strings = set(re.findall(r'<string name="(\w+)"', values))
    for kind, known in (("id", ids), ("layout", layouts), ("string", strings)):
        block = re.search(rf"class {kind} \{{(.*?)\}}", r_class, re.DOTALL)
        assert block, f"R.{kind} is missing from the stub"
        names = set(re.findall(r"int (\w+) =", block.group(1)))
        assert names <= known, f"R.{kind} names {sorted(names - known)}, absent from {res}"


def test_the_compiler_here_is_the_kotlin_gradle_builds_with() -> None:
    home = jvm.kotlin_home()  # refuses a compiler of another version than the catalog's
    assert (home / "build.txt").read_text().strip() == jvm.kotlin_version()
    plugin = re.search(r"kotlin-gradle-plugin:([^\"]+)", (jvm.APP / "build.gradle.kts").read_text())
    assert plugin and plugin.group(1) == jvm.kotlin_version(), (
        "build.gradle.kts pins another Kotlin"
    )
