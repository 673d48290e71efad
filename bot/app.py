"""Process lifecycle: open the database, run the bot, close everything on any way out."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import replace

import aiohttp
import discord

from bot.client import NextRoundBot, apply_discord_endpoints
from bot.clock import Clock, SystemClock
from bot.config import ConfigError, Settings
from bot.db import Database, DatabaseError
from bot.db.connection import InstanceInUse

log = logging.getLogger("nextround")


async def run_bot(settings: Settings, clock: Clock | None = None) -> None:
    """Run until Discord closes the connection, Ctrl-C or SIGTERM; the database is closed last."""
    clock = clock or SystemClock()
    apply_discord_endpoints(settings)
    try:
        database = await Database.open(settings.database_path, clock)
    except DatabaseError as error:
        raise ConfigError("NEXTROUND_DB", str(error)) from None
    try:
        # Claimed before anything runs, so two live processes never share a name.
        owner = await database.claim_instance(settings.instance_name or None)
    except InstanceInUse as error:
        await database.close()
        raise ConfigError("NEXTROUND_INSTANCE", str(error)) from None
    settings = replace(settings, instance_name=owner)
    log.info("instance name %s", owner)
    main_task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if main_task is not None:
        # SIGTERM (systemd stop) takes the same orderly path as Ctrl-C.
        loop.add_signal_handler(signal.SIGTERM, main_task.cancel)
    try:
        bot = NextRoundBot(settings, database, clock)
        async with bot:
            try:
                await bot.start(settings.token)
            except discord.LoginFailure:
                raise ConfigError(
                    "DISCORD_TOKEN", "Discord rejected this token; reset it in the Developer Portal"
                ) from None
            except aiohttp.ClientConnectorError as error:
                # Only login can end here: once connected, discord.py reconnects by itself.
                raise ConfigError(
                    "DISCORD_API_BASE_URL",
                    f"cannot reach {settings.api_base_url} ({error.os_error}); check the network, "
                    "or this setting if you changed it",
                ) from None
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        await database.close()
        log.info("stopped; database closed")
