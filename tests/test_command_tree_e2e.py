"""The synced command tree declares every limit, so Discord refuses what the bot would; and
replies mention commands by their synced ids, also after a start that synced nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot import templates
from bot.entries import COMPANY_MAX, FEEDBACK_SUMMARY_MAX, INTERVIEWER_MAX, NOTES_MAX, ROLE_MAX
from tests.conftest import BotFactory, RunningBot, World

pytestmark = pytest.mark.timeout(30)

OPTION_SUB_COMMAND, OPTION_GROUP = 1, 2
OPTION_STRING, OPTION_INTEGER, OPTION_NUMBER = 3, 4, 10


def leaf_options(commands: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """("/group sub option", option) for every option of every command."""

    def walk(path: str, options: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
        for option in options:
            if option["type"] in (OPTION_SUB_COMMAND, OPTION_GROUP):
                yield from walk(f"{path} {option['name']}", option.get("options") or [])
            else:
                yield f"{path} {option['name']}", option

    for command in commands:
        yield from walk(f"/{command['name']}", command.get("options") or [])


async def test_every_string_and_number_option_declares_its_limits(
    world: World, running: RunningBot
) -> None:
    options = dict(leaf_options(world.emulator.commands()))
    assert options, "nothing was synced"
    unbounded = [
        path
        for path, option in options.items()
        if option["type"] == OPTION_STRING
        and not option.get("choices")
        and not (option.get("min_length", 0) >= 1 and "max_length" in option)
    ]
    assert not unbounded, f"strings without min_length/max_length: {unbounded}"
    numbers = [
        path
        for path, option in options.items()
        if option["type"] in (OPTION_INTEGER, OPTION_NUMBER)
        and not ("min_value" in option and "max_value" in option)
    ]
    assert not numbers, f"numbers without min_value/max_value: {numbers}"
    # The declared limits are the core's own.
    for command in ("/rejection log", "/rejection edit"):
        assert options[f"{command} company"]["max_length"] == COMPANY_MAX
        assert options[f"{command} role"]["max_length"] == ROLE_MAX
        assert options[f"{command} interviewer"]["max_length"] == INTERVIEWER_MAX
        assert options[f"{command} notes"]["max_length"] == NOTES_MAX
    assert options["/rejection feedback summary"]["max_length"] == FEEDBACK_SUMMARY_MAX
    assert options["/followups settings feedback_delay_days"]["max_value"] == 14


async def test_discord_refuses_too_long_notes_before_the_bot_sees_them(
    world: World, running: RunningBot
) -> None:
    with pytest.raises(ValueError, match="longer than max_length 1000"):
        await world.emulator.invoke(
            world.alice,
            "rejection log",
            {"company": "Acme", "notes": "n" * 1001},
            guild_id=world.guild_id,
        )
    before = len(world.emulator.requests_matching("POST", r"^/interactions/"))
    interaction = await world.emulator.invoke(
        world.alice,
        "rejection log",
        {"company": "Acme", "notes": "n" * 1000},
        guild_id=world.guild_id,
    )
    reply = await interaction.wait_response()
    assert reply["data"]["embeds"][0]["title"] == "#1 · Acme"
    assert len(world.emulator.requests_matching("POST", r"^/interactions/")) == before + 1


def synced_id(world: World, name: str) -> int:
    (command,) = [c for c in world.emulator.commands() if c["name"] == name]
    return int(command["id"])


async def test_replies_mention_commands_by_their_synced_ids_after_every_start(
    world: World, start_bot: BotFactory
) -> None:
    first = await start_bot()
    rejection = synced_id(world, "rejection")
    assert templates.command("rejection list") == f"</rejection list:{rejection}>"
    interaction = await world.emulator.invoke(world.alice, "rejection list", {})
    empty = (await interaction.wait_response())["data"]["embeds"][0]["description"]
    assert f"</rejection log:{rejection}>" in empty
    await first.stop()

    # Unchanged tree: nothing is synced again, and the ids are read back.
    templates.remember_command_ids({})
    reads = len(world.emulator.requests_matching("GET", r"/applications/\d+/commands$"))
    await start_bot()
    assert world.emulator.sync_count() == 1
    assert len(world.emulator.requests_matching("GET", r"/applications/\d+/commands$")) == reads + 1
    assert templates.command("rejection list") == f"</rejection list:{rejection}>"
    assert templates.command("privacy export") == f"</privacy export:{synced_id(world, 'privacy')}>"
