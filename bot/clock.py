"""The one source of "now".

Everything that needs the time asks a `Clock`; nothing else reads the wall clock, and no SQL
uses its own `now`. Production uses `SystemClock`; tests and benchmarks move a `ManualClock`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...

    def timestamp(self) -> float:
        """The current instant as Unix seconds."""
        ...

    def sleep(self, seconds: float) -> Awaitable[None]:
        """Wait until this clock has moved `seconds` forward, counted from this call."""
        ...


class SystemClock:
    """The real clock: read on every call."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def timestamp(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> Awaitable[None]:
        return asyncio.sleep(max(0.0, seconds))


class ManualClock:
    """A clock that only moves when told to; sleepers wake as it passes their deadline."""

    def __init__(self, start: datetime | float) -> None:
        self._now = start.timestamp() if isinstance(start, datetime) else float(start)
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._now, UTC)

    def timestamp(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> Awaitable[None]:
        # The deadline is taken now, not when the caller first awaits: a sleeper wrapped in a
        # task cannot miss a move of the clock made before that task first runs.
        if seconds <= 0:
            return asyncio.sleep(0)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), future))
        return future

    def set(self, instant: datetime | float) -> None:
        """Jump to `instant` (never backwards) and wake whoever is due."""
        target = instant.timestamp() if isinstance(instant, datetime) else float(instant)
        if target < self._now:
            raise ValueError("a ManualClock never moves backwards")
        self._now = target
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    def advance(self, seconds: float) -> None:
        self.set(self._now + seconds)
