"""Token-bucket rate limits, on a clock the test moves."""

from __future__ import annotations

import pytest

from edgekit_server.hub.limits import Limits, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.wait("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait("a") == pytest.approx(0.5)  # one token every 0.5 s
    assert limiter.wait("b") == 0.0  # keys are independent
    clock.now = 0.5
    assert limiter.wait("a") == 0.0 and limiter.wait("a") > 0
    clock.now = 100.0
    assert [limiter.wait("a") for _ in range(3)] == [0.0] * 3  # refills to the burst, no more
    assert limiter.wait("a") > 0


def test_idle_keys_are_forgotten() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=1, clock=clock)
    for i in range(10_001):
        limiter.wait(f"k{i}")
    clock.now = 5.0
    limiter.wait("new")
    assert len(limiter._buckets) == 1


@pytest.mark.parametrize("bad", [{"device_rate": 0}, {"register_burst": 0}])
def test_limits_out_of_range_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        Limits(**bad)  # type: ignore[arg-type]
