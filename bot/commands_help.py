"""Which commands can be used where an interaction happened (for /help)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import discord
from discord import app_commands


def _leaves(
    command: app_commands.Command[Any, ..., Any] | app_commands.Group,
) -> Iterator[app_commands.Command[Any, ..., Any]]:
    if isinstance(command, app_commands.Group):
        for child in command.commands:
            yield from _leaves(child)
    else:
        yield command


def _usable(
    command: app_commands.Command[Any, ..., Any] | app_commands.Group,
    interaction: discord.Interaction[Any],
) -> bool:
    contexts = command.allowed_contexts
    in_guild = interaction.guild_id is not None
    if contexts is not None:
        if in_guild and not contexts.guild:
            return False
        if not in_guild and not (contexts.dm_channel or contexts.private_channel):
            return False
    if command.guild_only and not in_guild:
        return False
    installs = command.allowed_installs
    if installs is not None and not installs.user and not interaction.is_guild_integration():
        # A guild-install-only command cannot run where only the user installed the app.
        return False
    required = command.default_permissions
    return not (
        required is not None and in_guild and not interaction.permissions.is_superset(required)
    )


# The order a person needs them in: log first, then look back, follow up, their data, and
# what the bot is; a server admin's tools last. Commands not listed follow, by name.
HELP_ORDER = (
    "rejection log",
    "rejection list",
    "rejection view",
    "rejection feedback",
    "rejection edit",
    "rejection delete",
    "rejection stats",
    "followups list",
    "followups settings",
    "followups test",
    "followups pause",
    "followups resume",
    "followups cancel",
    "privacy export",
    "privacy delete",
    "about",
    "help",
    "tips setup",
    "tips status",
    "tips preview",
    "tips add",
    "tips edit",
    "tips remove",
    "tips list",
    "tips post-now",
    "tips skip",
    "tips pause",
    "tips resume",
    "tips thread",
)
_ADMIN_GROUPS = frozenset({"tips"})


def help_rank(name: str) -> tuple[int, int, str]:
    admin = name.split(" ", 1)[0] in _ADMIN_GROUPS
    position = HELP_ORDER.index(name) if name in HELP_ORDER else len(HELP_ORDER)
    return (int(admin), position, name)


def usable_commands(
    tree: app_commands.CommandTree[Any], interaction: discord.Interaction[Any]
) -> list[tuple[str, str]]:
    """(qualified name, description) of every command usable here, in `HELP_ORDER`."""
    found: list[tuple[str, str]] = []
    for top in tree.get_commands(type=discord.AppCommandType.chat_input):
        if not isinstance(top, (app_commands.Command, app_commands.Group)):
            continue
        if not _usable(top, interaction):
            continue
        found.extend((leaf.qualified_name, leaf.description) for leaf in _leaves(top))
    return sorted(found, key=lambda item: help_rank(item[0]))
