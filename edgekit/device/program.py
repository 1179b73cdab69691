"""A bundle's program in the ExecuTorch runtime: its methods called on flat features.

Features travel as ``(n, feature_size)`` float32 rows (what the feature cache stores); the
program's methods take them as the tensors of the cut (``feature_parts`` of the manifest).
``embed`` and ``classify`` run in batches of at most ``max_batch`` rows; the training methods run
through :class:`~edgekit.device.joint.JointMethod`, one per method, made on first use.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from edgekit.device.fused import StepsMethod
from edgekit.device.joint import JointMethod
from edgekit.errors import CorruptBundle, FileFormatError
from edgekit.export.bundle import BUNDLE_FILES, flatten_parts
from edgekit.export.manifest import Manifest
from edgekit.runtime import Program

__all__ = ["BundleProgram"]


class BundleProgram:
    """The program of the bundle at ``folder`` (whose manifest is ``manifest``), loaded."""

    def __init__(self, folder: Path, manifest: Manifest) -> None:
        self.manifest = manifest
        pte = (folder / BUNDLE_FILES["program"]).read_bytes()
        try:
            self._program = Program(pte)  # keeps the bytes alive as long as the module
        except FileFormatError as exc:
            raise CorruptBundle(f"{folder}: the runtime rejected model.pte ({exc})") from exc
        self.module: Any = self._program.module
        self._joint: dict[str, JointMethod] = {}
        self._steps: StepsMethod | None = None

    def parts(self, features: np.ndarray) -> list[torch.Tensor]:
        """Flat ``(..., feature_size)`` features -> the tensors the methods take, per the cut:
        ``(..., *shape)`` for each part (``(n, *shape)`` for rows, ``(k, batch, *shape)`` for
        ``train_steps``' batches)."""
        x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
        lead = x.shape[:-1]
        out, start = [], 0
        for part in self.manifest.feature_parts:
            size = math.prod(part["shape"])
            out.append(x[..., start : start + size].reshape(*lead, *part["shape"]).contiguous())
            start += size
        return out

    def embed(self, clips: np.ndarray) -> np.ndarray:
        """Flat features of ``(n <= max_batch, clip_samples)`` float32 PCM."""
        return flatten_parts(self.module.run_method("embed", (torch.from_numpy(clips),)))

    def classify(
        self, features: np.ndarray, mask: torch.Tensor, weights: list[torch.Tensor]
    ) -> np.ndarray:
        """Logits ``(n, max_classes)`` of ``classify`` with ``weights`` (in the manifest's
        trainable order); slots where ``mask`` is 0 get about -1e4."""
        step = self.manifest.max_batch
        out = [
            self.module.run_method("classify", (*self.parts(chunk), mask, *weights))[0].numpy()
            for chunk in (features[i : i + step] for i in range(0, len(features), step))
        ]
        return np.concatenate(out)

    def joint(self, name: str, mask: torch.Tensor) -> JointMethod:
        """The training method ``name`` (``train_step`` or ``distill_step``), ready to step."""
        if name not in self._joint:
            b, slots = self.manifest.train_batch, self.manifest.max_classes
            parts = self.parts(np.zeros((b, self.manifest.feature_size), dtype=np.float32))
            second = (
                torch.zeros(b, dtype=torch.long)
                if name == "train_step"
                else torch.full((b, slots), 1.0 / slots)
            )
            self._joint[name] = JointMethod(self.module, name, (*parts, second, mask))
        return self._joint[name]

    def steps(self) -> StepsMethod | None:
        """``train_steps`` (several SGD steps per call) when the bundle's plan has it."""
        k = int(self.manifest.plan.get("steps_per_call", 1))
        if k < 2:
            return None
        if self._steps is None:
            if "train_steps" not in self._program.method_names:
                raise CorruptBundle(
                    f"the bundle's plan runs {k} steps per call, its program has no train_steps"
                )
            trainable = [(t["name"], tuple(t["shape"])) for t in self.manifest.trainable]
            self._steps = StepsMethod(self.module, k, trainable, self.parts)
        return self._steps
