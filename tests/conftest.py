"""Fixtures: a Discord emulator on 127.0.0.1 and the real bot connected to it.

The bot runs with its real HTTP client, gateway client, command tree and scheduler; only the
clock is injected (a `ManualClock` the test moves forward).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from bot import templates
from bot.client import NextRoundBot, apply_discord_endpoints
from bot.clock import ManualClock
from bot.config import Settings
from bot.db import Database
from tests.emulator import DiscordEmulator

TOKEN = "test-token"
# Wed 2027-03-24 14:00:00 UTC: a weekday afternoon, far from DST changes in Europe and the US.
START = 1_805_896_800.0
MANAGE_GUILD = 1 << 5


@dataclass
class World:
    """The emulated server: one guild with a text channel, a few people."""

    emulator: DiscordEmulator
    guild_id: int
    channel_id: int
    alice: int
    bob: int
    admin: int


@dataclass
class RunningBot:
    bot: NextRoundBot
    database: Database
    task: asyncio.Task[None]
    settings: Settings
    clock: ManualClock
    _closed: bool = field(default=False)

    async def stop(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.bot.close()
        await asyncio.wait_for(self.task, 10)
        await self.database.close()


BotFactory = Callable[..., Awaitable[RunningBot]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def world(clock: ManualClock) -> AsyncIterator[World]:
    # Discord's clock is the bot's: snowflakes and timestamps agree with what the bot records.
    # Per-route buckets off: discord.py honours them by sleeping in real time, which would only
    # slow these tests (its handling of them is tested in test_emulator.py); the global limit
    # of 50 requests a second stays on.
    emulator = DiscordEmulator(
        token=TOKEN,
        heartbeat_interval_ms=30_000,
        wall_clock=clock.timestamp,
        route_limits_enabled=False,
    )
    await emulator.start()
    alice = emulator.add_user("alice")
    bob = emulator.add_user("bob")
    admin = emulator.add_user("admin")
    guild_id = emulator.add_guild("Job Seekers", owner_id=admin)
    channel_id = emulator.add_text_channel(guild_id, "general")
    for user_id in (alice, bob):
        emulator.add_member(guild_id, user_id)
    emulator.add_member(guild_id, admin, permissions=MANAGE_GUILD)
    try:
        yield World(emulator, guild_id, channel_id, alice, bob, admin)
    finally:
        await emulator.close()


def settings_for(emulator: DiscordEmulator, database_path: Path, **overrides: Any) -> Settings:
    settings = Settings(
        token=TOKEN,
        database_path=database_path,
        dev_guild_id=None,
        log_level="INFO",
        api_base_url=emulator.api_base,
        gateway_url=emulator.gateway_url,
        max_sleep_seconds=30.0,
        send_rate_per_second=45.0,
        force_sync=False,
    )
    return replace(settings, **overrides)


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with every migration applied, made once: each bot's database starts as a
    copy (the migrations themselves are tested in test_database.py)."""
    path = tmp_path_factory.mktemp("template") / "nextround.sqlite3"

    async def migrate() -> None:
        database = await Database.open(path, ManualClock(START))
        await database.close()

    asyncio.run(migrate())
    return path


@pytest.fixture
async def start_bot(
    world: World, clock: ManualClock, tmp_path: Path, migrated_database: Path
) -> AsyncIterator[BotFactory]:
    """Start the real bot against the emulator; call again after `stop()` to restart it."""
    running: list[RunningBot] = []

    async def start(*, busy_timeout_ms: int = 10_000, **overrides: Any) -> RunningBot:
        settings = settings_for(world.emulator, tmp_path / "nextround.sqlite3", **overrides)
        apply_discord_endpoints(settings)
        if not settings.database_path.exists():
            shutil.copyfile(migrated_database, settings.database_path)
        database = await Database.open(
            settings.database_path, clock, busy_timeout_ms=busy_timeout_ms
        )
        # The emulator sends every GUILD_CREATE right after READY: a short wait is enough.
        bot = NextRoundBot(settings, database, clock, guild_ready_timeout=0.01)
        task = asyncio.create_task(bot.start(settings.token))
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait({task, ready}, timeout=10, return_when="FIRST_COMPLETED")
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()  # re-raise why the bot stopped
            raise TimeoutError("the bot did not become ready")
        handle = RunningBot(bot, database, task, settings, clock)
        running.append(handle)
        return handle

    yield start
    for handle in running:
        await handle.stop()


@pytest.fixture
async def running(start_bot: BotFactory) -> RunningBot:
    return await start_bot()


@pytest.fixture(autouse=True)
def _no_command_ids_left_over() -> Iterator[None]:
    # The command ids a bot learnt at its start are process-wide: one test's must not change
    # how another test's sentences read.
    yield
    templates.remember_command_ids({})


@pytest.fixture(autouse=True)
def _quiet_discord_logs(caplog: pytest.LogCaptureFixture) -> None:
    # In this order: set_level also sets the capture handler's level, and the last call wins.
    caplog.set_level(logging.WARNING, logger="discord")
    caplog.set_level(logging.INFO, logger="nextround")


# Tests that run the bot as a real process take the longest; started first, they overlap the
# rest instead of finishing last when the suite runs in parallel.
SLOW_FIRST = ("tests/test_process.py", "tests/test_packaging.py", "tests/test_playground.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(SLOW_FIRST))
