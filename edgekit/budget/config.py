"""How the planner searches plans for a memory budget."""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.errors import ConfigError
from edgekit.plan.spec import KERNELS

__all__ = ["PlanConfig"]


@dataclass(frozen=True)
class PlanConfig:
    """How plans are searched."""

    batches: tuple[int, ...] = (32, 16, 8)  # candidate train_step batches, each >= 1
    momentum: bool = True  # the device runs SGD with momentum (its buffers count as memory)
    temperature: float = 2.0  # distill_step's temperature (that method is budgeted too), > 0
    row_group: int = 1  # output rows per sparse unit, >= 1
    min_cache_clips: int = 64  # user clips a cache budget must hold beside D0, >= 1
    fisher_samples: int = 4  # labels drawn per D0 clip for the Fisher information, >= 1
    seed: int = 0  # the Fisher's label draws
    kernels: str = "portable"  # what runs the plans' training methods ("portable", "xnnpack")

    def __post_init__(self) -> None:
        if not self.batches or min(self.batches) < 1:
            raise ConfigError(f"PlanConfig.batches must be >= 1 each, got {self.batches}")
        for name in ("row_group", "min_cache_clips", "fisher_samples"):
            if getattr(self, name) < 1:
                raise ConfigError(f"PlanConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.kernels not in KERNELS:
            raise ConfigError(f"PlanConfig.kernels must be one of {KERNELS}, got {self.kernels!r}")
        if self.temperature <= 0:
            raise ConfigError(f"PlanConfig.temperature must be > 0, got {self.temperature}")
