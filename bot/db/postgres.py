"""PostgreSQL, the backend for several processes: asyncpg with a connection pool.

Statements are written as for SQLite (`?` or `:name` parameters) and turned into PostgreSQL's
`$1, $2, …` once per statement text. A unit of work runs in a transaction on a pooled
connection; one PostgreSQL gave up on (a serialisation failure or a deadlock) runs again.
Instance names are session advisory locks on a connection held for the life of the process:
a process that dies (or whose connection drops) lets go of its name at once.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import re
import socket
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg

from bot.clock import Clock
from bot.db.connection import (
    MAX_INSTANCES_PER_NAME,
    POSTGRESQL,
    Database,
    DatabaseError,
    InstanceInUse,
    Params,
    Row,
    Transaction,
    Work,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
POOL_SIZE = 10
CONNECT_TIMEOUT_S = 10.0
RETRIES = 5  # for a work PostgreSQL gave up on because of another transaction
MIGRATION_LOCK = 0x6E657874726F756E  # "nextround": one process migrates at a time


# A connection of its own, or one lent by the pool.
Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy


def _advisory_key(text: str) -> int:
    """A stable signed 64-bit key for an advisory lock."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


@functools.lru_cache(maxsize=4096)
def compile_statement(sql: str) -> tuple[str, tuple[str, ...] | None]:
    """`?` and `:name` parameters as `$n`, outside string literals; returns the statement and,
    for named parameters, their names in order (a name used twice is one parameter)."""
    out: list[str] = []
    names: list[str] = []
    positional = 0
    index, length = 0, len(sql)
    while index < length:
        char = sql[index]
        if char == "'":  # a literal, copied as is ('' inside it is an escaped quote)
            end = index + 1
            while end < length:
                if sql[end] == "'":
                    if end + 1 < length and sql[end + 1] == "'":
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[index : end + 1])
            index = end + 1
            continue
        if char == "?":
            positional += 1
            out.append(f"${positional}")
            index += 1
            continue
        if char == ":" and index + 1 < length:
            if sql[index + 1] == ":":  # a cast
                out.append("::")
                index += 2
                continue
            match = re.match(r"[A-Za-z_]\w*", sql[index + 1 :])
            if match:
                name = match.group(0)
                if name not in names:
                    names.append(name)
                out.append(f"${names.index(name) + 1}")
                index += 1 + len(name)
                continue
        out.append(char)
        index += 1
    if positional and names:
        raise ValueError(f"a statement mixes ? and :name parameters: {sql[:80]!r}")
    return "".join(out), (tuple(names) if names else None)


def _arguments(names: tuple[str, ...] | None, params: Params) -> Sequence[Any]:
    if names is None:
        if isinstance(params, Mapping):
            raise ValueError("named parameters given to a statement with ? parameters")
        return list(params)
    if not isinstance(params, Mapping):
        raise ValueError("a statement with :name parameters needs them by name")
    return [params[name] for name in names]


def _rowcount(status: str) -> int:
    """ "UPDATE 3" → 3, "INSERT 0 1" → 1; 0 for a status without a count."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PostgresTransaction:
    """A transaction's statements on one pooled connection."""

    dialect = POSTGRESQL

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def execute(self, sql: str, params: Params = ()) -> int:
        text, names = compile_statement(sql)
        status: str = await self._connection.execute(text, *_arguments(names, params))
        return _rowcount(status)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        text, names = compile_statement(sql)
        arguments = [tuple(_arguments(names, row)) for row in rows]
        if arguments:
            await self._connection.executemany(text, arguments)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        text, names = compile_statement(sql)
        rows: list[Row] = await self._connection.fetch(text, *_arguments(names, params))
        return rows

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        text, names = compile_statement(sql)
        return await self._connection.fetchrow(text, *_arguments(names, params))

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        text, names = compile_statement(sql)
        return await self._connection.fetchval(text, *_arguments(names, params))


def describe_url(url: str) -> str:
    """The server and database of a URL, without its password."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"postgresql://{user}{host}{port}{parts.path}"


class PostgresDatabase(Database):
    dialect = POSTGRESQL

    def __init__(self, url: str, clock: Clock, pool: asyncpg.Pool) -> None:
        self.url = url
        self.where = describe_url(url)
        self.clock = clock
        self._pool = pool
        self._instances: dict[str, asyncpg.Connection] = {}  # name → the connection holding it
        self._listeners: list[tuple[asyncpg.Connection, str, Callable[..., None]]] = []

    @classmethod
    async def connect(cls, url: str, clock: Clock) -> PostgresDatabase:
        where = describe_url(url)
        try:
            pool = await asyncpg.create_pool(
                url, min_size=1, max_size=POOL_SIZE, timeout=CONNECT_TIMEOUT_S
            )
        except (TimeoutError, OSError) as error:
            reason = getattr(error, "strerror", None) or type(error).__name__
            raise DatabaseError(
                f"cannot reach {where} ({reason}); is the server running?"
            ) from None
        except asyncpg.InvalidPasswordError:
            raise DatabaseError(f"{where} refused the password (check the URL)") from None
        except asyncpg.InvalidCatalogNameError:
            raise DatabaseError(f"{where} does not exist; create the database first") from None
        except asyncpg.PostgresError as error:
            raise DatabaseError(f"cannot use {where}: {error}") from None
        database = cls(url, clock, pool)
        try:
            async with pool.acquire() as connection:
                # One process migrates at a time; the others then find nothing left to do.
                await connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
                try:
                    await database.migrate()
                finally:
                    await connection.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
        except BaseException:
            await database.close()
            raise
        return database

    async def run(self, work: Work[T], *, writes: bool = True) -> T:
        for attempt in range(1, RETRIES + 1):
            async with self._pool.acquire() as connection:
                try:
                    async with connection.transaction():
                        return await work(PostgresTransaction(connection))
                except (asyncpg.SerializationError, asyncpg.DeadlockDetectedError):
                    if attempt == RETRIES:
                        raise
                    log.info("a transaction met another one; running it again (%d)", attempt)
        raise AssertionError("unreachable")

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._pool.acquire() as connection, connection.transaction():
            yield PostgresTransaction(connection)

    async def close(self) -> None:
        for connection, channel, callback in self._listeners:
            await connection.remove_listener(channel, callback)
        for connection in self._instances.values():
            await connection.close()  # closing the session releases its advisory lock
        self._instances.clear()
        await self._pool.close()

    # -- instance names ----------------------------------------------------------------------

    async def claim_instance(self, requested: str | None) -> str:
        if requested is not None and requested in self._instances:
            return requested
        base = requested or socket.gethostname() or "nextround"
        candidates = (
            [base]
            if requested
            else [base] + [f"{base}-{number}" for number in range(2, MAX_INSTANCES_PER_NAME + 1)]
        )
        connection: asyncpg.Connection = await asyncpg.connect(self.url, timeout=CONNECT_TIMEOUT_S)
        for name in candidates:
            if name in self._instances:
                continue
            held = await connection.fetchval(
                "SELECT pg_try_advisory_lock($1)", _advisory_key(f"nextround:instance:{name}")
            )
            if held:
                self._instances[name] = connection
                return name
        await connection.close()
        if requested:
            raise InstanceInUse(
                f"another running process uses the instance name {requested!r} on "
                f"{self.where}; give each process its own name"
            )
        raise InstanceInUse(
            f"{MAX_INSTANCES_PER_NAME} processes already run on {self.where} under {base!r}"
        )
