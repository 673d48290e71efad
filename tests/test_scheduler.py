"""The durable timeline with an injected clock: firing, waking, restarts, retries, leases."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.db import Database
from bot.db import jobs as job_store
from bot.db.jobs import Job, NewJob
from bot.ratelimit import TokenBucket
from bot.scheduler import JobFailed, JobResult, RetryLater, Scheduler

pytestmark = pytest.mark.timeout(20)

START = 1_800_000_000.0  # 2027-01-15T08:00:00Z


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def database(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Database]:
    db = await Database.open(tmp_path / "test.sqlite3", clock)
    yield db
    await db.close()


class Recorder:
    """A handler that records which rows ran, at what clock time."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.ran: list[tuple[int, float]] = []

    async def __call__(self, job: Job) -> JobResult | None:
        self.ran.append((job.id, self.clock.timestamp()))
        return None


def at(seconds: float) -> int:
    return int((START + seconds) * 1000)


async def started(database: Database, clock: ManualClock, **options: object) -> Scheduler:
    scheduler = Scheduler(database, clock, **options)  # type: ignore[arg-type]
    return scheduler


async def test_rows_fire_at_their_instant(database: Database, clock: ManualClock) -> None:
    scheduler = Scheduler(database, clock)
    recorder = Recorder(clock)
    scheduler.register("note", recorder)
    await scheduler.start()
    try:
        first, second = await scheduler.schedule([NewJob("note", at(10)), NewJob("note", at(20))])
        await scheduler.settle()
        assert recorder.ran == []
        clock.advance(9.999)
        await scheduler.settle()
        assert recorder.ran == []
        clock.advance(0.001)
        await scheduler.settle()
        assert recorder.ran == [(first, START + 10)]
        clock.advance(10)
        await scheduler.settle()
        assert recorder.ran == [(first, START + 10), (second, START + 20)]
        assert await job_store.count_by_state(database) == {"done": 2}
    finally:
        await scheduler.stop()


async def test_sooner_insert_wakes_the_dispatcher(database: Database, clock: ManualClock) -> None:
    scheduler = Scheduler(database, clock, max_sleep=3600)
    recorder = Recorder(clock)
    scheduler.register("note", recorder)
    await scheduler.start()
    try:
        await scheduler.schedule(NewJob("note", at(3000)))
        await scheduler.settle()  # now asleep until +3000 s
        (sooner,) = await scheduler.schedule(NewJob("note", at(5)))
        await scheduler.settle()
        clock.advance(5)
        await scheduler.settle()
        assert recorder.ran == [(sooner, START + 5)]
    finally:
        await scheduler.stop()


async def test_sleep_is_capped_so_other_processes_inserts_are_seen(
    database: Database, clock: ManualClock
) -> None:
    scheduler = Scheduler(database, clock, max_sleep=30)
    recorder = Recorder(clock)
    scheduler.register("note", recorder)
    await scheduler.start()
    try:
        await scheduler.settle()
        # Inserted behind the scheduler's back, as another process would.
        async with database.transaction() as tx:
            await job_store.insert_jobs(tx, [NewJob("note", at(1))], at(0))
        clock.advance(29)
        await asyncio.sleep(0.05)
        assert recorder.ran == []
        clock.advance(1)
        await asyncio.sleep(0.05)
        await scheduler.settle()
        assert len(recorder.ran) == 1
    finally:
        await scheduler.stop()


async def test_restart_runs_each_pending_row_exactly_once(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "restart.sqlite3"
    ran: list[int] = []

    async def handler(job: Job) -> None:
        ran.append(job.id)

    database = await Database.open(path, clock)
    scheduler = Scheduler(database, clock)
    scheduler.register("note", handler)
    await scheduler.start()
    ids = await scheduler.schedule([NewJob("note", at(s)) for s in (5, 50, 500, 5000)])
    clock.advance(6)
    await scheduler.settle()
    await scheduler.stop()
    await database.close()
    assert ran == ids[:1]

    clock.advance(1000)  # down for a while: two rows become overdue
    database = await Database.open(path, clock)
    scheduler = Scheduler(database, clock)
    scheduler.register("note", handler)
    await scheduler.start()
    await scheduler.settle()
    assert ran == ids[:3]
    clock.advance(5000)
    await scheduler.settle()
    await scheduler.stop()
    await database.close()
    assert ran == ids


async def test_a_crashed_runner_is_recovered_after_its_lease(
    database: Database, clock: ManualClock
) -> None:
    # A runner that claimed a row and died: the row stays 'running' until its lease expires.
    async with database.transaction() as tx:
        await job_store.insert_jobs(tx, [NewJob("note", at(0))], at(0))
    claimed = await job_store.claim_due(
        database, owner="dead", now=at(0), lease_until=at(60), limit=10
    )
    assert len(claimed) == 1
    scheduler = Scheduler(database, clock, lease_seconds=60, owner="alive")
    recorder = Recorder(clock)
    scheduler.register("note", recorder)
    await scheduler.start()
    try:
        await scheduler.settle()
        assert recorder.ran == []
        clock.advance(60)
        await scheduler.settle()
        await asyncio.sleep(0.05)
        await scheduler.settle()
        assert [job_id for job_id, _ in recorder.ran] == [claimed[0].id]
    finally:
        await scheduler.stop()


async def test_a_restarted_instance_takes_back_its_own_rows_at_once(
    database: Database, clock: ManualClock
) -> None:
    async with database.transaction() as tx:
        await job_store.insert_jobs(tx, [NewJob("note", at(0))], at(0))
    await job_store.claim_due(database, owner="host-a", now=at(0), lease_until=at(60), limit=10)
    scheduler = Scheduler(database, clock, owner="host-a")
    recorder = Recorder(clock)
    scheduler.register("note", recorder)
    await scheduler.start()
    try:
        await scheduler.settle()
        assert len(recorder.ran) == 1  # no wait for the 60 s lease of the killed run
        # The killed run's claim is not counted as an attempt: crashes never use up retries.
        assert await database.fetch_value("SELECT attempts FROM scheduled_jobs") == 1
    finally:
        await scheduler.stop()


async def test_transient_errors_back_off_and_permanent_ones_fail(
    database: Database, clock: ManualClock
) -> None:
    calls: list[tuple[str, float]] = []

    async def flaky(job: Job) -> None:
        calls.append(("flaky", clock.timestamp()))
        if len(calls) < 3:
            raise RetryLater("HTTP 503")

    async def broken(job: Job) -> None:
        raise JobFailed("unknown channel (10003)")

    scheduler = Scheduler(database, clock, backoff_base=10)
    scheduler.register("flaky", flaky)
    scheduler.register("broken", broken)
    await scheduler.start()
    try:
        flaky_id, broken_id = await scheduler.schedule(
            [NewJob("flaky", at(0)), NewJob("broken", at(0))]
        )
        await scheduler.settle()
        assert len(calls) == 1
        clock.advance(7)  # first backoff is 10 s ± 20 %
        await scheduler.settle()
        assert len(calls) == 1
        clock.advance(6)
        await scheduler.settle()
        assert len(calls) == 2
        clock.advance(25)  # second backoff is 20 s ± 20 %
        await scheduler.settle()
        assert len(calls) == 3
        rows = {
            row["id"]: row
            for row in await database.fetch_all(
                "SELECT id, state, outcome, attempts FROM scheduled_jobs"
            )
        }
        assert rows[flaky_id]["state"] == "done"
        assert rows[flaky_id]["attempts"] == 3
        assert rows[broken_id]["state"] == "failed"
        assert rows[broken_id]["outcome"] == "unknown channel (10003)"
        assert rows[broken_id]["attempts"] == 1
    finally:
        await scheduler.stop()


async def test_transient_errors_never_end_a_row_and_back_off_to_the_cap(
    database: Database, clock: ManualClock
) -> None:
    # An outage of hours: the row keeps retrying, at most every backoff_cap seconds, and is
    # delivered when the outage ends; only the row's own rule (missed, skipped) ends it.
    outage_until = START + 3 * 3600
    calls: list[float] = []

    async def busy_until_the_outage_ends(job: Job) -> None:
        calls.append(clock.timestamp())
        if clock.timestamp() < outage_until:
            raise RetryLater("HTTP 502")

    scheduler = Scheduler(database, clock, backoff_base=5, backoff_cap=600)
    scheduler.register("busy", busy_until_the_outage_ends)
    await scheduler.start()
    try:
        (job_id,) = await scheduler.schedule(NewJob("busy", at(0)))
        while clock.timestamp() < outage_until + 700:
            await scheduler.settle()
            clock.advance(30)
        await scheduler.settle()
        row = await database.fetch_one(
            "SELECT state, outcome, attempts FROM scheduled_jobs WHERE id = ?", (job_id,)
        )
        assert row is not None
        assert row["state"] == "done"
        gaps = [later - earlier for earlier, later in itertools.pairwise(calls)]
        assert max(gaps) <= 600 + 30  # the cap (plus the test's own 30 s steps)
        assert len(calls) > 15  # it did keep trying all along
    finally:
        await scheduler.stop()


async def test_follow_on_rows_are_inserted_with_the_acknowledgement(
    database: Database, clock: ManualClock
) -> None:
    async def weekly(job: Job) -> JobResult:
        return JobResult(
            outcome="posted",
            next_jobs=[NewJob("weekly", job.due_at + 7 * 86_400_000, unique_key=f"w{job.due_at}")],
        )

    scheduler = Scheduler(database, clock)
    scheduler.register("weekly", weekly)
    await scheduler.start()
    try:
        await scheduler.schedule(NewJob("weekly", at(0), unique_key="first"))
        await scheduler.settle()
        clock.advance(7 * 86_400)
        await scheduler.settle()
        rows = await database.fetch_all("SELECT state, due_at FROM scheduled_jobs ORDER BY due_at")
        assert [row["state"] for row in rows] == ["done", "done", "pending"]
        assert rows[2]["due_at"] == at(14 * 86_400)
    finally:
        await scheduler.stop()


async def test_unique_key_allows_one_row(database: Database, clock: ManualClock) -> None:
    scheduler = Scheduler(database, clock)
    first = await scheduler.schedule(NewJob("post", at(10), unique_key="guild:1:slot"))
    second = await scheduler.schedule(NewJob("post", at(10), unique_key="guild:1:slot"))
    assert len(first) == 1
    assert second == []


async def test_two_schedulers_on_one_database_never_run_the_same_row(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "shared.sqlite3"
    first_db = await Database.open(path, clock)
    second_db = await Database.open(path, clock)
    ran: list[tuple[str, int]] = []

    def handler_for(name: str):  # type: ignore[no-untyped-def]
        async def handler(job: Job) -> None:
            ran.append((name, job.id))
            await asyncio.sleep(0)

        return handler

    schedulers = []
    for name, db in (("a", first_db), ("b", second_db)):
        scheduler = Scheduler(db, clock, batch_size=7, workers=4, owner=name)
        scheduler.register("note", handler_for(name))
        schedulers.append(scheduler)
    async with first_db.transaction() as tx:
        await job_store.insert_jobs_bulk(
            tx, (NewJob("note", at(-(i % 50))) for i in range(600)), at(0)
        )
    for scheduler in schedulers:
        await scheduler.start()
    try:
        for _ in range(3):
            await asyncio.gather(*(scheduler.settle() for scheduler in schedulers))
        ids = [job_id for _, job_id in ran]
        assert len(ids) == 600
        assert len(set(ids)) == 600
        assert {name for name, _ in ran} == {"a", "b"}  # both did share the work
    finally:
        for scheduler in schedulers:
            await scheduler.stop()
        await first_db.close()
        await second_db.close()


async def test_cancel_by_owner(database: Database, clock: ManualClock) -> None:
    scheduler = Scheduler(database, clock)
    await scheduler.schedule(
        [
            NewJob("followup", at(10), user_id=1, subject_id=100),
            NewJob("followup", at(10), user_id=1, subject_id=101),
            NewJob("followup", at(10), user_id=2, subject_id=200),
            NewJob("tip", at(10), guild_id=9),
        ]
    )
    assert await scheduler.cancel_for_subject(["followup"], 100) == 1
    assert await scheduler.cancel_for_user(1) == 1
    assert await scheduler.cancel_for_guild(9) == 1
    assert await job_store.count_by_state(database) == {"cancelled": 3, "pending": 1}


async def test_attempt_nonce_is_kept_across_retries(database: Database, clock: ManualClock) -> None:
    nonces: list[str] = []

    async def sender(job: Job) -> None:
        nonces.append((await scheduler.record_attempt(job, channel_id=555)).nonce)
        if len(nonces) == 1:
            raise RetryLater("timeout", delay=1)

    scheduler = Scheduler(database, clock)
    scheduler.register("dm", sender)
    await scheduler.start()
    try:
        await scheduler.schedule(NewJob("dm", at(0)))
        await scheduler.settle()
        clock.advance(1)
        await scheduler.settle()
    finally:
        await scheduler.stop()
    assert len(nonces) == 2
    assert nonces[0] == nonces[1]
    assert len(nonces[0]) <= 25


async def test_stop_hands_back_rows_that_never_started(
    database: Database, clock: ManualClock
) -> None:
    gate = asyncio.Event()
    started = asyncio.Event()

    async def slow(job: Job) -> None:
        started.set()
        await gate.wait()

    scheduler = Scheduler(database, clock, workers=1, batch_size=10)
    scheduler.register("slow", slow)
    await scheduler.start()
    await scheduler.schedule([NewJob("slow", at(0)) for _ in range(5)])
    await asyncio.wait_for(started.wait(), 5)  # claimed as one batch before the first runs
    await scheduler.stop(grace=0.1)
    states = await job_store.count_by_state(database)
    # One row was cut off mid-run (its lease expires); the four unstarted are pending again.
    assert states == {"running": 1, "pending": 4}
    rows = await database.fetch_all("SELECT attempts FROM scheduled_jobs WHERE state='pending'")
    assert {row["attempts"] for row in rows} == {0}


async def test_token_bucket_holds_sends_to_its_rate(clock: ManualClock) -> None:
    bucket = TokenBucket(rate=8, clock=clock, capacity=2)
    done = 0

    async def send_many() -> None:
        nonlocal done
        for _ in range(34):
            await bucket.acquire()
            done += 1

    task = asyncio.create_task(send_many())
    await asyncio.sleep(0.01)
    assert done == 2  # the burst
    for second in range(1, 5):
        for _ in range(8):
            clock.advance(0.125)  # exact in binary, so the count is too
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        assert done == 2 + 8 * second
    await asyncio.wait_for(task, 1)
    assert done == 34


async def test_finished_rows_are_purged_daily_after_30_days(
    database: Database, clock: ManualClock
) -> None:
    scheduler = Scheduler(database, clock)
    recorder = Recorder(clock)
    scheduler.register("note", recorder)
    scheduler.register("timeline:purge", scheduler.purge_finished)
    await scheduler.start()
    try:
        await scheduler.schedule([NewJob("note", at(0)), scheduler.purge_job(at(0))])
        await scheduler.schedule(scheduler.purge_job(at(0)))  # once per day, however often asked
        await scheduler.settle()
        clock.advance(29 * 86_400)
        await scheduler.settle()
        assert (
            await database.fetch_value("SELECT COUNT(*) FROM scheduled_jobs WHERE kind = 'note'")
            == 1
        )
        clock.advance(2 * 86_400)
        await scheduler.settle()
        assert (
            await database.fetch_value("SELECT COUNT(*) FROM scheduled_jobs WHERE kind = 'note'")
            == 0
        )
        pending = await database.fetch_all(
            "SELECT due_at FROM scheduled_jobs WHERE kind = 'timeline:purge' AND state = 'pending'"
        )
        assert len(pending) == 1
    finally:
        await scheduler.stop()


class BreakingClock(ManualClock):
    """A clock whose sleep fails a given number of times: the worst a dispatcher can meet."""

    def __init__(self, start: float, failures: int) -> None:
        super().__init__(start)
        self.failures = failures

    async def sleep(self, seconds: float) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the clock broke")
        await super().sleep(seconds)


async def test_a_dispatcher_that_dies_is_started_again(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    # The first failure is caught by the pass; the second, in its backoff, ends the task.
    clock = BreakingClock(START, failures=2)
    scheduler = Scheduler(database, clock)
    recorder = Recorder(clock)
    scheduler.register("note", recorder)
    await scheduler.start()
    try:
        while scheduler.restarts == 0:  # noqa: ASYNC110 - a counter, no event to wait on
            await asyncio.sleep(0.005)
        (job_id,) = await scheduler.schedule(NewJob("note", at(1)))
        clock.advance(1)
        await scheduler.settle()
        assert [ran for ran, _ in recorder.ran] == [job_id]
        assert any("ended unexpectedly" in record.getMessage() for record in caplog.records)
    finally:
        await scheduler.stop()
