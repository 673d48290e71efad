"""One durable timeline for everything that happens later (design notes, section 2).

Each future action is a row in `scheduled_jobs`. One dispatcher per process sleeps until the
earliest pending row (or until a sooner insert wakes it, never longer than `max_sleep`),
claims due rows in batches under a short lease, hands them to a fixed pool of workers, and
acknowledges outcomes in batches. Memory stays flat however many rows wait: there is no task
or timer per row, only the rows currently claimed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.clock import Clock
from bot.db import jobs as job_store
from bot.db.connection import Database, now_ms
from bot.db.jobs import DONE, FAILED, PENDING, Ack, Job, NewJob

log = logging.getLogger("nextround.scheduler")
ACK_INTERVAL_MS = 500


class RetryLater(Exception):
    """A transient problem (429, 5xx, a timeout): try the row again after a backoff."""

    def __init__(self, reason: str, *, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


class Reschedule(Exception):
    """Not now, on purpose (the person paused follow-ups): run the row again at `due_at`."""

    def __init__(self, reason: str, *, due_at: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.due_at = due_at


class JobFailed(Exception):
    """A permanent problem (unknown channel, DMs closed): the row ends failed with the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class JobResult:
    """What a handler reports on success; `next_jobs` are inserted with the acknowledgement."""

    outcome: str = "done"
    next_jobs: Sequence[NewJob] = field(default_factory=tuple)


JobHandler = Callable[[Job], Awaitable[JobResult | None]]

PURGE_KIND = "timeline:purge"
DAY_MS = 86_400_000
# Finished rows stay this long for status, history and export, then go.
KEEP_FINISHED_MS = 30 * DAY_MS


class LazyIso:
    """Formats UTC milliseconds as ISO 8601 only if the log line is actually written."""

    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value

    def __str__(self) -> str:
        return datetime.fromtimestamp(self.value / 1000, UTC).isoformat(timespec="milliseconds")


class Scheduler:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        max_sleep: float = 30.0,
        lease_seconds: float = 60.0,
        batch_size: int = 200,
        workers: int = 16,
        max_attempts: int = 8,
        backoff_base: float = 5.0,
        backoff_cap: float = 900.0,
        owner: str | None = None,
    ) -> None:
        if lease_seconds > 60:
            # A crash must be retried inside Discord's nonce window (a few minutes).
            raise ValueError("leases are at most 60 seconds")
        self._database = database
        self._clock = clock
        self.max_sleep = max_sleep
        self.lease_ms = int(lease_seconds * 1000)
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        # Stable across restarts of one instance, so a restarted process takes back at once the
        # rows its previous run held (a crash then costs no lease wait); two processes on one
        # database need different owners.
        self.owner = owner or socket.gethostname()
        self._worker_count = workers
        self._handlers: dict[str, JobHandler] = {}
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._held: set[int] = set()  # claimed and not yet acknowledged
        self._acks: list[Ack] = []
        self._follow_ons: list[NewJob] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._running = 0  # workers inside a handler right now
        self._job_finished = asyncio.Event()
        self._next_lease_check = 0
        self._acks_since = 0
        self._planned_wake = 0  # when the sleeping dispatcher will look again (0: awake)
        self.executed = 0

    # -- registration and lifecycle -------------------------------------------------------

    def register(self, kind: str, handler: JobHandler) -> None:
        if kind in self._handlers:
            raise ValueError(f"a handler for {kind!r} is registered already")
        self._handlers[kind] = handler

    async def start(self) -> None:
        now = self._now()
        recovered = await job_store.recover_expired_leases(self._database, now=now)
        recovered += await job_store.recover_leases_of(self._database, owner=self.owner)
        if recovered:
            log.info("recovered %d rows left running by an earlier run", recovered)
        self._stopping = False
        self._tasks = [asyncio.create_task(self._dispatch(), name="scheduler-dispatch")]
        self._tasks += [
            asyncio.create_task(self._work(), name=f"scheduler-worker-{number}")
            for number in range(self._worker_count)
        ]

    async def stop(self, grace: float = 5.0) -> None:
        """Stop claiming, let running handlers finish briefly, hand back what never started."""
        if not self._tasks:
            return
        self._stopping = True
        self._wake.set()
        unstarted: list[int] = []
        while not self._queue.empty():
            unstarted.append(self._queue.get_nowait().id)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                while self._running:
                    self._job_finished.clear()
                    await self._job_finished.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self._flush_acks()
        if unstarted:
            await job_store.release(self._database, unstarted, owner=self.owner)
            self._held.difference_update(unstarted)
        # Rows still held were cut off mid-run: their lease expires and they are retried, with
        # the attempt record (nonce) guarding against a second message.

    # -- scheduling -------------------------------------------------------------------------

    async def schedule(self, jobs: NewJob | Sequence[NewJob]) -> list[int]:
        """Insert rows durably and wake the dispatcher if one is due sooner than it planned."""
        batch = [jobs] if isinstance(jobs, NewJob) else list(jobs)
        async with self._database.transaction() as tx:
            ids = await job_store.insert_jobs(tx, batch, self._now())
        if batch:
            self.notify_due(min(job.due_at for job in batch))
        return ids

    def wake(self) -> None:
        self._idle.clear()
        self._wake.set()

    def notify_due(self, due_at: int) -> None:
        """Rows due at `due_at` were inserted: wake only if that is before the planned wake-up
        (a row hours ahead costs the sleeping dispatcher nothing)."""
        if due_at < self._planned_wake or not self._planned_wake:
            self.wake()

    async def settle(self) -> None:
        """Wait until every due row has run and been acknowledged (tests and benchmarks)."""
        self.wake()
        await self._idle.wait()

    async def cancel_for_user(self, user_id: int, kinds: Sequence[str] | None = None) -> int:
        return await job_store.cancel(self._database, at=self._now(), user_id=user_id, kinds=kinds)

    async def cancel_for_guild(self, guild_id: int, kinds: Sequence[str] | None = None) -> int:
        return await job_store.cancel(
            self._database, at=self._now(), guild_id=guild_id, kinds=kinds
        )

    async def cancel_for_subject(self, kinds: Sequence[str], subject_id: int) -> int:
        return await job_store.cancel(
            self._database, at=self._now(), subject_id=subject_id, kinds=kinds
        )

    async def record_attempt(self, job: Job, channel_id: int) -> str:
        """Keep the nonce and target on the row before sending; a retry reuses the same nonce."""
        if job.nonce is not None and job.attempt_channel_id == channel_id:
            return job.nonce
        # 25 characters at most (Discord's limit); random, so a reused row id can never collide.
        fresh = f"{job.id:x}-{secrets.token_hex(8)}"[:25]
        return await job_store.record_attempt(
            self._database,
            job.id,
            owner=self.owner,
            nonce=fresh,
            channel_id=channel_id,
            at=self._now(),
        )

    # -- housekeeping ----------------------------------------------------------------------

    def purge_job(self, after: int) -> NewJob:
        """The next daily purge of finished rows, one row per day whoever schedules it."""
        due = (after // DAY_MS + 1) * DAY_MS + 4 * 3_600_000  # 04:00 UTC, a quiet hour
        day = datetime.fromtimestamp(due / 1000, UTC).date().isoformat()
        return NewJob(PURGE_KIND, due, unique_key=f"{PURGE_KIND}:{day}")

    async def purge_finished(self, job: Job) -> JobResult:
        now = self._now()
        purged = await job_store.purge_finished(self._database, before=now - KEEP_FINISHED_MS)
        return JobResult(f"purged {purged}", next_jobs=[self.purge_job(max(now, job.due_at))])

    # -- the dispatcher --------------------------------------------------------------------

    def _now(self) -> int:
        return now_ms(self._clock)

    async def _dispatch(self) -> None:
        while not self._stopping:
            self._wake.clear()
            await self._flush_acks()
            now = self._now()
            if now >= self._next_lease_check:
                await self._maintain_leases(now)
            room = self.batch_size - self._queue.qsize()
            claimed: list[Job] = []
            if room > 0 and not self._stopping:
                claimed = await job_store.claim_due(
                    self._database,
                    owner=self.owner,
                    now=now,
                    lease_until=now + self.lease_ms,
                    limit=room,
                )
                for job in claimed:
                    self._held.add(job.id)
                    self._queue.put_nowait(job)
            if claimed:
                # Let the workers start before claiming more.
                await asyncio.sleep(0)
                continue
            await self._sleep_until_due(now)

    async def _sleep_until_due(self, now: int) -> None:
        delay = self.max_sleep
        if self._queue.qsize() < self.batch_size:
            next_due = await job_store.next_due_at(self._database)
            if next_due is not None:
                delay = min(delay, max(0.0, (next_due - now) / 1000))
        if self._held:
            delay = min(delay, max(0.0, (self._next_lease_check - now) / 1000))
        if delay <= 0 or self._wake.is_set():
            await asyncio.sleep(0)
            return
        if not self._held and not self._acks:
            self._idle.set()
        self._planned_wake = now + int(delay * 1000)
        sleeper = asyncio.ensure_future(self._clock.sleep(delay))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._planned_wake = 0
            sleeper.cancel()
            waker.cancel()

    async def _maintain_leases(self, now: int) -> None:
        # Renew our own leases a third of the way in, and take back rows whose runner died.
        self._next_lease_check = now + self.lease_ms // 3
        if self._held:
            lease_until = now + self.lease_ms
            await job_store.renew_leases(
                self._database, sorted(self._held), owner=self.owner, lease_until=lease_until
            )
        recovered = await job_store.recover_expired_leases(self._database, now=now)
        if recovered:
            log.warning("recovered %d rows whose runner stopped before finishing", recovered)

    async def _flush_acks(self) -> None:
        if not self._acks:
            return
        acks, follow_ons = self._acks, self._follow_ons
        self._acks, self._follow_ons = [], []
        await job_store.acknowledge(
            self._database, acks, owner=self.owner, finished_at=self._now(), follow_ons=follow_ons
        )
        self._held.difference_update(ack.job_id for ack in acks)
        self.executed += len(acks)

    # -- the workers -------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            self._running += 1
            try:
                ack, follow_ons = await self._run(job)
            finally:
                self._running -= 1
                self._job_finished.set()
            if not self._acks:
                self._acks_since = self._now()
            self._acks.append(ack)
            self._follow_ons.extend(follow_ons)
            # Also every ACK_INTERVAL_MS: outcomes a crash loses are resent (nonce) or redone.
            if (
                self._queue.empty()
                or len(self._acks) >= self.batch_size
                or self._now() - self._acks_since >= ACK_INTERVAL_MS
            ):
                self._wake.set()

    async def _run(self, job: Job) -> tuple[Ack, Sequence[NewJob]]:
        handler = self._handlers.get(job.kind)
        started = self._now()
        follow_ons: Sequence[NewJob] = ()
        if handler is None:
            # A feature that failed to load must not fail its promises: wait for a fix.
            log.warning("no handler for kind %r (job %d); holding it", job.kind, job.id)
            ack = Ack(
                job.id,
                PENDING,
                f"no handler for {job.kind!r}",
                due_at=started + 600_000,
                reset_attempts=True,
            )
        else:
            try:
                result = await handler(job)
            except RetryLater as retry:
                ack = self._retry_or_fail(job, retry.reason, retry.delay)
            except Reschedule as later:
                ack = Ack(job.id, PENDING, later.reason, due_at=later.due_at, reset_attempts=True)
            except JobFailed as failure:
                ack = Ack(job.id, FAILED, failure.reason)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.exception("job %d (%s) raised; it will be retried", job.id, job.kind)
                ack = self._retry_or_fail(job, f"unexpected error: {type(error).__name__}", None)
            else:
                result = result or JobResult()
                ack = Ack(job.id, DONE, result.outcome)
                follow_ons = result.next_jobs
        if log.isEnabledFor(logging.INFO):
            log.info(
                "job id=%d kind=%s due=%s ran=%s late_ms=%d attempt=%d outcome=%s%s",
                job.id,
                job.kind,
                LazyIso(job.due_at),
                LazyIso(started),
                started - job.due_at,
                job.attempts,
                ack.state,
                f" reason={ack.outcome!r}" if ack.state != DONE else "",
            )
        return ack, follow_ons

    def _retry_or_fail(self, job: Job, reason: str, delay: float | None) -> Ack:
        if job.attempts >= self.max_attempts:
            return Ack(job.id, FAILED, f"gave up after {job.attempts} attempts: {reason}")
        if delay is None:
            delay = min(self.backoff_cap, self.backoff_base * 2 ** (job.attempts - 1))
            delay *= random.uniform(0.8, 1.2)  # spread retries of a burst apart
        return Ack(job.id, PENDING, f"retrying: {reason}", due_at=self._now() + int(delay * 1000))
