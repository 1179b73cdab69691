"""A training plan: where the cut sits, the batch, and what trains above the cut.

A plan is plain data (JSON in the manifest). :mod:`edgekit.budget` makes plans for a memory
budget; :func:`edgekit.export.bundle.export_bundle` exports a bundle that trains exactly what the
plan says; its memory report is read from the exported program (:mod:`edgekit.export.memory`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from edgekit.atomic import atomic_write_bytes
from edgekit.errors import ConfigError, FileFormatError
from edgekit.models.base import KwsModel
from edgekit.models.tail import POOLED, LayerTrain, Tail
from edgekit.plan.reports import TrainingMemory

KERNELS = ("portable", "xnnpack")  # what can run a plan's training methods
MAX_STEPS_PER_CALL = 64  # train_steps holds one copy of the step's graph per step

__all__ = ["KERNELS", "MAX_STEPS_PER_CALL", "SCHEMES", "TrainingPlan", "check_steps_per_call"]

SCHEMES = ("head", "sparse", "last-k", "unbounded", "manual")


def check_steps_per_call(steps: int, name: str) -> None:
    """Refuse steps per call outside [1, :data:`MAX_STEPS_PER_CALL`], naming the setting."""
    if not 1 <= steps <= MAX_STEPS_PER_CALL:
        raise ConfigError(f"{name} must be in [1, {MAX_STEPS_PER_CALL}], got {steps}")


@dataclass(frozen=True)
class TrainingPlan:
    """What a bundle trains on the device, and the memory it was measured to need."""

    arch: str  # the model architecture (edgekit.models.ARCHITECTURES)
    cut: str  # where the cached features sit (``model.cut_points()``)
    batch: int  # the fixed batch of train_step / distill_step, >= 1
    layers: Mapping[str, LayerTrain]  # the layers that train (any other layer is frozen)
    momentum: bool = True  # SGD momentum buffers are part of the training memory
    scheme: str = "manual"  # how the plan was made (one of SCHEMES)
    budget_bytes: int | None = None  # the training-memory budget it was made for; None: unbounded
    cache_budget_bytes: int | None = None  # bound on cached features (D0 included); None: none
    memory: TrainingMemory | None = None  # read from the exported program; None: not measured
    kernels: str = "portable"  # what runs the training methods (edgekit.export.training_kernels)
    # SGD steps per call of the program's train_steps (edgekit.export.multi_step); 1: none
    steps_per_call: int = 1

    def __post_init__(self) -> None:
        if self.batch < 1:
            raise ConfigError(f"TrainingPlan.batch must be >= 1, got {self.batch}")
        if self.scheme not in SCHEMES:
            raise ConfigError(f"TrainingPlan.scheme must be one of {SCHEMES}, got {self.scheme!r}")
        if self.kernels not in KERNELS:
            raise ConfigError(
                f"TrainingPlan.kernels must be one of {KERNELS}, got {self.kernels!r}"
            )
        check_steps_per_call(self.steps_per_call, "TrainingPlan.steps_per_call")
        if not any(spec.trains for spec in self.layers.values()):
            raise ConfigError("a training plan must train at least one layer")
        budgets = {"budget_bytes": self.budget_bytes, "cache_budget_bytes": self.cache_budget_bytes}
        for name, value in budgets.items():
            if value is not None and value < 0:
                raise ConfigError(f"TrainingPlan.{name} must be >= 0, got {value}")

    # ------------------------------------------------------------------ building
    @classmethod
    def head(
        cls,
        model: KwsModel,
        batch: int = 32,
        momentum: bool = True,
        kernels: str = "portable",
        steps_per_call: int = 1,
    ) -> TrainingPlan:
        """The default plan: every weight and bias of the head, over pooled features."""
        layers = {
            name: LayerTrain(rows=tuple(range(layer.n_out)), bias=True)
            for name, layer in model.tail(POOLED).layers().items()
        }
        return cls(
            model.arch,
            POOLED,
            batch,
            layers,
            momentum,
            scheme="head",
            kernels=kernels,
            steps_per_call=steps_per_call,
        )

    def tail(self, model: KwsModel) -> Tail:
        """The model's tail at this plan's cut, with this plan's parts trainable."""
        if model.arch != self.arch:
            raise ConfigError(
                f"the plan is for {self.arch}, the model is {model.arch}: plan for this model"
            )
        return model.tail(self.cut, self.layers)

    def trainable_params(self, model: KwsModel) -> int:
        """Trainable entries (the size of what an update changes and a client sends)."""
        return sum(p.numel() for p in self.tail(model).parameters())

    def with_memory(self, memory: TrainingMemory) -> TrainingPlan:
        return replace(self, memory=memory)

    @property
    def measured(self) -> TrainingMemory:
        """The memory read from the plan's exported program; a plan never measured (made by
        hand, not by a planner or an export) raises ConfigError."""
        if self.memory is None:
            raise ConfigError("this plan was never measured: make it with a planner, or export it")
        return self.memory

    def key(self) -> tuple[object, ...]:
        """Identity of what is exported (equal keys: the same program)."""
        layers = tuple(sorted((n, s.rows, s.bias) for n, s in self.layers.items() if s.trains))
        return (
            self.arch,
            self.cut,
            self.batch,
            self.momentum,
            layers,
            self.kernels,
            self.steps_per_call,
        )

    # ------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        return {
            "arch": self.arch,
            "cut": self.cut,
            "batch": self.batch,
            "layers": {n: s.to_dict() for n, s in self.layers.items()},
            "momentum": self.momentum,
            "scheme": self.scheme,
            "budget_bytes": self.budget_bytes,
            "cache_budget_bytes": self.cache_budget_bytes,
            "memory": {} if self.memory is None else self.memory.to_dict(),
            "kernels": self.kernels,
            "steps_per_call": self.steps_per_call,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingPlan:
        try:
            layers = {n: LayerTrain.from_dict(s) for n, s in dict(data["layers"]).items()}
            memory = data.get("memory")
            return cls(
                arch=str(data["arch"]),
                cut=str(data["cut"]),
                batch=int(data["batch"]),
                layers=layers,
                momentum=bool(data.get("momentum", True)),
                scheme=str(data.get("scheme", "manual")),
                budget_bytes=data.get("budget_bytes"),
                cache_budget_bytes=data.get("cache_budget_bytes"),
                memory=TrainingMemory.from_dict(memory) if memory else None,
                kernels=str(data.get("kernels", "portable")),
                steps_per_call=int(data.get("steps_per_call", 1)),
            )
        except (LookupError, TypeError, AttributeError, ValueError) as exc:
            # ValueError: a bad number, and ConfigError (a field out of its bounds)
            raise FileFormatError(f"not a training plan: {exc}") from exc

    def save(self, path: Path | str) -> None:
        atomic_write_bytes(path, json.dumps(self.to_dict(), indent=2).encode())

    @classmethod
    def load(cls, path: Path | str) -> TrainingPlan:
        """The plan :meth:`save` wrote; :class:`~edgekit.errors.FileFormatError` names a file
        that is missing, unreadable or not a plan."""
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FileFormatError(f"{path} is not a readable training plan ({exc})") from exc
        except FileFormatError as exc:
            raise FileFormatError(f"{path}: {exc}") from exc

    def describe(self) -> str:
        """One line per training layer: what trains."""
        lines = [f"{self.arch}, cut {self.cut!r}, batch {self.batch}, scheme {self.scheme}"]
        for name, spec in self.layers.items():
            if spec.trains:
                rows = f"{len(spec.rows)} rows" if spec.rows else "no rows"
                lines.append(f"  {name}: {rows}{' + bias' if spec.bias else ''}")
        return "\n".join(lines)
