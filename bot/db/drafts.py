"""SQL for form drafts: what was typed into a refused form, kept until it expires or is sent."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.db.connection import Database, Row


@dataclass(frozen=True, slots=True)
class Draft:
    id: int
    user_id: int
    form: str
    subject: str | None
    guild_id: int | None
    fields: dict[str, Any]
    created_at: int
    expires_at: int


def _draft(row: Row) -> Draft:
    return Draft(
        id=row["id"],
        user_id=row["user_id"],
        form=row["form"],
        subject=row["subject"],
        guild_id=row["guild_id"],
        fields=json.loads(row["fields"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
    )


async def save_draft(
    database: Database,
    *,
    draft_id: int | None,
    user_id: int,
    form: str,
    subject: str | None,
    guild_id: int | None,
    fields: dict[str, Any],
    now: int,
    expires_at: int,
) -> int:
    """Keep what was typed; returns the draft's id. A draft the form was opened from is
    updated in place (only its owner's), so trying again and again keeps one row."""
    text = json.dumps(fields, ensure_ascii=False)
    async with database.transaction() as tx:
        # Expired drafts go whenever a new one is kept, not only at the daily purge.
        await tx.execute("DELETE FROM form_drafts WHERE expires_at <= ?", (now,))
        if draft_id is not None:
            row = await tx.fetch_one(
                "UPDATE form_drafts SET fields = ?, expires_at = ? "
                "WHERE id = ? AND user_id = ? AND form = ? RETURNING id",
                (text, expires_at, draft_id, user_id, form),
            )
            if row is not None:
                return int(row["id"])
        row = await tx.fetch_one(
            "INSERT INTO form_drafts (user_id, form, subject, guild_id, fields, created_at, "
            "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (user_id, form, subject, guild_id, text, now, expires_at),
        )
        assert row is not None
        return int(row["id"])


async def get_draft(database: Database, draft_id: int, user_id: int, now: int) -> Draft | None:
    """The person's own draft, if it has not expired."""
    row = await database.fetch_one(
        "SELECT * FROM form_drafts WHERE id = ? AND user_id = ? AND expires_at > ?",
        (draft_id, user_id, now),
    )
    return None if row is None else _draft(row)


async def delete_draft(database: Database, draft_id: int, user_id: int) -> None:
    await database.execute(
        "DELETE FROM form_drafts WHERE id = ? AND user_id = ?", (draft_id, user_id)
    )


async def purge_expired(database: Database, now: int) -> int:
    return await database.execute("DELETE FROM form_drafts WHERE expires_at <= ?", (now,))


async def drafts_of(database: Database, user_id: int) -> list[Draft]:
    rows = await database.fetch_all(
        "SELECT * FROM form_drafts WHERE user_id = ? ORDER BY id", (user_id,)
    )
    return [_draft(row) for row in rows]
