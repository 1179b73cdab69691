"""Buffered asynchronous aggregation, on cases computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit_server.hub.buffered import BufferConfig, PendingUpdate, flush, staleness_weight

VERSIONS = {
    1: {"w": np.array([0.0, 0.0], dtype=np.float32)},
    2: {"w": np.array([1.0, 1.0], dtype=np.float32)},
    3: {"w": np.array([2.0, 0.0], dtype=np.float32)},
}


def _update(i: int, version: int, w: list[float], examples: int = 1) -> PendingUpdate:
    return PendingUpdate(i, version, {"w": np.array(w, dtype=np.float32)}, examples)


def test_staleness_weights() -> None:
    assert staleness_weight(0, 0.5) == 1.0
    assert staleness_weight(3, 0.5) == pytest.approx(0.5)  # (1 + 3) ** -0.5
    assert staleness_weight(3, 0.0) == 1.0
    with pytest.raises(ValueError, match="future version"):
        staleness_weight(-1, 0.5)


def test_nothing_flushes_before_k_updates() -> None:
    config = BufferConfig(k=3)
    assert flush(VERSIONS[3], 3, [_update(1, 3, [0, 0])] * 2, VERSIONS.__getitem__, config) is None


def test_a_flush_applies_each_change_weighted_by_examples_and_staleness() -> None:
    # now: version 3, w = [2, 0]
    # update 1 from v3 (staleness 0), 1 example, change [+1, 0]  -> factor 1
    # update 2 from v2 (staleness 1), 2 examples, change [0, +2] -> factor 2 / sqrt(2) = sqrt(2)
    # mean change = ([1, 0] * 1 + [0, 2] * sqrt 2) / (1 + sqrt 2)
    config = BufferConfig(k=2, max_staleness=5, exponent=0.5, server_lr=1.0)
    buffer = [_update(1, 3, [3, 0]), _update(2, 2, [1, 3], examples=2)]
    result = flush(VERSIONS[3], 3, buffer, VERSIONS.__getitem__, config)
    assert result is not None and result.applied == (1, 2) and result.dropped == ()
    root2 = np.sqrt(2.0)
    expected = np.array([2 + 1 / (1 + root2), 2 * root2 / (1 + root2)], dtype=np.float32)
    np.testing.assert_allclose(result.weights["w"], expected, rtol=1e-6)
    assert result.weights["w"].dtype == np.float32


def test_the_server_rate_scales_the_step_and_stale_updates_are_dropped() -> None:
    config = BufferConfig(k=2, max_staleness=1, exponent=0.0, server_lr=0.5)
    buffer = [_update(7, 3, [4, 0]), _update(8, 1, [9, 9])]  # v1 is 2 versions behind: dropped
    result = flush(VERSIONS[3], 3, buffer, VERSIONS.__getitem__, config)
    assert result is not None and result.applied == (7,) and result.dropped == (8,)
    np.testing.assert_allclose(result.weights["w"], [3.0, 0.0])  # 2 + 0.5 * (4 - 2)
    only_stale = flush(VERSIONS[3], 3, [_update(9, 1, [9, 9])] * 2, VERSIONS.__getitem__, config)
    assert only_stale is not None and only_stale.applied == () and len(only_stale.dropped) == 2
    np.testing.assert_array_equal(only_stale.weights["w"], VERSIONS[3]["w"])


def test_updates_the_federation_would_refuse_are_refused() -> None:
    config = BufferConfig(k=1)
    bad = _update(1, 3, [float("nan"), 0])
    with pytest.raises(ValueError, match="finite"):
        flush(VERSIONS[3], 3, [bad], VERSIONS.__getitem__, config)


@pytest.mark.parametrize("field", ["k", "max_staleness", "exponent", "server_lr"])
def test_settings_out_of_range_are_refused(field: str) -> None:
    with pytest.raises(ValueError, match="invalid buffer settings"):
        BufferConfig(**{field: -1})
