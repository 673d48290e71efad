"""The one owner of the SQLite connection: opens it, migrates it, serialises writes, closes it."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import re
import socket
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.clock import Clock

log = logging.getLogger(__name__)

Params = Sequence[Any] | dict[str, Any]
T = TypeVar("T")
_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class DatabaseError(Exception):
    """The database cannot be opened or migrated; the message is meant for the operator."""


class InstanceInUse(DatabaseError):
    """The instance name asked for is held by another live process on this database."""


# How many processes on one host may share a database under the host's name (name, name-2, …).
MAX_INSTANCES_PER_NAME = 64
DEFAULT_BUSY_TIMEOUT_MS = 10_000


def now_ms(clock: Clock) -> int:
    """Times are stored as UTC Unix milliseconds; this is the only conversion from the clock."""
    return int(clock.timestamp() * 1000)


class Transaction:
    """Statements inside one `BEGIN IMMEDIATE … COMMIT` on the shared connection."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, params: Params = ()) -> aiosqlite.Cursor:
        return await self._connection.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> aiosqlite.Cursor:
        return await self._connection.executemany(sql, rows)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        # One hand-off to the database thread instead of three (execute, fetch, close).
        return list(await self._connection.execute_fetchall(sql, params))

    async def fetch_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self._connection.execute_fetchall(sql, params)
        return next(iter(rows), None)


class Database:
    """Owns one aiosqlite connection (WAL, foreign keys on) for the life of the process.

    One connection is shared by every coroutine, so a lock keeps a transaction's statements
    together; other processes on the same file are kept apart by SQLite's own locking.
    """

    def __init__(
        self,
        connection: aiosqlite.Connection,
        path: Path,
        clock: Clock,
        *,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> None:
        self._connection = connection
        self.path = path
        self.clock = clock
        self.busy_timeout_ms = busy_timeout_ms
        self._instance_locks: dict[str, int] = {}  # instance name → locked file descriptor
        self._lock = asyncio.Lock()
        # (work, writes?, caller's future), waiting for the next group.
        self._pending_works: list[
            tuple[Callable[[sqlite3.Connection], Any], bool, asyncio.Future[Any]]
        ] = []
        self._group_writer: asyncio.Task[None] | None = None
        self.group_hand_offs = 0  # groups sent to the database thread, for benchmarks

    @classmethod
    async def open(
        cls, path: Path, clock: Clock, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
    ) -> Database:
        try:
            connection = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as error:
            raise DatabaseError(f"cannot open the database at {path}: {error}") from None
        database = cls(connection, path, clock, busy_timeout_ms=busy_timeout_ms)
        try:
            await database._configure()
            await database.migrate()
        except BaseException:
            await connection.close()
            raise
        return database

    async def _configure(self) -> None:
        try:
            cursor = await self._connection.execute("PRAGMA journal_mode=WAL")
            await cursor.close()
            # NORMAL is durable across process crashes in WAL mode; only a power cut can lose
            # the last commits, and it never corrupts the file.
            for pragma in (
                "PRAGMA synchronous=NORMAL",
                "PRAGMA foreign_keys=ON",
                f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}",
            ):
                await self._connection.execute(pragma)
        except sqlite3.Error as error:
            raise DatabaseError(f"cannot use the database at {self.path}: {error}") from None
        self._connection.row_factory = sqlite3.Row

    async def migrate(self) -> list[int]:
        """Apply every numbered migration not yet recorded, each in its own transaction."""
        async with self.transaction() as tx:
            await tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
            )
            rows = await tx.fetch_all("SELECT version FROM schema_migrations")
        done = {row["version"] for row in rows}
        applied: list[int] = []
        for version, name, sql in load_migrations():
            if version in done:
                continue
            async with self.transaction() as tx:
                for statement in split_statements(sql):
                    await tx.execute(statement)
                await tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, now_ms(self.clock)),
                )
            log.info("applied migration %04d_%s", version, name)
            applied.append(version)
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._lock:
            await self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._connection)
            except BaseException:
                await self._connection.execute("ROLLBACK")
                raise
            await self._connection.execute("COMMIT")

    async def run_transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await self._submit(work, writes=True)

    async def _submit(self, work: Callable[[sqlite3.Connection], T], *, writes: bool) -> T:
        """Run `work` in a transaction on the database thread and return its result.

        Group commit: works submitted while a batch is running form the next batch, which
        runs in one hand-off and one COMMIT, each work inside its own SAVEPOINT so an error
        (a limit reached, say) undoes only that work and reaches only its caller. A caller
        hears back only after the COMMIT, so nothing is reported done before it is durable.
        """
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending_works.append((work, writes, future))
        if self._group_writer is None:
            self._group_writer = asyncio.create_task(self._write_groups(), name="db-writer")
        result: T = await future
        return result

    async def _write_groups(self) -> None:
        try:
            while self._pending_works:
                batch, self._pending_works = self._pending_works, []
                self.group_hand_offs += 1
                works = [work for work, _, _ in batch]
                writes = any(write for _, write, _ in batch)
                try:
                    async with self._lock:
                        # aiosqlite runs every call on its own thread; `_execute` is how it
                        # does so for its own methods, and the only way to run several
                        # statements in one hand-off.
                        outcomes = await self._connection._execute(
                            _run_group, self._connection._conn, works, writes
                        )
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

    async def fetch_all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        # Reads join the next group too: one hand-off for many, outside any transaction
        # unless the group also writes.
        rows: list[sqlite3.Row] = await self._submit(
            lambda connection: connection.execute(sql, params).fetchall(), writes=False
        )
        return rows

    async def fetch_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = await self._submit(
            lambda connection: connection.execute(sql, params).fetchone(), writes=False
        )
        return row

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one write statement in a transaction; returns the rows it changed."""
        changed: int = await self.run_transaction(
            lambda connection: connection.execute(sql, params).rowcount
        )
        return changed

    async def close(self) -> None:
        if self._group_writer is not None:
            await self._group_writer
        await self._connection.close()
        for descriptor in self._instance_locks.values():
            os.close(descriptor)  # closing the file releases its lock
        self._instance_locks.clear()

    # -- instance names -----------------------------------------------------------------------

    async def claim_instance(self, requested: str | None) -> str:
        """A name for this process's claims on scheduled work that no other live process on
        this database holds, kept until `close`.

        A restarted instance gets its name back at once (the lock of a dead process is gone),
        so it takes back what its previous run held without waiting for leases. An explicit
        name held by another live process is refused; without one, the host name is used, and
        a second process on the same host gets `host-2`, then `host-3`, and so on. The lock is
        a file lock next to the database, so it covers processes on this machine, the only
        ones that may share a SQLite file."""
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


def _run_group(
    connection: sqlite3.Connection,
    works: list[Callable[[sqlite3.Connection], Any]],
    writes: bool,
) -> list[tuple[bool, Any]]:
    """On the database thread: every work of a group in one transaction (reads only: no
    transaction, no write lock).

    Optimistic first: the works run back to back, since nearly all succeed. When one raises
    (a limit reached, say), the whole group is rolled back and run again with each work in its
    own savepoint, so only that work is undone. Works are plain functions of the database, so
    running one twice is running it once. A savepoint per work on every group would cost a
    statement journal on every write."""
    if not writes:
        return [_attempt(work, connection) for work in works]
    connection.execute("BEGIN IMMEDIATE")
    try:
        try:
            outcomes = [(True, work(connection)) for work in works]
        except Exception:
            connection.execute("ROLLBACK")
            connection.execute("BEGIN IMMEDIATE")
            outcomes = [_in_savepoint(work, connection) for work in works]
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return outcomes


def _attempt(
    work: Callable[[sqlite3.Connection], Any], connection: sqlite3.Connection
) -> tuple[bool, Any]:
    try:
        return (True, work(connection))
    except Exception as error:
        return (False, error)


def _in_savepoint(
    work: Callable[[sqlite3.Connection], Any], connection: sqlite3.Connection
) -> tuple[bool, Any]:
    connection.execute("SAVEPOINT work")
    try:
        value = work(connection)
    except Exception as error:
        connection.execute("ROLLBACK TO work")
        connection.execute("RELEASE work")
        return (False, error)
    connection.execute("RELEASE work")
    return (True, value)


def load_migrations() -> list[tuple[int, str, str]]:
    """The shipped migrations, ordered by number; a gap or a duplicate is a packaging bug."""
    found: list[tuple[int, str, str]] = []
    for entry in resources.files("bot.db").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort()
    numbers = [version for version, _, _ in found]
    if numbers != list(range(1, len(found) + 1)):
        raise DatabaseError(f"migrations must be numbered 0001, 0002, … without gaps: {numbers}")
    return found


def split_statements(script: str) -> list[str]:
    """Split a migration into statements (migrations hold no semicolons inside literals)."""
    without_comments = "\n".join(
        line for line in script.splitlines() if not line.lstrip().startswith("--")
    )
    return [part.strip() for part in without_comments.split(";") if part.strip()]
