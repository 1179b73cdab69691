"""The device side: bundles run only through the ExecuTorch runtime."""

from __future__ import annotations

from edgekit.device.cache import CacheStats, FeatureCache
from edgekit.device.learner import Learner, LearnerConfig, NoFreeSlot

__all__ = ["CacheStats", "FeatureCache", "Learner", "LearnerConfig", "NoFreeSlot"]
