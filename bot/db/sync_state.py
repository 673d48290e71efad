"""SQL for remembering what command tree was last synced globally."""

from __future__ import annotations

from bot.db.connection import Database, now_ms


async def last_hash(database: Database, application_id: int, api_base_url: str) -> str | None:
    value = await database.fetch_value(
        "SELECT tree_hash FROM command_sync WHERE application_id = ? AND api_base_url = ?",
        (application_id, api_base_url),
    )
    return None if value is None else str(value)


async def record(
    database: Database, application_id: int, api_base_url: str, tree_hash: str
) -> None:
    await database.execute(
        "INSERT INTO command_sync (application_id, api_base_url, tree_hash, synced_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (application_id, api_base_url) "
        "DO UPDATE SET tree_hash = excluded.tree_hash, synced_at = excluded.synced_at",
        (application_id, api_base_url, tree_hash, now_ms(database.clock)),
    )
