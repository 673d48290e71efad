"""SQL for follow-up settings, the DM channel cache, and follow-up rows of the timeline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.db.connection import POSTGRESQL, Database, Row, Transaction
from bot.db.entries import ensure_person
from bot.db.jobs import NewJob, insert_jobs

Reader = Database | Transaction

FOLLOW_UP_KINDS = ("followup:thank_you", "followup:feedback_request", "followup:check_in")
_KINDS_SQL = ", ".join(f"'{kind}'" for kind in FOLLOW_UP_KINDS)
SETTING_COLUMNS = (
    "timezone",
    "window_start",
    "window_end",
    "weekdays_only",
    "thank_you",
    "feedback_request",
    "check_in",
    "feedback_delay_days",
    "paused_until",
    "paused_indefinitely",
)


@dataclass(frozen=True, slots=True)
class FollowUpRow:
    id: int
    kind: str
    entry_id: int | None
    due_at: int
    state: str
    outcome: str | None
    finished_at: int | None
    snoozed: bool
    company: str | None
    entry_number: int | None


async def settings_row(database: Reader, user_id: int) -> Row | None:
    return await database.fetch_one(
        f"SELECT {', '.join(SETTING_COLUMNS)} FROM people WHERE user_id = ?", (user_id,)
    )


async def save_settings(
    tx: Transaction, user_id: int, changes: Mapping[str, Any], now: int
) -> None:
    unknown = set(changes) - set(SETTING_COLUMNS)
    if unknown:
        raise ValueError(f"not settings: {sorted(unknown)}")
    await ensure_person(tx, user_id, now)
    if changes:
        assignments = ", ".join(f"{column} = ?" for column in changes)
        await tx.execute(
            f"UPDATE people SET {assignments} WHERE user_id = ?", (*changes.values(), user_id)
        )


async def dm_channel(database: Database, user_id: int) -> int | None:
    value = await database.fetch_value(
        "SELECT dm_channel_id FROM people WHERE user_id = ?", (user_id,)
    )
    return None if value is None else int(value)


# Both only ever update a person who exists: a delivery that was in flight while the person
# deleted all their data must not bring their row back.
async def remember_dm_channel(database: Database, user_id: int, channel_id: int) -> None:
    await database.execute(
        "UPDATE people SET dm_channel_id = ? WHERE user_id = ?", (channel_id, user_id)
    )


async def record_dm_problem(database: Database, user_id: int, problem: str) -> None:
    await database.execute("UPDATE people SET dm_problem = ? WHERE user_id = ?", (problem, user_id))


async def people_with_dm_problem(database: Database) -> set[int]:
    rows = await database.fetch_all("SELECT user_id FROM people WHERE dm_problem IS NOT NULL")
    return {int(row["user_id"]) for row in rows}


async def take_dm_problem(database: Database, user_id: int) -> str | None:
    """The undelivered-DM notice, once: reading it clears it."""
    # Usually empty: a plain read first, no write lock.
    pending = await database.fetch_value(
        "SELECT 1 FROM people WHERE user_id = ? AND dm_problem IS NOT NULL", (user_id,)
    )
    if pending is None:
        return None

    async def take(tx: Transaction) -> str | None:
        problem = await tx.fetch_value(
            "SELECT dm_problem FROM people WHERE user_id = ? AND dm_problem IS NOT NULL",
            (user_id,),
        )
        if problem is None:
            return None
        await tx.execute("UPDATE people SET dm_problem = NULL WHERE user_id = ?", (user_id,))
        return str(problem)

    return await database.run(take)


_ROW = f"""
SELECT j.id, j.kind, j.subject_id, j.due_at, j.state, j.outcome, j.finished_at,
       {{snoozed}} AS snoozed, e.company, e.number
FROM scheduled_jobs AS j LEFT JOIN entries AS e ON e.id = j.subject_id
WHERE j.user_id = ? AND j.kind IN ({_KINDS_SQL})
"""
_ROW_SQL = _ROW.format(snoozed="json_extract(j.payload, '$.snoozed')")
_ROW_SQL_POSTGRESQL = _ROW.format(snoozed="(j.payload::jsonb -> 'snoozed') = 'true'::jsonb")


def _row_sql(database: Reader) -> str:
    return _ROW_SQL_POSTGRESQL if database.dialect == POSTGRESQL else _ROW_SQL


def _followup(row: Row) -> FollowUpRow:
    return FollowUpRow(
        id=row["id"],
        kind=row["kind"],
        entry_id=row["subject_id"],
        due_at=row["due_at"],
        state=row["state"],
        outcome=row["outcome"],
        finished_at=row["finished_at"],
        snoozed=bool(row["snoozed"]),
        company=row["company"],
        entry_number=row["number"],
    )


_LISTED = " AND (j.state IN ('pending', 'running') OR j.finished_at >= ?)"
# What is still to come first, soonest first; then what finished, most recent first.
_LISTED_ORDER = (
    " ORDER BY j.state NOT IN ('pending', 'running'), "
    "CASE WHEN j.state IN ('pending', 'running') THEN j.due_at ELSE -j.finished_at END, j.id"
)


async def followups_page(
    database: Database, user_id: int, *, finished_since: int, offset: int, limit: int
) -> tuple[list[FollowUpRow], int]:
    """One page of the person's follow-ups (pending or running ones, then those finished since
    `finished_since`) and how many there are in all."""
    total = await database.fetch_value(
        f"SELECT COUNT(*) FROM scheduled_jobs AS j WHERE j.user_id = ? "
        f"AND j.kind IN ({_KINDS_SQL}){_LISTED}",
        (user_id, finished_since),
    )
    rows = await database.fetch_all(
        _row_sql(database) + _LISTED + _LISTED_ORDER + " LIMIT ? OFFSET ?",
        (user_id, finished_since, limit, offset),
    )
    return [_followup(row) for row in rows], int(total or 0)


async def pending_followups(database: Database, user_id: int) -> list[FollowUpRow]:
    """The person's pending follow-ups, soonest first (what /followups cancel can take)."""
    rows = await database.fetch_all(
        _row_sql(database) + " AND j.state = 'pending' ORDER BY j.due_at, j.id", (user_id,)
    )
    return [_followup(row) for row in rows]


async def followups_for_entry(database: Database, entry_id: int) -> list[FollowUpRow]:
    rows = await database.fetch_all(
        _row_sql(database).replace("j.user_id = ?", "j.subject_id = ?") + " ORDER BY j.due_at",
        (entry_id,),
    )
    return [_followup(row) for row in rows]


async def followup(database: Database, user_id: int, job_id: int) -> FollowUpRow | None:
    row = await database.fetch_one(_row_sql(database) + " AND j.id = ?", (user_id, job_id))
    return None if row is None else _followup(row)


async def pending_for_person(database: Reader, user_id: int) -> list[Row]:
    return await database.fetch_all(
        f"SELECT id, kind, due_at, subject_id, payload FROM scheduled_jobs "
        f"WHERE user_id = ? AND state = 'pending' AND kind IN ({_KINDS_SQL})",
        (user_id,),
    )


async def move_pending(tx: Transaction, moves: Sequence[tuple[int, int]]) -> None:
    """Set new due times for (job id, due_at) pairs still pending: a new plan, not a retry."""
    await tx.executemany(
        "UPDATE scheduled_jobs SET due_at = ?, planned_at = ? WHERE id = ? AND state = 'pending'",
        ((due_at, due_at, job_id) for job_id, due_at in moves),
    )


async def cancel_pending(tx: Transaction, job_ids: Sequence[int], reason: str, now: int) -> None:
    await tx.executemany(
        "UPDATE scheduled_jobs SET state = 'cancelled', outcome = ?, finished_at = ? "
        "WHERE id = ? AND state = 'pending'",
        ((reason, now, job_id) for job_id in job_ids),
    )


async def cancel_one(database: Database, user_id: int, job_id: int, reason: str, now: int) -> bool:
    """Cancel one of the person's follow-ups if it is still pending; False if it is not (sent,
    being sent, cancelled already, or not theirs)."""
    sql = (
        "UPDATE scheduled_jobs SET state = 'cancelled', outcome = ?, finished_at = ? "
        f"WHERE id = ? AND user_id = ? AND state = 'pending' AND kind IN ({_KINDS_SQL}) "
        "RETURNING id"
    )
    row = await database.run(lambda tx: tx.fetch_one(sql, (reason, now, job_id, user_id)))
    return row is not None


async def cancel_for_entry(
    database: Database, entry_id: int, kinds: Sequence[str], reason: str, now: int
) -> list[str]:
    """Cancel an entry's pending follow-ups of these kinds; returns the kinds cancelled."""
    unknown = set(kinds) - set(FOLLOW_UP_KINDS)
    if unknown:
        raise ValueError(f"not follow-up kinds: {sorted(unknown)}")
    sql = (
        "UPDATE scheduled_jobs SET state = 'cancelled', outcome = ?, finished_at = ? "
        f"WHERE subject_id = ? AND state = 'pending' AND kind IN ({_KINDS_SQL}) "
        f"AND kind IN ({', '.join('?' for _ in kinds)}) RETURNING kind"
    )
    rows = await database.run(lambda tx: tx.fetch_all(sql, (reason, now, entry_id, *kinds)))
    found = {row["kind"] for row in rows}
    return [kind for kind in FOLLOW_UP_KINDS if kind in found]


async def record_response(
    database: Database,
    user_id: int,
    job_id: int,
    response: str,
    *,
    then: NewJob | None = None,
    now: int,
) -> bool:
    """Record what the person did with a delivered follow-up (and schedule what it asks for,
    e.g. a snooze) in one transaction; only the first press counts."""

    async def record(tx: Transaction) -> bool:
        changed = await tx.execute(
            "UPDATE scheduled_jobs SET outcome = ? "
            f"WHERE id = ? AND user_id = ? AND kind IN ({_KINDS_SQL}) AND state = 'done' "
            "AND outcome LIKE 'sent%'",
            (response, job_id, user_id),
        )
        if changed != 1:
            return False
        if then is not None:
            await insert_jobs(tx, [then], now)
        return True

    return await database.run(record)
