"""Feature bridges between architectures, fitted on the server's public clips.

Every architecture embeds the same public clips (the builder stores them:
``Workspace.public_features``). Each embedding is standardised per dimension, and a ridge map
from every architecture's standardised space to every other's is fitted on those pairs. A data
impression is embedded only by the architecture that made it (where it means what its maker
meant: other architectures take it for noise), then carried into the others' spaces:

- :meth:`FeatureBridge.joint` concatenates the standardised embedding carried into every
  architecture: one space in which the impressions of all clients are clustered;
- :meth:`FeatureBridge.carry` gives it in another architecture's raw embedding space: the
  features that architecture's clients learn a new class from.

With ``kernel=True`` each map is the ridge map plus an RBF kernel ridge fit of what the ridge
map leaves on the public pairs: near the public clips the map follows their curvature, away from
them the correction fades and the linear map extrapolates. Measured on the clients' own clips
of the urban benchmark workspace (development data, not the test set), the linear map from the
dscnn to the resnet space explains 0.83 of the old-class clips' variance and -9.8 of the new
classes' (it extrapolates far off); a pure kernel map 0.91 and 0.15 but pulls whatever lies off
the public clips to the target's mean (the impressions do: in one process, the keyword
federation's clients without "stop"/"go" fell 65.00% -> 57.50% on them).

Model stitching (Lenc & Vedaldi 2015; Bansal et al. 2021) is the precedent: the representations
of networks trained on the same data are largely linear transforms of each other.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["FeatureBridge"]


class FeatureBridge:
    """Ridge maps between architectures' standardised embeddings (float64 inside)."""

    def __init__(
        self, public: Mapping[str, np.ndarray], ridge: float = 1.0, kernel: bool = False
    ) -> None:
        """``public[arch]`` (n, D_arch): the same n public clips embedded by each architecture,
        in the same order; ``ridge`` > 0 is the L2 penalty of every map (and of the kernel
        correction, with ``kernel``: an RBF of width sqrt(D_source) in standardised units)."""
        if not public:
            raise ValueError("public must hold at least one architecture's embeddings")
        if not np.isfinite(ridge) or ridge <= 0:
            raise ValueError(f"ridge must be > 0, got {ridge}")
        sizes = {a: np.shape(x)[0] for a, x in public.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"every architecture must embed the same clips, got counts {sizes}")
        self.archs = list(public)
        self.mean: dict[str, np.ndarray] = {}
        self.scale: dict[str, np.ndarray] = {}
        z: dict[str, np.ndarray] = {}
        for arch, x in public.items():
            e = np.asarray(x, dtype=np.float64)
            if e.ndim != 2 or e.shape[0] < 2 or not np.all(np.isfinite(e)):
                raise ValueError(
                    f"public[{arch!r}] must be finite (n, D) with n >= 2, got shape {e.shape}"
                )
            self.mean[arch] = e.mean(axis=0)
            self.scale[arch] = e.std(axis=0) + 1e-6
            z[arch] = (e - self.mean[arch]) / self.scale[arch]
        self.maps: dict[tuple[str, str], np.ndarray] = {}
        for a in self.archs:
            x1 = np.c_[z[a], np.ones(len(z[a]))]
            gram = x1.T @ x1 + ridge * np.eye(x1.shape[1])
            for b in self.archs:
                if a != b:
                    self.maps[(a, b)] = np.linalg.solve(gram, x1.T @ z[b])
        self.points: dict[str, np.ndarray] = {}  # the kernel correction's centres per source
        self.corrections: dict[tuple[str, str], np.ndarray] = {}
        # fit_r2[(a, b)]: how much of b's public embedding the map from a explains (in-sample)
        self.fit_r2: dict[tuple[str, str], float] = {}
        for a in self.archs:
            others = [b for b in self.archs if b != a]
            own = None  # the kernel on a's public clips: the Gram matrix, reused for fit_r2
            if kernel and others:
                self.points[a] = z[a]
                own = self._kernel(a, z[a])
                left = [z[b] - self._map(a, b, z[a]) for b in others]
                solved = np.linalg.solve(
                    own + ridge * np.eye(len(z[a])), np.concatenate(left, axis=1)
                )
                widths = np.cumsum([0, *(x.shape[1] for x in left)])
                for b, lo, hi in zip(others, widths[:-1], widths[1:], strict=True):
                    self.corrections[(a, b)] = solved[:, lo:hi]
            for b in others:
                self.fit_r2[(a, b)] = _r2(self._map(a, b, z[a], own), z[b])

    def _check(self, arch: str, features: np.ndarray) -> np.ndarray:
        if arch not in self.mean:
            raise ValueError(f"unknown architecture {arch!r}; the bridge has {self.archs}")
        f = np.asarray(features, dtype=np.float64)
        if f.ndim != 2 or f.shape[1] != self.mean[arch].size or not np.all(np.isfinite(f)):
            raise ValueError(
                f"features of {arch!r} must be finite (m, {self.mean[arch].size}), got {f.shape}"
            )
        return f

    def _map(
        self, source: str, target: str, z: np.ndarray, kernel: np.ndarray | None = None
    ) -> np.ndarray:
        """``z`` (standardised in ``source``) mapped into ``target``; ``kernel``: the kernel of
        ``z`` when already computed."""
        if source == target:
            return z
        linear = np.c_[z, np.ones(len(z))] @ self.maps[(source, target)]
        if (source, target) not in self.corrections:
            return linear
        k = self._kernel(source, z) if kernel is None else kernel
        return linear + k @ self.corrections[(source, target)]

    def _kernel(self, source: str, z: np.ndarray) -> np.ndarray:
        """RBF similarities of ``z`` to the public clips in ``source``'s standardised space."""
        centres = self.points[source]
        d2 = (z**2).sum(1)[:, None] - 2 * z @ centres.T + (centres**2).sum(1)[None, :]
        return np.exp(-np.maximum(d2, 0.0) / (2.0 * centres.shape[1]))

    def standardise(self, arch: str, features: np.ndarray) -> np.ndarray:
        return (self._check(arch, features) - self.mean[arch]) / self.scale[arch]

    def carry(self, source: str, target: str, features: np.ndarray) -> np.ndarray:
        """``features`` of ``source`` as ``target`` would embed them, in its raw space (float32);
        the identity when source == target."""
        if target not in self.mean:
            raise ValueError(f"unknown architecture {target!r}; the bridge has {self.archs}")
        z = self._map(source, target, self.standardise(source, features))
        return (z * self.scale[target] + self.mean[target]).astype(np.float32)

    def joint(self, source: str, features: np.ndarray) -> np.ndarray:
        """``features`` of ``source`` carried into every architecture's standardised space,
        concatenated in ``self.archs`` order: (m, sum of D)."""
        z = self.standardise(source, features)
        return np.concatenate([self._map(source, b, z) for b in self.archs], axis=1)


def _r2(predicted: np.ndarray, target: np.ndarray) -> float:
    residual = float(((predicted - target) ** 2).sum())
    total = float(((target - target.mean(axis=0)) ** 2).sum())
    return 1.0 - residual / total if total > 0 else 0.0
