"""Turning errors inside interactions into what the person sees.

User errors become their one sentence; anything else is logged with context and the person
gets a short apology, as a follow-up when the interaction was already answered.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot import templates
from bot.errors import UserError

log = logging.getLogger("nextround.bot")


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
    message = error_message(interaction, error, where)
    try:
        await send_ephemeral(interaction, message)
    except discord.HTTPException:
        log.warning("could not tell user %s about an error in %s", interaction.user.id, where)


def error_message(interaction: discord.Interaction[Any], error: BaseException, where: str) -> str:
    """The sentence the person sees for `error`; an unexpected error is logged here."""
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
        wait = templates.plural(max(1, round(original.retry_after)), "second")
        message = templates.COOLDOWN.format(wait=wait)
    elif isinstance(original, app_commands.TransformerError):
        message = templates.BAD_OPTION.format(value=str(original.value)[:50])
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
    return message
