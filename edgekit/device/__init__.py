"""The device side: bundles run only through the ExecuTorch runtime.

Names load on first use, so that importing one module (``edgekit.device.cache``) does not pull
in the learner and the runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgekit._lazy import lazy_attributes

if TYPE_CHECKING:
    from edgekit.device.cache import CacheStats, FeatureCache
    from edgekit.device.config import LearnerConfig
    from edgekit.device.detect import DetectConfig, Event, StreamDetector
    from edgekit.device.globalset import GlobalSet
    from edgekit.device.learner import Learner
    from edgekit.device.slots import ClassSlots
    from edgekit.errors import NoFreeSlot

__all__ = [
    "CacheStats",
    "ClassSlots",
    "DetectConfig",
    "Event",
    "FeatureCache",
    "GlobalSet",
    "Learner",
    "LearnerConfig",
    "NoFreeSlot",
    "StreamDetector",
]

_HOME = {
    "CacheStats": "edgekit.device.cache",
    "ClassSlots": "edgekit.device.slots",
    "DetectConfig": "edgekit.device.detect",
    "Event": "edgekit.device.detect",
    "FeatureCache": "edgekit.device.cache",
    "GlobalSet": "edgekit.device.globalset",
    "Learner": "edgekit.device.learner",
    "LearnerConfig": "edgekit.device.config",
    "NoFreeSlot": "edgekit.errors",
    "StreamDetector": "edgekit.device.detect",
}

__getattr__ = lazy_attributes(__name__, _HOME)
