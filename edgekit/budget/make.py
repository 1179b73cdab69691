"""Plans from what a user has: a checkpoint or an architecture name, and optionally a corpus."""

from __future__ import annotations

from pathlib import Path

from edgekit.budget.config import PlanConfig
from edgekit.budget.search import Planner
from edgekit.data.corpus import ClipSet, Corpus
from edgekit.data.d0 import select_d0
from edgekit.errors import ConfigError
from edgekit.models import ARCHITECTURES, KwsModel, build_model
from edgekit.plan.sizes import parse_bytes
from edgekit.plan.spec import KERNELS, TrainingPlan

__all__ = ["SCHEME_NAMES", "check_scheme", "choose_plan", "load_model", "make_plan", "planner_for"]

SCHEME_NAMES = ("sparse", "last-k")


def check_scheme(scheme: str) -> None:
    """Refuse a scheme name that is not one of :data:`SCHEME_NAMES`."""
    if scheme not in SCHEME_NAMES:
        raise ConfigError(f"scheme must be one of {list(SCHEME_NAMES)}, got {scheme!r}")


def check_kernels(kernels: str | None) -> None:
    """Refuse training kernels that are not one of :data:`edgekit.plan.spec.KERNELS`."""
    if kernels is not None and kernels not in KERNELS:
        raise ConfigError(f"--training-kernels must be one of {list(KERNELS)}, got {kernels!r}")


def load_model(model: str | Path) -> tuple[KwsModel, tuple[str, ...] | None]:
    """A checkpoint file (``edgekit pretrain``) or an architecture name (untrained weights)."""
    from edgekit.models.pretrain import load_checkpoint

    path = Path(model)
    if path.is_file():
        loaded, labels, _ = load_checkpoint(path)
        return loaded, labels
    if str(model) in ARCHITECTURES:
        return build_model(str(model)).eval(), None
    raise ConfigError(
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
    check_scheme(scheme)
    if scheme == "sparse":
        return planner.sparse(budget, cache_budget)
    return planner.last_k(budget, cache_budget)


def make_plan(
    model: KwsModel,
    budget: int | str | None = None,
    cache_budget: int | str | None = None,
    d0: Corpus | ClipSet | None = None,
    scheme: str = "sparse",
    config: PlanConfig | None = None,
    d0_per_class: int = 20,
    progress: bool = False,
) -> TrainingPlan:
    """A plan for ``model`` within ``budget`` bytes of training memory (``256KiB``, an int, or
    None: unbounded), its cached features within ``cache_budget``.

    ``d0`` (a corpus, whose train split is used, or labelled clips) gives the importance its
    data: ``d0_per_class`` clips of each class, as the bundle's D0 will hold. ``scheme``:
    "sparse" (the planner's rule) or "last-k" (the baseline). Raises
    :class:`~edgekit.errors.BudgetTooSmall` carrying the smallest feasible budget.
    """
    check_scheme(scheme)
    limit, cache_limit = parse_bytes(budget), parse_bytes(cache_budget)
    if isinstance(d0, Corpus):
        d0 = d0.subset(splits=["train"]).load(progress=False)
    if d0 is None:
        planner = Planner(model, None, None, config=config, progress=progress)
    else:
        chosen = select_d0(d0, d0_per_class)
        n_classes = len(chosen.label_names)
        planner = Planner(model, chosen.audio, n_classes, config=config, progress=progress)
    make = planner.sparse if scheme == "sparse" else planner.last_k
    return make(limit, cache_limit)
