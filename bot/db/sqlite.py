"""SQLite, the embedded backend: one connection on a thread of its own, group commit.

The connection lives on one worker thread (the standard library's single-thread executor),
so the event loop never blocks on the disk. A unit of work is an `async def work(tx)`; here
its `tx` calls run straight on that thread and never suspend, so the whole work runs there in
one hand-off, driven to its end without an event loop. Works submitted while a group is
running form the next group: one hand-off and one COMMIT for all of them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import hashlib
import os
import re
import socket
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from bot.clock import Clock
from bot.db.connection import (
    MAX_INSTANCES_PER_NAME,
    SQLITE,
    Database,
    DatabaseError,
    InstanceInUse,
    Params,
    Row,
    Transaction,
    Work,
)

T = TypeVar("T")
DEFAULT_BUSY_TIMEOUT_MS = 10_000


class SqliteTransaction:
    """A transaction's statements, run at once on the database thread."""

    dialect = SQLITE

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, params: Params = ()) -> int:
        return self._connection.execute(sql, params).rowcount

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        self._connection.executemany(sql, rows)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        return self._connection.execute(sql, params).fetchall()

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        return self._connection.execute(sql, params).fetchone()

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        row = self._connection.execute(sql, params).fetchone()
        return None if row is None else row[0]


class _HandedOffTransaction:
    """`transaction()`'s statements, each handed to the database thread in turn."""

    dialect = SQLITE

    def __init__(self, database: SqliteDatabase, connection: sqlite3.Connection) -> None:
        self._database = database
        self._inner = SqliteTransaction(connection)

    async def execute(self, sql: str, params: Params = ()) -> int:
        result: int = await self._database._on_thread(run_to_end, self._inner.execute(sql, params))
        return result

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        rows = list(rows)
        await self._database._on_thread(run_to_end, self._inner.executemany(sql, rows))

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        found: list[Row] = await self._database._on_thread(
            run_to_end, self._inner.fetch_all(sql, params)
        )
        return found

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        return await self._database._on_thread(run_to_end, self._inner.fetch_one(sql, params))

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        return await self._database._on_thread(run_to_end, self._inner.fetch_value(sql, params))


def run_to_end(awaitable: Awaitable[T]) -> T:
    """Run a unit of work whose awaits all complete at once (its `tx` calls) to its end."""
    steps = awaitable.__await__()
    try:
        steps.send(None)
    except StopIteration as finished:
        result: T = finished.value
        return result
    steps.close()
    raise RuntimeError("a unit of work may await only its transaction")


class SqliteDatabase(Database):
    """Owns one SQLite connection (WAL, foreign keys on) for the life of the process; other
    processes on the same file are kept apart by SQLite's own locking."""

    dialect = SQLITE

    def __init__(self, path: Path, clock: Clock, *, busy_timeout_ms: int) -> None:
        self.path = path
        self.where = str(path)
        self.clock = clock
        self.busy_timeout_ms = busy_timeout_ms
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="nextround-sqlite"
        )
        self._connection: sqlite3.Connection | None = None
        self._instance_locks: dict[str, int] = {}  # instance name → locked file descriptor
        # (work, writes?, caller's future), waiting for the next group.
        self._pending: list[tuple[Work[Any], bool, asyncio.Future[Any]]] = []
        self._group_writer: asyncio.Task[None] | None = None
        # Held by a group and by `transaction()`: one transaction on the connection at a time.
        self._lock = asyncio.Lock()
        self.group_hand_offs = 0  # groups sent to the database thread, for benchmarks

    @classmethod
    async def connect(
        cls, path: Path, clock: Clock, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
    ) -> SqliteDatabase:
        database = cls(path, clock, busy_timeout_ms=busy_timeout_ms)
        try:
            await database._on_thread(database._connect)
            await database.migrate()
        except BaseException:
            await database.close()
            raise
        return database

    def _connect(self) -> None:
        try:
            connection = sqlite3.connect(self.path, isolation_level=None)
        except sqlite3.Error as error:
            raise DatabaseError(f"cannot open the database at {self.path}: {error}") from None
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable across process crashes in WAL mode; only a power cut can lose
            # the last commits, and it never corrupts the file.
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
        except sqlite3.Error as error:
            connection.close()
            raise DatabaseError(f"cannot use the database at {self.path}: {error}") from None
        connection.row_factory = sqlite3.Row
        self._connection = connection

    async def _on_thread(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    # -- units of work -----------------------------------------------------------------------

    async def run(self, work: Work[T], *, writes: bool = True) -> T:
        """Group commit: works submitted while a group is running form the next group, which
        runs in one hand-off and one COMMIT, each work inside its own savepoint if one fails
        (a limit reached, say), so only that work is undone and only its caller hears of it.
        A caller hears back only after the COMMIT, so nothing is reported done before it is
        durable. Reads join the groups too, outside any transaction unless the group writes."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((work, writes, future))
        if self._group_writer is None:
            self._group_writer = asyncio.create_task(self._write_groups(), name="db-writer")
        result: T = await future
        return result

    async def _write_groups(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                self.group_hand_offs += 1
                works = [work for work, _, _ in batch]
                writes = any(write for _, write, _ in batch)
                try:
                    async with self._lock:
                        outcomes = await self._on_thread(self._run_group, works, writes)
                except Exception as error:
                    outcomes = [(False, error)] * len(batch)
                for (_, _, future), (succeeded, value) in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if succeeded:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        finally:
            self._group_writer = None

    def _run_group(self, works: list[Work[Any]], writes: bool) -> list[tuple[bool, Any]]:
        """On the database thread: every work of a group in one transaction (reads only: no
        transaction, no write lock).

        Optimistic first: the works run back to back, since nearly all succeed. When one
        raises, the whole group is rolled back and run again with each work in its own
        savepoint, so only that work is undone. A savepoint per work on every group would
        cost a statement journal on every write."""
        connection = self._connection
        assert connection is not None
        tx = SqliteTransaction(connection)
        if not writes:
            return [self._attempt(work, tx) for work in works]
        connection.execute("BEGIN IMMEDIATE")
        try:
            try:
                outcomes: list[tuple[bool, Any]] = [(True, run_to_end(work(tx))) for work in works]
            except Exception:
                connection.execute("ROLLBACK")
                connection.execute("BEGIN IMMEDIATE")
                outcomes = [self._in_savepoint(work, tx, connection) for work in works]
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return outcomes

    @staticmethod
    def _attempt(work: Work[Any], tx: SqliteTransaction) -> tuple[bool, Any]:
        try:
            return (True, run_to_end(work(tx)))
        except Exception as error:
            return (False, error)

    @staticmethod
    def _in_savepoint(
        work: Work[Any], tx: SqliteTransaction, connection: sqlite3.Connection
    ) -> tuple[bool, Any]:
        connection.execute("SAVEPOINT work")
        try:
            value: Any = run_to_end(work(tx))
        except Exception as error:
            connection.execute("ROLLBACK TO work")
            connection.execute("RELEASE work")
            return (False, error)
        connection.execute("RELEASE work")
        return (True, value)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._lock:
            connection = self._connection
            assert connection is not None
            await self._on_thread(connection.execute, "BEGIN IMMEDIATE")
            try:
                yield _HandedOffTransaction(self, connection)
            except BaseException:
                await self._on_thread(connection.execute, "ROLLBACK")
                raise
            await self._on_thread(connection.execute, "COMMIT")

    async def close(self) -> None:
        if self._group_writer is not None:
            await self._group_writer
        if self._connection is not None:
            await self._on_thread(self._connection.close)
            self._connection = None
        self._executor.shutdown(wait=True)
        for descriptor in self._instance_locks.values():
            os.close(descriptor)  # closing the file releases its lock
        self._instance_locks.clear()

    # -- instance names ----------------------------------------------------------------------

    async def claim_instance(self, requested: str | None) -> str:
        # A file lock next to the database: it covers the processes of this machine, the only
        # ones that may share a SQLite file.
        if requested is not None and requested in self._instance_locks:
            return requested
        base = requested or socket.gethostname() or "nextround"
        candidates = (
            [base]
            if requested
            else [base] + [f"{base}-{number}" for number in range(2, MAX_INSTANCES_PER_NAME + 1)]
        )
        for name in candidates:
            if name in self._instance_locks:
                continue
            descriptor = self._lock_instance(name)
            if descriptor is not None:
                self._instance_locks[name] = descriptor
                return name
        if requested:
            raise InstanceInUse(
                f"another running process uses the instance name {requested!r} on {self.path}; "
                "give each process its own name"
            )
        raise InstanceInUse(
            f"{MAX_INSTANCES_PER_NAME} processes already run on {self.path} from this host"
        )

    def _lock_instance(self, name: str) -> int | None:
        # The name goes into the file name readable but safe, with a digest so two names that
        # clean up the same never share a lock.
        readable = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:40]
        digest = hashlib.sha256(name.encode()).hexdigest()[:12]
        lock_path = self.path.with_name(f"{self.path.name}.instance-{readable}-{digest}.lock")
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return None
        with contextlib.suppress(OSError):
            os.ftruncate(descriptor, 0)
            os.write(descriptor, f"{name}\npid {os.getpid()}\n".encode())
        return descriptor
