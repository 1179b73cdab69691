"""Training plans for a memory budget: the best trainable set that fits, or the smallest budget.

Training memory is measured on the exported program (:func:`edgekit.export.memory.measure_plan`),
never estimated: every plan the planner returns was exported and read back, and its ``memory``
says so. The search uses estimates only to decide what to export next.

The plan space of a model: a cut (``model.cut_points()``), a batch (``PlanConfig.batches``) and,
above the cut, which output rows of each layer's weight and which biases train. The classifier
(the last layer) always trains whole, so a new class can be enrolled into any free slot; the
smallest plan is the classifier alone over pooled features at the smallest batch.

Sparse plans (``scheme="sparse"``) follow one documented rule: units (one output row of a weight,
or one whole bias) are ranked by importance per byte, importance being their diagonal Fisher
information on D0 (:mod:`edgekit.budget.importance`) and bytes what training them costs (the
parameter, its gradient and its momentum buffer). For every cut and batch the longest prefix of
that ranking that fits is taken (at a deeper cut, the best unit below the head first, else the
cut would only add cost); of those, the plan with the most total importance wins, ties going to
the larger batch and then to the shallower cut. "Last-k" plans (``scheme="last-k"``), the usual
baseline, train the top k layers whole, for the largest k that fits, at the largest batch that
fits. The unbounded plan trains everything the model offers at its deepest cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from edgekit.budget.config import PlanConfig
from edgekit.budget.estimate import cumulative_costs, whole_is_cheaper
from edgekit.budget.importance import fisher_information, magnitude
from edgekit.budget.ranking import Unit, plan_importance, rank_units
from edgekit.errors import BudgetTooSmall, ConfigError, DataError
from edgekit.export.memory import measure_plan, train_step_arena
from edgekit.export.stages import LoweredCache
from edgekit.models.base import KwsModel
from edgekit.models.pretrain import compute_logmel
from edgekit.models.tail import LayerTrain, Tail
from edgekit.plan.cache import cache_report
from edgekit.plan.reports import TrainingMemory
from edgekit.plan.spec import TrainingPlan

__all__ = ["Planner"]


class Planner:
    """Plans for one model; exported programs are measured once and remembered.

    ``d0`` is PCM of the global set (``(clips, samples)``) for the Fisher information (``None``:
    the magnitude fallback) with ``n_classes`` live classes; ``d0_clips`` is how many clips the
    bundle's D0 will hold at the cut (for the cache budget; default ``len(d0)``). Pass
    ``planner.lowered`` to :func:`~edgekit.export.bundle.export_bundle` to ship the very methods
    that were measured.
    """

    def __init__(
        self,
        model: KwsModel,
        d0: np.ndarray | None = None,
        n_classes: int | None = None,
        d0_clips: int | None = None,
        config: PlanConfig | None = None,
        progress: bool = False,
        lowered: LoweredCache | None = None,
    ) -> None:
        self.model = model.eval()
        # the measured plans' training methods, lowered once and reused by their export
        self.lowered = lowered if lowered is not None else LoweredCache()
        self.config = config or PlanConfig()
        self.slots = model.head.config.max_classes
        self.d0_clips = d0_clips if d0_clips is not None else (0 if d0 is None else len(d0))
        self.cuts = model.cut_points()
        self.deepest = self.cuts[-1]
        full = self._everything(self.deepest)
        self.classifier = full.classifier()
        self._layers = full.layers()
        self.layer_order = list(self._layers)  # lowest first
        self.importance_source = "fisher-d0" if d0 is not None else "magnitude"
        scores = self._scores(full, d0, n_classes)
        self.units = rank_units(full, scores, self.classifier, self.config.row_group)
        self._memory: dict[tuple[object, ...], TrainingMemory] = {}
        self._train_arena: dict[tuple[object, ...], int] = {}
        self._bar = tqdm(
            desc="exporting plans to measure them",
            unit="program",
            disable=not progress,
            leave=False,
        )

    # ------------------------------------------------------------------ units
    def _everything(self, cut: str) -> Tail:
        layers = self.model.tail(cut).layers()
        return self.model.tail(cut, {n: self._whole(n, layers) for n in layers})

    @staticmethod
    def _whole(name: str, layers: dict[str, Any]) -> LayerTrain:
        layer = layers[name]
        return LayerTrain(rows=tuple(range(layer.n_out)) if layer.has_weight else (), bias=True)

    def _scores(
        self, tail: Tail, d0: np.ndarray | None, n_classes: int | None
    ) -> dict[str, torch.Tensor]:
        if d0 is None:
            return magnitude(tail)
        if n_classes is None:
            raise ConfigError("n_classes (the live classes of D0) is required with d0")
        d0 = np.asarray(d0, dtype=np.float32)
        samples = self.model.frontend.config.clip_samples
        if d0.ndim != 2 or d0.shape[1] != samples or not len(d0) or not np.isfinite(d0).all():
            raise DataError(f"d0 must be finite PCM (clips >= 1, {samples}), got {d0.shape}")
        with torch.no_grad():
            logmel = compute_logmel(self.model.frontend, d0)
            parts = self.model.features_at(self.deepest, logmel)
        cfg = self.config
        return fisher_information(tail, parts, n_classes, cfg.fisher_samples, cfg.seed)

    def _available(self, cut: str) -> set[str]:
        return set(self.model.tail(cut).layers())

    # ---------------------------------------------------------------- measure
    def measure(self, plan: TrainingPlan) -> TrainingPlan:
        """The plan with its memory read from both its exported training methods."""
        key = plan.key()
        if key not in self._memory:
            self._memory[key] = measure_plan(self.model, plan, self.config.temperature, self.slots)
            self._bar.update()
        report = replace(
            self._memory[key].against(plan.budget_bytes),
            importance=self.importance(plan),
            importance_source=self.importance_source,
            cache=cache_report(self.model, plan.cut, self.d0_clips, plan.cache_budget_bytes),
        )
        return plan.with_memory(report)

    def _bound(self, plan: TrainingPlan) -> int:
        """Training bytes of ``plan`` from its ``train_step`` alone (half the export work):
        ``distill_step`` differs only by its input, soft targets ``(batch, slots)`` in place of
        labels, so its arena is bounded by ``train_step``'s plus those targets' bytes. Searches
        use this bound; every plan returned is then measured whole."""
        key = plan.key()
        if key in self._memory:
            return self._memory[key].training_bytes
        if plan.kernels != "portable":  # a delegate's memory has no such bound: measure whole
            return self.measure(plan).measured.training_bytes
        if key not in self._train_arena:
            self._train_arena[key] = train_step_arena(self.model, plan, self.slots)
            self._bar.update()
        soft_targets = 4 * plan.batch * self.slots
        optimizer = 4 * plan.trainable_params(self.model) if plan.momentum else 0
        return self._train_arena[key] + soft_targets + optimizer

    def _fits(self, plan: TrainingPlan, budget: int) -> bool:
        """Whether ``plan`` fits ``budget``: by the bound, or exactly where the bound's slack
        (at most the soft targets' bytes) decides. A delegated plan's bound is its measured
        memory."""
        bound = self._bound(plan)
        if bound <= budget or bound - 4 * plan.batch * self.slots > budget:
            return bound <= budget
        return self.measure(plan).measured.training_bytes <= budget

    def importance(self, plan: TrainingPlan) -> float:
        """Total importance of what a plan trains (the classifier, always whole, counts 0)."""
        return plan_importance(self.units, plan)

    def _plan(
        self,
        cut: str,
        batch: int,
        units: Sequence[Unit],
        scheme: str,
        budget: int | None,
        cache: int | None,
    ) -> TrainingPlan:
        layers = {self.classifier: self._whole(self.classifier, self.model.tail(cut).layers())}
        rows: dict[str, set[int]] = {}
        bias: set[str] = set()
        for unit in units:
            if unit.rows:
                rows.setdefault(unit.layer, set()).update(unit.rows)
            else:
                bias.add(unit.layer)
        everything = self._layers
        for name in sorted(set(rows) | bias):
            chosen = rows.get(name, set())
            if whole_is_cheaper(everything[name], len(chosen), batch):
                chosen = set(range(everything[name].n_out))
            layers[name] = LayerTrain(tuple(sorted(chosen)), name in bias)
        return TrainingPlan(
            arch=self.model.arch,
            cut=cut,
            batch=batch,
            layers=dict(sorted(layers.items(), key=lambda kv: self.layer_order.index(kv[0]))),
            momentum=self.config.momentum,
            scheme=scheme,
            kernels=self.config.kernels,
            budget_bytes=budget,
            cache_budget_bytes=cache,
        )

    # ------------------------------------------------------------- the plans
    def smallest(self, cache_budget: int | None = None) -> TrainingPlan:
        """The classifier alone over pooled features at the smallest batch."""
        self._check_cache(cache_budget)
        plan = self._plan(self.cuts[0], min(self.config.batches), [], "sparse", None, cache_budget)
        return self.measure(plan)

    def minimum_bytes(self) -> int:
        """The smallest training memory any plan of this model needs."""
        return self.smallest().measured.training_bytes

    def unbounded(self, cache_budget: int | None = None) -> TrainingPlan:
        """Everything the model offers at its deepest cut the cache budget allows."""
        cut = self._cuts(cache_budget)[-1]
        units = self._ranked(cut)
        plan = self._plan(cut, max(self.config.batches), units, "unbounded", None, cache_budget)
        return self.measure(plan)

    def sparse(self, budget: int | None, cache_budget: int | None = None) -> TrainingPlan:
        """The sparse plan with the most importance that fits ``budget`` bytes."""
        if budget is None:
            return self.unbounded(cache_budget)
        self._check_budget(budget, cache_budget)
        best: tuple[tuple[float, int, int], str, int] | None = None
        for depth, cut in enumerate(self._cuts(cache_budget)):
            ranked = self._ranked(cut)
            for batch in sorted(self.config.batches, reverse=True):
                n = self._estimate(cut, batch, budget, cache_budget)
                if n is None:
                    continue
                score = (sum(u.importance for u in ranked[:n]), batch, -depth)
                if best is None or score > best[0]:
                    best = (score, cut, batch)
                if n == len(ranked):  # everything fits: a smaller batch cannot do better
                    break
        if best is None:  # the smallest plan fits (checked above), so this cannot happen
            raise BudgetTooSmall(budget, self.minimum_bytes())
        _, cut, batch = best
        return self._search(cut, batch, budget, cache_budget)

    def last_k(self, budget: int | None, cache_budget: int | None = None) -> TrainingPlan:
        """The top k layers whole, for the largest k that fits, at the largest batch that fits."""
        cuts = self._cuts(cache_budget)
        self._check_budget(budget, cache_budget)
        order = list(reversed(self.layer_order))  # the classifier first
        for k in range(len(order), 0, -1):
            top = set(order[:k])
            cut = next((c for c in cuts if top <= self._available(c)), None)
            if cut is None:
                continue
            units = [u for u in self.units if u.layer in top]
            for batch in sorted(self.config.batches, reverse=True):
                plan = self._plan(cut, batch, units, "last-k", budget, cache_budget)
                if budget is None or self._fits(plan, budget):
                    measured = self.measure(plan)
                    if measured.measured.within_budget:
                        return measured
        raise BudgetTooSmall(budget or 0, self.minimum_bytes())

    # ---------------------------------------------------------------- search
    def _ranked(self, cut: str) -> list[Unit]:
        """The units above ``cut`` by importance per byte; at a deeper cut, the best deep one
        first (training nothing below the head there would only cost more)."""
        available = self._available(cut)
        units = [u for u in self.units if u.layer in available]
        if cut == self.cuts[0]:
            return units
        head = self._available(self.cuts[0])
        deep = next(u for u in units if u.layer not in head)
        return [deep, *(u for u in units if u is not deep)]

    def _floor(self, cut: str) -> int:
        return 0 if cut == self.cuts[0] else 1

    def _estimate(self, cut: str, batch: int, budget: int, cache: int | None) -> int | None:
        """The longest prefix of ``_ranked(cut)`` estimated to fit: the floor and the whole set
        are measured, what lies between estimated; None when the floor does not fit."""
        ranked = self._ranked(cut)
        # the whole set first: a layer whose rows all train needs no row-selection matmuls, so
        # the whole set can need less than a prefix just short of it
        everything = self._plan(cut, batch, ranked, "sparse", budget, cache)
        if self._fits(everything, budget):  # one export per cut and batch, remembered
            return len(ranked)
        floor = self._floor(cut)
        floor_plan = self._plan(cut, batch, ranked[:floor], "sparse", budget, cache)
        if not self._fits(floor_plan, budget):
            return None
        low = self._bound(floor_plan)
        costs = cumulative_costs(ranked, self._layers, batch)
        fits = [n for n in range(floor, len(ranked) + 1) if low + costs[n] - costs[floor] <= budget]
        return fits[-1]

    def _search(self, cut: str, batch: int, budget: int, cache: int | None) -> TrainingPlan:
        """The longest prefix of ``_ranked(cut)`` whose measured memory fits: a secant search on
        measured bytes against estimated cost, which is close to linear, so a few exports do."""
        ranked = self._ranked(cut)
        costs = cumulative_costs(ranked, self._layers, batch)

        def plan(n: int) -> TrainingPlan:
            return self._plan(cut, batch, ranked[:n], "sparse", budget, cache)

        lo = self._floor(cut)  # fits (checked when the cut and batch were estimated)
        hi = len(ranked) + 1  # the first prefix known not to fit (past the end: none)
        if self._fits(plan(len(ranked)), budget):
            lo = len(ranked)
        else:
            hi = len(ranked)
        points = {lo: self._bound(plan(lo))}

        def probe(n: int) -> bool:
            points[n] = self._bound(plan(n))
            return self._fits(plan(n), budget)

        while hi - lo > 1:
            known = sorted(points)
            a, b = known[0], known[-1]
            if b > a and costs[b] > costs[a]:
                slope = (points[b] - points[a]) / (costs[b] - costs[a])
            else:
                slope = 1.0
            room = (budget - points[lo]) / max(slope, 1e-9)
            guess = max(n for n in range(lo, hi) if costs[n] - costs[lo] <= room)
            guess = min(max(guess, lo + 1), hi - 1)
            if probe(guess):
                lo = guess
                if guess + 1 < hi:  # bracket from above at once: the estimate is usually right
                    lo, hi = (guess + 1, hi) if probe(guess + 1) else (lo, guess + 1)
            else:
                hi = guess
        while True:  # measured whole; the bound makes a miss unlikely, but never return one
            measured = self.measure(plan(lo))
            if measured.measured.within_budget or lo == self._floor(cut):
                return measured
            lo -= 1

    # ---------------------------------------------------------------- checks
    def _cuts(self, cache_budget: int | None) -> list[str]:
        """The cuts whose cached features leave room for ``min_cache_clips`` user clips."""
        self._check_cache(cache_budget)
        if cache_budget is None:
            return list(self.cuts)
        need = self.config.min_cache_clips
        return [
            cut
            for cut in self.cuts
            if (cache_report(self.model, cut, self.d0_clips, cache_budget).user_clip_capacity or 0)
            >= need
        ]

    def _check_cache(self, cache_budget: int | None) -> None:
        if cache_budget is None:
            return
        report = cache_report(self.model, self.cuts[0], self.d0_clips, None)
        need = report.d0_bytes + self.config.min_cache_clips * report.entry_bytes
        if cache_budget < need:
            raise BudgetTooSmall(cache_budget, need, what="feature cache")

    def _check_budget(self, budget: int | None, cache_budget: int | None) -> None:
        if budget is None:
            return
        if budget < 0:
            raise ConfigError(f"budget must be >= 0 bytes, got {budget}")
        minimum = self.smallest(cache_budget).measured.training_bytes
        if budget < minimum:
            raise BudgetTooSmall(budget, minimum)
