"""Shared fixtures: tiny audio written to real files in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def tone(freq: float, seconds: float = 1.0, rate: int = 16_000, amp: float = 0.3) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path
