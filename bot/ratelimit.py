"""A token bucket for scheduled sends, kept below Discord's global limit of 50 requests/s.

discord.py only slows down after Discord has answered 429; a burst of scheduled work (a
thousand weekly posts due at 09:00) would hit that limit first, so it waits here instead.
"""

from __future__ import annotations

import asyncio

from bot.clock import Clock


class TokenBucket:
    """At most `rate` acquisitions per second on average, and `rate + capacity` in any second."""

    def __init__(self, rate: float, clock: Clock, capacity: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be above 0")
        self.rate = rate
        # A small burst: enough to not waste idle time, small enough that a full bucket plus
        # one second of refill stays under Discord's 50 requests in any second.
        self.capacity = capacity if capacity is not None else max(1.0, min(5.0, rate / 10))
        self._clock = clock
        self._tokens = self.capacity
        self._updated = clock.timestamp()
        self._lock = asyncio.Lock()
        self.acquired = 0

    def _refill(self) -> None:
        now = self._clock.timestamp()
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        self._updated = now

    async def acquire(self) -> None:
        # The lock keeps waiters in arrival order, so no sender starves behind later ones.
        async with self._lock:
            self._refill()
            while self._tokens < 1:
                await self._clock.sleep((1 - self._tokens) / self.rate)
                self._refill()
            self._tokens -= 1
            self.acquired += 1
