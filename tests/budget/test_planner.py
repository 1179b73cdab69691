"""The planner against real exported programs: every plan fits its budget, as measured."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgekit.budget.config import PlanConfig
from edgekit.budget.make import make_plan
from edgekit.budget.search import Planner
from edgekit.errors import BudgetTooSmall, ConfigError
from edgekit.export.memory import measure_plan
from edgekit.models import HeadConfig, build_model

pytestmark = pytest.mark.slow
CONFIG = PlanConfig(batches=(8, 4), fisher_samples=1)


@pytest.fixture(scope="module", params=["tcresnet", "dscnn"])
def planner(request: pytest.FixtureRequest) -> Planner:
    torch.manual_seed(0)
    model = build_model(request.param, head=HeadConfig(hidden=16, max_classes=4))
    d0 = (np.random.default_rng(0).standard_normal((12, 16_000)) * 0.1).astype(np.float32)
    return Planner(model, d0, n_classes=3, d0_clips=12, config=CONFIG)


def test_every_plan_fits_its_budget_as_measured(planner: Planner) -> None:
    low = planner.minimum_bytes()
    high = planner.unbounded().measured.training_bytes
    assert low < high
    budgets = np.geomspace(low, high, 3).round().astype(int).tolist()  # the floor, between, all
    plans = {}
    for budget in budgets:
        for scheme in ("sparse", "last_k"):
            plan = plans[scheme, budget] = getattr(planner, scheme)(budget)
            assert plan.measured.training_bytes <= budget, (scheme, budget, plan.describe())
            assert plan.measured.within_budget and plan.budget_bytes == budget
            assert plan.layers[planner.classifier].rows  # the classifier always trains whole
    # the report is the program's own: the sparse plan between the bounds, exported afresh
    between = plans["sparse", budgets[1]]
    fresh = measure_plan(planner.model, between, CONFIG.temperature)
    assert fresh.training_bytes == between.measured.training_bytes
    assert fresh.components == between.measured.components
    unbounded = planner.unbounded()
    assert unbounded.cut == planner.model.cut_points()[-1] and unbounded.batch == 8
    assert unbounded.trainable_params(planner.model) == max(
        planner.last_k(b).trainable_params(planner.model) for b in budgets
    )


def test_a_budget_below_the_smallest_plan_names_the_minimum(planner: Planner) -> None:
    minimum = planner.minimum_bytes()
    with pytest.raises(BudgetTooSmall) as info:
        planner.sparse(minimum - 1)
    assert info.value.minimum_bytes == minimum and info.value.budget_bytes == minimum - 1
    assert "smallest feasible training memory budget is" in str(info.value)
    with pytest.raises(BudgetTooSmall):
        planner.last_k(minimum - 1)
    smallest = planner.sparse(minimum)  # exactly the minimum is feasible
    assert smallest.measured.training_bytes == minimum
    assert set(smallest.layers) == {planner.classifier} and smallest.batch == 4


def test_the_cache_budget_decides_how_deep_the_cut_can_go(planner: Planner) -> None:
    pooled, deep = planner.model.cut_points()[:2]
    report = planner.measure(planner.smallest()).measured.cache
    assert report is not None
    need = report.d0_bytes + CONFIG.min_cache_clips * report.entry_bytes
    with pytest.raises(BudgetTooSmall) as info:
        planner.unbounded(cache_budget=need - 1)
    assert info.value.what == "feature cache" and info.value.minimum_bytes == need
    only_pooled = planner.unbounded(cache_budget=need)
    assert only_pooled.cut == pooled
    cache = only_pooled.measured.cache
    assert cache is not None and (cache.user_clip_capacity or 0) >= CONFIG.min_cache_clips
    assert planner.unbounded().cut == deep


def test_make_plan_refuses_an_unknown_scheme() -> None:
    with pytest.raises(ConfigError, match="scheme must be one of"):
        make_plan(build_model("tcresnet"), "1MiB", scheme="random")
