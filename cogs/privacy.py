"""/privacy: export everything NextRound stores about you, or delete it all."""

from __future__ import annotations

import io
import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import templates
from bot.client import NextRoundBot
from bot.components import OwnedButton
from bot.entries import CONFIRMATION_SECONDS, DataMark
from bot.errors import UserError
from bot.rejection_log import EXPORT_ZIP, package_export


class DeleteEverythingButton(
    OwnedButton,
    template=r"^nr:privacy-delete:v2:(?P<user>\d+):(?P<asked>\d+):(?P<since>\d+):(?P<last>\d+)"
    r":(?P<choice>yes|no)$",
):
    """Delete everything / Cancel under a /privacy delete question.

    It carries what was asked about (when, and how far the person's data went), so a press
    much later, or after more data was added, deletes nothing.
    """

    def __init__(self, owner_id: int, mark: DataMark, choice: str) -> None:
        super().__init__(
            f"nr:privacy-delete:v2:{owner_id}:{mark.asked_at}:{mark.person_since}:"
            f"{mark.last_entry_id}:{choice}",
            label=templates.PRIVACY_DELETE_YES if choice == "yes" else templates.PRIVACY_DELETE_NO,
            style=discord.ButtonStyle.danger if choice == "yes" else discord.ButtonStyle.secondary,
            owner_id=owner_id,
        )
        self.mark = mark
        self.choice = choice

    @classmethod
    def from_match(cls, match: re.Match[str]) -> DeleteEverythingButton:
        mark = DataMark(int(match["asked"]), int(match["since"]), int(match["last"]))
        return cls(int(match["user"]), mark, match["choice"])

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: NextRoundBot = interaction.client
        if self.choice == "no":
            content = templates.PRIVACY_DELETE_CANCELLED
        else:
            try:
                counts = await bot.rejection_log.delete_everything(self.owner_id, self.mark)
                content = templates.PRIVACY_DELETED.format(summary=templates.count_phrase(counts))
            except UserError as refused:
                content = refused.message  # the question is answered either way
        await interaction.response.edit_message(content=content, embed=None, view=None)


class OldDeleteEverythingButton(
    OwnedButton, template=r"^nr:privacy-delete:(?P<user>\d+):(?P<choice>yes|no)$"
):
    """A question from before it carried what was asked about: it deletes nothing."""

    def __init__(self, owner_id: int, choice: str) -> None:
        super().__init__(
            f"nr:privacy-delete:{owner_id}:{choice}",
            label=templates.PRIVACY_DELETE_YES if choice == "yes" else templates.PRIVACY_DELETE_NO,
            style=discord.ButtonStyle.secondary,
            owner_id=owner_id,
        )
        self.choice = choice

    @classmethod
    def from_match(cls, match: re.Match[str]) -> OldDeleteEverythingButton:
        return cls(int(match["user"]), match["choice"])

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        if self.choice == "no":
            content = templates.PRIVACY_DELETE_CANCELLED
        else:
            content = templates.CONFIRMATION_OUT_OF_DATE.format(
                command=templates.command("privacy delete")
            )
        await interaction.response.edit_message(content=content, embed=None, view=None)


@app_commands.allowed_installs(guilds=True, users=True)
@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
class Privacy(commands.GroupCog, group_name="privacy"):
    """Your data: export it or delete it."""

    def __init__(self, bot: NextRoundBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="export")
    async def export_command(self, interaction: discord.Interaction[NextRoundBot]) -> None:
        """Download everything NextRound stores about you (JSON and CSV)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        json_bytes, csv_bytes = await self.bot.rejection_log.export(interaction.user.id)
        limit = interaction.filesize_limit
        files = package_export(json_bytes, csv_bytes, limit)
        if not files:
            await interaction.followup.send(
                templates.EXPORT_TOO_LARGE.format(limit_mib=limit / 1_048_576), ephemeral=True
            )
            return
        zipped = files[0][0] == EXPORT_ZIP
        await interaction.followup.send(
            templates.EXPORT_ZIPPED if zipped else templates.EXPORT_READY,
            files=[discord.File(io.BytesIO(data), filename=name) for name, data in files],
            ephemeral=True,
        )

    @app_commands.command(name="delete")
    async def delete_command(self, interaction: discord.Interaction[NextRoundBot]) -> None:
        """Delete all your NextRound data everywhere (asks to confirm)."""
        mark = await self.bot.rejection_log.data_mark(interaction.user.id)
        view = discord.ui.View(timeout=None)
        view.add_item(DeleteEverythingButton(interaction.user.id, mark, "yes"))
        view.add_item(DeleteEverythingButton(interaction.user.id, mark, "no"))
        await interaction.response.send_message(
            templates.PRIVACY_DELETE_CONFIRM.format(minutes=CONFIRMATION_SECONDS // 60),
            view=view,
            ephemeral=True,
        )


async def setup(bot: NextRoundBot) -> None:
    bot.add_dynamic_items(DeleteEverythingButton, OldDeleteEverythingButton)
    await bot.add_cog(Privacy(bot))
