"""One durable timeline for everything that happens later (design notes, section 2).

Each future action is a row in `scheduled_jobs`. One dispatcher per process sleeps until the
earliest pending row (or until a sooner insert wakes it, never longer than `max_sleep`),
claims due rows in batches under a short lease, hands them to a fixed pool of workers, and
acknowledges outcomes in batches. Memory stays flat however many rows wait: there is no task
or timer per row, only the rows currently claimed.

Every claim carries a fencing token (the row's claim count): a runner that stalled past its
lease can no longer record an attempt or an outcome, and `guarded` stops its sends before they
leave. Transient failures retry with capped backoff for as long as the row's own rule allows;
a failing database holds the dispatcher in backoff instead of ending it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.clock import Clock
from bot.db import jobs as job_store
from bot.db.connection import Database, now_ms
from bot.db.jobs import DONE, FAILED, PENDING, Ack, Attempt, Job, NewJob

log = logging.getLogger("nextround.scheduler")
ACK_INTERVAL_MS = 500
# Discord de-duplicates a nonce "for a few minutes": every lease, retry and trust window stays
# well inside that. A lease is renewed a third of the way in.
LEASE_MS = 60_000
# A send starts only while at least this much of the lease is left, so a runner that stalled
# (a GC pause, SIGSTOP, a paused VM) and lost its lease never sends; it also absorbs clock skew
# between processes.
LEASE_MARGIN_MS = 15_000
RETRY_BASE_S = 5.0
# Transient failures (429, 5xx, timeouts) retry at least this often, for as long as the row's
# own rule allows (a follow-up is missed after 7 days, a tip skipped after a day).
RETRY_CAP_S = 600.0
# A failing database (locked, full disk, I/O error): the dispatcher tries again, backing off.
DATABASE_BACKOFF_BASE_S = 0.5
DATABASE_BACKOFF_CAP_S = 30.0
# A row whose runner gave it up (a lost lease) runs again this soon.
LEASE_LOST_RETRY_MS = 1_000


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


class LeaseLost(Exception):
    """This runner no longer holds the row (it stalled past its lease, the database could not
    renew it, or the row is gone): it must not send; whoever holds the row now does."""


# Set around a send by `Scheduler.guarded`; the REST connector checks it right before each
# request leaves (discord.py's own retries included), after any wait for the send budget.
SEND_GUARD: ContextVar[Callable[[], None] | None] = ContextVar("send_guard", default=None)


def check_send_guard() -> None:
    guard = SEND_GUARD.get()
    if guard is not None:
        guard()


@dataclass(slots=True)
class _Lease:
    claim: int
    until: int  # as last written to the database


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
        lease_seconds: float = LEASE_MS / 1000,
        batch_size: int = 200,
        workers: int = 16,
        backoff_base: float = RETRY_BASE_S,
        backoff_cap: float = RETRY_CAP_S,
        owner: str | None = None,
    ) -> None:
        if lease_seconds > 60:
            # A crash must be retried inside Discord's nonce window (a few minutes).
            raise ValueError("leases are at most 60 seconds")
        self._database = database
        self._clock = clock
        self.max_sleep = max_sleep
        self.lease_ms = int(lease_seconds * 1000)
        self.lease_margin_ms = min(LEASE_MARGIN_MS, self.lease_ms // 4)
        self.batch_size = batch_size
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        # None: the host name, made unique among live processes on this database at start.
        # A name is stable across restarts of one instance, so a restarted process takes back
        # at once the rows its previous run held (a crash then costs no lease wait).
        self._requested_owner = owner
        self.owner = owner or ""
        self._worker_count = workers
        self._handlers: dict[str, JobHandler] = {}
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._held: dict[int, _Lease] = {}  # claimed and not yet acknowledged
        self._acks: list[Ack] = []
        self._follow_ons: list[NewJob] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._stop_event = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._running = 0  # workers inside a handler right now
        self._job_finished = asyncio.Event()
        self._next_lease_check = 0
        self._acks_since = 0
        self._planned_wake = 0  # when the sleeping dispatcher will look again (0: awake)
        self.passes = 0  # dispatcher passes over the database, failed ones included
        self.database_failures = 0  # failed dispatcher passes in a row (0: healthy)
        self.restarts = 0  # tasks restarted after ending unexpectedly
        self.executed = 0

    # -- registration and lifecycle -------------------------------------------------------

    def register(self, kind: str, handler: JobHandler) -> None:
        if kind in self._handlers:
            raise ValueError(f"a handler for {kind!r} is registered already")
        self._handlers[kind] = handler

    async def start(self) -> None:
        self.owner = await self._database.claim_instance(
            self._requested_owner or self.owner or None
        )
        now = self._now()
        recovered = await job_store.recover_expired_leases(self._database, now=now)
        recovered += await job_store.recover_leases_of(self._database, owner=self.owner)
        if recovered:
            log.info("recovered %d rows left running by an earlier run", recovered)
        self._stopping = False
        self._stop_event.clear()
        self._spawn(self._dispatch, "scheduler-dispatch")
        for number in range(self._worker_count):
            self._spawn(self._work, f"scheduler-worker-{number}")

    def _spawn(self, run: Callable[[], Coroutine[Any, Any, None]], name: str) -> None:
        """Start a task that is started again if it ever ends while the scheduler runs."""
        task = asyncio.create_task(run(), name=name)
        self._tasks.add(task)

        def ended(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if self._stopping or finished.cancelled():
                return
            error = finished.exception()
            log.error("%s ended unexpectedly; starting it again", name, exc_info=error)
            self.restarts += 1
            self._spawn(run, name)

        task.add_done_callback(ended)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop claiming, let running handlers finish briefly, hand back what never started."""
        if not self._tasks:
            return
        self._stopping = True
        self._stop_event.set()
        self._wake.set()
        unstarted: list[Job] = []
        while not self._queue.empty():
            unstarted.append(self._queue.get_nowait())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                while self._running:
                    self._job_finished.clear()
                    await self._job_finished.wait()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        try:
            await self._flush_acks()
            if unstarted:
                await job_store.release(
                    self._database, [(job.id, job.claim) for job in unstarted], owner=self.owner
                )
                for job in unstarted:
                    self._forget(job.id, job.claim)
        except Exception:
            # The rows stay 'running' under this instance's name; its next start (or any
            # process, once the lease expires) takes them back, and the nonce guards the rest.
            log.exception("could not record the last outcomes at shutdown")
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

    # -- sending exactly once ---------------------------------------------------------------

    def _lease_of(self, job: Job) -> _Lease:
        lease = self._held.get(job.id)
        if lease is None or lease.claim != job.claim:
            raise LeaseLost(f"job {job.id} is no longer held by {self.owner}")
        return lease

    def check_lease(self, job: Job) -> None:
        """Raise `LeaseLost` unless this runner holds the row with time to spare."""
        lease = self._lease_of(job)
        if lease.until - self._now() < self.lease_margin_ms:
            raise LeaseLost(f"the lease on job {job.id} ran out (the process stalled?)")

    async def record_attempt(
        self, job: Job, channel_id: int, *, restart_window: bool = False
    ) -> Attempt:
        """Keep the nonce and target on the row before sending; a retry reuses the same nonce.

        Only the current holder of the row can record it (it extends the lease for the send);
        anyone else gets `LeaseLost` and must not send. `restart_window`: a look in the channel
        found no earlier message, so Discord's nonce window starts again with this attempt."""
        lease = self._lease_of(job)
        now = self._now()
        until = now + self.lease_ms
        # 25 characters at most (Discord's limit); random, so a reused row id can never collide.
        fresh = f"{job.id:x}-{secrets.token_hex(8)}"[:25]
        attempt = await job_store.record_attempt(
            self._database,
            job.id,
            owner=self.owner,
            claim=job.claim,
            nonce=fresh,
            channel_id=channel_id,
            at=now,
            lease_until=until,
            restart_window=restart_window,
        )
        if attempt is None:
            self._forget(job.id, job.claim)
            raise LeaseLost(f"job {job.id} was taken by another runner")
        lease.until = max(lease.until, until)
        return attempt

    async def extend_lease(self, job: Job) -> None:
        """Confirm in the database that this runner still holds the row, for a send whose
        attempt is recorded elsewhere (a tip post keeps its nonce with the post)."""
        lease = self._lease_of(job)
        now = self._now()
        until = now + self.lease_ms
        held = await job_store.extend_lease(
            self._database, job.id, owner=self.owner, claim=job.claim, at=now, lease_until=until
        )
        if not held:
            self._forget(job.id, job.claim)
            raise LeaseLost(f"job {job.id} was taken by another runner")
        lease.until = max(lease.until, until)

    @contextlib.contextmanager
    def guarded(self, job: Job) -> Iterator[None]:
        """Around a send: every request it makes checks first that the lease is still held."""
        self.check_lease(job)
        token = SEND_GUARD.set(lambda: self.check_lease(job))
        try:
            yield
        finally:
            SEND_GUARD.reset(token)

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
        """Pass after pass. A failing pass (the database locked, full or failing) is logged
        once, backed off and tried again: nothing the database does can end the dispatcher."""
        while not self._stopping:
            try:
                delay = await self._dispatch_pass()
                self._note_healthy()
                if delay is not None:
                    await self._sleep_until(delay)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                backoff = self._note_failure(error)
                await self._sleep(backoff, self._stop_event)

    def _note_healthy(self) -> None:
        self.passes += 1
        if self.database_failures:
            log.warning(
                "scheduled work is running again after %d failed attempts",
                self.database_failures,
            )
            self.database_failures = 0

    def _note_failure(self, error: Exception) -> float:
        """Count a failed pass, log the first of a streak with its cause; returns the backoff."""
        self.passes += 1
        self.database_failures += 1
        if self.database_failures == 1:
            log.error(
                "scheduled work is on hold after an error (%s: %s); trying again with backoff",
                type(error).__name__,
                error,
                exc_info=error,
            )
        return min(
            DATABASE_BACKOFF_CAP_S,
            DATABASE_BACKOFF_BASE_S * 2 ** min(self.database_failures - 1, 16),
        )

    async def _dispatch_pass(self) -> float | None:
        """The database work of one pass; returns how long to sleep after it (None: go on)."""
        self._wake.clear()
        try:
            await self._flush_acks()
        except Exception:
            # Outcomes that cannot be written wait in memory; keep the leases of their rows
            # meanwhile, so nobody else runs them again (if the database lets us).
            now = self._now()
            if now >= self._next_lease_check:
                with contextlib.suppress(Exception):
                    await self._maintain_leases(now)
            raise
        now = self._now()
        if now >= self._next_lease_check:
            await self._maintain_leases(now)
        room = self.batch_size - self._queue.qsize()
        if room > 0 and not self._stopping:
            claimed = await job_store.claim_due(
                self._database,
                owner=self.owner,
                now=now,
                lease_until=now + self.lease_ms,
                limit=room,
            )
            for job in claimed:
                self._held[job.id] = _Lease(job.claim, now + self.lease_ms)
                self._queue.put_nowait(job)
            if claimed:
                return None  # let the workers start before claiming more
        delay = self.max_sleep
        if self._queue.qsize() < self.batch_size:
            next_due = await job_store.next_due_at(self._database)
            if next_due is not None:
                delay = min(delay, max(0.0, (next_due - now) / 1000))
        if self._held:
            delay = min(delay, max(0.0, (self._next_lease_check - now) / 1000))
        return delay

    async def _sleep_until(self, delay: float) -> None:
        if delay <= 0 or self._wake.is_set():
            await asyncio.sleep(0)
            return
        if not self._held and not self._acks:
            self._idle.set()
        now = self._now()
        self._planned_wake = now + int(delay * 1000)
        try:
            await self._sleep(delay, self._wake)
        finally:
            self._planned_wake = 0

    async def _sleep(self, delay: float, wake: asyncio.Event) -> None:
        """Sleep on the injected clock, or until `wake` is set."""
        sleeper = asyncio.ensure_future(self._clock.sleep(delay))
        waker = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()
        if sleeper.done() and not sleeper.cancelled():
            error = sleeper.exception()
            if error is not None:
                raise error

    async def _maintain_leases(self, now: int) -> None:
        # Renew our own leases a third of the way in, and take back rows whose runner died.
        self._next_lease_check = now + self.lease_ms // 3
        if self._held:
            snapshot = dict(self._held)
            until = now + self.lease_ms
            renewed = await job_store.renew_leases(
                self._database,
                sorted((job_id, lease.claim) for job_id, lease in snapshot.items()),
                owner=self.owner,
                lease_until=until,
            )
            for job_id, lease in snapshot.items():
                if job_id in renewed:
                    lease.until = max(lease.until, until)
                elif self._held.get(job_id) is lease:
                    # Another runner took it after our lease ran out (or it was deleted).
                    del self._held[job_id]
                    log.warning("lost the lease on job %d; its new runner finishes it", job_id)
        recovered = await job_store.recover_expired_leases(self._database, now=now)
        if recovered:
            log.warning("recovered %d rows whose runner stopped before finishing", recovered)

    async def _flush_acks(self) -> None:
        """Write the outcomes gathered so far; they stay queued until a write succeeds."""
        if not self._acks:
            return
        acks, follow_ons = self._acks[:], self._follow_ons[:]
        await job_store.acknowledge(
            self._database, acks, owner=self.owner, finished_at=self._now(), follow_ons=follow_ons
        )
        del self._acks[: len(acks)]
        del self._follow_ons[: len(follow_ons)]
        for ack in acks:
            self._forget(ack.job_id, ack.claim)
        self.executed += len(acks)

    def _forget(self, job_id: int, claim: int) -> None:
        lease = self._held.get(job_id)
        if lease is not None and lease.claim == claim:
            del self._held[job_id]

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
                job.claim,
                PENDING,
                f"no handler for {job.kind!r}",
                due_at=started + 600_000,
                reset_attempts=True,
            )
        else:
            try:
                result = await handler(job)
            except RetryLater as retry:
                ack = self._retry(job, retry.reason, retry.delay)
            except Reschedule as later:
                ack = Ack(
                    job.id,
                    job.claim,
                    PENDING,
                    later.reason,
                    due_at=later.due_at,
                    reset_attempts=True,
                    replan=True,
                )
            except JobFailed as failure:
                ack = Ack(job.id, job.claim, FAILED, failure.reason)
            except LeaseLost as lost:
                # Whoever holds the row now runs it; if nobody does (our lease only ran short),
                # this fenced acknowledgement hands it back to run again soon.
                log.warning("job %d (%s) not sent: %s", job.id, job.kind, lost)
                ack = Ack(
                    job.id,
                    job.claim,
                    PENDING,
                    f"retrying: {lost}",
                    due_at=self._now() + LEASE_LOST_RETRY_MS,
                )
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.exception("job %d (%s) raised; it will be retried", job.id, job.kind)
                ack = self._retry(job, f"unexpected error: {type(error).__name__}", None)
            else:
                result = result or JobResult()
                ack = Ack(job.id, job.claim, DONE, result.outcome)
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

    def _retry(self, job: Job, reason: str, delay: float | None) -> Ack:
        """Transient failures never end a row: they back off, up to `backoff_cap`, until the
        row's own rule (a follow-up missed after 7 days, a tip skipped after a day) applies."""
        if delay is None:
            delay = self.backoff_base * 2 ** min(max(job.attempts - 1, 0), 30)
            delay *= random.uniform(0.8, 1.2)  # spread retries of a burst apart
        delay = min(self.backoff_cap, delay)
        return Ack(
            job.id,
            job.claim,
            PENDING,
            f"retrying: {reason}",
            due_at=self._now() + int(delay * 1000),
        )
