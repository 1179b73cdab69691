"""A device's checks of a signed bundle version, on the shared test vectors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edgekit.device.signed import load_public_key, verify_files, verify_metadata
from edgekit.errors import UpdateRefused
from tests.vectors.make_signing_vectors import write

VECTORS = Path(__file__).parents[1] / "vectors" / "signing"
CASES = json.loads((VECTORS / "cases.json").read_text())


def _verdict(case: dict) -> str:
    key = load_public_key((VECTORS / "pinned.pub").read_text())
    signature = (VECTORS / case["signature"]).read_bytes() if case["signature"] else None
    try:
        meta = verify_metadata(
            (VECTORS / case["metadata"]).read_bytes(),
            signature,
            key,
            installed=case["installed"],
            family=case["family"],
            architecture=case["architecture"],
            now=datetime.fromisoformat(case["now"]),
        )
        if case["files"]:
            verify_files(meta, VECTORS / case["files"])
    except UpdateRefused as exc:
        return exc.reason
    return "accept"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_every_vector_gets_its_verdict(case: dict) -> None:
    assert _verdict(case) == case["expect"]


def test_every_refusal_is_covered() -> None:
    reasons = {c["expect"] for c in CASES}
    wanted = {"unsigned", "signature", "malformed", "expired", "other-model", "rollback", "files"}
    assert wanted | {"accept"} == reasons


def test_the_committed_vectors_are_what_the_generator_writes(tmp_path: Path) -> None:
    write(tmp_path)
    made = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    kept = {
        p.relative_to(VECTORS): p.read_bytes()
        for p in VECTORS.rglob("*")
        if p.is_file() and p.suffix != ".py"
    }
    assert made == kept


def test_an_accepted_version_says_what_it_holds() -> None:
    key = load_public_key((VECTORS / "pinned.pub").read_text())
    meta = verify_metadata(
        (VECTORS / "v3.json").read_bytes(),
        (VECTORS / "v3.sig").read_bytes(),
        key,
        now=datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert (meta.family, meta.architecture, meta.version) == ("kws", "tcresnet", 3)
    assert sorted(meta.files) == ["model.pte", "weights/head.npz"]
    assert meta.files["model.pte"].size == len(b"program of version 3")


def test_the_clock_decides_expiry() -> None:
    key = load_public_key((VECTORS / "pinned.pub").read_text())
    data, signature = (VECTORS / "v3.json").read_bytes(), (VECTORS / "v3.sig").read_bytes()
    verify_metadata(data, signature, key, now=datetime(2027, 5, 31, tzinfo=UTC))
    with pytest.raises(UpdateRefused, match="expired"):
        verify_metadata(data, signature, key, now=datetime(2027, 6, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_metadata(data, signature, key, now=datetime(2026, 12, 1))


@pytest.mark.parametrize("text", ["", "abc", "g" * 64, "00" * 31, "00" * 33])
def test_a_pinned_key_must_be_32_bytes_of_hex(text: str) -> None:
    with pytest.raises(UpdateRefused, match="64 hex digits"):
        load_public_key(text)
