"""Training plans as data: validation, JSON round trip, the default head plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgekit.errors import ConfigError, FileFormatError
from edgekit.models import build_model
from edgekit.models.tail import LayerTrain
from edgekit.plan.reports import TrainingMemory
from edgekit.plan.spec import TrainingPlan


def test_head_plan_trains_the_whole_head() -> None:
    model = build_model("tcresnet")
    plan = TrainingPlan.head(model, batch=16)
    assert plan.cut == "pooled" and plan.batch == 16 and plan.scheme == "head"
    params = sum(p.numel() for p in model.head.parameters())
    assert plan.trainable_params(model) == params


def test_round_trip_through_json(tmp_path: Path) -> None:
    plan = TrainingPlan(
        "dscnn",
        "block4",
        8,
        {"block4.pw": LayerTrain(rows=(3, 1), bias=True), "head.fc2": LayerTrain(bias=True)},
        momentum=False,
        scheme="sparse",
        budget_bytes=1000,
        cache_budget_bytes=None,
        memory=TrainingMemory.from_arenas(
            {"train_step": 500, "distill_step": 520}, 30, momentum=False, budget_bytes=1000
        ),
    )
    plan.save(tmp_path / "plan.json")
    again = TrainingPlan.load(tmp_path / "plan.json")
    assert again == plan and again.layers["block4.pw"].rows == (1, 3)
    assert again.key() == plan.key() and again.measured.training_bytes == 520


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"batch": 0}, "batch"),
        ({"scheme": "random"}, "scheme"),
        ({"layers": {"head.fc2": LayerTrain()}}, "at least one layer"),
        ({"budget_bytes": -1}, "budget_bytes"),
    ],
)
def test_invalid_plans_are_refused(change: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "arch": "tcresnet",
        "cut": "pooled",
        "batch": 8,
        "layers": {"head.fc2": LayerTrain(bias=True)},
    }
    with pytest.raises(ConfigError, match=message):
        TrainingPlan(**(fields | change))  # type: ignore[arg-type]


def test_a_plan_for_another_architecture_is_refused() -> None:
    plan = TrainingPlan.head(build_model("resnet"))
    with pytest.raises(ConfigError, match="the plan is for resnet"):
        plan.tail(build_model("tcresnet"))


def test_unreadable_plan_file(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"arch": "tcresnet"}')
    with pytest.raises(FileFormatError, match="not a training plan"):
        TrainingPlan.load(tmp_path / "bad.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "is not a readable training plan"),
        ("{not json", "is not a readable training plan"),
        ('{"arch": "tcresnet", "cut": "pooled", "batch": 0, "layers": {}}', "batch must be >= 1"),
        ('{"arch": "a", "cut": "pooled", "batch": 8, "layers": {}, "memory": {"x": 1}}', "report"),
    ],
)
def test_a_plan_file_names_itself_in_its_error(
    tmp_path: Path, content: str | None, message: str
) -> None:
    # Prepare: a missing file, or one that is not a plan
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content)
    # Execute / Assert
    with pytest.raises(FileFormatError, match=message) as info:
        TrainingPlan.load(path)
    assert str(path) in str(info.value)


def test_measured_memory_of_a_plan_never_measured_is_a_clear_error() -> None:
    plan = TrainingPlan.head(build_model("tcresnet"))
    with pytest.raises(ConfigError, match="never measured"):
        _ = plan.measured
