"""Feature bridges between architectures: ridge maps fitted on paired public embeddings."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from sklearn.metrics import silhouette_score

from edgekit_server.fl.bridge import FeatureBridge
from edgekit_server.fl.clustering import cluster_groups


def _paired(n: int, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Two 'architectures' that see one latent signal through different linear lenses."""
    rng = np.random.default_rng(seed)
    lens_a, lens_b = rng.normal(size=(6, 8)), rng.normal(size=(6, 5))
    latent = rng.normal(size=(n, 6))
    a = latent @ lens_a + 3.0 + 0.01 * rng.normal(size=(n, 8))
    b = latent @ lens_b - 2.0 + 0.01 * rng.normal(size=(n, 5))
    return {"a": a, "b": b}, lens_a, lens_b


def test_carry_recovers_what_the_other_architecture_would_embed() -> None:
    public, lens_a, lens_b = _paired(400)
    bridge = FeatureBridge(public, ridge=1e-3)
    assert bridge.fit_r2[("a", "b")] > 0.99
    held_out = np.random.default_rng(9).normal(size=(50, 6)) * 2.0  # outside the fit's spread
    carried = bridge.carry("a", "b", held_out @ lens_a + 3.0)
    expected = held_out @ lens_b - 2.0
    assert carried.shape == (50, 5) and carried.dtype == np.float32
    np.testing.assert_allclose(carried, expected, atol=0.05 * float(np.abs(expected).max()))


def _curved(rng: np.random.Generator) -> tuple[Callable[..., dict[str, np.ndarray]], np.ndarray]:
    """Two 'architectures' of a 4-D latent: "a" a linear lens, "b" one through a curve; returns
    (embed(latent) -> {"a": ..., "b": ...}, a's lens)."""
    lens_a, lens_b = rng.normal(size=(4, 8)), rng.normal(size=(4, 5))

    def embed(latent: np.ndarray) -> dict[str, np.ndarray]:
        return {"a": latent @ lens_a, "b": np.tanh(latent) ** 2 @ lens_b + 0.5 * latent @ lens_b}

    return embed, lens_a


def test_the_kernel_correction_follows_a_curved_map_and_fades_far_off() -> None:
    rng = np.random.default_rng(3)
    embed, lens_a = _curved(rng)
    public = embed(rng.normal(size=(500, 4)))
    linear, curved = FeatureBridge(public), FeatureBridge(public, kernel=True)
    assert curved.fit_r2[("a", "b")] > linear.fit_r2[("a", "b")]
    near = embed(rng.normal(size=(200, 4)))  # held out, where the public clips lie

    def error(bridge: FeatureBridge) -> float:
        return float(((bridge.carry("a", "b", near["a"]) - near["b"]) ** 2).mean())

    assert error(curved) < 0.5 * error(linear)
    far = 40.0 * rng.normal(size=(20, 4)) @ lens_a  # far beyond them: the linear map alone
    np.testing.assert_allclose(
        curved.carry("a", "b", far), linear.carry("a", "b", far), rtol=1e-4, atol=1e-3
    )


def test_classes_made_in_curved_related_architectures_cluster_better_with_the_kernel() -> None:
    """Two classes, each made by both architectures (the second sees the first's latent through
    a curve): the kernel-corrected joint space splits them by class more often than the linear
    one, with a higher silhouette: why the server clusters in it."""
    recovered = {False: 0, True: 0}
    silhouette = {False: 0.0, True: 0.0}
    for seed in range(6):
        rng = np.random.default_rng(seed)
        embed, _ = _curved(rng)
        public = embed(rng.normal(size=(500, 4)))
        centres = rng.normal(size=(2, 4))
        groups = [
            (arch, embed(centres[c] + 0.3 * rng.normal(size=(30, 4)))[arch])
            for c in (0, 1)
            for arch in ("a", "b")
        ]
        for kernel in (False, True):
            bridge = FeatureBridge(public, kernel=kernel)
            joint = [bridge.joint(arch, e) for arch, e in groups]
            recovered[kernel] += cluster_groups(joint).tolist() == [0, 0, 1, 1]
            means = np.stack([g.mean(axis=0) for g in joint])
            unit = means / np.linalg.norm(means, axis=1, keepdims=True)
            silhouette[kernel] += silhouette_score(unit, [0, 0, 1, 1]) / 6
    assert recovered[True] > recovered[False]
    assert silhouette[True] > silhouette[False]


@pytest.mark.parametrize("kernel", [False, True])
def test_carry_within_an_architecture_is_the_identity_and_joint_concatenates(
    kernel: bool,
) -> None:
    public, _, _ = _paired(100)
    bridge = FeatureBridge(public, kernel=kernel)
    x = public["a"][:7]
    np.testing.assert_allclose(bridge.carry("a", "a", x), x, rtol=1e-5, atol=1e-5)
    joint = bridge.joint("a", x)
    assert joint.shape == (7, 8 + 5)
    np.testing.assert_allclose(joint[:, :8], bridge.standardise("a", x))


def test_bad_input_is_refused_with_what_was_wrong() -> None:
    public, _, _ = _paired(20)
    with pytest.raises(ValueError, match="same clips"):
        FeatureBridge({"a": public["a"], "b": public["b"][:10]})
    with pytest.raises(ValueError, match="ridge"):
        FeatureBridge(public, ridge=0.0)
    bridge = FeatureBridge(public)
    with pytest.raises(ValueError, match="unknown architecture"):
        bridge.carry("a", "c", public["a"])
    with pytest.raises(ValueError, match=r"finite \(m, 8\)"):
        bridge.joint("a", public["b"])
    with pytest.raises(ValueError, match="finite"):
        bridge.joint("a", np.full((2, 8), np.nan))
