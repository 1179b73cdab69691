"""Shared fixtures: tiny audio written to real files in a temporary folder, one small bundle."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:
    from tests.bundle_fixture import BuiltBundle


def tone(freq: float, seconds: float = 1.0, rate: int = 16_000, amp: float = 0.3) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltBundle:
    """One small real bundle (three tones, four slots), built once and only read by tests."""
    from tests.bundle_fixture import build_bundle  # torch and the exporter: only when used

    return build_bundle(tmp_path_factory.mktemp("bundle"))
