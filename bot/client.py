"""The bot shell: one `commands.Bot` subclass that owns the scheduler and loads the cogs."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot import templates
from bot.clock import Clock
from bot.config import Settings
from bot.db import Database, sync_state
from bot.entries import Entry
from bot.errors import UserError
from bot.ratelimit import TokenBucket
from bot.rejection_log import RejectionLog
from bot.scheduler import Scheduler

log = logging.getLogger("nextround.bot")

# Loaded in this order; listed explicitly so a stray file never becomes a feature.
EXTENSIONS: tuple[str, ...] = ("cogs.meta", "cogs.rejections", "cogs.privacy")


def apply_discord_endpoints(settings: Settings) -> None:
    """Point discord.py at Discord, a REST proxy or an emulator (process-wide by design)."""
    discord.http.Route.BASE = settings.api_base_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


async def send_ephemeral(interaction: discord.Interaction[Any], message: str) -> None:
    """Reply privately, as a follow-up when the interaction was already answered."""
    if interaction.response.is_done():
        await interaction.followup.send(message, ephemeral=True)
    else:
        await interaction.response.send_message(message, ephemeral=True)


async def report_interaction_error(
    interaction: discord.Interaction[Any], error: BaseException, where: str
) -> None:
    """User errors become their sentence; anything else is logged and gets an apology."""
    original: BaseException = error
    if isinstance(original, app_commands.CommandInvokeError):
        original = original.original
    if isinstance(original, app_commands.TransformerError) and original.__cause__ is not None:
        original = original.__cause__
    if isinstance(original, UserError):
        message = original.message
    elif isinstance(original, app_commands.MissingPermissions):
        message = templates.MISSING_PERMISSIONS.format(
            permissions=templates.permission_names(original.missing_permissions)
        )
    elif isinstance(original, app_commands.NoPrivateMessage):
        message = templates.GUILD_ONLY
    elif isinstance(original, app_commands.CommandOnCooldown):
        message = templates.COOLDOWN.format(seconds=original.retry_after)
    elif isinstance(original, app_commands.CheckFailure):
        message = templates.CHECK_FAILED
    else:
        log.error(
            "unhandled error in %s (user=%s guild=%s channel=%s)",
            where,
            interaction.user.id,
            interaction.guild_id,
            interaction.channel_id,
            exc_info=original,
        )
        message = templates.APOLOGY
    try:
        await send_ephemeral(interaction, message)
    except discord.HTTPException:
        log.warning("could not tell user %s about an error in %s", interaction.user.id, where)


class NextRoundTree(app_commands.CommandTree["NextRoundBot"]):
    async def on_error(
        self, interaction: discord.Interaction[NextRoundBot], error: app_commands.AppCommandError
    ) -> None:
        name = interaction.command.qualified_name if interaction.command else "a command"
        await report_interaction_error(interaction, error, f"/{name}")


def tree_hash(tree: app_commands.CommandTree[Any]) -> str:
    """A stable digest of the global command payload Discord would receive."""
    payload = sorted(
        (command.to_dict(tree) for command in tree.get_commands()), key=lambda c: c["name"]
    )
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class NextRoundBot(commands.Bot):
    def __init__(
        self,
        settings: Settings,
        database: Database,
        clock: Clock,
        *,
        scheduler: Scheduler | None = None,
        **options: Any,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True  # not privileged: channels, roles and our own member for checks
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            tree_cls=NextRoundTree,
            **options,
        )
        self.settings = settings
        self.database = database
        self.clock = clock
        self.scheduler = scheduler or Scheduler(
            database, clock, max_sleep=settings.max_sleep_seconds
        )
        self.send_limiter = TokenBucket(settings.send_rate_per_second, clock)
        self.rejection_log = RejectionLog(database, clock)
        self.next_step_providers: list[Callable[[Entry], Awaitable[str]]] = []
        self.loaded_extensions: list[str] = []

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            try:
                await self.load_extension(extension)
            except commands.ExtensionError:
                log.exception("could not load %s; its commands are unavailable", extension)
            else:
                self.loaded_extensions.append(extension)
        await self.sync_commands()
        await self.scheduler.start()

    async def sync_commands(self) -> None:
        """Copy to the development server each start; sync globally only when the tree changed."""
        if self.settings.dev_guild_id is not None:
            guild = discord.Object(id=self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
            log.info("commands copied to development server %s", self.settings.dev_guild_id)
        assert self.application_id is not None  # set by login, before setup_hook
        digest = tree_hash(self.tree)
        previous = await sync_state.last_hash(
            self.database, self.application_id, self.settings.api_base_url
        )
        if digest == previous and not self.settings.force_sync:
            log.info("global commands unchanged since the last sync; not syncing")
            return
        await self.tree.sync()
        await sync_state.record(
            self.database, self.application_id, self.settings.api_base_url, digest
        )
        log.info("global commands synced")

    async def next_steps_for(self, entry: Entry) -> str:
        """What the person can expect after logging `entry` (features add to this)."""
        lines = [await provider(entry) for provider in self.next_step_providers]
        lines.append(templates.NEXT_STEPS_DEFAULT.format(number=entry.number))
        return "\n".join(line for line in lines if line)

    async def close(self) -> None:
        await self.scheduler.stop()
        await super().close()
