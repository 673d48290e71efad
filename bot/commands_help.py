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


def usable_commands(
    tree: app_commands.CommandTree[Any], interaction: discord.Interaction[Any]
) -> list[tuple[str, str]]:
    """(qualified name, description) of every command usable here, in a stable order."""
    found: list[tuple[str, str]] = []
    commands = tree.get_commands(type=discord.AppCommandType.chat_input)
    for top in sorted(commands, key=lambda command: command.name):
        if not isinstance(top, (app_commands.Command, app_commands.Group)):
            continue
        if not _usable(top, interaction):
            continue
        found.extend((leaf.qualified_name, leaf.description) for leaf in _leaves(top))
    return found
