"""Memory reports as data: their figures, and the manifest's JSON form, key for key."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from edgekit.errors import FileFormatError
from edgekit.plan.reports import BundleMemory, CacheReport, MemoryComponents, TrainingMemory

# A bundle's "memory" as manifest.json holds it (every key, in the order it is written).
MANIFEST_MEMORY: dict[str, Any] = {
    "planned_bytes": {"embed": 9000, "train_step": 4000, "distill_step": 4200, "classify": 700},
    "training": {
        "training_bytes": 4600,
        "budget_bytes": 8192,
        "within_budget": True,
        "components": {
            "train_step_arena": 4000,
            "distill_step_arena": 4200,
            "optimizer_state": 400,
            "delegate_workspace": 0,
        },
        "trainable_params": 100,
        "trainable_bytes": 400,
    },
    "cache": {
        "cut": "pooled",
        "clip_bytes": 192,
        "entry_bytes": 352,
        "d0_clips": 12,
        "d0_bytes": 2304,
        "budget_bytes": None,
        "user_clip_capacity": None,
    },
    "program_bytes": 123456,
}


def test_the_manifest_form_round_trips_key_for_key() -> None:
    # Execute
    memory = BundleMemory.from_dict(MANIFEST_MEMORY)
    written = memory.to_dict()
    # Assert: the same content, and the same key order at every level
    assert written == MANIFEST_MEMORY
    assert list(written) == list(MANIFEST_MEMORY)
    assert list(written["training"]) == list(MANIFEST_MEMORY["training"])
    assert list(written["cache"]) == list(MANIFEST_MEMORY["cache"])
    assert memory.training.components.optimizer_state == 400
    assert memory.cache.user_clip_capacity is None


def test_training_memory_from_the_arenas() -> None:
    # Execute
    memory = TrainingMemory.from_arenas(
        {"train_step": 4000, "distill_step": 4200}, 100, momentum=True, budget_bytes=4500
    )
    # Assert: the larger arena plus one momentum float per trainable entry
    assert memory.training_bytes == 4200 + 4 * 100
    assert memory.components == MemoryComponents(4000, 4200, 400, 0)
    assert not memory.within_budget and memory.budget_bytes == 4500
    assert memory.against(4600).within_budget and memory.against(None).within_budget
    plain = memory.without_optimizer_state()
    assert plain.training_bytes == 4200 and plain.components.optimizer_state == 0


def test_train_steps_holds_its_momentum_in_its_arena() -> None:
    arenas = {"train_step": 4000, "distill_step": 4200, "train_steps": 4500}
    memory = TrainingMemory.from_arenas(
        arenas, 100, momentum=True, budget_bytes=None, delegate_workspace=50
    )
    # the one-step methods need their arena and the optimizer's buffers outside it
    assert memory.training_bytes == max(4200 + 400, 4500) + 50
    assert memory.without_optimizer_state().training_bytes == 4500 + 50
    assert TrainingMemory.from_dict(memory.to_dict()) == memory
    larger = TrainingMemory.from_arenas({**arenas, "train_steps": 9000}, 100, True, None)
    assert larger.training_bytes == 9000 and larger.components.train_steps_arena == 9000


def test_a_planned_plan_carries_importance_and_cache() -> None:
    # Prepare
    training = TrainingMemory.from_dict(MANIFEST_MEMORY["training"])
    cache = CacheReport.from_dict(MANIFEST_MEMORY["cache"])
    planned = replace(training, importance=0.25, importance_source="fisher-d0", cache=cache)
    # Execute
    data = planned.to_dict()
    # Assert: the planner's notes follow the measured figures, and read back
    assert list(data)[-3:] == ["importance", "importance_source", "cache"]
    assert TrainingMemory.from_dict(data) == planned
    assert "importance" not in training.to_dict() and "cache" not in training.to_dict()


def test_a_device_adds_its_cache_use() -> None:
    # Prepare
    cache = CacheReport.from_dict(MANIFEST_MEMORY["cache"])
    # Execute
    data = replace(cache, used_bytes=704, limit_bytes=1 << 20).to_dict()
    # Assert
    assert list(data)[-2:] == ["used_bytes", "limit_bytes"] and data["used_bytes"] == 704


@pytest.mark.parametrize(
    "damage",
    [
        lambda m: m.pop("training"),
        lambda m: m["cache"].pop("cut"),
        lambda m: m["training"]["components"].update(train_step_arena="lots"),
        lambda m: m.update(planned_bytes=[1, 2]),
    ],
)
def test_a_damaged_report_is_a_file_format_error(damage: Callable[[Any], object]) -> None:
    # Prepare
    data = copy.deepcopy(MANIFEST_MEMORY)
    damage(data)
    # Execute / Assert
    with pytest.raises(FileFormatError, match="report"):
        BundleMemory.from_dict(data)
