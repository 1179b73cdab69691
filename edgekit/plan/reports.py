"""The memory a plan and a bundle need, as data: what the manifest's ``memory`` holds.

:class:`TrainingMemory` is what training holds, read from the exported program's training methods
(:mod:`edgekit.export.memory` measures it); :class:`CacheReport` is what cached features take at a
cut (:mod:`edgekit.plan.cache` works it out); :class:`BundleMemory` is a bundle's figures: both,
every method's planned arena and the program's size. ``to_dict`` / ``from_dict`` are the JSON
form written to ``manifest.json`` and to plan files; ``from_dict`` raises
:class:`~edgekit.errors.FileFormatError` for anything that is not such a report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from edgekit.errors import FileFormatError

__all__ = ["FLOAT_BYTES", "BundleMemory", "CacheReport", "MemoryComponents", "TrainingMemory"]

FLOAT_BYTES = 4  # every trainable tensor, gradient and momentum buffer is float32

_T = TypeVar("_T")


def _parse(what: str, data: Any, build: Callable[[Mapping[str, Any]], _T]) -> _T:
    """``build(data)``, or a FileFormatError naming ``what`` when ``data`` does not fit."""
    try:
        return build(data)
    except (LookupError, TypeError, ValueError, AttributeError) as exc:
        raise FileFormatError(f"not a {what} report ({type(exc).__name__}: {exc})") from exc


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class MemoryComponents:
    """The parts of the training memory, in bytes, as the program reports them."""

    train_step_arena: int  # train_step's planned arena: batch, activations, gradients, weights
    distill_step_arena: int  # distill_step's planned arena (same tail, soft targets as input)
    optimizer_state: int  # SGD momentum buffers, outside the arenas; 0 for plain SGD
    delegate_workspace: int = 0  # a delegate's own memory, measured (portable kernels: 0)
    # train_steps' planned arena (several steps per call, its momentum inside); 0: no such method
    train_steps_arena: int = 0

    def to_dict(self) -> dict[str, int]:
        data = {
            "train_step_arena": self.train_step_arena,
            "distill_step_arena": self.distill_step_arena,
            "optimizer_state": self.optimizer_state,
            "delegate_workspace": self.delegate_workspace,
        }
        if self.train_steps_arena:  # absent from a bundle without train_steps (and older ones)
            data["train_steps_arena"] = self.train_steps_arena
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MemoryComponents:
        return _parse(
            "memory components",
            data,
            lambda d: cls(
                train_step_arena=int(d["train_step_arena"]),
                distill_step_arena=int(d["distill_step_arena"]),
                optimizer_state=int(d["optimizer_state"]),
                delegate_workspace=int(d.get("delegate_workspace", 0)),
                train_steps_arena=int(d.get("train_steps_arena", 0)),
            ),
        )


@dataclass(frozen=True)
class CacheReport:
    """Bytes of cached features at a cut, and how many user clips a cache budget holds."""

    cut: str  # the cut whose features are cached
    clip_bytes: int  # float32 bytes of one clip's features
    entry_bytes: int  # one user clip in the feature cache (checksum and header included)
    d0_clips: int  # clips of the global set D0 (shipped in the bundle, held while training)
    d0_bytes: int  # d0_clips * clip_bytes
    budget_bytes: int | None  # the bound on cached features, D0 included; None: unbounded
    user_clip_capacity: int | None  # user clips the budget holds beside D0; None: unbounded
    used_bytes: int | None = None  # on a device: bytes its feature cache holds; None elsewhere
    limit_bytes: int | None = None  # on a device: its feature cache's bound; None elsewhere

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "cut": self.cut,
            "clip_bytes": self.clip_bytes,
            "entry_bytes": self.entry_bytes,
            "d0_clips": self.d0_clips,
            "d0_bytes": self.d0_bytes,
            "budget_bytes": self.budget_bytes,
            "user_clip_capacity": self.user_clip_capacity,
        }
        if self.used_bytes is not None or self.limit_bytes is not None:
            data |= {"used_bytes": self.used_bytes, "limit_bytes": self.limit_bytes}
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CacheReport:
        return _parse(
            "feature cache",
            data,
            lambda d: cls(
                cut=str(d["cut"]),
                clip_bytes=int(d["clip_bytes"]),
                entry_bytes=int(d["entry_bytes"]),
                d0_clips=int(d["d0_clips"]),
                d0_bytes=int(d["d0_bytes"]),
                budget_bytes=_optional_int(d["budget_bytes"]),
                user_clip_capacity=_optional_int(d["user_clip_capacity"]),
                used_bytes=_optional_int(d.get("used_bytes")),
                limit_bytes=_optional_int(d.get("limit_bytes")),
            ),
        )


@dataclass(frozen=True)
class TrainingMemory:
    """What training holds while one training method runs, read from the exported program.

    A device runs one training method at a time, so the training memory is the larger of the two
    methods' arenas plus the optimizer state. A plan the planner measured also carries its
    importance and the cache report at its cut.
    """

    # max(max(train_step, distill_step arenas) + optimizer state, train_steps arena) + delegate
    training_bytes: int
    budget_bytes: int | None  # the training-memory budget it was checked against; None: none
    within_budget: bool  # training_bytes <= budget_bytes (True without a budget)
    components: MemoryComponents  # the parts of training_bytes
    trainable_params: int  # trainable entries (what an update changes)
    trainable_bytes: int  # their float32 bytes
    importance: float | None = None  # the planner's total importance of what trains (or None)
    importance_source: str | None = None  # what the importance is: "fisher-d0" or "magnitude"
    cache: CacheReport | None = None  # the planner's cache report at the plan's cut

    @classmethod
    def from_arenas(
        cls,
        arenas: Mapping[str, int],
        trainable_params: int,
        momentum: bool,
        budget_bytes: int | None,
        delegate_workspace: int = 0,
    ) -> TrainingMemory:
        """The report from the planned arenas of an exported program's training methods and, for
        delegated ones, the largest of their measured delegate memory. ``train_steps`` holds its
        momentum buffer in its arena: the optimizer state outside is for the one-step methods."""
        optimizer = FLOAT_BYTES * trainable_params if momentum else 0
        train, distill = int(arenas["train_step"]), int(arenas["distill_step"])
        steps = int(arenas.get("train_steps", 0))
        total = max(max(train, distill) + optimizer, steps) + delegate_workspace
        return cls(
            training_bytes=total,
            budget_bytes=budget_bytes,
            within_budget=budget_bytes is None or total <= budget_bytes,
            components=MemoryComponents(train, distill, optimizer, delegate_workspace, steps),
            trainable_params=trainable_params,
            trainable_bytes=FLOAT_BYTES * trainable_params,
        )

    def against(self, budget_bytes: int | None) -> TrainingMemory:
        """The same figures checked against another budget."""
        fits = budget_bytes is None or self.training_bytes <= budget_bytes
        return replace(self, budget_bytes=budget_bytes, within_budget=fits)

    def without_optimizer_state(self) -> TrainingMemory:
        """The figures for plain SGD, which keeps no momentum buffers outside the arenas."""
        c = self.components
        one_step = max(c.train_step_arena, c.distill_step_arena)
        return replace(
            self,
            training_bytes=max(one_step, c.train_steps_arena) + c.delegate_workspace,
            components=replace(c, optimizer_state=0),
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "training_bytes": self.training_bytes,
            "budget_bytes": self.budget_bytes,
            "within_budget": self.within_budget,
            "components": self.components.to_dict(),
            "trainable_params": self.trainable_params,
            "trainable_bytes": self.trainable_bytes,
        }
        if self.importance is not None:
            data |= {"importance": self.importance, "importance_source": self.importance_source}
        if self.cache is not None:
            data["cache"] = self.cache.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingMemory:
        def build(d: Mapping[str, Any]) -> TrainingMemory:
            importance = d.get("importance")
            cache = d.get("cache")
            return cls(
                training_bytes=int(d["training_bytes"]),
                budget_bytes=_optional_int(d["budget_bytes"]),
                within_budget=bool(d["within_budget"]),
                components=MemoryComponents.from_dict(d["components"]),
                trainable_params=int(d["trainable_params"]),
                trainable_bytes=int(d["trainable_bytes"]),
                importance=None if importance is None else float(importance),
                importance_source=d.get("importance_source"),
                cache=None if cache is None else CacheReport.from_dict(cache),
            )

        return _parse("training memory", data, build)


@dataclass(frozen=True)
class BundleMemory:
    """A bundle's memory figures, all read from its written program."""

    planned_bytes: Mapping[str, int]  # planned arena bytes of every method, by name
    training: TrainingMemory  # what training holds
    cache: CacheReport  # what cached features take at the bundle's cut
    program_bytes: int  # size of model.pte

    def to_dict(self) -> dict[str, Any]:
        return {
            "planned_bytes": dict(self.planned_bytes),
            "training": self.training.to_dict(),
            "cache": self.cache.to_dict(),
            "program_bytes": self.program_bytes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BundleMemory:
        return _parse(
            "bundle memory",
            data,
            lambda d: cls(
                planned_bytes={str(k): int(v) for k, v in dict(d["planned_bytes"]).items()},
                training=TrainingMemory.from_dict(d["training"]),
                cache=CacheReport.from_dict(d["cache"]),
                program_bytes=int(d["program_bytes"]),
            ),
        )
