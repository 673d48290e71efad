"""The database, whichever backend: one interface for every repository in `bot/db/`.

A unit of work is an `async def work(tx)` that reads and writes through `tx` and awaits nothing
else; `await database.run(work)` runs it in one transaction and returns its result, or runs it
again from the start if the backend had to give up on it (a serialisation conflict): works are
plain functions of the database, so running one twice is running it once.

- SQLite (`bot.db.sqlite`), the embedded default: one connection on a thread of its own; works
  submitted together share one hand-off to that thread and one COMMIT (group commit), each in
  its own savepoint if one of them fails.
- PostgreSQL (`bot.db.postgres`), for several processes: asyncpg with a pool.

SQL is written once with `?` (or `:name`) parameters; `tx.dialect` tells the two apart for the
few statements that must differ. Every time is UTC Unix milliseconds, every Discord id an
integer.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, TypeVar

from bot.clock import Clock

log = logging.getLogger(__name__)

Params = Sequence[Any] | Mapping[str, Any]
Row = Any  # a row by column name or position: sqlite3.Row or asyncpg.Record
T = TypeVar("T")
SQLITE, POSTGRESQL = "sqlite", "postgresql"
_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# How many processes may share a database under one host's name (name, name-2, …).
MAX_INSTANCES_PER_NAME = 64


class DatabaseError(Exception):
    """The database cannot be opened or migrated; the message is meant for the operator."""


class InstanceInUse(DatabaseError):
    """The instance name asked for is held by another live process on this database."""


def now_ms(clock: Clock) -> int:
    """Times are stored as UTC Unix milliseconds; this is the only conversion from the clock."""
    return int(clock.timestamp() * 1000)


class Transaction(Protocol):
    """Statements inside one transaction of a unit of work."""

    dialect: str

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetch_value(self, sql: str, params: Params = ()) -> Any: ...


Work = Callable[[Transaction], Awaitable[T]]


def pick(tx: Transaction | Database, *, sqlite: str, postgresql: str) -> str:
    """The statement for this backend, where the two dialects differ."""
    return postgresql if tx.dialect == POSTGRESQL else sqlite


class Database(ABC):
    """The one owner of the database for the life of the process: it opens it, applies the
    numbered migrations, runs units of work, and closes it."""

    dialect: str
    clock: Clock
    where: str  # for messages: the file, or the server and database name
    group_hand_offs = 0  # SQLite: groups of works sent to its thread, for benchmarks

    @staticmethod
    async def open(
        location: str | Path, clock: Clock, *, busy_timeout_ms: int | None = None
    ) -> Database:
        """The database at `location`: a PostgreSQL URL, or the path of a SQLite file."""
        return await open_database(location, clock, busy_timeout_ms=busy_timeout_ms)

    @abstractmethod
    async def run(self, work: Work[T], *, writes: bool = True) -> T:
        """Run `work` in one transaction and return its result (after the COMMIT)."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """`async with database.transaction() as tx:` for work that is not on a hot path:
        each statement is its own round trip (on SQLite, its own hand-off to the thread)."""

    @abstractmethod
    async def claim_instance(self, requested: str | None) -> str:
        """A name for this process's claims on scheduled work that no other live process on
        this database holds, kept until `close`.

        A restarted instance gets its name back at once (the lock of a dead process is gone),
        so it takes back what its previous run held without waiting for leases. An explicit
        name held by another live process is refused; without one, the host name is used, and
        a second process under the same host name gets `host-2`, then `host-3`, and so on."""

    @abstractmethod
    async def close(self) -> None: ...

    # -- one statement as a unit of work ---------------------------------------------------

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        async def work(tx: Transaction) -> list[Row]:
            return await tx.fetch_all(sql, params)

        return await self.run(work, writes=False)

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        async def work(tx: Transaction) -> Row | None:
            return await tx.fetch_one(sql, params)

        return await self.run(work, writes=False)

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one write statement in a transaction; returns the rows it changed."""

        async def work(tx: Transaction) -> int:
            return await tx.execute(sql, params)

        return await self.run(work)

    # -- migrations ------------------------------------------------------------------------

    async def migrate(self) -> list[int]:
        """Apply every numbered migration of this backend not yet recorded, each in its own
        transaction."""

        async def prepare(tx: Transaction) -> set[int]:
            await tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
            )
            return {row[0] for row in await tx.fetch_all("SELECT version FROM schema_migrations")}

        done = await self.run(prepare)
        applied: list[int] = []
        for version, name, script in load_migrations(self.dialect):
            if version in done:
                continue

            async def apply(
                tx: Transaction, version: int = version, name: str = name, script: str = script
            ) -> None:
                for statement in split_statements(script):
                    await tx.execute(statement)
                await tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, now_ms(self.clock)),
                )

            await self.run(apply)
            log.info("applied migration %04d_%s", version, name)
            applied.append(version)
        return applied


def load_migrations(dialect: str) -> list[tuple[int, str, str]]:
    """This backend's migrations, ordered by number: a file in `migrations/<dialect>/` wins
    over one of the same number in `migrations/` (shared by both); a gap or a duplicate is a
    packaging bug."""
    root = resources.files("bot.db").joinpath("migrations")
    found: dict[int, tuple[str, str]] = {}
    for folder in (root, root.joinpath(dialect)):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            match = _MIGRATION_NAME.match(entry.name)
            if match:
                found[int(match.group(1))] = (match.group(2), entry.read_text("utf-8"))
    numbers = sorted(found)
    if numbers != list(range(1, len(found) + 1)):
        raise DatabaseError(f"migrations must be numbered 0001, 0002, … without gaps: {numbers}")
    return [(number, *found[number]) for number in numbers]


def split_statements(script: str) -> list[str]:
    """Split a migration into statements (migrations hold no semicolons inside literals, and
    PostgreSQL functions, whose bodies do, are kept between `-- statement` markers)."""
    if "-- statement\n" in script:
        return [part.strip() for part in script.split("-- statement\n") if part.strip()]
    without_comments = "\n".join(
        line for line in script.splitlines() if not line.lstrip().startswith("--")
    )
    return [part.strip() for part in without_comments.split(";") if part.strip()]


def is_database_url(value: str) -> bool:
    return value.startswith(("postgresql://", "postgres://"))


async def open_database(
    location: str | Path, clock: Clock, *, busy_timeout_ms: int | None = None
) -> Database:
    """The database at `location`: a PostgreSQL URL, or the path of a SQLite file."""
    if isinstance(location, str) and is_database_url(location):
        from bot.db.postgres import PostgresDatabase  # noqa: PLC0415 - only when asked for

        return await PostgresDatabase.connect(location, clock)
    from bot.db.sqlite import SqliteDatabase  # noqa: PLC0415

    options = {} if busy_timeout_ms is None else {"busy_timeout_ms": busy_timeout_ms}
    return await SqliteDatabase.connect(Path(location), clock, **options)
