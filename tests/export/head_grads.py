"""One check shared by the export tests: a program's head gradients against eager PyTorch's."""

from __future__ import annotations

from collections.abc import Mapping

import torch


def assert_head_gradients_equal(grads: Mapping[str, torch.Tensor], head: torch.nn.Module) -> None:
    """``grads`` (the program's, weights kept transposed ``(in, out)``) equal the gradients that
    eager ``backward()`` left on ``head``'s Linear layers (``fc1``, ``fc2``, ... in order)."""
    linears = [mod for mod in head.modules() if isinstance(mod, torch.nn.Linear)]
    assert linears
    for i, linear in enumerate(linears, start=1):
        assert linear.weight.grad is not None and linear.bias.grad is not None
        torch.testing.assert_close(
            grads[f"head.fc{i}.weight_t"], linear.weight.grad.t(), atol=1e-5, rtol=1e-4
        )
        torch.testing.assert_close(
            grads[f"head.fc{i}.bias"], linear.bias.grad, atol=1e-5, rtol=1e-4
        )
