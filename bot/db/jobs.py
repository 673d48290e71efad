"""SQL for the scheduler's timeline (`scheduled_jobs`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.db.connection import Database, Row, Transaction, pick

PENDING, RUNNING, DONE, FAILED, CANCELLED = "pending", "running", "done", "failed", "cancelled"


@dataclass(frozen=True, slots=True)
class NewJob:
    """A promise to do something at `due_at` (UTC Unix ms), before any task exists for it."""

    kind: str
    due_at: int
    payload: dict[str, Any] = field(default_factory=dict)
    user_id: int | None = None
    guild_id: int | None = None
    subject_id: int | None = None
    # At most one row ever exists per unique key (e.g. one tip post per server per slot).
    unique_key: str | None = None


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    due_at: int
    payload: dict[str, Any]
    user_id: int | None
    guild_id: int | None
    subject_id: int | None
    unique_key: str | None
    attempts: int
    nonce: str | None
    attempt_channel_id: int | None
    attempted_at: int | None  # the first send attempt with `nonce` (Discord's window starts there)
    claim: int  # this claim's fencing token: every claim of a row counts up
    planned_at: int  # when the promise is due; retries move `due_at`, not this


@dataclass(frozen=True, slots=True)
class Attempt:
    """The send attempt recorded on a row before sending: reuse `nonce` on every retry."""

    nonce: str
    first_at: int


@dataclass(frozen=True, slots=True)
class Ack:
    """What became of one claimed row; written in batches."""

    job_id: int
    claim: int  # only the claim that ran the row may record its outcome
    state: str  # done, failed or pending (a retry)
    outcome: str
    due_at: int | None = None  # the retry time, for state pending
    reset_attempts: bool = False  # a deliberate postponement is not a failed attempt
    replan: bool = False  # the new due_at is the promise's new time, not a retry


_CLAIM_COLUMNS = (
    "id, kind, due_at, payload, user_id, guild_id, subject_id, unique_key, attempts, nonce, "
    "attempt_channel_id, attempted_at, claims, planned_at"
)

# Claim in one statement. SQLite runs it inside one write transaction, so a second process
# (or a second scheduler on the same file) can never claim the same row; PostgreSQL's
# SKIP LOCKED lets concurrent claimers pass over each other's rows instead of waiting.
_CLAIM_DUE = """
UPDATE scheduled_jobs
SET state = 'running', lease_owner = :owner, lease_expires_at = :lease_until,
    attempts = attempts + 1, claims = claims + 1
WHERE id IN (
    SELECT id FROM scheduled_jobs
    WHERE state = 'pending' AND due_at <= :now
    ORDER BY due_at, id
    LIMIT :limit{lock}
)
RETURNING {columns}
"""
CLAIM_DUE_SQL = _CLAIM_DUE.format(lock="", columns=_CLAIM_COLUMNS)
CLAIM_DUE_SQL_POSTGRESQL = _CLAIM_DUE.format(
    lock="\n    FOR UPDATE SKIP LOCKED", columns=_CLAIM_COLUMNS
)

ACK_SQL = """
UPDATE scheduled_jobs
SET state = :state, outcome = :outcome, finished_at = :finished_at,
    due_at = COALESCE(:due_at, due_at), lease_owner = NULL, lease_expires_at = NULL,
    attempts = CASE WHEN :reset_attempts THEN 0 ELSE attempts END,
    planned_at = CASE WHEN :replan THEN COALESCE(:due_at, planned_at) ELSE planned_at END
WHERE id = :id AND state = 'running' AND lease_owner = :owner AND claims = :claim
"""

INSERT_SQL = """
INSERT INTO scheduled_jobs
    (kind, due_at, planned_at, payload, user_id, guild_id, subject_id, unique_key, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (unique_key) DO NOTHING
"""
INSERT_RETURNING_SQL = INSERT_SQL.rstrip() + " RETURNING id"


def job_from_row(row: Row) -> Job:
    return Job(
        id=row["id"],
        kind=row["kind"],
        due_at=row["due_at"],
        payload=json.loads(row["payload"]),
        user_id=row["user_id"],
        guild_id=row["guild_id"],
        subject_id=row["subject_id"],
        unique_key=row["unique_key"],
        attempts=row["attempts"],
        nonce=row["nonce"],
        attempt_channel_id=row["attempt_channel_id"],
        attempted_at=row["attempted_at"],
        claim=row["claims"],
        planned_at=row["planned_at"],
    )


def _insert_params(job: NewJob, created_at: int) -> tuple[Any, ...]:
    return (
        job.kind,
        job.due_at,
        job.due_at,
        json.dumps(job.payload, separators=(",", ":")) if job.payload else "{}",
        job.user_id,
        job.guild_id,
        job.subject_id,
        job.unique_key,
        created_at,
    )


async def insert_jobs(tx: Transaction, jobs: Sequence[NewJob], created_at: int) -> list[int]:
    """Insert rows; a row whose unique key exists already is skipped (its id is not returned)."""
    ids: list[int] = []
    for job in jobs:
        row = await tx.fetch_one(INSERT_RETURNING_SQL, _insert_params(job, created_at))
        if row is not None:
            ids.append(int(row[0]))
    return ids


async def insert_jobs_many(tx: Transaction, jobs: Iterable[NewJob], created_at: int) -> None:
    """`insert_jobs` in one statement, when the new ids are not needed."""
    await tx.executemany(INSERT_SQL, [_insert_params(job, created_at) for job in jobs])


async def claim_due(
    database: Database, *, owner: str, now: int, lease_until: int, limit: int
) -> list[Job]:
    params = {"owner": owner, "lease_until": lease_until, "now": now, "limit": limit}

    async def claim(tx: Transaction) -> list[Row]:
        sql = pick(tx, sqlite=CLAIM_DUE_SQL, postgresql=CLAIM_DUE_SQL_POSTGRESQL)
        return await tx.fetch_all(sql, params)

    jobs = [job_from_row(row) for row in await database.run(claim)]
    jobs.sort(key=lambda job: (job.due_at, job.id))
    return jobs


async def acknowledge(
    database: Database,
    acks: Sequence[Ack],
    *,
    owner: str,
    finished_at: int,
    follow_ons: Sequence[NewJob] = (),
) -> None:
    """Record outcomes and insert follow-on rows in one transaction."""
    rows = [
        {
            "id": ack.job_id,
            "state": ack.state,
            "outcome": ack.outcome,
            "finished_at": None if ack.state == PENDING else finished_at,
            "due_at": ack.due_at,
            "reset_attempts": ack.reset_attempts,
            "replan": ack.replan,
            "owner": owner,
            "claim": ack.claim,
        }
        for ack in acks
    ]

    async def write(tx: Transaction) -> None:
        await tx.executemany(ACK_SQL, rows)
        await insert_jobs_many(tx, follow_ons, finished_at)

    await database.run(write)


async def next_due_at(database: Database) -> int | None:
    value = await database.fetch_value(
        "SELECT due_at FROM scheduled_jobs WHERE state = 'pending' ORDER BY due_at, id LIMIT 1"
    )
    return None if value is None else int(value)


async def renew_leases(
    database: Database, leases: Sequence[tuple[int, int]], *, owner: str, lease_until: int
) -> set[int]:
    """Extend the leases of (row id, claim) pairs still held; returns the ids renewed (a row
    missing from the answer was taken by another runner, or deleted)."""

    async def renew(tx: Transaction) -> set[int]:
        renewed: set[int] = set()
        for job_id, claim in leases:
            row = await tx.fetch_one(RENEW_SQL, (lease_until, job_id, owner, claim))
            if row is not None:
                renewed.add(int(row[0]))
        return renewed

    return await database.run(renew)


RENEW_SQL = (
    "UPDATE scheduled_jobs SET lease_expires_at = ? "
    "WHERE id = ? AND state = 'running' AND lease_owner = ? AND claims = ? RETURNING id"
)


async def release(database: Database, leases: Sequence[tuple[int, int]], *, owner: str) -> None:
    """Give claimed rows that never started back to the timeline, as if never claimed."""
    rows = [(job_id, owner, claim) for job_id, claim in leases]

    async def write(tx: Transaction) -> None:
        await tx.executemany(
            "UPDATE scheduled_jobs SET state = 'pending', attempts = attempts - 1, "
            "lease_owner = NULL, lease_expires_at = NULL "
            "WHERE id = ? AND state = 'running' AND lease_owner = ? AND claims = ?",
            rows,
        )

    await database.run(write)


async def recover_expired_leases(database: Database, *, now: int) -> int:
    """Rows whose runner died go back to pending; their attempt record (nonce) is kept."""
    return await database.execute(
        pick(database, sqlite=_RECOVER, postgresql=_RECOVER.replace("MAX(", "GREATEST("))
        + "lease_expires_at <= ?",
        (now,),
    )


async def recover_leases_of(database: Database, *, owner: str) -> int:
    """At startup: rows this instance held when it last stopped go back to pending."""
    return await database.execute(
        pick(database, sqlite=_RECOVER, postgresql=_RECOVER.replace("MAX(", "GREATEST("))
        + "lease_owner = ?",
        (owner,),
    )


# A crash is not counted as an attempt: the claim that never finished is given back.
_RECOVER = (
    "UPDATE scheduled_jobs SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL, "
    "attempts = MAX(attempts - 1, 0) WHERE state = 'running' AND "
)


# Only the runner holding this claim may record an attempt; it extends the lease for the send.
# The first attempt's time is kept (Discord's nonce window runs from the first send), unless a
# look in the channel showed no earlier message: then the window starts again now.
RECORD_ATTEMPT_SQL = """
UPDATE scheduled_jobs
SET nonce = COALESCE(nonce, :nonce), attempt_channel_id = :channel_id,
    attempted_at = CASE WHEN :restart OR attempted_at IS NULL THEN :at ELSE attempted_at END,
    lease_expires_at = :lease_until
WHERE id = :id AND state = 'running' AND lease_owner = :owner AND claims = :claim
    AND lease_expires_at > :at
RETURNING nonce, attempted_at
"""

EXTEND_LEASE_SQL = (
    "UPDATE scheduled_jobs SET lease_expires_at = :lease_until "
    "WHERE id = :id AND state = 'running' AND lease_owner = :owner AND claims = :claim "
    "AND lease_expires_at > :at RETURNING id"
)


async def record_attempt(
    database: Database,
    job_id: int,
    *,
    owner: str,
    claim: int,
    nonce: str,
    channel_id: int,
    at: int,
    lease_until: int,
    restart_window: bool = False,
) -> Attempt | None:
    """Store the attempt before sending and return the nonce to use (an earlier attempt's nonce
    wins); None when this runner no longer holds the row."""
    params = {
        "id": job_id,
        "owner": owner,
        "claim": claim,
        "nonce": nonce,
        "channel_id": channel_id,
        "at": at,
        "lease_until": lease_until,
        "restart": restart_window,
    }
    row = await database.run(lambda tx: tx.fetch_one(RECORD_ATTEMPT_SQL, params))
    return None if row is None else Attempt(str(row["nonce"]), int(row["attempted_at"]))


async def extend_lease(
    database: Database, job_id: int, *, owner: str, claim: int, at: int, lease_until: int
) -> bool:
    """Confirm this runner still holds the row and extend its lease; False when it does not."""
    params = {"id": job_id, "owner": owner, "claim": claim, "at": at, "lease_until": lease_until}
    row = await database.run(lambda tx: tx.fetch_one(EXTEND_LEASE_SQL, params))
    return row is not None


async def cancel(
    database: Database,
    *,
    at: int,
    kinds: Sequence[str] | None = None,
    user_id: int | None = None,
    guild_id: int | None = None,
    subject_id: int | None = None,
    reason: str = "cancelled",
) -> int:
    """Cancel pending rows matching every given filter (at least one owner filter)."""
    clauses = ["state = 'pending'"]
    params: list[Any] = [CANCELLED, reason, at]
    for column, value in (("user_id", user_id), ("guild_id", guild_id), ("subject_id", subject_id)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if len(clauses) == 1:
        raise ValueError("cancel needs a user, a server or a subject")
    if kinds:
        clauses.append(f"kind IN ({', '.join('?' for _ in kinds)})")
        params.extend(kinds)
    return await database.execute(
        "UPDATE scheduled_jobs SET state = ?, outcome = ?, finished_at = ? "
        f"WHERE {' AND '.join(clauses)}",
        params,
    )


async def purge_finished(database: Database, *, before: int) -> int:
    """Finished rows are kept a while for status and history, then removed."""
    return await database.execute(
        "DELETE FROM scheduled_jobs WHERE finished_at IS NOT NULL AND finished_at < ? "
        "AND state IN ('done', 'failed', 'cancelled')",
        (before,),
    )


async def count_by_state(database: Database) -> dict[str, int]:
    rows = await database.fetch_all(
        "SELECT state, COUNT(*) AS n FROM scheduled_jobs GROUP BY state"
    )
    return {row["state"]: row["n"] for row in rows}


# Many rows at once, for seeding and benchmarks.
insert_jobs_bulk = insert_jobs_many
