"""Plans from what a user has: a checkpoint or an architecture name, and optionally a corpus."""

from __future__ import annotations

from pathlib import Path

from edgekit.data.corpus import ClipSet
from edgekit.errors import EdgekitError
from edgekit.models import ARCHITECTURES, KwsModel, build_model
from edgekit.plan.planner import PlanConfig, Planner
from edgekit.plan.spec import TrainingPlan

__all__ = ["SCHEME_NAMES", "choose_plan", "load_model", "planner_for"]

SCHEME_NAMES = ("sparse", "last-k")


def load_model(model: str | Path) -> tuple[KwsModel, tuple[str, ...] | None]:
    """A checkpoint file (``edgekit pretrain``) or an architecture name (untrained weights)."""
    from edgekit.models.pretrain import load_checkpoint

    path = Path(model)
    if path.is_file():
        loaded, labels, _ = load_checkpoint(path)
        return loaded, labels
    if str(model) in ARCHITECTURES:
        return build_model(str(model)).eval(), None
    raise EdgekitError(
        f"{model} is neither a checkpoint file nor an architecture ({sorted(ARCHITECTURES)})"
    )


def planner_for(
    model: KwsModel,
    d0: ClipSet | None,
    d0_clips: int | None = None,
    config: PlanConfig | None = None,
    progress: bool = False,
) -> Planner:
    """A planner whose importance is the Fisher information on ``d0`` (magnitude without)."""
    if d0 is None:
        return Planner(model, None, None, d0_clips, config, progress)
    n_classes = len(d0.label_names)
    return Planner(model, d0.audio, n_classes, d0_clips or len(d0), config, progress)


def choose_plan(
    planner: Planner, budget: int | None, cache_budget: int | None, scheme: str
) -> TrainingPlan:
    """``scheme`` is "sparse" (the planner's rule) or "last-k" (the baseline)."""
    if scheme == "sparse":
        return planner.sparse(budget, cache_budget)
    if scheme == "last-k":
        return planner.last_k(budget, cache_budget)
    raise ValueError(f"scheme must be one of {list(SCHEME_NAMES)}, got {scheme!r}")
