"""Data impressions of a new class: log-mel inputs a client's own model maps to that class.

Nayak et al. (ICML 2019) and Gudur & Perepu (2021): class similarity from the final layer's
weights -> Dirichlet soft targets (:mod:`edgekit_server.fl.soft_targets`) -> inputs optimised so
that the model's softmax at temperature T matches the targets. Three additions, all deviations
from the papers:

- every target keeps at least ``own_share`` of its mass on the class itself: the server labels
  the impressions with that class, so they must look like it to the model that made them (with
  less than half, a Dirichlet draw could make another class the target's argmax);
- a BatchNorm-statistics prior (DeepInversion, Yin et al. 2020) keeps the inputs in the range
  the backbone saw in pretraining;
- a class-conditional feature prior pulls the mean and variance of the impressions' features
  (at the tail's cut) to those of the client's own clips of the class. Without it the class
  term alone finds inputs that the head takes for the class but whose features lie far from
  any real clip's.

Cross-architecture prior (``cross_weight``; :class:`Aligner`): every client holds, or can be
sent, the federation's other frozen backbones (the same pretrained models every client of those
architectures has). The maker also computes its class's feature statistics on each of them and
pulls the impressions' features there to them, with their BatchNorm priors, so that the
impressions are the class to every architecture: the server embeds them with each one directly
(docs/design.md says why and what it measured). Each step then runs all the federation's
backbones, forward and backward.

Only the class's feature statistics shape the impressions (as the BatchNorm prior's running
statistics do); no clip and no clip's features leave the client. This runs in eager PyTorch on
the client's own model (backbone + its trained tail). On a phone it would run through the
ExecuTorch runtime, where one optimisation step of a small backbone takes seconds: the phone
path is future work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from edgekit.errors import ConfigError
from edgekit.models import KwsModel
from edgekit.models.tail import Tail
from edgekit_server.fl.soft_targets import impression_targets

__all__ = ["Aligner", "ImpressionConfig", "class_feature_stats", "synthesize"]


@dataclass(frozen=True)
class ImpressionConfig:
    """How impressions are made."""

    # impressions per new class, >= 1: more teach the clients without the class more of it and
    # cost the old classes more (docs/design.md)
    count: int = 64
    steps: int = 100  # Adam steps on the inputs, >= 1 (each runs every backbone of the prior)
    lr: float = 1.0  # Adam step on the log-mel values, in dB, > 0 (0.1 barely moves them)
    # softmax temperature T of the match, > 0. Nayak et al. use 20; at 20 the impressions
    # were often not their class even to the model that made them
    temperature: float = 1.0
    betas: tuple[float, ...] = (1.0, 0.1)  # Dirichlet concentration scales, each > 0
    # mass every target keeps on its class, in [0, 1]; > 0.5 makes the class its argmax, so the
    # server's label is the model's
    own_share: float = 0.6
    bn_weight: float = 0.1  # weight of the BatchNorm-statistics prior, >= 0
    feature_weight: float = 10.0  # weight of the class-conditional feature prior, >= 0
    cross_weight: float = 10.0  # weight of the same prior in each other architecture, >= 0
    seed: int = 0  # targets and initial inputs

    RUN_CONFIG: ClassVar[dict[str, str]] = {
        "impression-count": "count",
        "impression-steps": "steps",
    }

    def __post_init__(self) -> None:
        if self.count < 1 or self.steps < 1:
            raise ConfigError(
                f"ImpressionConfig.count and steps must be >= 1, got {self.count}, {self.steps}"
            )
        if self.lr <= 0 or self.temperature <= 0 or not self.betas or min(self.betas) <= 0:
            raise ConfigError(
                "ImpressionConfig.lr, temperature and every beta must be > 0, got "
                f"{self.lr}, {self.temperature}, {self.betas}"
            )
        if (
            not 0 <= self.own_share <= 1
            or min(self.bn_weight, self.feature_weight, self.cross_weight) < 0
        ):
            raise ConfigError(
                "ImpressionConfig.own_share must be in [0, 1], bn_weight, feature_weight and "
                f"cross_weight >= 0, got {self.own_share}, {self.bn_weight}, "
                f"{self.feature_weight}, {self.cross_weight}"
            )


@dataclass(frozen=True)
class Aligner:
    """Another architecture of the federation, for the cross-architecture prior: its pretrained
    model (frozen), the cut its clients learn from, and the class's feature mean and variance
    there (:func:`class_feature_stats` of the maker's clips of the class on that model)."""

    model: KwsModel
    cut: str
    stats: tuple[np.ndarray, np.ndarray]


class _BatchNormPrior:
    """How far the batch statistics entering each BatchNorm are from its running statistics,
    in units of the running variance (scale-free: the first BatchNorm sees dB values)."""

    def __init__(self, module: nn.Module) -> None:
        self.losses: list[torch.Tensor] = []
        self.handles = [
            m.register_forward_hook(self._hook)
            for m in module.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm)
        ]

    def _hook(self, module: nn.Module, inputs: tuple[torch.Tensor, ...], _: object) -> None:
        x = inputs[0]
        dims = [d for d in range(x.dim()) if d != 1]
        mean, var = x.mean(dim=dims), x.var(dim=dims, unbiased=False)
        assert isinstance(module, nn.modules.batchnorm._BatchNorm)
        assert module.running_mean is not None and module.running_var is not None
        running_var = module.running_var + module.eps
        self.losses.append(
            ((mean - module.running_mean) ** 2 / running_var).mean()
            + ((var / running_var - 1.0) ** 2).mean()
        )

    def take(self) -> torch.Tensor:
        total = torch.stack(self.losses).sum() if self.losses else torch.zeros(())
        self.losses = []
        return total

    def close(self) -> None:
        for h in self.handles:
            h.remove()


class _FeaturePrior:
    """Distance of a batch's feature mean and variance from a class's: the squared mean
    difference in units of the class's average variance, plus the squared log-ratio of the
    variances (both averaged over feature elements)."""

    def __init__(self, stats: tuple[np.ndarray, np.ndarray]) -> None:
        mean, var = (torch.as_tensor(np.asarray(a, dtype=np.float32).ravel()) for a in stats)
        if mean.shape != var.shape or mean.numel() == 0:
            raise ValueError(f"feature mean and variance must match, got {mean.shape}, {var.shape}")
        if not torch.isfinite(mean).all() or not torch.isfinite(var).all() or (var < 0).any():
            raise ValueError("feature statistics must be finite, variances >= 0")
        self.mean, self.log_var = mean, (var + 1e-6).log()
        self.unit = float(var.mean()) + 1e-6

    def __call__(self, features: tuple[torch.Tensor, ...]) -> torch.Tensor:
        f = _flatten(features)
        if f.shape[1] != self.mean.numel():
            raise ValueError(
                f"features have {f.shape[1]} elements, the statistics {self.mean.numel()}"
            )
        shift = ((f.mean(dim=0) - self.mean) ** 2).mean() / self.unit
        spread = ((f.var(dim=0, unbiased=False) + 1e-6).log() - self.log_var) ** 2
        return shift + spread.mean()


def _flatten(features: tuple[torch.Tensor, ...]) -> torch.Tensor:
    return torch.cat([f.flatten(1) for f in features], dim=1)


def class_feature_stats(
    model: KwsModel, cut: str, logmel: np.ndarray, batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Per-element mean and variance of ``model``'s features at ``cut`` over ``logmel``
    (n >= 2 clips of one class), flattened: what :func:`synthesize`'s feature prior matches."""
    if len(logmel) < 2:
        raise ValueError(f"class feature statistics need >= 2 clips, got {len(logmel)}")
    model.eval()
    with torch.no_grad():
        f = torch.cat(
            [
                _flatten(model.features_at(cut, torch.as_tensor(logmel[i : i + batch_size])))
                for i in range(0, len(logmel), batch_size)
            ]
        )
    return f.mean(dim=0).numpy(), f.var(dim=0, unbiased=False).numpy()


def synthesize(
    model: KwsModel,
    tail: Tail,
    live_slots: Sequence[int],
    class_slot: int,
    logmel_stats: tuple[np.ndarray, np.ndarray, float, float],
    config: ImpressionConfig | None = None,
    feature_stats: tuple[np.ndarray, np.ndarray] | None = None,
    aligners: Sequence[Aligner] = (),
) -> np.ndarray:
    """``(count, n_mels, frames)`` log-mel impressions of slot ``class_slot``.

    ``tail`` is the client's trained tail at ``tail.cut`` (weights loaded); ``live_slots`` the
    slots its model predicts; ``logmel_stats`` = per-band mean and std of the client's own
    log-mels and their min and max (the starting noise and the value range); ``feature_stats``
    = per-element mean and variance of its clips of the class at the cut, flattened
    (:func:`class_feature_stats`), for the feature prior (skipped when None). ``aligners``:
    the federation's other architectures, whose features of the impressions are pulled to the
    class's statistics there too (weight ``cross_weight``) and whose BatchNorm statistics are
    matched like the maker's. Statistics only: no clip leaves the client.
    """
    cfg = config or ImpressionConfig()
    live = list(live_slots)
    if class_slot not in live:
        raise ValueError(f"class slot {class_slot} is not among the live slots {live}")
    weight = tail.layers()[tail.classifier()].full_weight()
    if weight is None:
        raise ValueError("the classifier has no weight")
    weight_live = weight[live].detach().numpy()
    soft = impression_targets(weight_live, live.index(class_slot), cfg.count, cfg.betas, cfg.seed)
    own = np.zeros_like(soft)
    own[:, live.index(class_slot)] = 1.0
    targets = torch.from_numpy(cfg.own_share * own + (1 - cfg.own_share) * soft).float()

    mean, std, low, high = logmel_stats
    fe = model.frontend.config
    gen = torch.Generator().manual_seed(cfg.seed)
    noise = torch.randn(cfg.count, fe.n_mels, fe.n_frames, generator=gen)
    x = torch.from_numpy(mean)[None, :, None] + torch.from_numpy(std)[None, :, None] * noise
    x = x.float().clamp(low, high).requires_grad_(True)
    others = list(aligners) if cfg.cross_weight > 0 else []
    model.eval()
    tail.eval()
    for p in [*model.parameters(), *tail.parameters()]:
        p.requires_grad_(False)
    for a in others:
        a.model.eval()
        for p in a.model.parameters():
            p.requires_grad_(False)
    priors = [_BatchNormPrior(m.backbone) for m in [model, *(a.model for a in others)]]
    optimizer = torch.optim.Adam([x], lr=cfg.lr)
    index = torch.tensor(live)
    feature_prior = _FeaturePrior(feature_stats) if feature_stats is not None else None
    cross = [(a, _FeaturePrior(a.stats)) for a in others]
    try:
        for _ in range(cfg.steps):
            features = model.features_at(tail.cut, x)
            logits = tail(*features)[:, index]
            log_p = F.log_softmax(logits / cfg.temperature, dim=1)
            loss = -(targets * log_p).sum(dim=1).mean()
            if feature_prior is not None and cfg.feature_weight > 0:
                loss = loss + cfg.feature_weight * feature_prior(features)
            for a, a_prior in cross:
                loss = loss + cfg.cross_weight * a_prior(a.model.features_at(a.cut, x))
            loss = loss + cfg.bn_weight * sum(bn.take() for bn in priors)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                x.clamp_(low, high)
    finally:
        for bn_prior in priors:
            bn_prior.close()
    return x.detach().numpy().astype(np.float32)
