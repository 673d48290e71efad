"""The bot shell: one `commands.Bot` subclass that owns the scheduler and loads the cogs."""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot import templates
from bot.clock import Clock, SystemClock
from bot.config import DISCORD_GLOBAL_RATE, ConfigError, Settings
from bot.db import Database, sync_state
from bot.db import drafts as draft_store
from bot.db.connection import now_ms
from bot.db.jobs import Job
from bot.entries import Entry
from bot.followups import STEPS as FOLLOW_UP_STEPS
from bot.followups import FollowUps
from bot.followups import kind_of as follow_up_kind
from bot.forms import FormRetryButton, Forms
from bot.interaction_errors import report_interaction_error
from bot.ratelimit import TokenBucket
from bot.rejection_log import LoggedEntry, RejectionLog
from bot.scheduler import PURGE_KIND, JobResult, Scheduler
from bot.tip_library import load_tip_library
from bot.tips import POST_KIND as TIP_POST_KIND
from bot.tips import PURGE_KIND as TIP_PURGE_KIND
from bot.tips import TipOfTheWeek

log = logging.getLogger("nextround.bot")

# Loaded in this order; listed explicitly so a stray file never becomes a feature.
EXTENSIONS: tuple[str, ...] = (
    "cogs.meta",
    "cogs.rejections",
    "cogs.followups",
    "cogs.tips",
    "cogs.privacy",
)


def apply_discord_endpoints(settings: Settings) -> None:
    """Point discord.py at Discord, a REST proxy or an emulator (process-wide by design)."""
    discord.http.Route.BASE = settings.api_base_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


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


class PacedConnector(aiohttp.TCPConnector):
    """Every request that leaves for the REST API takes a token before it gets a connection,
    discord.py's own retries after a 429 or a 5xx included; interaction callbacks and
    interaction webhooks are outside the global limit and go at once.

    A connector rather than an aiohttp trace: it is one check per request, where a trace
    config makes aiohttp build and signal a dozen events for every request, replies too.

    It also sees discord.py's first connection to the gateway. discord.py cannot retry that
    one: its reconnect path reads the sequence number of a websocket it never had and ends
    in an AttributeError. So until the gateway has been reached once, failing to reach it is
    a setting to fix (`ConfigError`, which discord.py does not catch); after that it is an
    outage, left to discord.py's own reconnects and resumes."""

    def __init__(self, limiter: TokenBucket, api_base_url: str, gateway_url: str) -> None:
        super().__init__(limit=0)  # what discord.py uses when given no connector
        self._limiter = limiter
        self._api_prefix = yarl.URL(api_base_url).path.rstrip("/") + "/"
        self._gateway_url = gateway_url
        self.gateway_reached = False

    def is_paced(self, path: str) -> bool:
        if not path.startswith(self._api_prefix):
            return False  # the gateway, attachments
        rest = path[len(self._api_prefix) - 1 :]
        return not rest.startswith(("/interactions/", "/webhooks/"))

    async def connect(
        self,
        req: aiohttp.ClientRequest,
        traces: list[Any],
        timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109 - aiohttp's signature
    ) -> aiohttp.connector.Connection:
        if self.is_paced(req.url.path):
            await self._limiter.acquire()
        if self.gateway_reached or req.url.scheme not in ("ws", "wss"):
            return await super().connect(req, traces, timeout)
        try:
            connection = await super().connect(req, traces, timeout)
        except OSError as error:  # refused, DNS, TLS and connect timeouts alike
            if isinstance(error, aiohttp.ClientConnectorError):
                reason = str(error.os_error)
            elif isinstance(error, TimeoutError):
                reason = "timed out"
            else:
                reason = str(error)
            raise ConfigError(
                "DISCORD_GATEWAY_URL",
                f"cannot reach {self._gateway_url} ({reason}); check the network, "
                "or this setting if you changed it",
            ) from None
        self.gateway_reached = True
        return connection


class NextRoundBot(commands.Bot):
    def __init__(
        self,
        settings: Settings,
        database: Database,
        clock: Clock,
        *,
        scheduler: Scheduler | None = None,
        pacing_clock: Clock | None = None,
        **options: Any,
    ) -> None:
        rate = settings.send_rate_per_second
        # Every REST request outside interactions (scheduled sends, discord.py's own retries,
        # login) takes a token: burst + one second of refill stays within Discord's 50
        # requests in any second. It paces real requests, so it runs on real time even when
        # the rest of the bot runs on an injected clock.
        self.send_limiter = TokenBucket(
            rate,
            pacing_clock or SystemClock(),
            capacity=max(1.0, min(5.0, DISCORD_GLOBAL_RATE - rate)),
        )
        # NextRound never joins voice: discord.py's warnings about missing voice libraries
        # would only alarm whoever reads the log.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
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
            database,
            clock,
            max_sleep=settings.max_sleep_seconds,
            owner=settings.instance_name or None,
            # About a second of sends claimed ahead: little is held if the process dies.
            batch_size=64,
        )
        self.rejection_log = RejectionLog(database, clock)
        self.next_step_providers: list[Callable[[LoggedEntry], Awaitable[str]]] = []
        self.follow_ups = FollowUps(database, clock, self.scheduler)
        self.forms = Forms(database, clock)
        self.scheduler.register(PURGE_KIND, self.daily_purge)
        self._wire_follow_ups()
        self.tips = TipOfTheWeek(database, clock, self.scheduler, load_tip_library())
        self._wire_tips()
        self.loaded_extensions: list[str] = []

    def _wire_follow_ups(self) -> None:
        follow_ups = self.follow_ups
        follow_ups.client = self
        for step in FOLLOW_UP_STEPS:
            self.scheduler.register(follow_up_kind(step), follow_ups.deliver)
        events = self.rejection_log.events
        self.rejection_log.planner = follow_ups.planner
        self.rejection_log.on_planned = self.scheduler.notify_due
        events.deleted.append(follow_ups.on_entry_deleted)
        events.feedback_changed.append(follow_ups.on_feedback_changed)
        self.next_step_providers.append(follow_ups.next_steps)

    def _wire_tips(self) -> None:
        self.tips.client = self
        self.scheduler.register(TIP_POST_KIND, self.tips.post_slot)
        self.scheduler.register(TIP_PURGE_KIND, self.tips.purge)

    async def login(self, token: str) -> None:
        # A connector is closed with its session, so each login gets a fresh one; it is made
        # here, inside the running loop, as aiohttp requires.
        connector = self.http.connector
        if not isinstance(connector, PacedConnector) or connector.closed:
            self.http.connector = PacedConnector(
                self.send_limiter, self.settings.api_base_url, self.settings.gateway_url
            )
        try:
            await super().login(token)
        except discord.NotFound:
            # Login is the first request (GET /users/@me): a 404 there means the base URL
            # is not Discord's API, or a proxy's path to it is wrong.
            raise ConfigError(
                "DISCORD_API_BASE_URL",
                f"{self.settings.api_base_url} answered 404 Not Found at login; give the REST "
                "API's base including the version, e.g. https://discord.com/api/v10",
            ) from None

    async def daily_purge(self, job: Job) -> JobResult:
        """Finished timeline rows past their keeping time, and form drafts past theirs."""
        result = await self.scheduler.purge_finished(job)
        drafts = await draft_store.purge_expired(self.database, now_ms(self.clock))
        return JobResult(f"{result.outcome}, {drafts} form drafts", next_jobs=result.next_jobs)

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        # Forms keep nothing in memory (bot.forms): their submissions are answered here.
        if interaction.type == discord.InteractionType.modal_submit:
            await self.forms.handle_submit(interaction)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(FormRetryButton)
        for extension in EXTENSIONS:
            try:
                # Imported once per process and set up on this bot: discord.py's
                # load_extension would run each module's source again for every bot started.
                module = importlib.import_module(extension)
                await module.setup(self)
            except Exception:
                log.exception("could not load %s; its commands are unavailable", extension)
            else:
                self.loaded_extensions.append(extension)
        await self.sync_commands()
        await self.scheduler.schedule(self.scheduler.purge_job(int(self.clock.timestamp() * 1000)))
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
            await self.learn_command_ids()
            return
        synced = await self.tree.sync()
        await sync_state.record(
            self.database, self.application_id, self.settings.api_base_url, digest
        )
        log.info("global commands synced")
        templates.remember_command_ids({command.name: command.id for command in synced})

    async def learn_command_ids(self) -> None:
        """The global commands' ids, for clickable command mentions in replies.

        Asked at every start, even when nothing was synced: an id changes if a command was
        deleted and created again elsewhere. Without them replies name commands in code style.
        """
        try:
            synced = await self.tree.fetch_commands()
        except discord.HTTPException as error:
            log.warning("could not read the command ids (%s); replies name commands as text", error)
            templates.remember_command_ids({})
            return
        templates.remember_command_ids({command.name: command.id for command in synced})

    async def on_ready(self) -> None:
        commands = sum(
            1 for command in self.tree.walk_commands() if isinstance(command, app_commands.Command)
        )
        log.info(
            "ready: servers=%d commands=%d scheduler=running instance=%s",
            len(self.guilds),
            commands,
            self.scheduler.owner,
        )

    async def next_steps_for(self, logged: LoggedEntry | Entry) -> str:
        """What the person can expect after logging an entry (features add to this)."""
        if isinstance(logged, Entry):
            logged = LoggedEntry(logged)
        entry = logged.entry
        lines = [await provider(logged) for provider in self.next_step_providers]
        lines.append(templates.fill(templates.NEXT_STEPS_DEFAULT, number=entry.number))
        return "\n".join(line for line in lines if line)

    async def close(self) -> None:
        await self.scheduler.stop()
        await super().close()
        # Listeners still running (e.g. a notice after a command) finish before the database
        # owner closes the connection under them.
        listeners = [
            task
            for task in asyncio.all_tasks()
            if task.get_name().startswith("discord.py: ") and task is not asyncio.current_task()
        ]
        if listeners:
            await asyncio.wait(listeners, timeout=5)
