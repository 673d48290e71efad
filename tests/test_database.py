"""The database owner over a real SQLite file: group commit, and what a failing work undoes."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.db import Database

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def database(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "nextround.sqlite3", clock)
    await database.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
    try:
        yield database
    finally:
        await database.close()


def insert(text: str, *, fail_after_write: bool = False) -> Callable[[sqlite3.Connection], int]:
    def work(connection: sqlite3.Connection) -> int:
        cursor = connection.execute("INSERT INTO notes (text) VALUES (?)", (text,))
        if fail_after_write:
            raise ValueError(f"{text} went wrong")
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    return work


async def texts(database: Database) -> list[str]:
    rows = await database.fetch_all("SELECT text FROM notes ORDER BY id")
    return [row["text"] for row in rows]


async def test_concurrent_works_share_a_commit_and_each_gets_its_own_result(
    database: Database,
) -> None:
    ids = await asyncio.gather(*(database.run_transaction(insert(f"n{i}")) for i in range(20)))
    assert sorted(ids) == list(range(1, 21))
    assert await texts(database) == [f"n{i}" for i in range(20)]


async def test_a_failing_work_undoes_only_its_own_writes(database: Database) -> None:
    works = [insert("a"), insert("b", fail_after_write=True), insert("c")]
    results = await asyncio.gather(
        *(database.run_transaction(work) for work in works), return_exceptions=True
    )
    assert isinstance(results[1], ValueError)
    assert str(results[1]) == "b went wrong"
    assert not isinstance(results[0], BaseException)
    assert not isinstance(results[2], BaseException)
    assert await texts(database) == ["a", "c"]


async def test_reads_in_the_same_group_see_committed_rows(database: Database) -> None:
    await database.run_transaction(insert("first"))
    write = database.run_transaction(insert("second"))
    read = database.fetch_value("SELECT COUNT(*) FROM notes")
    _, count = await asyncio.gather(write, read)
    assert count in (1, 2)  # before or after the write, never half of it
    assert await texts(database) == ["first", "second"]


async def test_a_constraint_error_fails_only_that_work(database: Database) -> None:
    def broken(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO notes (text) VALUES (NULL)")  # NOT NULL

    results = await asyncio.gather(
        database.run_transaction(insert("kept")),
        database.run_transaction(broken),
        return_exceptions=True,
    )
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert await texts(database) == ["kept"]
