"""``train_steps``: several SGD steps of ``train_step`` in one call of the program.

A device that trains through ``train_step`` pays, on every step, the runtime's call (inputs in,
a dozen outputs out) and the host code around it (the NaN check, clipping, the optimizer). For a
head over cached features the step itself is a few microseconds of arithmetic, so those fixed
costs are most of an epoch. ``train_steps`` runs ``K`` steps (``TrainingPlan.steps_per_call``)
in one call, with the update inside the program:

    train_steps(theta, velocity, *parts, labels, class_mask, hyper, active)
        -> (theta, velocity, losses, norms)

- ``theta`` ``(P,)``: every trainable tensor, flattened and concatenated in the manifest's
  ``trainable`` order; ``velocity`` ``(P,)``: the SGD momentum buffer (zeros to start);
- ``parts`` ``(K, batch, *shape)`` and ``labels`` ``(K, batch)``: ``K`` batches of
  ``train_step``; ``class_mask`` as ``train_step`` takes it;
- ``hyper`` ``(3,)``: learning rate, momentum and the gradient-norm bound (``inf``: none);
- ``active`` ``(K,)``: 1 for a step to apply, 0 for one to skip (the padding of a last call):
  a skipped step leaves ``theta`` and ``velocity`` exactly as they were, if its gradients are
  finite;
- ``losses``, ``norms`` ``(K,)``: each step's loss and global gradient norm, before clipping.

Each step is the SGD of the runtime's optimizer (``extension/training/optimizer/sgd.cpp``, no
dampening or weight decay): ``v = momentum * v + g``, ``theta -= lr * v``, after the gradient
is scaled to the norm bound if it exceeds it, as the host does for ``train_step``. A step with a
non-finite loss or norm is not guarded in the program: its NaN would reach ``theta``. The host
sees it in ``losses``/``norms`` and runs the call again with that step skipped and its batch
replaced (:mod:`edgekit.device.fused`), so the result is the one ``train_step`` gives.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.export import ExportedProgram
from torch.export.graph_signature import InputKind, OutputKind

from edgekit.errors import ExportError
from edgekit.export.label_targets import label_targets, targets_as_input
from edgekit.plan.spec import MAX_STEPS_PER_CALL

__all__ = ["steps_inputs", "steps_method"]


class _Steps(nn.Module):
    """``K`` unrolled SGD steps around the graph of a joint ``train_step`` program."""

    def __init__(self, joint: ExportedProgram, steps: int) -> None:
        super().__init__()
        signature = joint.graph_signature
        if any(
            s.kind
            not in (
                OutputKind.LOSS_OUTPUT,
                OutputKind.USER_OUTPUT,
                OutputKind.GRADIENT_TO_PARAMETER,
            )
            for s in signature.output_specs
        ):
            raise ExportError("train_steps needs a joint graph that mutates no buffer")
        self.graph = copy.deepcopy(joint.graph_module)
        self.steps = steps
        user = [s.arg.name for s in signature.input_specs if s.kind == InputKind.USER_INPUT]
        labels = next(n for n in self.graph.graph.nodes if n.name == user[-2])
        # the loss's gradient at the logits from one-hot targets made once a call
        self.targets = targets_as_input(self.graph, labels)
        gradients = [
            s.target for s in signature.output_specs if s.kind == OutputKind.GRADIENT_TO_PARAMETER
        ]
        self.first_gradient = next(
            i
            for i, s in enumerate(signature.output_specs)
            if s.kind == OutputKind.GRADIENT_TO_PARAMETER
        )
        self.specs = [s for s in signature.input_specs if s.kind != InputKind.USER_INPUT]
        # trainable tensors in the program's parameter order (the tail's, the manifest's)
        self.trainable = [s.target for s in self.specs if s.target in gradients]
        if set(self.trainable) != set(gradients):
            raise ExportError("train_steps: a gradient of the joint graph has no parameter")
        self.gradient_of = [gradients.index(t) for t in self.trainable]  # output per tensor
        state = {**joint.state_dict, **joint.constants}
        self.shapes = [tuple(state[t].shape) for t in self.trainable]
        self.sizes = [math.prod(s) for s in self.shapes]
        self._frozen: dict[str, str] = {}
        for spec in self.specs:  # frozen tensors become constants of the new program
            if spec.target not in self.trainable:
                name = f"frozen_{len(self._frozen)}"
                self.register_buffer(name, state[spec.target].detach().clone())
                self._frozen[str(spec.target)] = name

    def forward(
        self, theta: torch.Tensor, velocity: torch.Tensor, *inputs: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        *batches, class_mask, hyper, active = inputs
        lr, momentum, bound = hyper[0], hyper[1], hyper[2]
        targets = label_targets(batches[-1], class_mask.shape[0]) if self.targets else None
        # per step: a skipped one keeps the velocity (factor 1, nothing added) and theta
        keep = momentum * active + (1.0 - active)
        rates = lr * active
        losses, norms = [], []
        for k in range(self.steps):
            pieces = torch.split(theta, self.sizes)
            current = {
                t: p.view(s) for t, p, s in zip(self.trainable, pieces, self.shapes, strict=True)
            }
            args = [
                current[s.target] if s.target in current else getattr(self, self._frozen[s.target])
                for s in self.specs
            ]
            extra = () if targets is None else (targets[k],)
            outputs = self.graph(*args, *(b[k] for b in batches), class_mask, *extra)
            loss = outputs[0]
            grads = outputs[self.first_gradient : self.first_gradient + len(self.trainable)]
            g = torch.cat([grads[j].reshape(-1) for j in self.gradient_of])
            norm = torch.sqrt((g * g).sum())
            scale = torch.clamp(bound / norm, max=1.0) * active[k]  # 0 for a skipped step
            velocity = keep[k] * velocity + scale * g
            theta = theta - rates[k] * velocity
            losses.append(loss)
            norms.append(norm)
        return theta, velocity, torch.stack(losses), torch.stack(norms)


def steps_method(joint: ExportedProgram, steps: int) -> ExportedProgram:
    """``train_steps`` for ``steps`` batches per call, around ``joint``: a joint program of
    ``train_step``'s inputs (:func:`edgekit.export.memory.joint_method` of a
    :class:`~edgekit.export.methods.PickedTrainStep`, rewritten for XNNPACK or not)."""
    if not 2 <= steps <= MAX_STEPS_PER_CALL:
        raise ExportError(f"train_steps runs 2 to {MAX_STEPS_PER_CALL} steps, got {steps}")
    module = _Steps(joint, steps)
    user = [s.arg.name for s in joint.graph_signature.input_specs if s.kind == InputKind.USER_INPUT]
    placeholders = {n.name: n for n in joint.graph.nodes if n.op == "placeholder"}
    examples = [placeholders[name].meta["val"] for name in user]
    *batch_inputs, class_mask = (torch.zeros(e.shape, dtype=e.dtype) for e in examples)
    example = steps_inputs(sum(module.sizes), tuple(batch_inputs), class_mask, steps)
    try:
        return torch.export.export(module, example, strict=False)
    except Exception as exc:  # torch raises many unrelated types here
        raise ExportError(f"export of train_steps ({steps} steps): {exc}") from exc


def steps_inputs(
    trainable: int, batch_inputs: tuple[torch.Tensor, ...], class_mask: torch.Tensor, steps: int
) -> tuple[torch.Tensor, ...]:
    """Example inputs of ``train_steps``: ``trainable`` entries, ``steps`` copies of
    ``train_step``'s batch inputs (parts and labels) and its class mask."""
    return (
        torch.zeros(trainable),
        torch.zeros(trainable),
        *(torch.stack([b] * steps) for b in batch_inputs),
        class_mask,
        torch.tensor([0.01, 0.0, math.inf]),
        torch.ones(steps),
    )
