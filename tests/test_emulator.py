"""The Discord emulator itself, driven by a minimal real discord.py bot.

The bot below is defined here (not the project's bot) so these tests pin down the emulator's
behaviour: login, READY/GUILD_CREATE, command sync, slash commands with subcommands, choices
and autocomplete, deferred responses and follow-ups, buttons, selects, modals, rate limits,
faults, DMs, nonces, permissions, threads, files and gateway resume.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands

from tests.emulator import (
    SEND_MESSAGES,
    VIEW_CHANNEL,
    ApiError,
    CommandNotAvailable,
    DiscordEmulator,
    FormErrors,
    RecordedMessage,
    validate_message_body,
)

pytestmark = pytest.mark.timeout(30)

TOKEN = "emulator-test-token"
EPHEMERAL = 1 << 6
COMPANIES = ["Acme", "Acorn Labs", "Globex", "Initech"]


def connect_discord_py_to(emulator: DiscordEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point discord.py's REST and gateway clients at the emulator (process-wide)."""
    monkeypatch.setattr(discord.http.Route, "BASE", emulator.api_base)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(emulator.gateway_url)
    )


async def eventually(predicate: Callable[[], Any], within: float = 3.0) -> None:
    """Wait for state on the bot's side (its cache updates after gateway events)."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


# ---------------------------------------------------------------------------------------------
# A minimal bot exercising every interaction kind
# ---------------------------------------------------------------------------------------------


class FeedbackModal(discord.ui.Modal):
    text: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(
        label="What happened?", custom_id="feedback_text", max_length=200
    )
    mood: discord.ui.Label[FeedbackModal] = discord.ui.Label(
        text="Mood",
        component=discord.ui.Select(
            custom_id="mood",
            required=False,
            options=[
                discord.SelectOption(label="Fine", value="fine"),
                discord.SelectOption(label="Low", value="low"),
            ],
        ),
    )

    def __init__(self) -> None:
        super().__init__(title="Feedback", custom_id="feedback_modal")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        select = self.mood.component
        assert isinstance(select, discord.ui.Select)
        mood = select.values[0] if select.values else "none"
        await interaction.response.send_message(
            f"thanks: {self.text.value} ({mood})", ephemeral=True
        )


class PanelView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=60)
        self.count = 0

    @discord.ui.button(label="Bump", custom_id="bump", style=discord.ButtonStyle.primary)
    async def bump(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        self.count += 1
        await interaction.response.edit_message(content=f"count={self.count}", view=self)

    @discord.ui.button(label="Later", custom_id="later")
    async def later(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content="deferred edit")

    @discord.ui.select(
        custom_id="pick",
        options=[
            discord.SelectOption(label="A", value="a"),
            discord.SelectOption(label="B", value="b"),
        ],
    )
    async def pick(self, interaction: discord.Interaction, select: discord.ui.Select[Any]) -> None:
        await interaction.response.send_message(f"picked {select.values[0]}", ephemeral=True)


class EmulatorTestBot(commands.Bot):
    def __init__(self, guild_id: int) -> None:
        super().__init__(
            command_prefix="!",
            intents=discord.Intents.default(),
            help_command=None,
            guild_ready_timeout=0.05,
        )
        self.guild_id = guild_id
        self.late_error: discord.HTTPException | None = None
        self.late_started = asyncio.Event()
        self.release_late = asyncio.Event()
        self.command_errors: list[BaseException] = []
        self.resumed = asyncio.Event()
        self.joined_guilds: list[int] = []
        self.seen_messages: list[discord.Message] = []

    async def setup_hook(self) -> None:
        self._add_commands()
        self.tree.on_error = self._on_tree_error  # type: ignore[method-assign]
        await self.tree.sync()
        guild = discord.Object(self.guild_id)
        self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)

    async def on_resumed(self) -> None:
        self.resumed.set()

    async def on_guild_join(self, guild: discord.Guild) -> None:
        self.joined_guilds.append(guild.id)

    async def on_message(self, message: discord.Message) -> None:
        self.seen_messages.append(message)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py sleeps 5 s before every re-IDENTIFY; the emulator needs no such pause.
        return None

    async def _on_tree_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        self.command_errors.append(error)

    def _add_commands(self) -> None:
        tree = self.tree

        @tree.command(name="ping", description="Check the bot answers")
        @app_commands.allowed_installs(guilds=True, users=True)
        @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("pong", ephemeral=True)

        rejection = app_commands.Group(name="rejection", description="Track rejections")

        @rejection.command(name="log", description="Log a rejection")
        @app_commands.describe(company="The company", stage="How far you got", days="Days")
        @app_commands.choices(
            stage=[
                app_commands.Choice(name="Screen", value="screen"),
                app_commands.Choice(name="Final round", value="final"),
            ]
        )
        async def log(
            interaction: discord.Interaction,
            company: str,
            stage: app_commands.Choice[str],
            days: app_commands.Range[int, 0, 365] = 0,
        ) -> None:
            where = "guild" if interaction.guild_id else "dm"
            await interaction.response.send_message(
                f"logged {company} at {stage.value} after {days} ({where})", ephemeral=True
            )

        @log.autocomplete("company")
        async def company_autocomplete(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            return [
                app_commands.Choice(name=c, value=c)
                for c in COMPANIES
                if c.lower().startswith(current.lower())
            ]

        tree.add_command(rejection)

        @tree.command(name="slow", description="Defers, then follows up twice")
        async def slow(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await asyncio.sleep(0.05)
            await interaction.followup.send("first")
            await interaction.followup.send("second", ephemeral=True)

        @tree.command(name="panel", description="A message with a button and a select")
        async def panel(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("count=0", view=PanelView())

        @tree.command(name="feedback", description="Opens a modal")
        async def feedback(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(FeedbackModal())

        @tree.command(name="dm", description="DMs someone")
        async def dm(interaction: discord.Interaction, person: discord.User) -> None:
            try:
                await person.send("hello from the bot")
            except discord.Forbidden as exc:
                await interaction.response.send_message(f"forbidden {exc.code}", ephemeral=True)
            else:
                await interaction.response.send_message("sent", ephemeral=True)

        @tree.command(name="late", description="Answers after the deadline")
        async def late(interaction: discord.Interaction) -> None:
            self.late_started.set()
            await self.release_late.wait()  # the test moves the emulator's time meanwhile
            try:
                await interaction.response.send_message("too late")
            except discord.HTTPException as exc:
                self.late_error = exc

        @tree.command(name="export", description="Sends a file")
        async def export(interaction: discord.Interaction) -> None:
            data = discord.File(io.BytesIO(b"company,stage\nAcme,final\n"), filename="export.csv")
            try:
                await interaction.response.send_message("your data", file=data, ephemeral=True)
            except discord.HTTPException as exc:
                self.late_error = exc

        @tree.command(name="where", description="Names a channel")
        async def where(interaction: discord.Interaction, channel: discord.TextChannel) -> None:
            assert interaction.guild is not None
            can_send = channel.permissions_for(interaction.guild.me).send_messages
            await interaction.response.send_message(
                f"{channel.name} send={can_send}", ephemeral=True
            )

        @tree.context_menu(name="Profile")
        async def profile(interaction: discord.Interaction, user: discord.User) -> None:
            await interaction.response.send_message(f"profile of {user.name}", ephemeral=True)


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------


@dataclass
class World:
    emulator: DiscordEmulator
    guild_id: int
    channel_id: int
    other_channel_id: int
    alice: int
    bob: int


def stopped_clock() -> float:
    """The emulator's clock in these tests: it stands still, so deadlines, expiries and rate
    limit windows move only when a test calls `advance_time`, however slow the machine."""
    return 0.0


@pytest.fixture
async def world() -> AsyncIterator[World]:
    emulator = DiscordEmulator(token=TOKEN, clock=stopped_clock)
    await emulator.start()
    alice = emulator.add_user("alice")
    bob = emulator.add_user("bob")
    guild_id = emulator.add_guild("Job Seekers")
    channel_id = emulator.add_text_channel(guild_id, "general")
    other_channel_id = emulator.add_text_channel(guild_id, "wins")
    emulator.add_member(guild_id, alice)
    emulator.add_member(guild_id, bob)
    try:
        yield World(emulator, guild_id, channel_id, other_channel_id, alice, bob)
    finally:
        await emulator.close()


@pytest.fixture
async def bot(world: World, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[EmulatorTestBot]:
    connect_discord_py_to(world.emulator, monkeypatch)
    client = EmulatorTestBot(world.guild_id)
    task = asyncio.create_task(client.start(TOKEN))
    ready = asyncio.create_task(client.wait_until_ready())
    done, _ = await asyncio.wait({task, ready}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        if task in done:
            task.result()
        raise TimeoutError("the test bot did not become ready")
    try:
        yield client
    finally:
        await client.close()
        await asyncio.wait_for(task, 5)
        assert client.command_errors == []


@pytest.fixture
async def http(world: World) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {TOKEN}"}) as session:
        yield session


# ---------------------------------------------------------------------------------------------
# Login, gateway, command sync
# ---------------------------------------------------------------------------------------------


async def test_login_ready_and_guild_create(world: World, bot: EmulatorTestBot) -> None:
    emulator = world.emulator
    assert bot.user is not None and bot.user.id == emulator.bot_user_id
    assert bot.application_id == emulator.application_id
    guild = bot.get_guild(world.guild_id)
    assert guild is not None and guild.name == "Job Seekers"
    assert {c.name for c in guild.text_channels} == {"general", "wins"}
    assert guild.me is not None and guild.me.guild_permissions.send_messages
    # Without the members intent only the bot's own member arrives, as on Discord.
    assert guild.get_member(world.alice) is None and guild.member_count == 4
    assert emulator.identify_count == 1
    assert emulator.identify_payloads[0]["d"]["intents"] == discord.Intents.default().value
    # discord.py asks for compression in the query string; text frames work regardless.
    connection = emulator.gateway_connection_log[0]
    assert connection["path"] == "/gateway"
    assert connection["query"]["v"] == "10"
    assert connection["query"]["compress"] in ("zlib-stream", "zstd-stream")
    login = [r.path for r in emulator.requests[:2]]
    assert login == ["/users/@me", "/oauth2/applications/@me"]


async def test_responses_are_exact_json_and_tokens_are_checked(
    world: World, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{world.emulator.api_base}/users/@me") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
    wrong = {"Authorization": "Bot wrong"}
    async with (
        aiohttp.ClientSession(headers=wrong) as other,
        other.get(f"{world.emulator.api_base}/users/@me") as response,
    ):
        assert response.status == 401
        assert await response.json() == {"message": "401: Unauthorized", "code": 0}


async def test_command_sync_is_recorded_with_stable_ids(world: World, bot: EmulatorTestBot) -> None:
    emulator = world.emulator
    assert emulator.sync_count() == 1
    assert emulator.sync_count(world.guild_id) == 1
    global_commands = {c["name"]: c for c in emulator.commands()}
    assert {"ping", "rejection", "slow", "panel", "Profile"} <= set(global_commands)
    log = global_commands["rejection"]["options"][0]
    assert log["type"] == 1 and log["name"] == "log"
    company, stage, days = log["options"]
    assert company["autocomplete"] is True
    assert [c["value"] for c in stage["choices"]] == ["screen", "final"]
    assert days["type"] == 4 and days["required"] is False
    assert (days["min_value"], days["max_value"]) == (0, 365)
    assert global_commands["ping"]["integration_types"] == [0, 1]
    guild_copy = {c["name"]: c for c in emulator.commands(world.guild_id)}
    assert guild_copy["ping"]["guild_id"] == str(world.guild_id)

    await bot.tree.sync()
    assert emulator.sync_count() == 2
    again = {c["name"]: c["id"] for c in emulator.commands()}
    assert again == {name: c["id"] for name, c in global_commands.items()}


async def test_invalid_command_payloads_answer_50035(
    world: World, http: aiohttp.ClientSession
) -> None:
    url = f"{world.emulator.api_base}/applications/{world.emulator.application_id}/commands"
    too_many_choices = [{"name": f"c{i}", "value": f"v{i}"} for i in range(26)]
    bad = [
        {"name": "Bad Name", "description": "x", "type": 1},
        {"name": "empty", "description": "", "type": 1},
        {
            "name": "choices",
            "description": "ok",
            "options": [
                {"type": 3, "name": "opt", "description": "d", "choices": too_many_choices}
            ],
        },
    ]
    async with http.put(url, json=bad) as response:
        assert response.status == 400
        body = await response.json()
    assert body["code"] == 50035
    assert set(body["errors"]) == {"0", "1", "2"}
    assert body["errors"]["2"]["options"]["0"]["choices"]["_errors"][0]["code"] == (
        "BASE_TYPE_MAX_LENGTH"
    )
    assert world.emulator.sync_count() == 0


# ---------------------------------------------------------------------------------------------
# Interactions
# ---------------------------------------------------------------------------------------------


async def test_slash_command_ephemeral_response(world: World, bot: EmulatorTestBot) -> None:
    emulator = world.emulator
    interaction = await emulator.invoke(
        world.alice, "ping", guild_id=world.guild_id, channel_id=world.channel_id
    )
    response = await interaction.wait_response()
    assert response["type"] == 4
    assert response["data"]["content"] == "pong"
    assert response["data"]["flags"] & EPHEMERAL
    message = await interaction.wait_message()
    assert message.ephemeral and message.content == "pong"
    assert message.payload["interaction_metadata"]["user"]["id"] == str(world.alice)
    assert emulator.messages(world.channel_id) == []
    assert emulator.messages(world.channel_id, include_ephemeral=True) == [message]
    assert interaction.payload["data"]["guild_id"] == str(world.guild_id)
    assert int(interaction.payload["member"]["permissions"]) & SEND_MESSAGES


async def test_subcommand_options_are_typed_as_synced(world: World, bot: EmulatorTestBot) -> None:
    emulator = world.emulator
    interaction = await emulator.invoke(
        world.alice,
        "rejection log",
        {"company": "Acme", "stage": "final", "days": 3},
        guild_id=world.guild_id,
    )
    message = await interaction.wait_message()
    assert message.content == "logged Acme at final after 3 (guild)"
    sub = interaction.payload["data"]["options"][0]
    assert sub["type"] == 1 and sub["name"] == "log"
    assert {o["name"]: o["value"] for o in sub["options"]} == {
        "company": "Acme",
        "stage": "final",
        "days": 3,
    }

    in_dm = await emulator.invoke(world.alice, "rejection log", {"company": "X", "stage": "screen"})
    assert (await in_dm.wait_message()).content == "logged X at screen after 0 (dm)"
    assert "guild_id" not in in_dm.payload["data"]
    assert in_dm.payload["context"] == 1 and "user" in in_dm.payload

    with pytest.raises(ValueError, match="choices"):
        await emulator.invoke(world.alice, "rejection log", {"company": "A", "stage": "offer"})
    with pytest.raises(TypeError):
        await emulator.invoke(
            world.alice, "rejection log", {"company": "A", "stage": "final", "days": "3"}
        )
    with pytest.raises(CommandNotAvailable):
        await emulator.invoke(world.alice, "nope")


async def test_option_limits_are_enforced_unless_validation_is_skipped(
    world: World, bot: EmulatorTestBot
) -> None:
    emulator = world.emulator
    for days in (-1, 366):
        with pytest.raises(ValueError, match=r"min_value|max_value"):
            await emulator.invoke(
                world.alice, "rejection log", {"company": "A", "stage": "final", "days": days}
            )
    # As if the value got past Discord anyway: it reaches the bot unchanged.
    interaction = await emulator.invoke(
        world.alice,
        "rejection log",
        {"company": "A", "stage": "final", "days": 2**63},
        validate_options=False,
    )
    assert (await interaction.wait_message()).content == f"logged A at final after {2**63} (dm)"
    with pytest.raises(TypeError):
        await emulator.invoke(
            world.alice,
            "rejection log",
            {"company": "A", "stage": "final", "days": "3"},
            validate_options=False,
        )


async def test_autocomplete_returns_the_bots_choices(world: World, bot: EmulatorTestBot) -> None:
    choices = await world.emulator.autocomplete(
        world.alice, "rejection log", {"company": "Ac"}, focused="company", guild_id=world.guild_id
    )
    assert [c["value"] for c in choices] == ["Acme", "Acorn Labs"]
    interaction = list(world.emulator.interactions.values())[-1]
    assert interaction.type == 4
    assert interaction.payload["data"]["options"][0]["options"][0]["focused"] is True


async def test_deferred_response_then_followups(world: World, bot: EmulatorTestBot) -> None:
    interaction = await world.emulator.invoke(world.alice, "slow", guild_id=world.guild_id)
    response = await interaction.wait_response()
    assert response == {"type": 5, "data": {"flags": EPHEMERAL}}
    message = await interaction.wait_message()
    # The first follow-up replaced the "thinking" message and kept its visibility.
    assert message.content == "first" and message.ephemeral and not message.loading
    second = await interaction.wait_followup(2)
    assert interaction.followups[0] is message
    assert second.id != message.id and second.content == "second" and second.ephemeral


async def test_button_click_and_select(world: World, bot: EmulatorTestBot) -> None:
    emulator = world.emulator
    opened = await emulator.invoke(world.alice, "panel", guild_id=world.guild_id)
    panel = await opened.wait_message()
    assert not panel.ephemeral and emulator.messages(world.channel_id) == [panel]
    assert opened.payload["channel"]["id"] == str(world.channel_id)

    click = await emulator.click(world.bob, panel, "bump")
    assert (await click.wait_response())["type"] == 7
    assert (await click.wait_message()).content == "count=1"
    click = await emulator.click(world.bob, panel, "bump")
    assert (await click.wait_message()).content == "count=2"
    assert len(panel.edits) == 2

    picked = await emulator.click(world.alice, panel, "pick", values=["b"])
    assert (await picked.wait_message()).content == "picked b"
    with pytest.raises(ValueError):
        await emulator.click(world.alice, panel, "pick", values=["z"])
    with pytest.raises(LookupError):
        await emulator.click(world.alice, panel, "missing")


async def test_deferred_update_then_edit_original(world: World, bot: EmulatorTestBot) -> None:
    emulator = world.emulator
    opened = await emulator.invoke(world.alice, "panel", guild_id=world.guild_id)
    panel = await opened.wait_message()
    later = await emulator.click(world.alice, panel, "later")
    assert (await later.wait_response())["type"] == 6
    edited = await later.wait_message()
    assert edited.id == panel.id and edited.content == "deferred edit"


async def test_modal_submit(world: World, bot: EmulatorTestBot) -> None:
    emulator = world.emulator
    opened = await emulator.invoke(world.alice, "feedback", guild_id=world.guild_id)
    response = await opened.wait_response()
    assert response["type"] == 9
    with pytest.raises(ValueError, match="no input"):
        await emulator.submit_modal(world.alice, "feedback_modal", {"unknown": "x"})
    with pytest.raises(ValueError, match="required"):
        await emulator.submit_modal(world.alice, "feedback_modal", {"feedback_text": ""})
    assert opened.modal is not None and opened.modal["custom_id"] == "feedback_modal"
    labelled = opened.modal["components"][1]
    assert labelled["type"] == 18 and labelled["component"]["custom_id"] == "mood"
    submitted = await emulator.submit_modal(world.alice, "feedback_modal", {"feedback_text": "ok"})
    assert (await submitted.wait_message()).content == "thanks: ok (none)"
    with pytest.raises(LookupError, match="already submitted"):
        await emulator.submit_modal(world.alice, "feedback_modal", {"feedback_text": "twice"})

    reopened = await emulator.invoke(world.alice, "feedback", guild_id=world.guild_id)
    await reopened.wait_response()
    again = await emulator.submit_modal(
        world.alice, "feedback_modal", {"feedback_text": "meh", "mood": ["low"]}
    )
    assert (await again.wait_message()).content == "thanks: meh (low)"
    assert again.payload["data"]["components"][1]["component"]["values"] == ["low"]


async def test_context_menu_and_resolved_channel(world: World, bot: EmulatorTestBot) -> None:
    emulator = world.emulator
    profile = await emulator.invoke_context_menu(
        world.alice, "Profile", world.bob, guild_id=world.guild_id
    )
    assert (await profile.wait_message()).content == "profile of bob"

    emulator.set_bot_channel_permissions(world.other_channel_id, deny=SEND_MESSAGES)
    guild = bot.get_guild(world.guild_id)
    assert guild is not None

    def bot_cannot_send() -> bool:
        channel = guild.get_channel(world.other_channel_id)
        return channel is not None and not channel.permissions_for(guild.me).send_messages

    await eventually(bot_cannot_send)
    where = await emulator.invoke(
        world.alice, "where", {"channel": world.other_channel_id}, guild_id=world.guild_id
    )
    assert (await where.wait_message()).content == "wins send=False"
    resolved = where.payload["data"]["resolved"]["channels"][str(world.other_channel_id)]
    assert int(resolved["permissions"]) & SEND_MESSAGES  # the invoking user's permissions


async def test_ack_deadline_and_second_ack(
    world: World, bot: EmulatorTestBot, http: aiohttp.ClientSession
) -> None:
    emulator = world.emulator
    late = await emulator.invoke(world.alice, "late", guild_id=world.guild_id)
    await asyncio.wait_for(bot.late_started.wait(), 5)
    emulator.advance_time(emulator.ack_deadline + 0.5)
    bot.release_late.set()
    await emulator.wait_for(lambda: bot.late_error, timeout=3, what="the late error")
    assert isinstance(bot.late_error, discord.NotFound) and bot.late_error.code == 10062
    assert late.response is None

    ping = await emulator.invoke(world.alice, "ping", guild_id=world.guild_id)
    await ping.wait_response()
    url = f"{emulator.api_base}/interactions/{ping.id}/{ping.token}/callback?with_response=1"
    async with http.post(url, json={"type": 4, "data": {"content": "again"}}) as response:
        assert response.status == 400
        assert (await response.json())["code"] == 40060


async def test_followup_tokens_expire(
    world: World, bot: EmulatorTestBot, http: aiohttp.ClientSession
) -> None:
    emulator = world.emulator
    ping = await emulator.invoke(world.alice, "ping", guild_id=world.guild_id)
    await ping.wait_response()
    url = f"{emulator.api_base}/webhooks/{emulator.application_id}/{ping.token}?wait=1"
    async with http.post(url, json={"content": "still valid"}) as response:
        assert response.status == 200
    emulator.advance_time(15 * 60 + 1)
    async with http.post(url, json={"content": "too late"}) as response:
        assert response.status == 401
        assert (await response.json())["code"] == 50027


async def test_user_install_in_a_server_without_the_bot(world: World, bot: EmulatorTestBot) -> None:
    emulator = world.emulator
    elsewhere = emulator.add_guild("Elsewhere", owner_id=world.alice, bot_member=False)
    channel_id = emulator.add_text_channel(elsewhere, "chat")
    with pytest.raises(CommandNotAvailable):
        await emulator.invoke(world.alice, "ping", guild_id=elsewhere)
    interaction = await emulator.invoke(world.alice, "ping", guild_id=elsewhere, user_install=True)
    assert (await interaction.wait_message()).content == "pong"
    assert interaction.payload["authorizing_integration_owners"] == {"1": str(world.alice)}
    assert interaction.payload["guild"]["id"] == str(elsewhere)
    assert "guild_id" not in interaction.payload["data"]
    with pytest.raises(discord.Forbidden) as raised:
        await bot.http.send_message(channel_id, params=_content("hi"))
    assert raised.value.code == 50001


def _content(text: str) -> Any:
    from discord.http import handle_message_parameters

    return handle_message_parameters(content=text)


async def test_files_are_parsed_and_size_limited(world: World, bot: EmulatorTestBot) -> None:
    emulator = world.emulator
    interaction = await emulator.invoke(world.alice, "export", guild_id=world.guild_id)
    message = await interaction.wait_message()
    assert [f.filename for f in message.files] == ["export.csv"]
    assert message.files[0].data == b"company,stage\nAcme,final\n"
    assert message.payload["attachments"][0]["content_type"] == "text/csv"

    limited = await emulator.invoke(
        world.alice, "export", guild_id=world.guild_id, attachment_size_limit=8
    )
    await emulator.wait_for(lambda: bot.late_error, timeout=3, what="the size error")
    assert isinstance(bot.late_error, discord.HTTPException) and bot.late_error.status == 413
    assert limited.response is None

    channel = bot.get_channel(world.channel_id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send(file=discord.File(io.BytesIO(b"xyz"), filename="n.txt"))
    assert await sent.attachments[0].read() == b"xyz"


# ---------------------------------------------------------------------------------------------
# REST rules: rate limits, faults, DMs, nonces, permissions, threads, history
# ---------------------------------------------------------------------------------------------


async def test_route_429_fault_is_retried(world: World, bot: EmulatorTestBot) -> None:
    emulator = world.emulator
    emulator.fault("POST", r"^/channels/\d+/messages$", 429, retry_after=0.1)
    channel = bot.get_channel(world.channel_id)
    assert isinstance(channel, discord.TextChannel)
    message = await channel.send("after a 429")
    attempts = emulator.requests_matching("POST", r"^/channels/\d+/messages$")
    assert [r.status for r in attempts] == [429, 200]
    assert emulator.messages(world.channel_id)[-1].id == message.id

    emulator.fault("POST", r"^/channels/\d+/messages$", 403, code=50013)
    with pytest.raises(discord.Forbidden) as raised:
        await channel.send("denied")
    assert raised.value.code == 50013


async def test_global_rate_limit_is_enforced_and_retried(
    world: World, bot: EmulatorTestBot, http: aiohttp.ClientSession
) -> None:
    emulator = world.emulator
    emulator.global_rate_limit = 5
    emulator.advance_time(1.0)  # the bot's startup requests leave the one-second window
    url = f"{emulator.api_base}/users/{world.bob}"
    for _ in range(5):
        async with http.get(url) as response:
            assert response.status == 200
    async with http.get(url) as response:
        assert response.status == 429
        assert response.headers["X-RateLimit-Global"] == "true"
        assert response.headers["X-RateLimit-Scope"] == "global"
        assert response.headers["Via"]
        body = await response.json()
        assert body["global"] is True and body["retry_after"] == 1.0  # no time has passed
    emulator.advance_time(0.875)  # binary fractions: the window's arithmetic is exact
    async with http.get(url) as response:
        assert response.status == 429
        assert (await response.json())["retry_after"] == 0.125

    # discord.py sleeps retry_after in real time, then retries; the emulator's time moves on
    # by as much when it serves the 429, so the retry finds the window empty.
    emulator.on_rate_limited = emulator.advance_time
    users = await asyncio.gather(*(bot.fetch_user(world.alice) for _ in range(3)))
    assert {u.id for u in users} == {world.alice}
    assert emulator.stats["global_429"] == 3  # two above and one for discord.py
    attempts = emulator.requests_matching("GET", rf"^/users/{world.alice}$")
    assert [r.status for r in attempts].count(429) == 1
    assert [r.status for r in attempts].count(200) == 3


async def test_route_buckets_send_headers_and_discord_py_waits(
    world: World,
    bot: EmulatorTestBot,
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="discord.http")
    emulator = world.emulator
    # A short period: discord.py sleeps it in real time when a bucket runs out.
    emulator.set_route_limit("POST /channels/{channel_id}/messages", 2, 0.125)
    channel = bot.get_channel(world.channel_id)
    assert isinstance(channel, discord.TextChannel)
    await channel.send("burst 0")
    await channel.send("burst 1")  # Remaining 0: discord.py waits Reset-After before returning
    exhausted = [r for r in caplog.records if "has been exhausted" in r.getMessage()]
    assert len(exhausted) == 1, "discord.py read the headers and waited on the bucket"
    emulator.advance_time(0.125)  # as long as discord.py waited: the bucket resets
    await channel.send("burst 2")
    await channel.send("burst 3")
    assert emulator.stats["route_429"] == 0, "discord.py waits on the headers"

    url = f"{emulator.api_base}/channels/{world.other_channel_id}/messages"
    async with http.post(url, json={"content": "a"}) as response:
        assert response.headers["X-RateLimit-Limit"] == "2"
        assert response.headers["X-RateLimit-Remaining"] == "1"
        assert response.headers["X-RateLimit-Reset-After"] == "0.125"  # the whole period
        assert response.headers["X-RateLimit-Bucket"]
    async with http.post(url, json={"content": "b"}):
        pass
    async with http.post(url, json={"content": "c"}) as response:
        assert response.status == 429
        assert response.headers["X-RateLimit-Scope"] == "user"
        assert (await response.json())["retry_after"] == 0.125
    assert emulator.stats["route_429:POST /channels/{channel_id}/messages"] == 1
    emulator.advance_time(0.125)
    async with http.post(url, json={"content": "d"}) as response:
        assert response.status == 200
        assert response.headers["X-RateLimit-Remaining"] == "1"


async def test_dms_and_closed_dms(world: World, bot: EmulatorTestBot) -> None:
    emulator = world.emulator
    user = await bot.fetch_user(world.bob)
    await user.send("first DM")
    assert [m.content for m in emulator.dm_messages(world.bob)] == ["first DM"]
    dm_channel = await user.create_dm()
    assert dm_channel.id == emulator.dm_channel_id(world.bob)

    emulator.set_dms_closed(world.bob)
    with pytest.raises(discord.Forbidden) as raised:
        await user.send("second DM")
    assert raised.value.code == 50007
    via_command = await emulator.invoke(
        world.alice, "dm", {"person": world.bob}, guild_id=world.guild_id
    )
    assert (await via_command.wait_message()).content == "forbidden 50007"
    assert len(emulator.dm_messages(world.bob)) == 1


async def test_enforce_nonce_deduplicates(world: World, bot: EmulatorTestBot) -> None:
    emulator = world.emulator
    channel = bot.get_channel(world.channel_id)
    assert isinstance(channel, discord.TextChannel)
    first = await channel.send("exactly once", nonce=1234567)
    second = await channel.send("exactly once", nonce=1234567)
    assert first.id == second.id
    assert [m.content for m in emulator.messages(world.channel_id)] == ["exactly once"]
    assert emulator.requests_matching("POST", r"/messages$")[-1].json["enforce_nonce"] is True
    emulator.advance_time(emulator.nonce_window + 1)
    third = await channel.send("exactly once", nonce=1234567)
    assert third.id != first.id


async def test_permissions_are_enforced_and_told_to_the_client(
    world: World, bot: EmulatorTestBot
) -> None:
    emulator = world.emulator
    channel = bot.get_channel(world.other_channel_id)
    assert isinstance(channel, discord.TextChannel)
    emulator.set_bot_channel_permissions(world.other_channel_id, deny=SEND_MESSAGES)
    await eventually(lambda: not channel.permissions_for(channel.guild.me).send_messages)
    with pytest.raises(discord.Forbidden) as raised:
        await channel.send("no")
    assert raised.value.code == 50013
    emulator.set_bot_channel_permissions(world.other_channel_id, deny=VIEW_CHANNEL)
    with pytest.raises(discord.Forbidden) as raised:
        await channel.send("no")
    assert raised.value.code == 50001


async def test_unknown_channel_message_and_empty_message(
    world: World, bot: EmulatorTestBot
) -> None:
    emulator = world.emulator
    channel = bot.get_channel(world.channel_id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as empty:
        await channel.send()
    assert empty.value.code == 50006
    with pytest.raises(discord.NotFound) as unknown_message:
        await channel.fetch_message(1)
    assert unknown_message.value.code == 10008

    emulator.delete_channel(world.other_channel_id)
    await eventually(lambda: bot.get_channel(world.other_channel_id) is None)
    with pytest.raises(discord.NotFound) as unknown_channel:
        await bot.http.send_message(world.other_channel_id, params=_content("x"))
    assert unknown_channel.value.code == 10003


async def test_threads_and_history(world: World, bot: EmulatorTestBot) -> None:
    emulator = world.emulator
    for index in range(5):
        emulator.post_user_message(world.alice, world.channel_id, f"note {index}")
    channel = bot.get_channel(world.channel_id)
    assert isinstance(channel, discord.TextChannel)
    newest = [m.content async for m in channel.history(limit=3)]
    assert newest == ["note 4", "note 3", "note 2"]
    oldest_first = [m.content async for m in channel.history(limit=None, oldest_first=True)]
    assert oldest_first == [f"note {i}" for i in range(5)]

    first = emulator.messages(world.channel_id)[0]
    message = await channel.fetch_message(first.id)
    thread = await message.create_thread(name="Discussion")
    assert thread.id == first.id and thread.parent_id == world.channel_id
    await thread.send("in the thread")
    assert [m.content for m in emulator.messages(thread.id)] == ["in the thread"]
    with pytest.raises(discord.HTTPException) as again:
        await message.create_thread(name="Again")
    assert again.value.code == 160004


async def test_server_faults_and_delays(world: World, http: aiohttp.ClientSession) -> None:
    emulator = world.emulator
    url = f"{emulator.api_base}/users/{world.alice}"
    emulator.fault("GET", r"^/users/\d+$", 502)
    held = emulator.fault("GET", r"^/users/\d+$", delay=0.2)
    async with http.get(url) as response:
        assert response.status == 502
        assert (await response.json())["message"] == "502: Bad Gateway"

    async def status() -> int:
        async with http.get(url) as response:
            return response.status

    request = asyncio.create_task(status())
    await emulator.wait_for(lambda: held.hits == 1, what="the request to be held")
    done, _ = await asyncio.wait({request}, timeout=0.3)  # longer than the delay, in real time
    assert not done, "held for 0.2 s of the emulator's time, which stands still"
    emulator.advance_time(0.2)
    assert await asyncio.wait_for(request, 5) == 200
    assert emulator.stats["fault"] == 2
    async with http.get(url) as response:
        assert response.status == 200


async def test_user_messages_respect_the_message_content_intent(
    world: World, bot: EmulatorTestBot
) -> None:
    emulator = world.emulator
    emulator.post_user_message(world.alice, world.channel_id, "hello everyone")
    emulator.post_user_message(world.alice, world.channel_id, f"<@{emulator.bot_user_id}> hi")
    await eventually(lambda: len(bot.seen_messages) == 2)
    plain, mention = bot.seen_messages
    assert plain.content == "" and plain.author.id == world.alice
    assert mention.content.endswith(" hi") and mention.mentions[0].id == emulator.bot_user_id


async def test_common_rest_routes_through_discord_py(world: World, bot: EmulatorTestBot) -> None:
    emulator = world.emulator
    guild = await bot.fetch_guild(world.guild_id, with_counts=True)
    assert guild.name == "Job Seekers" and guild.approximate_member_count == 4
    assert {c.name for c in await guild.fetch_channels()} == {"general", "wins"}
    assert any(role.is_default() for role in await guild.fetch_roles())
    member = await guild.fetch_member(world.alice)
    assert member.name == "alice"
    with pytest.raises(discord.NotFound):
        await guild.fetch_member(12345)

    channel = await bot.fetch_channel(world.channel_id)
    assert isinstance(channel, discord.TextChannel)
    async with channel.typing():
        message = await channel.send("draft", embed=discord.Embed(title="T", description="D"))
    edited = await message.edit(content="final")
    assert edited.content == "final" and edited.embeds[0].title == "T"
    assert emulator.messages(world.channel_id)[-1].edits[0]["content"] == "draft"
    await message.add_reaction("👍")
    reply = await message.reply("a reply")
    assert reply.reference is not None and reply.reference.message_id == message.id
    around = [m.id async for m in channel.history(limit=3, around=message)]
    assert message.id in around
    await reply.delete()
    assert [m.content for m in emulator.messages(world.channel_id)] == ["final"]

    thread = await channel.create_thread(name="Standalone", type=discord.ChannelType.public_thread)
    await thread.send("inside")
    assert emulator.messages(thread.id)[0].content == "inside"
    with pytest.raises(discord.HTTPException) as too_long:
        await channel.send("x" * 2001)
    assert too_long.value.code == 50035


# ---------------------------------------------------------------------------------------------
# Gateway resilience
# ---------------------------------------------------------------------------------------------


async def test_reconnect_and_resume_replays_missed_events(
    world: World, bot: EmulatorTestBot
) -> None:
    emulator = world.emulator
    await emulator.gateway_reconnect()
    assert emulator.resume_count == 1 and emulator.identify_count == 1
    assert emulator.gateway_connection_log[-1]["path"] == "/gateway/resume"

    emulator.hold_gateway()
    await emulator.drop_connection()
    new_channel = emulator.add_text_channel(world.guild_id, "created-while-away")
    emulator.release_gateway()
    await emulator.wait_for(lambda: emulator.resume_count == 2, what="the second RESUME")
    await eventually(lambda: bot.get_channel(new_channel) is not None)
    assert emulator.stats["replayed_events"] >= 1
    assert emulator.resume_payloads[-1]["d"]["seq"] >= 1
    assert emulator.identify_count == 1

    ping = await emulator.invoke(world.alice, "ping", guild_id=world.guild_id)
    assert (await ping.wait_response())["type"] == 4


async def test_guild_join_role_update_and_removal(world: World, bot: EmulatorTestBot) -> None:
    emulator = world.emulator
    guild_id = emulator.add_guild("Second Server")
    await eventually(lambda: bot.get_guild(guild_id) is not None)
    assert bot.joined_guilds == [guild_id]
    guild = bot.get_guild(guild_id)
    assert guild is not None and guild.me.guild_permissions.send_messages
    bot_role = next(role for role in guild.roles if role.is_bot_managed())
    emulator.set_role_permissions(guild_id, 0)  # @everyone
    emulator.set_role_permissions(bot_role.id, 0)
    await eventually(lambda: not guild.me.guild_permissions.send_messages)
    emulator.remove_bot_from_guild(guild_id)
    await eventually(lambda: bot.get_guild(guild_id) is None)


async def test_invalid_session_makes_the_client_identify_again(
    world: World, bot: EmulatorTestBot
) -> None:
    emulator = world.emulator
    await emulator.gateway_invalid_session(resumable=False)
    assert emulator.identify_count == 2
    await emulator.wait_until_connected()
    ping = await emulator.invoke(world.alice, "ping", guild_id=world.guild_id)
    assert (await ping.wait_response())["type"] == 4
    await emulator.gateway_invalid_session(resumable=True)
    assert emulator.resume_count == 1


# ---------------------------------------------------------------------------------------------
# Control API, lifecycle, command line
# ---------------------------------------------------------------------------------------------


async def test_control_api(world: World, bot: EmulatorTestBot) -> None:
    emulator = world.emulator
    base = emulator.base_url
    async with aiohttp.ClientSession() as session:
        fault = {
            "method": "POST",
            "path": r"^/channels/\d+/messages$",
            "status": 403,
            "code": 50001,
        }
        async with session.post(f"{base}/_emulator/fault", json=fault) as response:
            assert response.status == 200
        channel = bot.get_channel(world.channel_id)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.Forbidden):
            await channel.send("blocked once")
        await channel.send("delivered")
        user = await bot.fetch_user(world.alice)
        await user.send("a DM")

        params = {"channel_id": str(world.channel_id)}
        async with session.get(f"{base}/_emulator/messages", params=params) as response:
            messages = await response.json()
        assert [m["payload"]["content"] for m in messages] == ["delivered"]
        params = {"user_id": str(world.alice)}
        async with session.get(f"{base}/_emulator/dm_messages", params=params) as response:
            assert [m["payload"]["content"] for m in await response.json()] == ["a DM"]
        params = {"method": "POST", "path": "/messages$"}
        async with session.get(f"{base}/_emulator/requests", params=params) as response:
            statuses = [r["status"] for r in await response.json()]
        assert statuses == [403, 200, 200]
        invoke = {"user_id": str(world.alice), "command": "ping", "guild_id": str(world.guild_id)}
        async with session.post(f"{base}/_emulator/invoke", json=invoke) as response:
            summary = await response.json()
        assert summary["response"]["type"] == 4
        assert summary["message"]["payload"]["content"] == "pong"


async def test_close_disconnects_cleanly_and_leaves_no_tasks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = asyncio.all_tasks()
    emulator = DiscordEmulator()
    await emulator.start()
    guild_id = emulator.add_guild()
    emulator.add_text_channel(guild_id, "general")
    connect_discord_py_to(emulator, monkeypatch)
    client = EmulatorTestBot(guild_id)
    task = asyncio.create_task(client.start("any-token"))
    await asyncio.wait_for(client.wait_until_ready(), 10)
    await client.close()
    await asyncio.wait_for(task, 5)
    await emulator.wait_for(
        lambda: emulator.open_gateway_connections == 0, what="the socket to close"
    )
    await emulator.close()
    await asyncio.sleep(0)
    current = asyncio.current_task()
    leftover = {t for t in asyncio.all_tasks() - before if not t.done() and t is not current}
    assert leftover == set()


async def test_command_line_prints_its_urls(tmp_path: Path) -> None:
    script = Path(__file__).with_name("emulator.py")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        "--port",
        "0",
        "--user",
        "carol",
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        while True:
            line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode()
            lines.append(line)
            if line.startswith("}"):
                break
        info = json.loads("".join(lines))
        assert info["api_base"].endswith("/api/v10")
        assert info["gateway_url"].endswith("/gateway")
        assert set(info["users"]) == {"carol"}
        async with (
            aiohttp.ClientSession() as session,
            session.get(info["base_url"] + "/_emulator/state") as response,
        ):
            state = await response.json()
        assert state["guilds"][info["guild_id"]]["bot_present"] is True
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


def test_recorded_message_reads_like_a_payload() -> None:
    message = RecordedMessage(1, 2, None, 3, {"content": "hi", "flags": 64}, ephemeral=True)
    assert message["content"] == "hi" and message.content == "hi" and message.flags == 64


def test_select_option_text_is_held_to_discords_limits() -> None:
    def body(description: str) -> dict[str, Any]:
        option = {"label": "Thank-you note", "value": "1", "description": description}
        select = {"type": 3, "custom_id": "pick", "options": [option]}
        return {"content": "x", "components": [{"type": 1, "components": [select]}]}

    fine = FormErrors()
    validate_message_body(body("d" * 100), fine)
    fine.raise_if_any()
    too_long = FormErrors()
    validate_message_body(body("d" * 101), too_long)
    with pytest.raises(ApiError):
        too_long.raise_if_any()
