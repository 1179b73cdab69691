"""Run one joint (forward + backward) method of an ExecuTorch program and step SGD on it.

ExecuTorch methods do not share parameters: ``train_step`` and ``distill_step`` each own a copy.
A :class:`JointMethod` exposes its method's parameter tensors (they alias runtime memory), so the
learner can load the current weights in before training and read them out after.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from edgekit.runtime import TRAINING, runtime_module

__all__ = ["JointMethod"]

_PREFIX = "tail."  # the training wrappers hold the tail as ``self.tail``


class JointMethod:
    """One training method: ``step(inputs)`` runs forward+backward and an SGD update."""

    def __init__(self, module: Any, method: str, warmup_inputs: Sequence[torch.Tensor]) -> None:
        self.module = module
        self.method = method
        self._grad_start = int(module.run_method(f"__et_training_gradients_index_{method}", ())[0])
        self._param_start = int(
            module.run_method(f"__et_training_parameters_index_{method}", ())[0]
        )
        fqns = module.run_method(f"__et_training_fqn_{method}", ())
        self.names = [str(n).removeprefix(_PREFIX) for n in fqns]
        # The parameter outputs alias the method's own weights; one call reveals them.
        outputs = module.run_method(method, tuple(warmup_inputs), clone_outputs=False)
        self.params: dict[str, torch.Tensor] = dict(
            zip(self.names, outputs[self._param_start :], strict=True)
        )
        self._optimizer: Any = None
        # numpy views of the gradient outputs, remade only when the runtime hands out other
        # memory (it reuses the method's planned arena, so normally never)
        self._grad_ptrs: tuple[int, ...] = ()
        self._grad_arrays: list[np.ndarray] = []
        self.refused = 0  # steps not applied: their loss or gradients were NaN or Inf

    def load(self, weights: dict[str, torch.Tensor]) -> None:
        """Copy ``weights`` into this method's parameters (shapes must match)."""
        for name, tensor in self.params.items():
            tensor.copy_(weights[name])

    def read(self) -> dict[str, torch.Tensor]:
        """A copy of this method's current parameters."""
        return {name: tensor.clone() for name, tensor in self.params.items()}

    def set_optimizer(self, lr: float, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        """A fresh SGD optimizer in the runtime (momentum buffers start at zero)."""
        self._optimizer = runtime_module(TRAINING).get_sgd_optimizer(
            self.params, lr, momentum=momentum, dampening=0.0, weight_decay=weight_decay
        )

    def gradients(
        self, inputs: Sequence[torch.Tensor]
    ) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
        """Forward + backward: ``(user outputs, gradients by name)``; no update."""
        outputs = self.module.run_method(self.method, tuple(inputs), clone_outputs=False)
        user = [t.clone() for t in outputs[: self._grad_start]]
        grads = {
            n: g.clone()
            for n, g in zip(self.names, outputs[self._grad_start : self._param_start], strict=True)
        }
        return user, grads

    def step(
        self, inputs: Sequence[torch.Tensor], clip_norm: float | None = None
    ) -> list[torch.Tensor]:
        """Forward + backward + SGD update; returns the user outputs (loss first). A step whose
        loss or gradients are not finite (or so large that their norm overflows) is not applied
        (``refused`` counts them).

        ``clip_norm`` rescales the gradients when their global L2 norm exceeds it, so that one
        batch of unusual clips (loud, out of distribution) cannot throw the head off.
        """
        if self._optimizer is None:
            raise RuntimeError("call set_optimizer() before step()")
        outputs = self.module.run_method(self.method, tuple(inputs), clone_outputs=False)
        user = [t.clone() for t in outputs[: self._grad_start]]
        # the gradients alias the runtime's memory: used in place, before the next call
        tensors = outputs[self._grad_start : self._param_start]
        grads = dict(zip(self.names, tensors, strict=True))
        # numpy views of the same memory: a few small arrays cost less through numpy than
        # through torch's dispatcher, and one global norm decides both checks (NaN or Inf
        # anywhere makes it non-finite)
        arrays = self._views(tensors)
        norm = math.sqrt(sum(float(np.dot(a, a)) for a in arrays))
        if not (math.isfinite(norm) and math.isfinite(float(user[0].view(-1)[0].item()))):
            self.refused += 1  # a NaN/Inf loss or gradient is never applied: weights stay
            return user
        if clip_norm is not None and norm > clip_norm:
            scale = np.float32(clip_norm / norm)
            for a in arrays:
                a *= scale
        self._optimizer.step(grads)
        return user

    def _views(self, tensors: Sequence[torch.Tensor]) -> list[np.ndarray]:
        """Flat numpy views of ``tensors`` (runtime memory), kept while their addresses hold."""
        ptrs = tuple(p for t in tensors for p in (t.data_ptr(), t.numel()))
        if ptrs != self._grad_ptrs:
            self._grad_arrays = [t.detach().numpy().reshape(-1) for t in tensors]
            self._grad_ptrs = ptrs
        return self._grad_arrays
