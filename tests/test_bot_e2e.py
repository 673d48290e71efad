"""The real bot against the emulator: startup, command sync, /help, resilience, errors."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot import templates
from bot.about import version
from bot.client import EXTENSIONS
from bot.templates import APOLOGY
from tests.conftest import BotFactory, RunningBot, World

pytestmark = pytest.mark.timeout(30)

EPHEMERAL = 1 << 6


def command_names(commands: list[dict[str, Any]]) -> set[str]:
    return {command["name"] for command in commands}


async def test_startup_syncs_global_commands_once(world: World, start_bot: BotFactory) -> None:
    emulator = world.emulator
    first = await start_bot()
    assert first.bot.loaded_extensions == list(EXTENSIONS)
    assert emulator.sync_count() == 1
    assert {"help", "rejection", "privacy"} <= command_names(emulator.commands())
    # No privileged intents: presence (1<<8), members (1<<1), message content (1<<15).
    intents = emulator.identify_payloads[-1]["d"]["intents"]
    assert intents & ((1 << 8) | (1 << 1) | (1 << 15)) == 0

    await first.stop()
    second = await start_bot()
    assert second.bot.is_ready()
    assert emulator.sync_count() == 1, "an unchanged tree must not be synced globally again"
    await second.stop()

    forced = await start_bot(force_sync=True)
    assert forced.bot.is_ready()
    assert emulator.sync_count() == 2


async def test_dev_guild_gets_a_copy_each_start(world: World, start_bot: BotFactory) -> None:
    emulator = world.emulator
    handle = await start_bot(dev_guild_id=world.guild_id)
    assert emulator.sync_count(world.guild_id) == 1
    assert command_names(emulator.commands(world.guild_id)) == command_names(emulator.commands())
    await handle.stop()
    await start_bot(dev_guild_id=world.guild_id)
    assert emulator.sync_count(world.guild_id) == 2
    assert emulator.sync_count() == 1


async def test_personal_commands_work_everywhere_and_tips_only_in_servers(
    world: World, running: RunningBot
) -> None:
    synced = {command["name"]: command for command in world.emulator.commands()}
    for name in ("help", "rejection", "privacy"):
        assert sorted(synced[name]["integration_types"]) == [0, 1]
        assert sorted(synced[name]["contexts"]) == [0, 1, 2]


async def test_help_in_a_server_is_ephemeral(world: World, running: RunningBot) -> None:
    interaction = await world.emulator.invoke(
        world.alice, "help", {}, guild_id=world.guild_id, channel_id=world.channel_id
    )
    response = await interaction.wait_response()
    assert response["data"]["flags"] & EPHEMERAL
    description = response["data"]["embeds"][0]["description"]
    assert "/rejection log" in description
    assert "/privacy export" in description
    lines = [line for line in description.splitlines() if line.startswith("</")]
    assert len(lines) == len(set(lines)) > 10


async def help_text(world: World, user: int) -> tuple[str, str]:
    interaction = await world.emulator.invoke(
        user, "help", {}, guild_id=world.guild_id, channel_id=world.channel_id
    )
    embed = (await interaction.wait_response())["data"]["embeds"][0]
    return embed["description"], embed["footer"]["text"]


async def test_help_goes_in_the_order_a_person_needs_it(world: World, running: RunningBot) -> None:
    description, footer = await help_text(world, world.admin)
    order = [
        "</rejection log:",
        "</rejection list:",
        "</rejection feedback:",
        "**Follow-ups by DM**",
        "</followups list:",
        "**Your data**",
        "</privacy export:",
        "</privacy delete:",
        "</about:",
        "</help:",
        "**For server admins**",
        "</tips setup:",
    ]
    positions = [description.index(marker) for marker in order]
    assert positions == sorted(positions)
    # The footer is the one next step: log first, then record what you hear back.
    assert footer == templates.HELP_FOOTER_FIRST
    log = await world.emulator.invoke(world.admin, "rejection log", {"company": "Acme"})
    await log.wait_response()
    assert (await help_text(world, world.admin))[1] == templates.HELP_FOOTER_NEXT


async def test_about_says_what_is_kept_and_how_to_take_it_away(
    world: World, running: RunningBot
) -> None:
    interaction = await world.emulator.invoke(world.alice, "about", {})
    response = await interaction.wait_response()
    assert response["data"]["flags"] & EPHEMERAL
    embed = response["data"]["embeds"][0]
    assert embed["description"].startswith(f"Version {version()}. NextRound is open source: ")
    assert version() == "0.1.0"
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    kept = fields[templates.ABOUT_KEPT]
    assert "30 days" in kept and "60 minutes" in kept
    assert "</privacy export:" in fields[templates.ABOUT_YOUR_DATA]
    assert "</privacy delete:" in fields[templates.ABOUT_YOUR_DATA]
    assert templates.PRIVACY_SUMMARY in fields[templates.ABOUT_SUMMARY]
    assert len(templates.PRIVACY_SUMMARY) <= 400


async def test_help_in_a_dm_is_ephemeral(world: World, running: RunningBot) -> None:
    interaction = await world.emulator.invoke(world.alice, "help", {})
    response = await interaction.wait_response()
    assert response["data"]["flags"] & EPHEMERAL
    description = response["data"]["embeds"][0]["description"]
    assert "/rejection log" in description
    assert "/tips" not in description


async def test_a_429_is_waited_out_and_retried(world: World, running: RunningBot) -> None:
    emulator = world.emulator
    emulator.fault("POST", r"^/interactions/", status=429, retry_after=0.3, times=1)
    interaction = await emulator.invoke(
        world.alice, "help", {}, guild_id=world.guild_id, channel_id=world.channel_id
    )
    response = await interaction.wait_response(timeout=5)
    assert response["type"] == 4
    attempts = emulator.requests_matching("POST", r"^/interactions/")
    assert [request.status for request in attempts][-2:] == [429, 200]


async def test_rest_requests_take_a_token_and_interaction_replies_do_not(
    world: World, running: RunningBot
) -> None:
    emulator = world.emulator
    limiter = running.bot.send_limiter
    before = limiter.acquired
    interaction = await emulator.invoke(
        world.alice, "help", {}, guild_id=world.guild_id, channel_id=world.channel_id
    )
    await interaction.wait_response()
    assert limiter.acquired == before, "interaction callbacks are outside the global limit"

    channel = running.bot.get_partial_messageable(world.channel_id)
    await channel.send("paced")
    assert limiter.acquired == before + 1
    # discord.py's own retry after a 429 takes a token too.
    emulator.fault("POST", r"^/channels/\d+/messages$", status=429, retry_after=0.05, times=1)
    await channel.send("paced again")
    assert limiter.acquired == before + 3


async def test_gateway_reconnect_resumes(world: World, running: RunningBot) -> None:
    emulator = world.emulator
    identifies = emulator.identify_count
    await emulator.gateway_reconnect()
    assert emulator.resume_count == 1
    assert emulator.identify_count == identifies
    interaction = await emulator.invoke(world.alice, "help", {})
    assert (await interaction.wait_response())["type"] == 4


async def test_unhandled_error_gives_an_apology_and_a_log_line(
    world: World, running: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(user_id: int) -> None:
        raise RuntimeError("database on fire")

    running.bot.rejection_log.stats = broken  # type: ignore[method-assign,assignment]
    with caplog.at_level(logging.ERROR, logger="nextround"):
        interaction = await world.emulator.invoke(world.alice, "rejection stats", {})
        response = await interaction.wait_response()
    assert response["data"]["content"] == APOLOGY
    assert response["data"]["flags"] & EPHEMERAL
    records = [
        record
        for record in caplog.records
        if "unhandled error in /rejection stats" in record.getMessage()
    ]
    assert len(records) == 1
    assert records[0].exc_info is not None
    assert "database on fire" in str(records[0].exc_info[1])


def integer_options(options: list[dict[str, Any]], path: str) -> list[tuple[str, dict[str, Any]]]:
    """Every integer option under a command, subcommands included, named `/group sub option`."""
    found: list[tuple[str, dict[str, Any]]] = []
    for option in options:
        if option["type"] in (1, 2):  # subcommand, subcommand group
            found += integer_options(option.get("options") or [], f"{path} {option['name']}")
        elif option["type"] == 4:
            found.append((f"{path} {option['name']}", option))
    return found


async def test_every_integer_option_is_bounded_where_discord_checks_it(
    world: World, running: RunningBot
) -> None:
    found = [
        named
        for command in world.emulator.commands()
        for named in integer_options(command.get("options") or [], f"/{command['name']}")
    ]
    names = {name for name, _ in found}
    assert {"/rejection view number", "/rejection list page", "/followups cancel number"} <= names
    assert {"/tips list page"} <= names
    for name, option in found:
        low, high = option.get("min_value"), option.get("max_value")
        assert low is not None and high is not None, name
        assert 1 <= low < high <= 2**53 - 1, name  # Discord's integers end at 2**53 - 1


@pytest.mark.parametrize(
    ("command", "options", "phrase"),
    [
        ("rejection view", {"number": 2**63}, "entry numbers go from 1 to 1,000,000"),
        ("rejection view", {"number": 0}, "entry numbers go from 1 to 1,000,000"),
        ("rejection edit", {"number": 2**63, "company": "X"}, "entry numbers go from 1"),
        ("rejection delete", {"number": -(2**63) - 1}, "entry numbers go from 1"),
        ("rejection feedback", {"number": 10**6 + 1, "status": "asked"}, "entry numbers go"),
        ("rejection list", {"page": 2**63}, "page numbers go from 1 to 10,000"),
        ("rejection list", {"page": 0}, "page numbers go from 1 to 10,000"),
        ("followups cancel", {"number": 2**63}, "follow-up numbers go from 1 to"),
        ("followups cancel", {"number": 0}, "follow-up numbers go from 1 to"),
        ("tips list", {"page": 2**63}, "page numbers go from 1 to 10,000"),
    ],
)
async def test_an_out_of_range_number_that_arrives_anyway_gets_one_sentence(
    world: World,
    running: RunningBot,
    caplog: pytest.LogCaptureFixture,
    command: str,
    options: dict[str, Any],
    phrase: str,
) -> None:
    user = world.admin if command.startswith("tips") else world.alice
    with caplog.at_level(logging.ERROR, logger="nextround"):
        interaction = await world.emulator.invoke(
            user,
            command,
            options,
            guild_id=world.guild_id,
            channel_id=world.channel_id,
            validate_options=False,
        )
        response = await interaction.wait_response()
    assert response["data"]["flags"] & EPHEMERAL
    assert phrase in response["data"]["content"]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_one_line_says_it_is_ready(
    start_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_bot()

    def ready_lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.getMessage().startswith("ready:")]

    for _ in range(100):  # on_ready runs as its own task right after the ready event
        if ready_lines():
            break
        await asyncio.sleep(0)
    (ready,) = ready_lines()
    commands = len(running.bot.tree.get_commands())  # top-level; groups count their leaves
    assert ready.startswith("ready: servers=1 commands=")
    assert int(ready.split("commands=")[1].split()[0]) > commands
    assert ready.endswith(f" scheduler=running instance={running.bot.scheduler.owner}")
