"""The contract between the app's Kotlin code and an exported bundle, read out of the Kotlin
sources themselves: every program method the ExecuTorch glue calls exists in a real bundle's
program and runs in the runtime with exactly the tensors the app builds for it
(``ProgramMethods``, written by the JVM tests), giving the outputs the app reads; every manifest
key and bundle array the app reads exists in that bundle."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from edgekit.runtime import Program
from tests.android import jvm
from tests.android.conftest import JvmRun

pytestmark = pytest.mark.slow

RUNTIME_CALLS = re.compile(
    r"\.(execute|executeForwardBackward|namedParameters|namedGradients)\(\s*([\w.\"]+)"
)
EXECUTORCH_IMPORT = re.compile(r"^import org\.pytorch\.executorch\.", re.MULTILINE)
CONSTANT = re.compile(r'const val (\w+)\s*=\s*"([^"]*)"')
# the files that parse manifest.json (the signed metadata and the state have readers of their own)
MANIFEST_READERS = ["core/bundle/Manifest.kt", "core/detect/DetectConfig.kt"]
FIELD_READS = re.compile(
    r'\.(?:int|long|string|strings|double|bool|obj|objects|longs|isNull)\("(\w+)"\)'
    r'|obj\["(\w+)"\]|"(\w+)" in it'
)
ARRAY_READS = re.compile(r'arrays\["(\w+)"\]')
DTYPES = {"float32": torch.float32, "int64": torch.int64}
SCALAR_TYPES = {torch.float32: 6, torch.int64: 4}  # ExecuTorch's ScalarType codes


def kotlin_sources() -> dict[Path, str]:
    return {path: path.read_text() for path in sorted(jvm.MAIN.rglob("*.kt"))}


def constants(sources: dict[Path, str]) -> dict[str, set[str]]:
    """Every ``const val NAME = "text"`` of the app: name -> the texts it is given."""
    found: dict[str, set[str]] = {}
    for text in sources.values():
        for name, value in CONSTANT.findall(text):
            found.setdefault(name, set()).add(value)
    return found


def called_methods() -> dict[str, list[str]]:
    """The program methods the app's Kotlin code names in its ExecuTorch calls (a literal or a
    constant): method -> the calls naming it (``file: call``). Only files that import
    ExecuTorch make such calls (elsewhere ``.execute(`` is an executor's)."""
    sources = kotlin_sources()
    names = constants(sources)
    calls: dict[str, list[str]] = {}
    for path, text in sources.items():
        if not EXECUTORCH_IMPORT.search(text):
            continue
        for api, argument in RUNTIME_CALLS.findall(text):
            if argument.startswith('"'):
                method = argument.strip('"')
            else:
                values = names.get(argument.rsplit(".", 1)[-1], set())
                assert len(values) == 1, f"{path.name}: {api}({argument}) is not one constant"
                (method,) = values
            calls.setdefault(method, []).append(f"{path.relative_to(jvm.MAIN)}: {api}")
    return calls


def manifest_keys() -> set[str]:
    keys: set[str] = set()
    for reader in MANIFEST_READERS:
        text = (jvm.MAIN / "ai/edgekit/demo" / reader).read_text()
        keys |= {next(g for g in groups if g) for groups in FIELD_READS.findall(text)}
    return keys


def all_keys(value: Any) -> set[str]:
    """The keys of every object in a JSON value, at any depth."""
    if isinstance(value, dict):
        return set(value).union(*(all_keys(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(all_keys(v) for v in value))
    return set()


def test_every_method_the_app_calls_is_in_the_exported_program(bundle: Path) -> None:
    calls = called_methods()
    assert calls, "no ExecuTorch call found in the app's sources: the pattern is out of date"
    methods = set(Program(bundle / "model.pte").method_names)
    missing = {m: where for m, where in calls.items() if m not in methods}
    assert not missing, f"the app calls methods the bundle lacks: {missing}"


def test_each_method_runs_with_the_tensors_the_app_builds(jvm_run: JvmRun, bundle: Path) -> None:
    """The inputs come from the app's own ``ProgramMethods`` (each at one row and at the
    bundle's max_batch); the runtime must accept them as they are and return the shapes the
    app reads."""
    written = jvm_run.out / "program_methods.json"
    assert written.is_file(), jvm_run.output
    cases = json.loads(written.read_text())
    assert set(called_methods()) <= {c["method"] for c in cases}, "a called method has no inputs"
    program = Program(bundle / "model.pte")
    manifest = json.loads((bundle / "manifest.json").read_text())
    rng = np.random.default_rng(0)
    for case in cases:
        method = case["method"]
        meta = program.module.method_meta(method)
        assert meta.num_inputs() == len(case["inputs"]), method
        inputs = []
        for i, spec in enumerate(case["inputs"]):
            shape, dtype = tuple(spec["shape"]), DTYPES[spec["dtype"]]
            planned = meta.input_tensor_meta(i)  # sizes: the bound of a dynamic first dim
            assert planned.dtype() == SCALAR_TYPES[dtype], f"{method} {spec}"
            sizes = tuple(planned.sizes())
            assert shape[1:] == sizes[1:] and shape[0] <= sizes[0], f"{method} {spec} {sizes}"
            if dtype is torch.int64:  # target slots: live ones
                values = rng.integers(0, len(manifest["labels"]), shape)
                inputs.append(torch.from_numpy(values.astype(np.int64)))
            elif spec["name"] == "mask":
                mask = np.zeros(shape, dtype=np.float32)
                mask[: len(manifest["labels"])] = 1.0
                inputs.append(torch.from_numpy(mask))
            else:
                inputs.append(torch.from_numpy(rng.normal(0, 0.1, shape).astype(np.float32)))
        outputs = program.run(method, *inputs)
        for expected, got in zip(case["outputs"], outputs, strict=False):
            assert tuple(got.shape) == tuple(expected), f"{method} {case['inputs']}"
            assert torch.isfinite(got).all(), method
        assert len(outputs) >= len(case["outputs"]), method


def test_every_manifest_key_and_array_the_app_reads_is_in_the_bundle(bundle: Path) -> None:
    keys = manifest_keys()
    assert {"labels", "max_classes", "hop_seconds"} <= keys, "the key pattern is out of date"
    exported = all_keys(json.loads((bundle / "manifest.json").read_text()))
    assert keys <= exported, f"the app reads keys no bundle has: {sorted(keys - exported)}"
    reader = (jvm.MAIN / "ai/edgekit/demo/core/bundle/BundleFolder.kt").read_text()
    arrays = set(ARRAY_READS.findall(reader))
    with np.load(bundle / "d0.npz") as d0, np.load(bundle / "weights.npz") as weights:
        present = set(d0.files) | set(weights.files)
    assert arrays and arrays <= present, f"the app reads arrays the bundle lacks: {arrays}"
