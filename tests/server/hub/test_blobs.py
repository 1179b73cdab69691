"""The hub's content-addressed blob store."""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest

from edgekit_server.errors import BlobRejected
from edgekit_server.hub.blobs import BlobStore

DATA = b"a bundle file" * 1000


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_a_blob_is_stored_under_its_hash_once(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, max_bytes=1 << 20)
    blob = store.put([DATA[:100], DATA[100:]], expected_sha256=_sha(DATA))
    assert (blob.sha256, blob.size) == (_sha(DATA), len(DATA))
    assert store.path(blob.sha256).read_bytes() == DATA and store.verify(blob.sha256)
    again = store.put([DATA])
    assert again == blob and _files(tmp_path) == [store.path(blob.sha256)]


def test_an_upload_over_the_limit_or_of_another_hash_leaves_nothing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, max_bytes=len(DATA) - 1)
    read = []

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(DATA), 1000):
            read.append(start)
            yield DATA[start : start + 1000]

    with pytest.raises(BlobRejected, match="too-large") as info:
        store.put(chunks())
    assert info.value.reason == "too-large" and len(read) == len(DATA) // 1000  # stops at once
    store = BlobStore(tmp_path, max_bytes=1 << 20)
    with pytest.raises(BlobRejected, match="mismatch"):
        store.put([DATA], expected_sha256=_sha(b"something else"))
    assert _files(tmp_path) == []


@pytest.mark.parametrize("name", ["../../etc/passwd", "A" * 64, "0" * 63, "", "0" * 64 + "/x"])
def test_a_name_that_is_not_a_sha256_never_reaches_the_disk(tmp_path: Path, name: str) -> None:
    store = BlobStore(tmp_path, max_bytes=1 << 20)
    with pytest.raises(BlobRejected, match="not a sha256"):
        store.path(name)
    with pytest.raises(BlobRejected, match="not a sha256"):
        store.put([DATA], expected_sha256=name)


def test_a_damaged_blob_fails_verification_and_leftovers_are_cleaned(tmp_path: Path) -> None:
    store = BlobStore(tmp_path, max_bytes=1 << 20)
    blob = store.put([DATA])
    store.path(blob.sha256).write_bytes(DATA[:-1] + b"!")
    assert not store.verify(blob.sha256) and not store.verify(_sha(b"absent"))
    (tmp_path / ".incoming" / "tmpcrash").write_bytes(b"half a blob")
    assert store.clean() == 1 and store.clean() == 0


def _put_many(root: str) -> str:
    store = BlobStore(Path(root), max_bytes=1 << 22)
    sha = ""
    for _ in range(20):
        sha = store.put([DATA * 10]).sha256
    return sha


def test_writers_in_several_processes_store_one_whole_blob(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        shas = pool.map(_put_many, [str(tmp_path)] * 3)
    assert set(shas) == {_sha(DATA * 10)}
    store = BlobStore(tmp_path, max_bytes=1 << 22)
    assert _files(tmp_path) == [store.path(shas[0])] and store.verify(shas[0])
