"""/rejection: log a rejection privately, then list, view, edit, delete, add feedback, see stats."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import Choice
from discord.ext import commands

from bot import templates
from bot.client import NextRoundBot
from bot.components import OwnedButton
from bot.embeds import entry_embed, list_embed, stats_embed
from bot.entries import (
    COMPANY_MAX,
    DATE_TEXT_MAX,
    FEEDBACK_LABELS,
    FEEDBACK_SUMMARY_MAX,
    INTERVIEWER_MAX,
    NOTES_MAX,
    ROLE_MAX,
    STAGE_LABELS,
    THEME_LABELS,
    Entry,
    FeedbackStatus,
    FeedbackTheme,
    Stage,
)
from bot.errors import LimitReached, UserError
from bot.followups import settings_from_row
from bot.forms import Fields, Form, text_of
from bot.limits import ENTRY_NUMBER_MAX, PAGE_MAX
from bot.rejection_log import LoggedEntry
from bot.text import safe
from cogs.followups import zone_picker_view

STAGE_CHOICES = [Choice(name=label, value=stage.value) for stage, label in STAGE_LABELS.items()]
STATUS_CHOICES = [
    Choice(name=FEEDBACK_LABELS[status], value=status.value)
    for status in FeedbackStatus
    if status != FeedbackStatus.NOT_ASKED
]
THEME_CHOICES = [Choice(name=label, value=theme.value) for theme, label in THEME_LABELS.items()]
# Discord refuses values outside these before the command reaches the bot, so nobody types
# 1,001 characters of notes only to learn the limit afterwards.
EntryNumber = app_commands.Range[int, 1, ENTRY_NUMBER_MAX]
PageNumber = app_commands.Range[int, 1, PAGE_MAX]
Company = app_commands.Range[str, 1, COMPANY_MAX]
Role = app_commands.Range[str, 1, ROLE_MAX]
DateText = app_commands.Range[str, 1, DATE_TEXT_MAX]
Interviewer = app_commands.Range[str, 1, INTERVIEWER_MAX]
Notes = app_commands.Range[str, 1, NOTES_MAX]
Summary = app_commands.Range[str, 1, FEEDBACK_SUMMARY_MAX]
ENTRY_OPTION_DESCRIPTIONS = {
    "company": "The company (up to 100 characters)",
    "role": "The role you applied for (up to 100 characters)",
    "stage": "How far you got",
    "date": "YYYY-MM-DD, today, yesterday or '3 days ago' (default today)",
    "interviewer": "Who interviewed you, for the thank-you note (up to 100 characters)",
    "notes": "Anything worth remembering (up to 1,000 characters)",
}


# The boxes of the form that takes over a refused /rejection log, and how a refusal names them.
ENTRY_FORM_LABELS = {
    "company": templates.TIP_LOG_COMPANY,
    "role": templates.TIP_LOG_ROLE,
    "date": templates.TIP_LOG_DATE,
    "interviewer": templates.LOG_FORM_INTERVIEWER,
    "notes": templates.TIP_LOG_NOTES,
}


def entry_form_field(name: str) -> str:
    return templates.FORM_FIELD.format(label=ENTRY_FORM_LABELS.get(name, name))


class EntryForm(Form):
    """/rejection log again, as a form with what was typed: its text options in boxes, and the
    stage (chosen from a list, so never the problem) kept as the form's subject."""

    name = "rejection-log"

    def __init__(self, bot: NextRoundBot) -> None:
        self.bot = bot

    def modal(
        self, custom_id: str, subject: str | None, fields: Mapping[str, Any]
    ) -> discord.ui.Modal:
        modal = discord.ui.Modal(title=templates.TIP_LOG_FORM_TITLE, custom_id=custom_id)
        limits = {
            "company": COMPANY_MAX,
            "role": ROLE_MAX,
            "date": DATE_TEXT_MAX,
            "interviewer": INTERVIEWER_MAX,
            "notes": NOTES_MAX,
        }
        for name, limit in limits.items():
            modal.add_item(
                discord.ui.TextInput(
                    label=ENTRY_FORM_LABELS[name],
                    custom_id=name,
                    style=discord.TextStyle.paragraph
                    if name == "notes"
                    else discord.TextStyle.short,
                    max_length=limit,
                    required=name == "company",
                    placeholder=templates.TIP_LOG_DATE_PLACEHOLDER if name == "date" else None,
                    default=text_of(fields, name) or None,
                )
            )
        return modal

    async def submit(
        self, interaction: discord.Interaction[Any], subject: str | None, fields: Fields
    ) -> None:
        logged = await self.bot.rejection_log.log_entry(
            interaction.user.id,
            interaction.guild_id,
            company=text_of(fields, "company"),
            role=text_of(fields, "role") or None,
            stage=subject,
            date_text=text_of(fields, "date") or None,
            interviewer=text_of(fields, "interviewer") or None,
            notes=text_of(fields, "notes") or None,
            field=entry_form_field,
        )
        next_steps = await self.bot.next_steps_for(logged)
        await interaction.response.send_message(
            embed=log_reply(logged.entry, next_steps), ephemeral=True
        )


def log_reply(entry: Entry, next_steps: str) -> discord.Embed:
    acknowledgement = templates.LOGGED_ACKS[(entry.number - 1) % len(templates.LOGGED_ACKS)]
    embed = entry_embed(entry, description=acknowledgement.format(company=safe(entry.company, 60)))
    embed.add_field(name=templates.ENTRY_FIELD_NEXT, value=next_steps, inline=False)
    return embed


async def send_log_reply(
    interaction: discord.Interaction[NextRoundBot], logged: LoggedEntry
) -> None:
    """The reply to a new entry (from /rejection log or the form under a tip): the entry, what
    happens next and, while the person has no time zone, a menu to pick one."""
    bot = interaction.client
    embed = log_reply(logged.entry, await bot.next_steps_for(logged))
    if not bot.follow_ups.zone_missing(logged):
        await interaction.response.send_message(embed=embed, ephemeral=True)
        return
    view = zone_picker_view(
        interaction.user.id,
        logged.entry.id,
        str(interaction.locale),
        bot.clock.now(),
        settings_from_row(logged.person),
    )
    await interaction.response.send_message(embed=embed, view=view, ephemeral=True)


class ListPageButton(OwnedButton, template=r"^nr:list:(?P<user>\d+):(?P<page>\d+):(?P<dir>[pn])$"):
    """Previous/Next on /rejection list; the page to show is in the custom_id."""

    def __init__(self, owner_id: int, page: int, direction: str, *, disabled: bool = False) -> None:
        super().__init__(
            f"nr:list:{owner_id}:{page}:{direction}",
            label=templates.PREVIOUS if direction == "p" else templates.NEXT,
            style=discord.ButtonStyle.secondary,
            owner_id=owner_id,
            disabled=disabled,
        )
        self.page = page

    @classmethod
    def from_match(cls, match: re.Match[str]) -> ListPageButton:
        return cls(int(match["user"]), int(match["page"]), match["dir"])

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: NextRoundBot = interaction.client
        embed, view = await render_list(bot, self.owner_id, self.page)
        await interaction.response.edit_message(embed=embed, view=view)


async def render_list(
    bot: NextRoundBot, user_id: int, page: int
) -> tuple[discord.Embed, discord.ui.View]:
    entries, pages, total = await bot.rejection_log.page(user_id, page)
    view = discord.ui.View(timeout=None)
    if pages > 1:
        view.add_item(ListPageButton(user_id, page - 1, "p", disabled=page <= 1))
        view.add_item(ListPageButton(user_id, page + 1, "n", disabled=page >= pages))
    return list_embed(entries, page, pages, total), view


class DeleteEntryButton(
    OwnedButton,
    template=r"^nr:entry-delete:v2:(?P<user>\d+):(?P<entry>\d+):(?P<choice>yes|no)$",
):
    """Delete / Keep under a /rejection delete question.

    It names the entry by its id, never reused, and not by its number: numbers start again at
    #1 after /privacy delete, so an old question must not reach a new entry with that number.
    """

    def __init__(self, owner_id: int, entry_id: int, choice: str) -> None:
        super().__init__(
            f"nr:entry-delete:v2:{owner_id}:{entry_id}:{choice}",
            label=templates.DELETE_YES if choice == "yes" else templates.DELETE_NO,
            style=discord.ButtonStyle.danger if choice == "yes" else discord.ButtonStyle.secondary,
            owner_id=owner_id,
        )
        self.entry_id = entry_id
        self.choice = choice

    @classmethod
    def from_match(cls, match: re.Match[str]) -> DeleteEntryButton:
        return cls(int(match["user"]), int(match["entry"]), match["choice"])

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: NextRoundBot = interaction.client
        log = bot.rejection_log
        try:
            if self.choice == "no":
                entry = await log.get_by_id(self.owner_id, self.entry_id)
                content = templates.DELETE_KEPT.format(number=entry.number)
            else:
                entry = await log.delete(self.owner_id, self.entry_id)
                content = templates.DELETED.format(
                    number=entry.number, company=safe(entry.company, 100)
                )
        except UserError as refused:
            content = refused.message  # the question is answered either way: no buttons stay
        await interaction.response.edit_message(content=content, embed=None, view=None)


class OldDeleteEntryButton(
    OwnedButton, template=r"^nr:entry-delete:(?P<user>\d+):(?P<number>\d+):(?P<choice>yes|no)$"
):
    """A question from before entries were named by id: its number may now be another entry,
    so it deletes nothing."""

    def __init__(self, owner_id: int, number: int, choice: str) -> None:
        super().__init__(
            f"nr:entry-delete:{owner_id}:{number}:{choice}",
            label=templates.DELETE_YES if choice == "yes" else templates.DELETE_NO,
            style=discord.ButtonStyle.secondary,
            owner_id=owner_id,
        )
        self.number = number
        self.choice = choice

    @classmethod
    def from_match(cls, match: re.Match[str]) -> OldDeleteEntryButton:
        return cls(int(match["user"]), int(match["number"]), match["choice"])

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        if self.choice == "no":
            content = templates.DELETE_KEPT.format(number=self.number)
        else:
            content = templates.CONFIRMATION_OUT_OF_DATE.format(
                command=templates.command("rejection delete")
            )
        await interaction.response.edit_message(content=content, embed=None, view=None)


@app_commands.allowed_installs(guilds=True, users=True)
@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
class Rejections(commands.GroupCog, group_name="rejection"):
    """Log rejections privately and learn from them."""

    def __init__(self, bot: NextRoundBot) -> None:
        self.bot = bot
        self.log = bot.rejection_log
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.forms.register(EntryForm(self.bot))

    async def cog_unload(self) -> None:
        self.bot.forms.unregister(EntryForm.name)

    @app_commands.command(name="log")
    @app_commands.describe(**ENTRY_OPTION_DESCRIPTIONS)
    @app_commands.choices(stage=STAGE_CHOICES)
    async def log_command(
        self,
        interaction: discord.Interaction[NextRoundBot],
        company: Company,
        role: Role | None = None,
        stage: str | None = None,
        date: DateText | None = None,
        interviewer: Interviewer | None = None,
        notes: Notes | None = None,
    ) -> None:
        """Log a rejection privately: only you will see it."""
        try:
            logged = await self.log.log_entry(
                interaction.user.id,
                interaction.guild_id,
                company=company,
                role=role,
                stage=stage,
                date_text=date,
                interviewer=interviewer,
                notes=notes,
            )
        except LimitReached:
            raise  # trying again at once cannot help; the sentence says when it can
        except UserError as refused:
            # Discord clears what was typed: keep it behind "Edit and try again".
            typed = {"company": company, "role": role, "date": date}
            typed |= {"interviewer": interviewer, "notes": notes}
            await self.bot.forms.refuse(
                interaction,
                EntryForm.name,
                refused,
                subject=stage,
                fields={name: value or "" for name, value in typed.items()},
            )
            return
        await send_log_reply(interaction, logged)

    @log_command.autocomplete("company")
    async def company_autocomplete(
        self, interaction: discord.Interaction[NextRoundBot], current: str
    ) -> list[Choice[str]]:
        names = await self.log.company_suggestions(interaction.user.id, current)
        return [Choice(name=name[:100], value=name[:100]) for name in names]

    @app_commands.command(name="list")
    @app_commands.describe(page="Page number (10 entries per page, newest first)")
    async def list_command(
        self, interaction: discord.Interaction[NextRoundBot], page: PageNumber = 1
    ) -> None:
        """See your logged rejections, newest first."""
        embed, view = await render_list(self.bot, interaction.user.id, page)
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)

    @app_commands.command(name="view")
    @app_commands.describe(number="The entry number, as shown in /rejection list")
    async def view_command(
        self, interaction: discord.Interaction[NextRoundBot], number: EntryNumber
    ) -> None:
        """Show one of your entries in full."""
        entry = await self.log.get(interaction.user.id, number)
        await interaction.response.send_message(embed=entry_embed(entry), ephemeral=True)

    @app_commands.command(name="edit")
    @app_commands.describe(
        number="The entry number, as shown in /rejection list", **ENTRY_OPTION_DESCRIPTIONS
    )
    @app_commands.choices(stage=STAGE_CHOICES)
    async def edit_command(
        self,
        interaction: discord.Interaction[NextRoundBot],
        number: EntryNumber,
        company: Company | None = None,
        role: Role | None = None,
        stage: str | None = None,
        date: DateText | None = None,
        interviewer: Interviewer | None = None,
        notes: Notes | None = None,
    ) -> None:
        """Change details of one of your entries."""
        entry = await self.log.edit(
            interaction.user.id,
            number,
            company=company,
            role=role,
            stage=stage,
            date_text=date,
            interviewer=interviewer,
            notes=notes,
        )
        await interaction.response.send_message(
            content=templates.EDITED.format(number=entry.number),
            embed=entry_embed(entry),
            ephemeral=True,
        )

    @app_commands.command(name="delete")
    @app_commands.describe(number="The entry number, as shown in /rejection list")
    async def delete_command(
        self, interaction: discord.Interaction[NextRoundBot], number: EntryNumber
    ) -> None:
        """Delete one of your entries (asks to confirm)."""
        entry = await self.log.get(interaction.user.id, number)
        view = discord.ui.View(timeout=None)
        view.add_item(DeleteEntryButton(interaction.user.id, entry.id, "yes"))
        view.add_item(DeleteEntryButton(interaction.user.id, entry.id, "no"))
        await interaction.response.send_message(
            templates.DELETE_CONFIRM.format(number=entry.number, company=safe(entry.company, 100)),
            view=view,
            ephemeral=True,
        )

    @app_commands.command(name="feedback")
    @app_commands.describe(
        number="The entry number, as shown in /rejection list",
        status="Where the feedback stands",
        summary="What they said, in a few words (up to 500 characters)",
        theme="The main theme of the feedback",
    )
    @app_commands.choices(status=STATUS_CHOICES, theme=THEME_CHOICES)
    async def feedback_command(
        self,
        interaction: discord.Interaction[NextRoundBot],
        number: EntryNumber,
        status: str,
        summary: Summary | None = None,
        theme: str | None = None,
    ) -> None:
        """Record the feedback you asked for or received."""
        recorded = await self.log.set_feedback(interaction.user.id, number, status, summary, theme)
        entry = recorded.entry
        saved = templates.FEEDBACK_SAVED.format(
            number=entry.number, status=FEEDBACK_LABELS[entry.feedback_status].lower()
        )
        await interaction.response.send_message(
            content="\n".join([saved, *recorded.notes]),
            embed=entry_embed(entry),
            ephemeral=True,
        )

    @view_command.autocomplete("number")
    @edit_command.autocomplete("number")
    @delete_command.autocomplete("number")
    @feedback_command.autocomplete("number")
    async def number_autocomplete(
        self, interaction: discord.Interaction[NextRoundBot], current: str
    ) -> list[Choice[int]]:
        # While typing, Discord sends the raw text, digits or not: match numbers and names.
        found = await self.log.number_suggestions(interaction.user.id, str(current))
        return [Choice(name=label, value=number) for number, label in found]

    @edit_command.autocomplete("company")
    async def edit_company_autocomplete(
        self, interaction: discord.Interaction[NextRoundBot], current: str
    ) -> list[Choice[str]]:
        names = await self.log.company_suggestions(interaction.user.id, current)
        return [Choice(name=name[:100], value=name[:100]) for name in names]

    @app_commands.command(name="stats")
    async def stats_command(self, interaction: discord.Interaction[NextRoundBot]) -> None:
        """Your totals: by stage, by month, feedback asked and received."""
        stats = await self.log.stats(interaction.user.id)
        await interaction.response.send_message(embed=stats_embed(stats), ephemeral=True)


async def setup(bot: NextRoundBot) -> None:
    bot.add_dynamic_items(ListPageButton, DeleteEntryButton, OldDeleteEntryButton)
    await bot.add_cog(Rejections(bot))


__all__ = ["FeedbackStatus", "FeedbackTheme", "Rejections", "Stage"]
