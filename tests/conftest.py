"""Shared fixtures: tiny audio written to real files in a temporary folder, one small bundle."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:
    from tests.bundle_fixture import BuiltBundle


def tone(freq: float, seconds: float = 1.0, rate: int = 16_000, amp: float = 0.3) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist every worker computes on one thread: two workers on two cores, not
    two workers of two threads each fighting over them."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """End-to-end tests (marked slow) first, in their files' order: with parallel workers the
    longest files start first instead of finishing last on one worker while the others idle."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltBundle:
    """One small real bundle (three tones, four slots), built once and only read by tests."""
    import torch  # torch and the exporter: only when used

    from tests.bundle_fixture import BuiltBundle, build_bundle
    from tests.shared_build import shared_folder

    def build(folder: Path) -> None:
        made = build_bundle(folder)
        torch.save(
            {"model": made.model, "manifest": made.manifest, "clips": made.clips},
            folder / "fixture.pt",
        )

    folder = shared_folder(tmp_path_factory, "bundle", build)
    saved = torch.load(folder / "fixture.pt", weights_only=False)
    return BuiltBundle(folder / "bundle", saved["model"], saved["manifest"], saved["clips"])
