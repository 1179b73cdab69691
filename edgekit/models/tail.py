"""The part of a model above a cut, in the form the device trains: every trainable layer a matmul.

A :class:`Tail` takes the cached feature tensors of its cut and returns logits. Its layers are
:class:`Dense` (a Linear, or a pointwise convolution written channels-last as a matmul, with any
BatchNorm folded in) and :class:`Shift` (a per-channel bias). What trains in each layer is a
:class:`LayerTrain`: a set of output rows of the weight and/or the bias. Frozen parts are
constants of the program and trainable parts are parameters, so ExecuTorch never computes or
stores a gradient for a frozen entry: a weight whose rows ``R`` train is split into a constant
with those rows zeroed and a parameter holding only them (``rows_t``), joined by a constant one-hot
matrix (``y += (x @ rows_t) @ select``).

Weights are stored transposed (``(in, out)``) so the program multiplies without first writing a
transposed copy into its memory arena (a copy the size of the weight, measured).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from edgekit.errors import ConfigError, ExportError

__all__ = [
    "POOLED",
    "Dense",
    "DenseHead",
    "HeadTail",
    "LayerTrain",
    "Shift",
    "Tail",
    "TrainableLayer",
    "channels_last",
    "fold_batchnorm",
]

POOLED = "pooled"  # the default cut: pooled backbone features, the head above


@dataclass(frozen=True)
class LayerTrain:
    """What trains in one layer: some output rows of its weight, and/or its bias."""

    rows: tuple[int, ...] = ()  # output rows (channels) of the weight that train, sorted
    bias: bool = False  # whether the bias trains

    def __post_init__(self) -> None:
        rows = tuple(int(r) for r in self.rows)
        if any(r < 0 for r in rows) or len(set(rows)) != len(rows):
            raise ConfigError(f"LayerTrain.rows must be distinct indices >= 0, got {self.rows}")
        object.__setattr__(self, "rows", tuple(sorted(rows)))

    @property
    def trains(self) -> bool:
        return bool(self.rows) or self.bias

    def to_dict(self) -> dict[str, object]:
        return {"rows": list(self.rows), "bias": self.bias}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> LayerTrain:
        rows = data.get("rows", ())
        if not isinstance(rows, Iterable):
            raise ConfigError(f"LayerTrain rows must be a list of indices, got {rows!r}")
        return cls(rows=tuple(int(r) for r in rows), bias=bool(data.get("bias", False)))


FROZEN = LayerTrain()


def fold_batchnorm(bn: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """``(scale, shift)`` with ``bn(u) == u * scale + shift`` per channel, in eval mode."""
    if not isinstance(bn, nn.modules.batchnorm._BatchNorm):
        raise TypeError(f"expected a BatchNorm layer, got {type(bn).__name__}")
    if bn.running_var is None or bn.running_mean is None:
        raise ExportError("a BatchNorm without running statistics cannot be folded into a tail")
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight
    shift = -bn.running_mean * scale
    if bn.bias is not None:
        shift = shift + bn.bias
    return scale.detach().clone(), shift.detach().clone()


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """``(batch, channels, *positions)`` -> ``(batch, positions, channels)``, contiguous."""
    return x.flatten(2).transpose(1, 2).contiguous()


class TrainableLayer(nn.Module, abc.ABC):
    """A layer a plan can train; ``n_in``/``n_out`` are channels, ``positions`` per clip."""

    n_in: int
    n_out: int
    positions: int  # activation rows per clip (time steps or pixels; 1 after pooling)
    has_weight: bool
    spec: LayerTrain  # what trains (``train`` would shadow nn.Module.train)

    @abc.abstractmethod
    def full_weight(self) -> torch.Tensor | None:
        """The weight ``(out, in)`` with trained rows put back; None for a bias-only layer."""

    @abc.abstractmethod
    def full_bias(self) -> torch.Tensor:
        """The bias ``(out,)``."""


class Dense(TrainableLayer):
    """``y = x @ weight.T + bias`` over the last dimension of ``x``."""

    has_weight = True
    frozen_t: torch.Tensor  # (in, out) constant: the weight with trainable rows zeroed
    select: torch.Tensor  # (k, out) constant one-hot: trainable row i -> output channel
    bias: torch.Tensor

    def __init__(
        self,
        weight: torch.Tensor,
        bias: torch.Tensor,
        train: LayerTrain = FROZEN,
        positions: int = 1,
    ) -> None:
        super().__init__()
        weight = weight.detach().clone().float()
        bias = bias.detach().clone().float()
        self.n_out, self.n_in = weight.shape
        if bias.shape != (self.n_out,):
            raise ValueError(f"bias must be ({self.n_out},), got {tuple(bias.shape)}")
        if train.rows and train.rows[-1] >= self.n_out:
            raise ConfigError(f"rows {train.rows} out of range for {self.n_out} outputs")
        self.positions = positions
        self.spec = train
        self.all_rows = len(train.rows) == self.n_out
        self.subset = bool(train.rows) and not self.all_rows
        if self.all_rows:
            self.weight_t = nn.Parameter(weight.t().contiguous())
        else:
            frozen = weight.clone()
            if self.subset:
                rows = torch.tensor(train.rows)
                frozen[rows] = 0.0
                self.rows_t = nn.Parameter(weight[rows].t().contiguous())
                select = torch.zeros(len(train.rows), self.n_out)
                select[torch.arange(len(train.rows)), rows] = 1.0
                self.register_buffer("select", select)
            self.register_buffer("frozen_t", frozen.t().contiguous())
        if train.bias:
            self.bias = nn.Parameter(bias)
        else:
            self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        flat = x.reshape(-1, self.n_in)
        if self.all_rows:
            y = torch.mm(flat, self.weight_t)
        else:
            y = torch.mm(flat, self.frozen_t)
            if self.subset:
                y = y + torch.mm(torch.mm(flat, self.rows_t), self.select)
        return (y + self.bias).reshape(*lead, self.n_out)

    def full_weight(self) -> torch.Tensor:
        if self.all_rows:
            return self.weight_t.detach().t().clone()
        weight = self.frozen_t.detach().t().clone()
        if self.subset:
            weight[torch.tensor(self.spec.rows)] = self.rows_t.detach().t()
        return weight

    def full_bias(self) -> torch.Tensor:
        return self.bias.detach().clone()


class Shift(TrainableLayer):
    """``y = x + bias`` per channel (a folded BatchNorm shift with nothing to multiply)."""

    has_weight = False
    bias: torch.Tensor

    def __init__(self, bias: torch.Tensor, train: LayerTrain = FROZEN, positions: int = 1) -> None:
        super().__init__()
        if train.rows:
            raise ConfigError("a Shift layer has no weight rows to train: train its bias only")
        bias = bias.detach().clone().float()
        self.n_in = self.n_out = int(bias.shape[0])
        self.positions = positions
        self.spec = train
        if train.bias:
            self.bias = nn.Parameter(bias)
        else:
            self.register_buffer("bias", bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bias

    def full_weight(self) -> None:
        return None

    def full_bias(self) -> torch.Tensor:
        return self.bias.detach().clone()


class DenseHead(nn.Module):
    """The MLP head (``edgekit.models.base.MlpHead``) as Dense layers: fc1 -> ReLU -> fc2."""

    def __init__(self, head: nn.Module, train: Mapping[str, LayerTrain], prefix: str) -> None:
        super().__init__()
        linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
        names = ["fc"] if len(linears) == 1 else [f"fc{i + 1}" for i in range(len(linears))]
        self.names = names
        for name, linear in zip(names, linears, strict=True):
            spec = train.get(f"{prefix}.{name}", FROZEN)
            self.add_module(name, Dense(linear.weight, linear.bias, spec))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, name in enumerate(self.names):
            if i:
                x = F.relu(x)
            x = getattr(self, name)(x)
        return x


class Tail(nn.Module):
    """``forward(*parts) -> logits (batch, max_classes)`` for the cached parts of one cut."""

    cut: str
    head: DenseHead

    def layers(self) -> dict[str, TrainableLayer]:
        """The layers a plan can train, by module path, lowest first (the classifier last)."""
        return {n: m for n, m in self.named_modules() if isinstance(m, TrainableLayer)}

    def classifier(self) -> str:
        return f"head.{self.head.names[-1]}"


class HeadTail(Tail):
    """The tail of the pooled cut: the head alone over pooled features."""

    def __init__(self, head: nn.Module, train: Mapping[str, LayerTrain]) -> None:
        super().__init__()
        self.cut = POOLED
        self.head = DenseHead(head, train, "head")

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.head(pooled)
