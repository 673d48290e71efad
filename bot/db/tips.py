"""SQL for Interview Tip of the Week: schedules, server tips, hidden tips, posts and skips.

The weekly slots themselves are rows of `scheduled_jobs` (kind 'tip:post'); the statements here
that touch them do so in the same transaction as the schedule change they belong to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.db.connection import Database, Row, Transaction, pick
from bot.db.jobs import NewJob, insert_jobs

POST_KIND = "tip:post"
SCHEDULE_COLUMNS = frozenset(
    {
        "channel_id",
        "weekday",
        "time",
        "timezone",
        "role_id",
        "threads",
        "paused",
        "attention",
        "last_problem",
        "last_problem_at",
        "left_at",
    }
)


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    guild_id: int
    channel_id: int | None
    weekday: int | None
    time: str | None
    timezone: str | None
    role_id: int | None
    threads: bool
    paused: bool
    attention: str | None
    last_problem: str | None
    last_problem_at: int | None
    post_count: int
    generation: int
    left_at: int | None


@dataclass(frozen=True, slots=True)
class ServerTipRow:
    number: int
    title: str
    body: str


@dataclass(frozen=True, slots=True)
class PostRow:
    id: int
    guild_id: int
    number: int
    tip_id: str
    title: str
    cycle: int
    slot: int | None
    channel_id: int
    nonce: str
    attempted_at: int | None
    message_id: int | None
    thread_done: bool
    posted_at: int | None


@dataclass(frozen=True, slots=True)
class SkipRow:
    slot: int
    reason: str


@dataclass(frozen=True, slots=True)
class PickState:
    """What choosing the next tip depends on, read inside the numbering transaction."""

    server_tips: list[ServerTipRow]
    hidden: frozenset[str]
    cycle: int
    posted: frozenset[str]  # tip ids posted (or reserved) in `cycle`


@dataclass(frozen=True, slots=True)
class Pick:
    tip_id: str
    title: str
    cycle: int


Picker = Callable[[PickState], Pick | None]


def _schedule(row: Row) -> ScheduleRow:
    return ScheduleRow(
        guild_id=row["guild_id"],
        channel_id=row["channel_id"],
        weekday=row["weekday"],
        time=row["time"],
        timezone=row["timezone"],
        role_id=row["role_id"],
        threads=bool(row["threads"]),
        paused=bool(row["paused"]),
        attention=row["attention"],
        last_problem=row["last_problem"],
        last_problem_at=row["last_problem_at"],
        post_count=row["post_count"],
        generation=row["generation"],
        left_at=row["left_at"],
    )


def _post(row: Row) -> PostRow:
    return PostRow(
        id=row["id"],
        guild_id=row["guild_id"],
        number=row["number"],
        tip_id=row["tip_id"],
        title=row["title"],
        cycle=row["cycle"],
        slot=row["slot"],
        channel_id=row["channel_id"],
        nonce=row["nonce"],
        attempted_at=row["attempted_at"],
        message_id=row["message_id"],
        thread_done=bool(row["thread_done"]),
        posted_at=row["posted_at"],
    )


async def _ensure_server(tx: Transaction, guild_id: int, now: int) -> None:
    await tx.execute(
        "INSERT INTO tip_schedules (guild_id, created_at, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (guild_id) DO NOTHING",
        (guild_id, now, now),
    )


async def _schedule_in(tx: Transaction, guild_id: int) -> ScheduleRow | None:
    row = await tx.fetch_one("SELECT * FROM tip_schedules WHERE guild_id = ?", (guild_id,))
    return None if row is None else _schedule(row)


async def get_schedule(database: Database, guild_id: int) -> ScheduleRow | None:
    row = await database.fetch_one("SELECT * FROM tip_schedules WHERE guild_id = ?", (guild_id,))
    return None if row is None else _schedule(row)


async def _cancel_pending_slots(tx: Transaction, guild_id: int, reason: str, now: int) -> None:
    # The unique key is released with the row: a cancelled slot never posts, and the new
    # schedule may need the same (server, slot) key.
    await tx.execute(
        "UPDATE scheduled_jobs SET state = 'cancelled', outcome = ?, finished_at = ?, "
        "unique_key = NULL WHERE guild_id = ? AND kind = ? AND state = 'pending'",
        (reason, now, guild_id, POST_KIND),
    )


async def change_schedule(
    database: Database,
    guild_id: int,
    changes: Mapping[str, Any],
    *,
    now: int,
    reason: str,
    next_job: Callable[[ScheduleRow, frozenset[int]], NewJob | None],
) -> tuple[ScheduleRow, NewJob | None]:
    """Apply `changes`, start a new generation, and replace the pending slot row, atomically.

    `next_job` sees the updated schedule and the slots after `now` skipped with /tips skip,
    and returns the row to insert (or None: nothing is scheduled, e.g. while paused).
    """
    unknown = set(changes) - SCHEDULE_COLUMNS
    if unknown:
        raise ValueError(f"not schedule columns: {sorted(unknown)}")
    async with database.transaction() as tx:
        await _ensure_server(tx, guild_id, now)
        assignments = "".join(f"{column} = ?, " for column in changes)
        await tx.execute(
            f"UPDATE tip_schedules SET {assignments}generation = generation + 1, updated_at = ? "
            "WHERE guild_id = ?",
            (*changes.values(), now, guild_id),
        )
        schedule = await _schedule_in(tx, guild_id)
        assert schedule is not None
        await _cancel_pending_slots(tx, guild_id, reason, now)
        job = next_job(schedule, await _skipped_after(tx, guild_id, now))
        if job is not None:
            await insert_jobs(tx, [job], now)
    return schedule, job


async def update_settings(
    database: Database, guild_id: int, changes: Mapping[str, Any], now: int
) -> ScheduleRow:
    """Change settings that do not move the timeline (threads, problems)."""
    unknown = set(changes) - SCHEDULE_COLUMNS
    if unknown:
        raise ValueError(f"not schedule columns: {sorted(unknown)}")
    async with database.transaction() as tx:
        await _ensure_server(tx, guild_id, now)
        assignments = "".join(f"{column} = ?, " for column in changes)
        await tx.execute(
            f"UPDATE tip_schedules SET {assignments}updated_at = ? WHERE guild_id = ?",
            (*changes.values(), now, guild_id),
        )
        schedule = await _schedule_in(tx, guild_id)
    assert schedule is not None
    return schedule


def _slot(database: Database | Transaction) -> str:
    """The weekly slot a tip row's payload names, as SQL."""
    return pick(
        database,
        sqlite="json_extract(payload, '$.slot')",
        postgresql="(payload::jsonb ->> 'slot')::bigint",
    )


async def pending_slot(database: Database, guild_id: int) -> int | None:
    """The slot (UTC ms) of the server's waiting or running weekly row, if any."""
    value = await database.fetch_value(
        f"SELECT {_slot(database)} FROM scheduled_jobs "
        "WHERE guild_id = ? AND kind = ? AND state IN ('pending', 'running') "
        "ORDER BY due_at LIMIT 1",
        (guild_id, POST_KIND),
    )
    return None if value is None else int(value)


async def skip_next_slot(
    database: Database,
    guild_id: int,
    *,
    now: int,
    reason: str,
    following: Callable[[int, frozenset[int]], NewJob],
) -> tuple[int, NewJob] | None:
    """Cancel the pending slot, record it as skipped and schedule the one after, atomically.

    `following` gets the skipped slot and every skipped slot after it. Returns (skipped slot,
    the new row), or None when no slot is pending.
    """
    async with database.transaction() as tx:
        row = await tx.fetch_one(
            f"SELECT id, {_slot(tx)} AS slot FROM scheduled_jobs "
            "WHERE guild_id = ? AND kind = ? AND state = 'pending' ORDER BY due_at LIMIT 1",
            (guild_id, POST_KIND),
        )
        if row is None:
            return None
        slot = int(row["slot"])
        await tx.execute(
            "UPDATE scheduled_jobs SET state = 'cancelled', outcome = ?, finished_at = ?, "
            "unique_key = NULL WHERE id = ? AND state = 'pending'",
            (f"skipped: {reason}", now, row["id"]),
        )
        await tx.execute(
            "INSERT INTO tip_skips (guild_id, slot, reason, recorded_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (guild_id, slot) DO NOTHING",
            (guild_id, slot, reason, now),
        )
        job = following(slot, await _skipped_after(tx, guild_id, slot))
        await insert_jobs(tx, [job], now)
    return slot, job


async def record_skip(database: Database, guild_id: int, slot: int, reason: str, now: int) -> None:
    await database.execute(
        "INSERT INTO tip_skips (guild_id, slot, reason, recorded_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (guild_id, slot) DO NOTHING",
        (guild_id, slot, reason, now),
    )


async def _skipped_after(
    reader: Database | Transaction, guild_id: int, after: int
) -> frozenset[int]:
    rows = await reader.fetch_all(
        "SELECT slot FROM tip_skips WHERE guild_id = ? AND slot > ?", (guild_id, after)
    )
    return frozenset(int(row["slot"]) for row in rows)


async def skipped_after(database: Database, guild_id: int, after: int) -> frozenset[int]:
    """Slots later than `after` that are skipped already (with /tips skip): a slot recorded as
    skipped is never planned again, or /tips status would list it as skipped and as next."""
    return await _skipped_after(database, guild_id, after)


async def recent_skips(database: Database, guild_id: int, limit: int) -> tuple[list[SkipRow], int]:
    """The latest skipped slots, newest first, and how many there are in all."""
    rows = await database.fetch_all(
        "SELECT slot, reason FROM tip_skips WHERE guild_id = ? ORDER BY slot DESC LIMIT ?",
        (guild_id, limit),
    )
    total = await database.fetch_value(
        "SELECT COUNT(*) FROM tip_skips WHERE guild_id = ?", (guild_id,)
    )
    return [SkipRow(row["slot"], row["reason"]) for row in rows], int(total or 0)


# -- server tips and hidden shipped tips ---------------------------------------------------------


async def server_tips(database: Database, guild_id: int) -> list[ServerTipRow]:
    rows = await database.fetch_all(
        "SELECT number, title, body FROM server_tips WHERE guild_id = ? ORDER BY number",
        (guild_id,),
    )
    return [ServerTipRow(row["number"], row["title"], row["body"]) for row in rows]


async def server_tip(database: Database, guild_id: int, number: int) -> ServerTipRow | None:
    row = await database.fetch_one(
        "SELECT number, title, body FROM server_tips WHERE guild_id = ? AND number = ?",
        (guild_id, number),
    )
    return None if row is None else ServerTipRow(row["number"], row["title"], row["body"])


async def add_server_tip(
    database: Database, guild_id: int, title: str, body: str, *, now: int, limit: int
) -> int | None:
    """Store a new server tip and return its number; None when the server has `limit` already."""
    async with database.transaction() as tx:
        await _ensure_server(tx, guild_id, now)
        count = await tx.fetch_one(
            "SELECT COUNT(*) AS n FROM server_tips WHERE guild_id = ?", (guild_id,)
        )
        if count is not None and count["n"] >= limit:
            return None
        row = await tx.fetch_one(
            "UPDATE tip_schedules SET next_server_tip = next_server_tip + 1, updated_at = ? "
            "WHERE guild_id = ? RETURNING next_server_tip - 1 AS number",
            (now, guild_id),
        )
        assert row is not None
        number = int(row["number"])
        await tx.execute(
            "INSERT INTO server_tips (guild_id, number, title, body, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (guild_id, number, title, body, now, now),
        )
    return number


async def update_server_tip(
    database: Database, guild_id: int, number: int, title: str, body: str, now: int
) -> bool:
    changed = await database.execute(
        "UPDATE server_tips SET title = ?, body = ?, updated_at = ? "
        "WHERE guild_id = ? AND number = ?",
        (title, body, now, guild_id, number),
    )
    return changed == 1


async def delete_server_tip(database: Database, guild_id: int, number: int) -> bool:
    changed = await database.execute(
        "DELETE FROM server_tips WHERE guild_id = ? AND number = ?", (guild_id, number)
    )
    return changed == 1


async def hide_tip(database: Database, guild_id: int, tip_id: str, now: int) -> bool:
    """Hide a shipped tip for one server; False if it was hidden already."""
    async with database.transaction() as tx:
        await _ensure_server(tx, guild_id, now)
        added = await tx.execute(
            "INSERT INTO tip_hidden (guild_id, tip_id, hidden_at) VALUES (?, ?, ?) "
            "ON CONFLICT (guild_id, tip_id) DO NOTHING",
            (guild_id, tip_id, now),
        )
        return added == 1


async def unhide_tip(database: Database, guild_id: int, tip_id: str) -> bool:
    """Show a hidden shipped tip in one server again; False if it was not hidden."""
    changed = await database.execute(
        "DELETE FROM tip_hidden WHERE guild_id = ? AND tip_id = ?", (guild_id, tip_id)
    )
    return changed == 1


async def hidden_tips(database: Database, guild_id: int) -> frozenset[str]:
    rows = await database.fetch_all("SELECT tip_id FROM tip_hidden WHERE guild_id = ?", (guild_id,))
    return frozenset(row["tip_id"] for row in rows)


# -- posts -------------------------------------------------------------------------------------


async def _pick_state(tx: Transaction, guild_id: int) -> PickState:
    tips = await tx.fetch_all(
        "SELECT number, title, body FROM server_tips WHERE guild_id = ? ORDER BY number",
        (guild_id,),
    )
    hidden = await tx.fetch_all("SELECT tip_id FROM tip_hidden WHERE guild_id = ?", (guild_id,))
    cycle_row = await tx.fetch_one(
        "SELECT COALESCE(MAX(cycle), 1) AS cycle FROM tip_posts WHERE guild_id = ?", (guild_id,)
    )
    cycle = int(cycle_row["cycle"]) if cycle_row is not None else 1
    posted = await tx.fetch_all(
        "SELECT tip_id FROM tip_posts WHERE guild_id = ? AND cycle = ?", (guild_id, cycle)
    )
    return PickState(
        server_tips=[ServerTipRow(row["number"], row["title"], row["body"]) for row in tips],
        hidden=frozenset(row["tip_id"] for row in hidden),
        cycle=cycle,
        posted=frozenset(row["tip_id"] for row in posted),
    )


async def pick_state(database: Database, guild_id: int) -> PickState:
    async with database.transaction() as tx:
        return await _pick_state(tx, guild_id)


async def post_for_slot(database: Database, guild_id: int, slot: int) -> PostRow | None:
    row = await database.fetch_one(
        "SELECT * FROM tip_posts WHERE guild_id = ? AND slot = ?", (guild_id, slot)
    )
    return None if row is None else _post(row)


async def reserve_post(
    database: Database,
    guild_id: int,
    *,
    slot: int | None,
    channel_id: int,
    nonce: str,
    now: int,
    pick: Picker,
) -> PostRow | None:
    """Take the next number and tip for a post, in one transaction.

    Idempotent per slot: a slot that has a row already gets that row back (same number, same
    tip, same nonce), whoever asks. Returns None when there is no tip to post.
    """
    async with database.transaction() as tx:
        if slot is not None:
            row = await tx.fetch_one(
                "SELECT * FROM tip_posts WHERE guild_id = ? AND slot = ?", (guild_id, slot)
            )
            if row is not None:
                return _post(row)
        await _ensure_server(tx, guild_id, now)
        chosen = pick(await _pick_state(tx, guild_id))
        if chosen is None:
            return None
        counter = await tx.fetch_one(
            "UPDATE tip_schedules SET post_count = post_count + 1, updated_at = ? "
            "WHERE guild_id = ? RETURNING post_count",
            (now, guild_id),
        )
        assert counter is not None
        row = await tx.fetch_one(
            "INSERT INTO tip_posts (guild_id, number, tip_id, title, cycle, slot, channel_id, "
            "nonce, reserved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (
                guild_id,
                counter["post_count"],
                chosen.tip_id,
                chosen.title,
                chosen.cycle,
                slot,
                channel_id,
                nonce,
                now,
            ),
        )
        assert row is not None
    return _post(row)


async def mark_attempt(
    database: Database, post_id: int, now: int, *, restart_window: bool = False
) -> None:
    """Recorded before each send, so a later run knows whether to look in the channel first.

    The first attempt's time is kept: Discord's nonce window runs from the first send that may
    have reached it, not from the last retry. `restart_window`: a look in the channel found no
    earlier post, so the window starts again with this attempt."""
    await database.execute(
        "UPDATE tip_posts SET attempted_at = CASE WHEN ? OR attempted_at IS NULL THEN ? "
        "ELSE attempted_at END WHERE id = ?",
        (restart_window, now, post_id),
    )


async def mark_posted(database: Database, post_id: int, message_id: int, now: int) -> None:
    await database.execute(
        "UPDATE tip_posts SET message_id = ?, posted_at = ? WHERE id = ?",
        (message_id, now, post_id),
    )


async def mark_thread_done(database: Database, post_id: int) -> None:
    await database.execute("UPDATE tip_posts SET thread_done = 1 WHERE id = ?", (post_id,))


async def release_post(database: Database, post_id: int, now: int) -> None:
    """Give back a reservation that never became a message; its number too if it was the last."""
    async with database.transaction() as tx:
        row = await tx.fetch_one(
            "DELETE FROM tip_posts WHERE id = ? AND message_id IS NULL RETURNING guild_id, number",
            (post_id,),
        )
        if row is not None:
            await tx.execute(
                "UPDATE tip_schedules SET post_count = post_count - 1, updated_at = ? "
                "WHERE guild_id = ? AND post_count = ?",
                (now, row["guild_id"], row["number"]),
            )


async def last_post(database: Database, guild_id: int) -> PostRow | None:
    row = await database.fetch_one(
        "SELECT * FROM tip_posts WHERE guild_id = ? AND message_id IS NOT NULL "
        "ORDER BY number DESC LIMIT 1",
        (guild_id,),
    )
    return None if row is None else _post(row)


async def numbers_in_cycle(database: Database, guild_id: int, cycle: int) -> dict[str, int]:
    """Tip id → the number it was posted as in `cycle` (for /tips list)."""
    rows = await database.fetch_all(
        "SELECT tip_id, number FROM tip_posts WHERE guild_id = ? AND cycle = ? "
        "AND message_id IS NOT NULL",
        (guild_id, cycle),
    )
    return {row["tip_id"]: row["number"] for row in rows}


# -- servers the bot left ------------------------------------------------------------------------


async def mark_returned(database: Database, guild_id: int, now: int) -> bool:
    changed = await database.execute(
        "UPDATE tip_schedules SET left_at = NULL, updated_at = ? "
        "WHERE guild_id = ? AND left_at IS NOT NULL",
        (now, guild_id),
    )
    return changed == 1


async def servers_left_before(database: Database, cutoff: int) -> list[int]:
    rows = await database.fetch_all(
        "SELECT guild_id FROM tip_schedules WHERE left_at IS NOT NULL AND left_at < ?",
        (cutoff,),
    )
    return [row["guild_id"] for row in rows]


async def purge_server(database: Database, guild_id: int, now: int) -> None:
    """Delete everything kept about a server's tips (child tables cascade)."""
    async with database.transaction() as tx:
        await _cancel_pending_slots(tx, guild_id, "cancelled: server data deleted", now)
        await tx.execute("DELETE FROM tip_schedules WHERE guild_id = ?", (guild_id,))
