"""On-device training settings of a :class:`~edgekit.device.learner.Learner`."""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.errors import ConfigError

__all__ = ["LearnerConfig"]


@dataclass(frozen=True)
class LearnerConfig:
    """On-device training settings."""

    lr: float = 0.05  # SGD learning rate, > 0
    momentum: float = 0.9  # SGD momentum in [0, 1); its buffers live outside the planned arena
    clip_norm: float | None = 1.0  # global gradient-norm clip per step, > 0; None: no clipping
    mix_ratio: float = 0.5  # share of every batch drawn from D0, in [0, 1)
    cache_bytes: int = 32 << 20  # feature cache bound on disk, >= 0
    replay_clips: int = 1024  # user clips kept beside D0 for mixing (oldest dropped), >= 0
    balanced_mix: bool = False  # D0 draws fill every batch up to an equal share per live class
    added_class_mass: float = 1.0  # balanced_mix share of a class known only from add_global()
    imprint: bool = True  # enrol: a new class's column starts at its clips' mean embedding
    seed: int = 0  # batch order and D0 draws (a restored state continues its own draws)
    # several SGD steps per runtime call through train_steps when the bundle has it (a plan of
    # steps_per_call > 1); False: one train_step call per batch (the same updates)
    fused_steps: bool = True

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ConfigError(f"LearnerConfig.lr must be > 0, got {self.lr}")
        if not 0 <= self.momentum < 1:
            raise ConfigError(f"LearnerConfig.momentum must be in [0, 1), got {self.momentum}")
        if self.clip_norm is not None and self.clip_norm <= 0:
            raise ConfigError(f"LearnerConfig.clip_norm must be None or > 0, got {self.clip_norm}")
        if not 0 <= self.mix_ratio < 1:
            raise ConfigError(f"LearnerConfig.mix_ratio must be in [0, 1), got {self.mix_ratio}")
        if self.added_class_mass <= 0:
            raise ConfigError(
                f"LearnerConfig.added_class_mass must be > 0, got {self.added_class_mass}"
            )
        if self.cache_bytes < 0:
            raise ConfigError(f"LearnerConfig.cache_bytes must be >= 0, got {self.cache_bytes}")
        if self.replay_clips < 0:
            raise ConfigError(f"LearnerConfig.replay_clips must be >= 0, got {self.replay_clips}")
