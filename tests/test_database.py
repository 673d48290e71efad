"""The database owner over a real database: units of work, group commit on SQLite, and what a
failing work undoes."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.db import Database
from bot.db.connection import Transaction, Work
from bot.db.sqlite import run_to_end

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def database(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "nextround.sqlite3", clock)
    await database.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
    try:
        yield database
    finally:
        await database.close()


def insert(text: str, *, fail_after_write: bool = False) -> Work[int]:
    async def work(tx: Transaction) -> int:
        note_id = await tx.fetch_value("INSERT INTO notes (text) VALUES (?) RETURNING id", (text,))
        if fail_after_write:
            raise ValueError(f"{text} went wrong")
        return int(note_id)

    return work


async def texts(database: Database) -> list[str]:
    rows = await database.fetch_all("SELECT text FROM notes ORDER BY id")
    return [row["text"] for row in rows]


async def test_concurrent_works_share_a_commit_and_each_gets_its_own_result(
    database: Database,
) -> None:
    ids = await asyncio.gather(*(database.run(insert(f"n{i}")) for i in range(20)))
    assert sorted(ids) == list(range(1, 21))
    assert await texts(database) == [f"n{i}" for i in range(20)]


async def test_a_failing_work_undoes_only_its_own_writes(database: Database) -> None:
    works = [insert("a"), insert("b", fail_after_write=True), insert("c")]
    results = await asyncio.gather(*(database.run(work) for work in works), return_exceptions=True)
    assert isinstance(results[1], ValueError)
    assert str(results[1]) == "b went wrong"
    assert not isinstance(results[0], BaseException)
    assert not isinstance(results[2], BaseException)
    assert await texts(database) == ["a", "c"]


async def test_reads_in_the_same_group_see_committed_rows(database: Database) -> None:
    await database.run(insert("first"))
    write = database.run(insert("second"))
    read = database.fetch_value("SELECT COUNT(*) FROM notes")
    _, count = await asyncio.gather(write, read)
    assert count in (1, 2)  # before or after the write, never half of it
    assert await texts(database) == ["first", "second"]


async def test_a_constraint_error_fails_only_that_work(database: Database) -> None:
    async def broken(tx: Transaction) -> None:
        await tx.execute("INSERT INTO notes (text) VALUES (NULL)")  # NOT NULL

    results = await asyncio.gather(
        database.run(insert("kept")),
        database.run(broken),
        return_exceptions=True,
    )
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert await texts(database) == ["kept"]


async def test_a_work_may_await_only_its_transaction() -> None:
    async def waits_on_something_else() -> None:
        await asyncio.sleep(0.01)

    with pytest.raises(RuntimeError, match="may await only its transaction"):
        run_to_end(waits_on_something_else())
