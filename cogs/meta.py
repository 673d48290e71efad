"""/help and /about: what NextRound can do here, and what it is and keeps."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot import templates
from bot.about import SOURCE_URL, version
from bot.client import NextRoundBot
from bot.commands_help import usable_commands
from bot.forms import DRAFT_MINUTES
from bot.scheduler import KEEP_FINISHED_MS
from bot.tips import PURGE_AFTER_MS

DAY_MS = 86_400_000
BRAND_COLOUR = discord.Colour(0x5865F2)


def help_description(commands_here: list[tuple[str, str]]) -> str:
    """The intro, then one line per command under a heading per group, in help order."""
    lines = [templates.HELP_INTRO]
    heading = None
    for name, description in commands_here:
        group = name.split(" ", 1)[0]
        section = templates.HELP_SECTIONS.get(group, templates.HELP_SECTIONS["about"])
        if section != heading:
            lines += ["", section]
            heading = section
        lines.append(
            templates.HELP_LINE.format(command=templates.command(name), description=description)
        )
    return "\n".join(lines)


def about_embed() -> discord.Embed:
    embed = discord.Embed(
        title=templates.ABOUT_TITLE,
        description=templates.ABOUT_DESCRIPTION.format(version=version(), url=SOURCE_URL),
        colour=BRAND_COLOUR,
    )
    embed.add_field(name=templates.ABOUT_STORED, value=templates.ABOUT_STORED_TEXT, inline=False)
    embed.add_field(
        name=templates.ABOUT_KEPT,
        value=templates.ABOUT_KEPT_TEXT.format(
            follow_up_days=KEEP_FINISHED_MS // DAY_MS,
            draft_minutes=DRAFT_MINUTES,
            server_days=PURGE_AFTER_MS // DAY_MS,
        ),
        inline=False,
    )
    embed.add_field(
        name=templates.ABOUT_YOUR_DATA,
        value=templates.fill(templates.ABOUT_YOUR_DATA_TEXT),
        inline=False,
    )
    embed.add_field(
        name=templates.ABOUT_SUMMARY,
        value=templates.ABOUT_SUMMARY_TEXT.format(summary=templates.PRIVACY_SUMMARY),
        inline=False,
    )
    return embed


class Meta(commands.Cog):
    def __init__(self, bot: NextRoundBot) -> None:
        self.bot = bot

    @app_commands.command(name="help")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def help_command(self, interaction: discord.Interaction[NextRoundBot]) -> None:
        """List the NextRound commands you can use here."""
        commands_here = usable_commands(self.bot.tree, interaction)
        embed = discord.Embed(
            title=templates.HELP_TITLE,
            description=help_description(commands_here) if commands_here else templates.HELP_EMPTY,
            colour=BRAND_COLOUR,
        )
        has_entries = await self.bot.rejection_log.has_entries(interaction.user.id)
        embed.set_footer(
            text=templates.HELP_FOOTER_NEXT if has_entries else templates.HELP_FOOTER_FIRST
        )
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="about")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def about_command(self, interaction: discord.Interaction[NextRoundBot]) -> None:
        """Version, what NextRound stores and for how long, and how to export or delete it."""
        await interaction.response.send_message(embed=about_embed(), ephemeral=True)


async def setup(bot: NextRoundBot) -> None:
    await bot.add_cog(Meta(bot))
