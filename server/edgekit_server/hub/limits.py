"""Rate limits: a token bucket per key (a device, or an address registering devices).

Each key may make ``burst`` requests at once and ``rate`` per second after that; a request over
the limit is told how many seconds to wait (HTTP 429 with ``Retry-After``). Buckets live in the
hub's process; idle full buckets are forgotten, so memory stays bounded by the active keys.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Limits", "RateLimiter"]


@dataclass(frozen=True)
class Limits:
    device_rate: float = 5.0  # requests per second per device, after its burst
    device_burst: int = 120
    register_rate: float = 1.0  # registrations per second per address
    register_burst: int = 20

    def __post_init__(self) -> None:
        if min(self.device_rate, self.register_rate) <= 0:
            raise ValueError("rates must be > 0")
        if min(self.device_burst, self.register_burst) < 1:
            raise ValueError("bursts must be >= 1")


class RateLimiter:
    """Token buckets by key; :meth:`wait` is 0 for an allowed request, else the seconds until
    one would be."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        with self._lock:
            now = self.clock()
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                self._forget_idle(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        """Drop buckets that have refilled (a forgotten key starts full: the same)."""
        if len(self._buckets) < 10_000:
            return
        full = self.burst / self.rate
        for key in [k for k, (_, at) in self._buckets.items() if now - at >= full]:
            del self._buckets[key]
