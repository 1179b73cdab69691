"""A plan and its measured memory as a table people read (``edgekit plan``, ``edgekit info``)."""

from __future__ import annotations

from edgekit.plan.sizes import format_bytes
from edgekit.plan.spec import TrainingPlan

__all__ = ["memory_table"]


def _row(label: str, value: int, note: str = "") -> str:
    return f"  {label:<28}{value:>12,}  {note}".rstrip()


def memory_table(plan: TrainingPlan) -> str:
    """What trains, and every component of the training memory as the program reports it."""
    memory = plan.memory
    lines = [plan.describe()]
    if memory is None:
        return "\n".join([*lines, "  (not measured)"])
    parts = memory.components
    lines.append(
        f"trainable entries: {memory.trainable_params:,} ({memory.trainable_bytes:,} bytes)"
    )
    if memory.importance is not None:
        lines.append(f"importance: {memory.importance:.4g} ({memory.importance_source or '?'})")
    budget = plan.budget_bytes
    if budget is None:
        verdict = "no budget"
    else:
        fits = "fits" if memory.training_bytes <= budget else "OVER"
        verdict = f"budget {budget:,} = {format_bytes(budget)}: {fits}"
    momentum = "SGD momentum" if plan.momentum else "none: plain SGD"
    lines += [
        f"  {'memory (read from the program)':<28}{'bytes':>12}",
        _row("train_step arena", parts.train_step_arena),
        _row("distill_step arena", parts.distill_step_arena),
        _row("optimizer state", parts.optimizer_state, f"({momentum})"),
        _row("delegate workspace", parts.delegate_workspace, _kernels_note(plan.kernels)),
    ]
    if parts.train_steps_arena:
        steps = f"({plan.steps_per_call} SGD steps per call, momentum inside)"
        lines.append(_row("train_steps arena", parts.train_steps_arena, steps))
    lines += [
        _row("training memory", memory.training_bytes, f"({verdict})"),
    ]
    cache = memory.cache
    if cache is not None:
        line = f"feature cache at cut {cache.cut!r}: {cache.clip_bytes:,} bytes per clip"
        if cache.d0_clips:
            line += f"; D0 {cache.d0_clips} clips = {format_bytes(cache.d0_bytes)}"
        if cache.budget_bytes is not None:
            line += (
                f"; the {format_bytes(cache.budget_bytes)} cache budget holds "
                f"{cache.user_clip_capacity or 0:,} user clips beside D0"
            )
        lines.append(line)
    return "\n".join(lines)


def _kernels_note(kernels: str) -> str:
    if kernels == "portable":
        return "(portable kernels: not delegated)"
    return f"({kernels}: measured in the runtime)"
