"""SQL for people and their entries."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from bot import templates
from bot.db.connection import Database, Row, Transaction
from bot.db.jobs import NewJob, insert_jobs_many
from bot.entries import (
    BACKLOG_AFTER_DAYS,
    BACKLOG_DAILY_LIMIT,
    DAILY_LIMIT,
    KEPT_LIMIT,
    Entry,
    EntryFields,
    FeedbackStatus,
    FeedbackTheme,
    Stage,
    backlog_cutoff,
    is_backlog,
)
from bot.errors import LimitReached

DAY_MS = 86_400_000
_COLUMNS = (
    "id, user_id, number, guild_id, company, role, stage, rejected_on, interviewer, notes, "
    "feedback_status, feedback_summary, feedback_theme, created_at, updated_at"
)
EDITABLE = ("company", "role", "stage", "rejected_on", "interviewer", "notes")


def entry_from_row(row: Row) -> Entry:
    return Entry(
        id=row["id"],
        user_id=row["user_id"],
        number=row["number"],
        guild_id=row["guild_id"],
        company=row["company"],
        role=row["role"],
        stage=Stage(row["stage"]),
        rejected_on=date.fromisoformat(row["rejected_on"]),
        interviewer=row["interviewer"],
        notes=row["notes"],
        feedback_status=FeedbackStatus(row["feedback_status"]),
        feedback_summary=row["feedback_summary"],
        feedback_theme=FeedbackTheme(row["feedback_theme"]) if row["feedback_theme"] else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


ENSURE_PERSON_SQL = (
    "INSERT INTO people (user_id, created_at) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING"
)


async def ensure_person(tx: Transaction, user_id: int, now: int) -> None:
    await tx.execute(ENSURE_PERSON_SQL, (user_id, now))


async def person_timezone(database: Database, user_id: int) -> str | None:
    value = await database.fetch_value("SELECT timezone FROM people WHERE user_id = ?", (user_id,))
    return None if value is None else str(value)


# The person's row (None before their first entry) with the counts both limits need.
_PERSON_AND_COUNTS_SQL = """
SELECT p.*,
    (SELECT COUNT(*) FROM entries WHERE user_id = :user AND created_at > :since) AS recent,
    (SELECT COUNT(*) FROM entries WHERE user_id = :user) AS kept
FROM (SELECT CAST(:user AS BIGINT) AS wanted) AS asked LEFT JOIN people AS p
    ON p.user_id = asked.wanted
"""
# Creates the person on their first entry and hands out the next number in one statement.
_NEXT_NUMBER_SQL = """
INSERT INTO people (user_id, created_at, next_entry_number) VALUES (?, ?, 2)
ON CONFLICT (user_id) DO UPDATE SET next_entry_number = people.next_entry_number + 1
RETURNING next_entry_number - 1
"""

# Among the entries logged since :since, how many are older ones (dated before :cutoff) or
# recent ones, and when the first of that kind was logged.
_LOGGED_OF_A_KIND_SQL = """
SELECT COUNT(*) AS n, MIN(created_at) AS first FROM entries
WHERE user_id = :user AND created_at > :since
    AND CASE WHEN rejected_on < :cutoff THEN 1 ELSE 0 END = :older
"""

EntryBuilder = Callable[
    [Row | None], tuple[EntryFields, Callable[[Entry], list[NewJob]] | None, date]
]


async def _check_daily_limits(
    tx: Transaction,
    user_id: int,
    now: int,
    recent: int,
    rejected_on: date,
    today: date,
) -> None:
    """Refuse a new entry over its kind's daily limit, saying when the next one can go in.

    `recent` counts every entry logged in the last 24 hours: below the lower limit neither
    limit can bind, so the usual log costs no extra statement."""
    if recent < min(DAILY_LIMIT, BACKLOG_DAILY_LIMIT):
        return
    older = is_backlog(rejected_on, today)
    found = await tx.fetch_one(
        _LOGGED_OF_A_KIND_SQL,
        {
            "user": user_id,
            "since": now - DAY_MS,
            "cutoff": backlog_cutoff(today).isoformat(),
            "older": int(older),
        },
    )
    assert found is not None
    limit = BACKLOG_DAILY_LIMIT if older else DAILY_LIMIT
    if found["n"] < limit:
        return
    next_at = (found["first"] + DAY_MS) // 1000
    template = templates.LIMIT_BACKLOG if older else templates.LIMIT_RECENT
    raise LimitReached(
        template.format(
            limit=limit,
            next=next_at,
            days=BACKLOG_AFTER_DAYS,
            backlog=BACKLOG_DAILY_LIMIT,
            recent=DAILY_LIMIT,
        )
    )


async def create_entry(
    database: Database, user_id: int, guild_id: int | None, now: int, build: EntryBuilder
) -> tuple[Entry, list[NewJob], Row | None]:
    """Validate, check the limits, insert the entry and the rows planned for it, all in one
    transaction and one hand-off to the database thread (so two quick logs can't slip past a
    limit, and an entry never exists without its rows).

    `build` gets the person's row (their time zone and settings) and returns the validated
    fields, the planner and the person's today; it runs inside the transaction (on SQLite's
    thread), so it must be pure."""

    async def write(tx: Transaction) -> tuple[Entry, list[NewJob], Row | None]:
        # Four statements: the person with both limit counts, the number, the entry, the rows
        # (and one more near a daily limit, to count the entries of the new one's kind).
        found = await tx.fetch_one(_PERSON_AND_COUNTS_SQL, {"user": user_id, "since": now - DAY_MS})
        assert found is not None
        person = found if found["user_id"] is not None else None
        fields, plan, today = build(person)
        await _check_daily_limits(tx, user_id, now, found["recent"], fields.rejected_on, today)
        if found["kept"] >= KEPT_LIMIT:
            raise LimitReached(templates.fill(templates.LIMIT_KEPT, limit=KEPT_LIMIT))
        number = await tx.fetch_value(_NEXT_NUMBER_SQL, (user_id, now))
        stage = fields.stage.value
        rejected_on = fields.rejected_on.isoformat()
        entry_id = await tx.fetch_value(
            "INSERT INTO entries (user_id, number, guild_id, company, role, stage, rejected_on, "
            "interviewer, notes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING id",
            (
                user_id,
                number,
                guild_id,
                fields.company,
                fields.role,
                stage,
                rejected_on,
                fields.interviewer,
                fields.notes,
                now,
                now,
            ),
        )
        entry = Entry(
            id=int(entry_id),
            user_id=user_id,
            number=number,
            guild_id=guild_id,
            company=fields.company,
            role=fields.role,
            stage=fields.stage,
            rejected_on=fields.rejected_on,
            interviewer=fields.interviewer,
            notes=fields.notes,
            feedback_status=FeedbackStatus.NOT_ASKED,
            feedback_summary=None,
            feedback_theme=None,
            created_at=now,
            updated_at=now,
        )
        jobs = plan(entry) if plan is not None else []
        if jobs:
            await insert_jobs_many(tx, jobs, now)
        return entry, jobs, person

    return await database.run(write)


async def get_entry(database: Database, user_id: int, number: int) -> Entry | None:
    row = await database.fetch_one(
        f"SELECT {_COLUMNS} FROM entries WHERE user_id = ? AND number = ?", (user_id, number)
    )
    return None if row is None else entry_from_row(row)


async def entries_by_id(tx: Transaction, entry_ids: set[int]) -> dict[int, Entry]:
    if not entry_ids:
        return {}
    ids = sorted(entry_ids)
    rows = await tx.fetch_all(
        f"SELECT {_COLUMNS} FROM entries WHERE id IN ({', '.join('?' for _ in ids)})", ids
    )
    return {row["id"]: entry_from_row(row) for row in rows}


async def get_entry_by_id(database: Database, entry_id: int) -> Entry | None:
    row = await database.fetch_one(f"SELECT {_COLUMNS} FROM entries WHERE id = ?", (entry_id,))
    return None if row is None else entry_from_row(row)


async def get_owned_entry(database: Database, user_id: int, entry_id: int) -> Entry | None:
    row = await database.fetch_one(
        f"SELECT {_COLUMNS} FROM entries WHERE id = ? AND user_id = ?", (entry_id, user_id)
    )
    return None if row is None else entry_from_row(row)


async def count_entries(database: Database, user_id: int) -> int:
    value = await database.fetch_value("SELECT COUNT(*) FROM entries WHERE user_id = ?", (user_id,))
    return int(value or 0)


async def list_entries(
    database: Database, user_id: int, *, offset: int = 0, limit: int | None = None
) -> list[Entry]:
    """Newest first (by logging order); all of them without a `limit`."""
    sql = f"SELECT {_COLUMNS} FROM entries WHERE user_id = ? ORDER BY number DESC"
    params: tuple[Any, ...] = (user_id,)
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params = (user_id, limit, offset)
    rows = await database.fetch_all(sql, params)
    return [entry_from_row(row) for row in rows]


async def update_entry(
    database: Database, user_id: int, number: int, changes: Mapping[str, Any], now: int
) -> Entry | None:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    assignments = ", ".join(f"{column} = ?" for column in changes)
    row = await _write_returning(
        database,
        f"UPDATE entries SET {assignments}, updated_at = ? WHERE user_id = ? AND number = ? "
        f"RETURNING {_COLUMNS}",
        (*changes.values(), now, user_id, number),
    )
    return None if row is None else entry_from_row(row)


async def set_feedback(
    database: Database,
    user_id: int,
    number: int,
    *,
    status: FeedbackStatus,
    summary: str | None,
    theme: FeedbackTheme | None,
    now: int,
) -> Entry | None:
    row = await _write_returning(
        database,
        "UPDATE entries SET feedback_status = ?, "
        "feedback_summary = COALESCE(?, feedback_summary), "
        "feedback_theme = COALESCE(?, feedback_theme), updated_at = ? "
        f"WHERE user_id = ? AND number = ? RETURNING {_COLUMNS}",
        (status.value, summary, theme.value if theme else None, now, user_id, number),
    )
    return None if row is None else entry_from_row(row)


async def delete_entry(database: Database, user_id: int, entry_id: int) -> Entry | None:
    """By id, not number: numbers start again at #1 after the person deletes everything."""
    row = await _write_returning(
        database,
        f"DELETE FROM entries WHERE id = ? AND user_id = ? RETURNING {_COLUMNS}",
        (entry_id, user_id),
    )
    return None if row is None else entry_from_row(row)


async def company_names(database: Database, user_id: int, typed: str, limit: int = 25) -> list[str]:
    """The person's own companies: those starting with what was typed first, then containing it."""
    typed = typed.strip()
    pattern = typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    # lower() on both sides: SQLite's folds ASCII only, so "Äpfel" must meet "Äpfel" unfolded.
    # Each company once, as it was last written, with when it was last used.
    rows = await database.fetch_all(
        "SELECT company, last FROM (SELECT company, created_at AS last, ROW_NUMBER() OVER "
        "(PARTITION BY lower(company) ORDER BY created_at DESC, id DESC) AS newest "
        "FROM entries WHERE user_id = ? AND lower(company) LIKE lower(?) ESCAPE '\\') AS found "
        "WHERE newest = 1 "
        "ORDER BY lower(company) LIKE lower(?) ESCAPE '\\' DESC, last DESC LIMIT ?",
        (user_id, f"%{pattern}%", f"{pattern}%", limit),
    )
    return [row["company"] for row in rows]


async def number_suggestions(
    database: Database, user_id: int, typed: str, limit: int = 25
) -> list[Entry]:
    """The person's entries for a `number` option as they type: those whose number starts with
    what was typed (that number itself first) or whose company or role contains it, newest
    first."""
    needle = " ".join(typed.split()).lstrip("#").strip()
    pattern = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    exact = int(needle) if needle.isascii() and needle.isdigit() and len(needle) <= 7 else -1
    # lower() on both sides: SQLite's folds ASCII only, so Python's must not fold more.
    rows = await database.fetch_all(
        f"SELECT {_COLUMNS} FROM entries WHERE user_id = ? AND ("
        "CAST(number AS TEXT) LIKE ? ESCAPE '\\' OR lower(company) LIKE lower(?) ESCAPE '\\' "
        "OR lower(COALESCE(role, '')) LIKE lower(?) ESCAPE '\\') "
        "ORDER BY number = ? DESC, number DESC LIMIT ?",
        (user_id, f"{pattern}%", f"%{pattern}%", f"%{pattern}%", exact, limit),
    )
    return [entry_from_row(row) for row in rows]


async def _write_returning(database: Database, sql: str, params: tuple[Any, ...]) -> Row | None:
    return await database.run(lambda tx: tx.fetch_one(sql, params))


async def person_rows(database: Database, user_id: int) -> dict[str, list[dict[str, Any]]]:
    """Everything stored about a person, table by table, for export."""
    tables = {
        "settings": "SELECT * FROM people WHERE user_id = ?",
        "entries": "SELECT * FROM entries WHERE user_id = ? ORDER BY number",
        "follow_ups": "SELECT j.id, j.kind, e.number AS entry_number, j.due_at, j.payload, "
        "j.state, j.outcome, j.created_at, j.finished_at "
        "FROM scheduled_jobs AS j LEFT JOIN entries AS e ON e.id = j.subject_id "
        "AND e.user_id = j.user_id WHERE j.user_id = ? ORDER BY j.due_at, j.id",
        "form_drafts": "SELECT id, form, subject, fields, created_at, expires_at "
        "FROM form_drafts WHERE user_id = ? ORDER BY id",
    }
    found: dict[str, list[dict[str, Any]]] = {}
    for name, sql in tables.items():
        rows = await database.fetch_all(sql, (user_id,))
        found[name] = [dict(row) for row in rows]
    return found


# The person's row's creation time and their newest entry's id (0 when there is none).
_DATA_MARK_SQL = """
SELECT COALESCE((SELECT created_at FROM people WHERE user_id = :user), 0) AS since,
    COALESCE((SELECT MAX(id) FROM entries WHERE user_id = :user), 0) AS last
"""
# Whether anything was added after a mark: a person row created anew, or a newer entry.
_CHANGED_SINCE_SQL = """
SELECT EXISTS (SELECT 1 FROM people WHERE user_id = :user AND created_at != :since)
    OR EXISTS (SELECT 1 FROM entries WHERE user_id = :user AND id > :last)
"""


async def data_mark(database: Database, user_id: int) -> tuple[int, int]:
    """(person_since, last_entry_id): how far the person's data goes now."""
    row = await database.fetch_one(_DATA_MARK_SQL, {"user": user_id})
    assert row is not None
    return int(row["since"]), int(row["last"])


async def delete_person(
    database: Database, user_id: int, *, unchanged_since: tuple[int, int] | None = None
) -> dict[str, int] | None:
    """Delete every row of one person everywhere; returns how many rows of each kind went.

    With `unchanged_since` (a `data_mark`), nothing is deleted and None is returned if data
    was added after that mark; checked in the same transaction as the deletion."""

    async def delete(tx: Transaction) -> dict[str, int] | None:
        if unchanged_since is not None:
            since, last = unchanged_since
            changed = await tx.fetch_value(
                _CHANGED_SINCE_SQL, {"user": user_id, "since": since, "last": last}
            )
            if changed:
                return None
        return {
            "entries": await tx.execute("DELETE FROM entries WHERE user_id = ?", (user_id,)),
            "follow_ups": await tx.execute(
                "DELETE FROM scheduled_jobs WHERE user_id = ?", (user_id,)
            ),
            "settings": await tx.execute("DELETE FROM people WHERE user_id = ?", (user_id,)),
            "form_drafts": await tx.execute(
                "DELETE FROM form_drafts WHERE user_id = ?", (user_id,)
            ),
        }

    return await database.run(delete)
