"""/help: what NextRound can do, limited to what works where it is asked."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot import templates
from bot.client import NextRoundBot
from bot.commands_help import usable_commands


class Meta(commands.Cog):
    def __init__(self, bot: NextRoundBot) -> None:
        self.bot = bot

    @app_commands.command(name="help")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def help_command(self, interaction: discord.Interaction[NextRoundBot]) -> None:
        """List the NextRound commands you can use here."""
        lines = [
            templates.HELP_LINE.format(name=name, description=description)
            for name, description in usable_commands(self.bot.tree, interaction)
        ]
        embed = discord.Embed(
            title=templates.HELP_TITLE,
            description="\n".join([templates.HELP_INTRO, "", *lines])
            if lines
            else templates.HELP_EMPTY,
        )
        embed.set_footer(text=templates.HELP_FOOTER)
        await interaction.response.send_message(embed=embed, ephemeral=True)


async def setup(bot: NextRoundBot) -> None:
    await bot.add_cog(Meta(bot))
