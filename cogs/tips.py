"""/tips: Interview Tip of the Week, set up and run by a server's admins (Manage Server)."""

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
from bot.db.tips import ScheduleRow
from bot.entries import COMPANY_MAX, DATE_TEXT_MAX, NOTES_MAX, ROLE_MAX, STAGE_LABELS, Stage
from bot.errors import UserError
from bot.forms import Fields, Form, choices_of, text_of
from bot.limits import PAGE_MAX, TIME_TEXT_MAX, TIP_ID_TEXT_MAX, ZONE_TEXT_MAX
from bot.text import safe
from bot.tip_library import BODY_MAX, TITLE_MAX
from bot.tips import (
    SERVER_BODY_MIN,
    WEEKDAYS,
    TipLogButton,
    TipOfTheWeek,
    TipPage,
    TipStatus,
    check_post_channel,
    check_role,
    preview_view,
    tip_post_embed,
)
from bot.zones import UTC_NAME, describe
from cogs.followups import zone_choices
from cogs.rejections import send_log_reply

WEEKDAY_CHOICES = [
    Choice(name=label, value=value)
    for value, label in zip(WEEKDAYS, templates.TIPS_WEEKDAY_NAMES, strict=True)
]
FORMS = ("tip-log", "tip-add", "tip-edit")  # the forms this extension registers
TipId = app_commands.Range[str, 1, TIP_ID_TEXT_MAX]


def jump_link(guild_id: int, channel_id: int, message_id: int) -> str:
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def where_line(schedule: ScheduleRow) -> str:
    role = (
        templates.TIPS_SETUP_ROLE.format(role=f"<@&{schedule.role_id}>") if schedule.role_id else ""
    )
    return templates.TIPS_STATUS_WHERE_LINE.format(
        channel=f"<#{schedule.channel_id}>",
        weekday=templates.TIPS_WEEKDAY_NAMES[schedule.weekday or 0],
        time=schedule.time,
        zone=schedule.timezone,
        role=role,
    )


def status_embed(status: TipStatus) -> discord.Embed:
    schedule = status.schedule
    embed = discord.Embed(title=templates.TIPS_STATUS_TITLE, colour=discord.Colour(0x5865F2))
    if schedule is None or schedule.channel_id is None:
        embed.description = templates.fill(templates.TIPS_STATUS_NOT_SET_UP)
        return embed
    embed.add_field(name=templates.TIPS_STATUS_WHERE, value=where_line(schedule), inline=False)
    if schedule.attention is not None:
        upcoming = templates.fill(templates.TIPS_STATUS_STOPPED, reason=schedule.attention)
    elif schedule.left_at is not None:
        upcoming = templates.fill(templates.TIPS_STATUS_LEFT)
    elif schedule.paused:
        upcoming = templates.fill(templates.TIPS_STATUS_PAUSED)
    elif status.next_slot is not None:
        upcoming = templates.TIPS_STATUS_NEXT_LINE.format(due=status.next_slot // 1000)
    else:
        upcoming = templates.fill(templates.TIPS_STATUS_NONE)
    embed.add_field(name=templates.TIPS_STATUS_NEXT, value=upcoming, inline=False)
    last = status.last_post
    if last is not None and last.message_id is not None:
        latest = templates.TIPS_STATUS_LAST_LINE.format(
            number=last.number,
            title=safe(last.title, 100),
            link=jump_link(last.guild_id, last.channel_id, last.message_id),
            at=(last.posted_at or 0) // 1000,
        )
    else:
        latest = templates.TIPS_STATUS_NO_POSTS
    embed.add_field(name=templates.TIPS_STATUS_LAST, value=latest, inline=False)
    embed.add_field(
        name=templates.TIPS_STATUS_THREADS,
        value=templates.TIPS_STATUS_ON if schedule.threads else templates.TIPS_STATUS_OFF,
    )
    if status.skips:
        lines = [
            templates.TIPS_STATUS_SKIP_LINE.format(
                slot=skip.slot // 1000,
                reason=templates.fill(templates.TIPS_SKIP_REASONS.get(skip.reason, "")),
            )
            for skip in status.skips
        ]
        if status.skip_total > len(status.skips):
            lines.append(
                templates.TIPS_STATUS_SKIP_MORE.format(count=status.skip_total - len(status.skips))
            )
        embed.add_field(name=templates.TIPS_STATUS_SKIPPED, value="\n".join(lines), inline=False)
    if schedule.last_problem is not None:
        embed.add_field(
            name=templates.TIPS_STATUS_PROBLEM,
            value=templates.TIPS_STATUS_PROBLEM_LINE.format(
                problem=schedule.last_problem, at=(schedule.last_problem_at or 0) // 1000
            ),
            inline=False,
        )
    return embed


def list_embed(page: TipPage) -> discord.Embed:
    lines = []
    for item in page.items:
        marks = []
        if item.next_up:
            marks.append(templates.TIPS_LIST_NEXT)
        if item.hidden:
            marks.append(templates.TIPS_LIST_HIDDEN)
        if item.posted_as is not None:
            marks.append(templates.TIPS_LIST_POSTED.format(number=item.posted_as))
        lines.append(
            templates.TIPS_LIST_ROW.format(
                id=item.tip.id,
                title=safe(item.tip.title, 90),
                marks=f" · *{', '.join(marks)}*" if marks else "",
            )
        )
    embed = discord.Embed(
        title=templates.TIPS_LIST_TITLE,
        description="\n".join(lines),
        colour=discord.Colour(0x5865F2),
    )
    embed.set_footer(
        text=templates.TIPS_LIST_FOOTER.format(page=page.page, pages=page.pages, total=page.total)
    )
    return embed


def require_manager(interaction: discord.Interaction[Any]) -> None:
    """Manage Server, checked by the bot: the default permission is only a default."""
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage()
    if not interaction.permissions.manage_guild:
        raise app_commands.MissingPermissions(["manage_guild"])


def list_view(user_id: int, page: TipPage) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    if page.pages > 1:
        view.add_item(TipListPageButton(user_id, page.page - 1, "p", disabled=page.page <= 1))
        view.add_item(
            TipListPageButton(user_id, page.page + 1, "n", disabled=page.page >= page.pages)
        )
    return view


class TipListPageButton(
    OwnedButton, template=r"^nr:tips-list:(?P<user>\d+):(?P<page>\d+):(?P<dir>[pn])$"
):
    """Previous/Next on /tips list; the page to show is in the custom_id."""

    def __init__(self, owner_id: int, page: int, direction: str, *, disabled: bool = False) -> None:
        super().__init__(
            f"nr:tips-list:{owner_id}:{page}:{direction}",
            label=templates.PREVIOUS if direction == "p" else templates.NEXT,
            style=discord.ButtonStyle.secondary,
            owner_id=owner_id,
            disabled=disabled,
        )
        self.page = page

    @classmethod
    def from_match(cls, match: re.Match[str]) -> TipListPageButton:
        return cls(int(match["user"]), int(match["page"]), match["dir"])

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        # Like every /tips command: Manage Server, checked again (it may have been taken away
        # since the list was shown); the server's own tips are for its admins only.
        if interaction.guild_id is None:
            raise app_commands.NoPrivateMessage()
        if not interaction.permissions.manage_guild:
            raise app_commands.MissingPermissions(["manage_guild"])
        tips: TipOfTheWeek = interaction.client.tips
        listing = await tips.listing(interaction.guild_id, self.page, clamp=True)
        await interaction.response.edit_message(
            embed=list_embed(listing), view=list_view(self.owner_id, listing)
        )


class TipForm(Form):
    """Add a server tip (`tip-add`), or edit one (`tip-edit`, the tip's id as the subject)."""

    def __init__(self, tips: TipOfTheWeek, name: str) -> None:
        self.name = name  # one class for two forms
        self.tips = tips

    def modal(
        self, custom_id: str, subject: str | None, fields: Mapping[str, Any]
    ) -> discord.ui.Modal:
        title = (
            templates.TIPS_EDIT_MODAL_TITLE.format(id=subject)
            if subject
            else templates.TIPS_ADD_MODAL_TITLE
        )
        modal = discord.ui.Modal(title=title, custom_id=custom_id)
        modal.add_item(
            discord.ui.TextInput(
                label=templates.TIPS_FIELD_TITLE,
                custom_id="title",
                max_length=TITLE_MAX,
                default=text_of(fields, "title") or None,
            )
        )
        modal.add_item(
            discord.ui.TextInput(
                label=templates.TIPS_FIELD_BODY,
                custom_id="body",
                style=discord.TextStyle.paragraph,
                min_length=SERVER_BODY_MIN,
                max_length=BODY_MAX,
                placeholder=templates.TIPS_FIELD_BODY_PLACEHOLDER,
                default=text_of(fields, "body") or None,
            )
        )
        return modal

    async def check(self, interaction: discord.Interaction[Any], subject: str | None) -> None:
        require_manager(interaction)

    async def submit(
        self, interaction: discord.Interaction[Any], subject: str | None, fields: Fields
    ) -> None:
        assert interaction.guild_id is not None  # require_manager
        title, body = text_of(fields, "title"), text_of(fields, "body")
        if subject is None:
            tip = await self.tips.add_tip(interaction.guild_id, title, body)
            message = templates.TIPS_ADDED.format(id=tip.id, title=safe(tip.title, 100))
        else:
            tip = await self.tips.edit_tip(interaction.guild_id, subject, title, body)
            message = templates.TIPS_EDITED.format(id=tip.id, title=safe(tip.title, 100))
        await interaction.response.send_message(message, ephemeral=True)


# How a refusal names the log form's boxes: by their labels, as the person sees them.
LOG_FORM_LABELS = {
    "company": templates.TIP_LOG_COMPANY,
    "role": templates.TIP_LOG_ROLE,
    "stage": templates.TIP_LOG_STAGE,
    "date": templates.TIP_LOG_DATE,
    "notes": templates.TIP_LOG_NOTES,
}


def log_form_field(name: str) -> str:
    return templates.FORM_FIELD.format(label=LOG_FORM_LABELS.get(name, name))


class LogRejectionForm(Form):
    """Opened by "Log a rejection" under a tip post; logs exactly as /rejection log does."""

    name = "tip-log"

    def __init__(self, bot: NextRoundBot) -> None:
        self.bot = bot

    def modal(
        self, custom_id: str, subject: str | None, fields: Mapping[str, Any]
    ) -> discord.ui.Modal:
        modal = discord.ui.Modal(title=templates.TIP_LOG_FORM_TITLE, custom_id=custom_id)
        chosen = choices_of(fields, "stage")
        modal.add_item(
            discord.ui.TextInput(
                label=templates.TIP_LOG_COMPANY,
                custom_id="company",
                max_length=COMPANY_MAX,
                default=text_of(fields, "company") or None,
            )
        )
        modal.add_item(
            discord.ui.TextInput(
                label=templates.TIP_LOG_ROLE,
                custom_id="role",
                max_length=ROLE_MAX,
                required=False,
                default=text_of(fields, "role") or None,
            )
        )
        stage: discord.ui.Select[discord.ui.Modal] = discord.ui.Select(
            custom_id="stage",
            placeholder=templates.TIP_LOG_STAGE_PLACEHOLDER,
            min_values=0,
            max_values=1,
            required=False,
            options=[
                discord.SelectOption(label=label, value=stage.value, default=stage.value in chosen)
                for stage, label in STAGE_LABELS.items()
            ],
        )
        modal.add_item(discord.ui.Label(text=templates.TIP_LOG_STAGE, component=stage))
        modal.add_item(
            discord.ui.TextInput(
                label=templates.TIP_LOG_DATE,
                custom_id="date",
                max_length=DATE_TEXT_MAX,
                required=False,
                placeholder=templates.TIP_LOG_DATE_PLACEHOLDER,
                default=text_of(fields, "date") or None,
            )
        )
        modal.add_item(
            discord.ui.TextInput(
                label=templates.TIP_LOG_NOTES,
                custom_id="notes",
                style=discord.TextStyle.paragraph,
                max_length=NOTES_MAX,
                required=False,
                default=text_of(fields, "notes") or None,
            )
        )
        return modal

    async def submit(
        self, interaction: discord.Interaction[Any], subject: str | None, fields: Fields
    ) -> None:
        stages = choices_of(fields, "stage")
        logged = await self.bot.rejection_log.log_entry(
            interaction.user.id,
            interaction.guild_id,
            company=text_of(fields, "company"),
            role=text_of(fields, "role") or None,
            stage=stages[0] if stages else Stage.INTERVIEW.value,
            date_text=text_of(fields, "date") or None,
            notes=text_of(fields, "notes") or None,
            field=log_form_field,
        )
        await send_log_reply(interaction, logged)


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
@app_commands.allowed_installs(guilds=True, users=False)
@app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
class TipsCog(commands.GroupCog, group_name="tips"):
    """Interview Tip of the Week for this server (Manage Server)."""

    def __init__(self, bot: NextRoundBot) -> None:
        self.bot = bot
        self.tips = bot.tips
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.forms.register(LogRejectionForm(self.bot))
        self.bot.forms.register(TipForm(self.tips, "tip-add"))
        self.bot.forms.register(TipForm(self.tips, "tip-edit"))
        self.tips.log_form = self.open_log_form
        await self.tips.ensure_purge_scheduled()

    async def cog_unload(self) -> None:
        self.tips.log_form = None
        for form in FORMS:
            self.bot.forms.unregister(form)

    async def open_log_form(self, interaction: discord.Interaction[Any]) -> None:
        await self.bot.forms.open(interaction, LogRejectionForm.name)

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        # The default permission is only a default: a server can open /tips to anyone in its
        # integration settings, so every command checks Manage Server itself.
        require_manager(interaction)
        return True

    @staticmethod
    def _guild(interaction: discord.Interaction[NextRoundBot]) -> discord.Guild:
        if interaction.guild is None:
            raise app_commands.NoPrivateMessage()
        return interaction.guild

    def _posting_channel(
        self, guild: discord.Guild, schedule: ScheduleRow, *, threads: bool | None = None
    ) -> discord.abc.GuildChannel:
        """The schedule's channel, checked the way /tips setup checks it."""
        channel = guild.get_channel(schedule.channel_id or 0)
        if channel is None:
            raise UserError(templates.fill(templates.TIPS_CHANNEL_GONE))
        role = guild.get_role(schedule.role_id) if schedule.role_id else None
        check_post_channel(
            channel,
            guild.me,
            threads=schedule.threads if threads is None else threads,
            role=role,
        )
        return channel

    # -- schedule ----------------------------------------------------------------------------

    @app_commands.command(name="setup")
    @app_commands.describe(
        channel="The text or announcement channel the tips go to",
        weekday="The day of the week to post",
        time="The local time to post, HH:MM (24-hour), like 09:00",
        timezone="The time zone for that time: a city, Europe/London, EST or UTC+5:30",
        role="A role to mention in each post (optional)",
    )
    @app_commands.choices(weekday=WEEKDAY_CHOICES)
    async def setup_command(
        self,
        interaction: discord.Interaction[NextRoundBot],
        channel: discord.TextChannel,
        weekday: str,
        time: app_commands.Range[str, 1, TIME_TEXT_MAX],
        timezone: app_commands.Range[str, 1, ZONE_TEXT_MAX],
        role: discord.Role | None = None,
    ) -> None:
        """Choose the channel, weekday, time and time zone of the weekly tip."""
        guild = self._guild(interaction)
        current = await self.tips.schedule_of(guild.id)
        check_role(role)
        check_post_channel(
            channel, guild.me, threads=current.threads if current else False, role=role
        )
        schedule, first = await self.tips.setup(
            guild.id,
            channel_id=channel.id,
            weekday=weekday,
            time_text=time,
            timezone=timezone,
            role_id=role.id if role else None,
        )
        await interaction.response.send_message(
            templates.TIPS_SETUP_DONE.format(
                channel=channel.mention,
                weekday=templates.TIPS_WEEKDAY_NAMES[schedule.weekday or 0],
                time=schedule.time,
                # Its offset and local time now, so a wrong zone shows at once.
                zone=describe(schedule.timezone or UTC_NAME, self.bot.clock.now()),
                role=templates.TIPS_SETUP_ROLE.format(role=role.mention) if role else "",
                first=first // 1000,
            ),
            ephemeral=True,
        )

    @setup_command.autocomplete("timezone")
    async def timezone_autocomplete(
        self, interaction: discord.Interaction[NextRoundBot], current: str
    ) -> list[Choice[str]]:
        return zone_choices(current, interaction)

    @app_commands.command(name="status")
    async def status_command(self, interaction: discord.Interaction[NextRoundBot]) -> None:
        """Next and last post, pause state, skipped slots and any problem."""
        status = await self.tips.status(self._guild(interaction).id)
        await interaction.response.send_message(embed=status_embed(status), ephemeral=True)

    @app_commands.command(name="preview")
    @app_commands.describe(tip="A tip id from /tips list (default: the next tip to be posted)")
    async def preview_command(
        self, interaction: discord.Interaction[NextRoundBot], tip: TipId | None = None
    ) -> None:
        """See a tip as it would be posted; only you see the preview."""
        guild = self._guild(interaction)
        preview = await self.tips.preview(guild.id, tip)
        note = templates.TIPS_PREVIEW_NOTE.format(id=preview.tip.id, number=preview.number)
        if preview.role_id is not None:
            # Rendered as the role's name; nobody is pinged (mentions are off bot-wide).
            note += templates.TIPS_PREVIEW_ROLE.format(role=f"<@&{preview.role_id}>")
        await interaction.response.send_message(
            note,
            embed=tip_post_embed(preview.number, preview.tip, when=preview.when),
            view=preview_view(),
            ephemeral=True,
        )

    @app_commands.command(name="post-now")
    async def post_now_command(self, interaction: discord.Interaction[NextRoundBot]) -> None:
        """Post the next tip now; the weekly post then continues with the tip after it."""
        guild = self._guild(interaction)
        schedule = await self.tips.schedule_of(guild.id)
        if schedule is None or schedule.channel_id is None:
            raise UserError(templates.fill(templates.TIPS_NOT_SET_UP))
        self._posting_channel(guild, schedule)
        await interaction.response.defer(ephemeral=True, thinking=True)
        posted = await self.tips.post_now(guild.id)
        await interaction.followup.send(
            templates.TIPS_POSTED_NOW.format(
                number=posted.number,
                title=safe(posted.title, 100),
                link=jump_link(guild.id, posted.channel_id, posted.message_id),
            ),
            ephemeral=True,
        )

    @app_commands.command(name="skip")
    async def skip_command(self, interaction: discord.Interaction[NextRoundBot]) -> None:
        """The next weekly slot posts nothing; its tip waits for the following one."""
        skipped, following = await self.tips.skip(self._guild(interaction).id)
        await interaction.response.send_message(
            templates.TIPS_SKIPPED.format(skipped=skipped // 1000, next=following // 1000),
            ephemeral=True,
        )

    @app_commands.command(name="pause")
    async def pause_command(self, interaction: discord.Interaction[NextRoundBot]) -> None:
        """Stop the weekly tip until /tips resume."""
        paused = await self.tips.pause(self._guild(interaction).id)
        await interaction.response.send_message(
            templates.fill(templates.TIPS_PAUSED if paused else templates.TIPS_ALREADY_PAUSED),
            ephemeral=True,
        )

    @app_commands.command(name="resume")
    async def resume_command(self, interaction: discord.Interaction[NextRoundBot]) -> None:
        """Start the weekly tip again from the next slot, after a pause or a problem."""
        guild = self._guild(interaction)
        schedule = await self.tips.schedule_of(guild.id)
        if schedule is None or schedule.channel_id is None:
            raise UserError(templates.fill(templates.TIPS_NOT_SET_UP))
        self._posting_channel(guild, schedule)
        due = await self.tips.resume(guild.id)
        if due is None:
            status = await self.tips.status(guild.id)
            await interaction.response.send_message(
                templates.TIPS_NOT_STOPPED.format(due=(status.next_slot or 0) // 1000),
                ephemeral=True,
            )
            return
        await interaction.response.send_message(
            templates.TIPS_RESUMED.format(due=due // 1000), ephemeral=True
        )

    @app_commands.command(name="thread")
    @app_commands.describe(enabled="Open a discussion thread under each new post")
    async def thread_command(
        self, interaction: discord.Interaction[NextRoundBot], enabled: bool
    ) -> None:
        """Open a discussion thread under each post, or not."""
        guild = self._guild(interaction)
        schedule = await self.tips.schedule_of(guild.id)
        if enabled and schedule is not None and schedule.channel_id is not None:
            self._posting_channel(guild, schedule, threads=True)
        await self.tips.set_threads(guild.id, enabled)
        await interaction.response.send_message(
            templates.TIPS_THREADS_ON if enabled else templates.TIPS_THREADS_OFF, ephemeral=True
        )

    # -- the tips themselves -------------------------------------------------------------------

    @app_commands.command(name="list")
    @app_commands.describe(page="Page number (10 tips per page)")
    async def list_command(
        self,
        interaction: discord.Interaction[NextRoundBot],
        page: app_commands.Range[int, 1, PAGE_MAX] = 1,
    ) -> None:
        """Every tip for this server: its own and the shipped ones, marked hidden or posted."""
        listing = await self.tips.listing(self._guild(interaction).id, page)
        await interaction.response.send_message(
            embed=list_embed(listing), view=list_view(interaction.user.id, listing), ephemeral=True
        )

    @app_commands.command(name="add")
    async def add_command(self, interaction: discord.Interaction[NextRoundBot]) -> None:
        """Write a tip of this server's own; it posts before the shipped ones."""
        self._guild(interaction)
        await self.bot.forms.open(interaction, "tip-add")

    @app_commands.command(name="edit")
    @app_commands.describe(tip="The id of one of this server's tips, like s3")
    async def edit_command(
        self, interaction: discord.Interaction[NextRoundBot], tip: TipId
    ) -> None:
        """Change the title or text of one of this server's own tips."""
        guild = self._guild(interaction)
        editing = await self.tips.editable_tip(guild.id, tip)
        await self.bot.forms.open(
            interaction,
            "tip-edit",
            subject=editing.id,
            fields={"title": editing.title, "body": editing.body},
        )

    @app_commands.command(name="remove")
    @app_commands.describe(tip="A tip id from /tips list: s-ids are deleted, shipped ones hidden")
    async def remove_command(
        self, interaction: discord.Interaction[NextRoundBot], tip: TipId
    ) -> None:
        """Delete one of this server's tips, or hide a shipped tip in this server."""
        removed, hidden = await self.tips.remove_tip(self._guild(interaction).id, tip)
        message = templates.TIPS_HIDDEN if hidden else templates.TIPS_REMOVED
        await interaction.response.send_message(
            message.format(id=removed.id, title=safe(removed.title, 100)), ephemeral=True
        )

    @app_commands.command(name="restore")
    @app_commands.describe(tip="A shipped tip hidden with /tips remove")
    async def restore_command(
        self, interaction: discord.Interaction[NextRoundBot], tip: TipId
    ) -> None:
        """Show a shipped tip you hid in this server again."""
        restored = await self.tips.restore_tip(self._guild(interaction).id, tip)
        await interaction.response.send_message(
            templates.TIPS_RESTORED.format(id=restored.id, title=safe(restored.title, 100)),
            ephemeral=True,
        )

    @restore_command.autocomplete("tip")
    async def hidden_tip_autocomplete(
        self, interaction: discord.Interaction[NextRoundBot], current: str
    ) -> list[Choice[str]]:
        if interaction.guild_id is None or not interaction.permissions.manage_guild:
            return []
        found = await self.tips.tip_suggestions(interaction.guild_id, current, hidden_only=True)
        return [Choice(name=label, value=tip_id) for tip_id, label in found]

    @preview_command.autocomplete("tip")
    @remove_command.autocomplete("tip")
    async def tip_autocomplete(
        self, interaction: discord.Interaction[NextRoundBot], current: str
    ) -> list[Choice[str]]:
        return await self._tip_choices(interaction, current, server_only=False)

    @edit_command.autocomplete("tip")
    async def server_tip_autocomplete(
        self, interaction: discord.Interaction[NextRoundBot], current: str
    ) -> list[Choice[str]]:
        return await self._tip_choices(interaction, current, server_only=True)

    async def _tip_choices(
        self, interaction: discord.Interaction[NextRoundBot], current: str, *, server_only: bool
    ) -> list[Choice[str]]:
        # Autocomplete skips interaction_check: a server's own tips are for its admins only.
        if interaction.guild_id is None or not interaction.permissions.manage_guild:
            return []
        found = await self.tips.tip_suggestions(
            interaction.guild_id, current, server_only=server_only
        )
        return [Choice(name=label, value=tip_id) for tip_id, label in found]

    # -- the bot joining and leaving servers -------------------------------------------------

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.tips.server_left(guild.id)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.tips.server_returned(guild.id)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        await self.tips.reconcile_servers({guild.id for guild in self.bot.guilds})


async def setup(bot: NextRoundBot) -> None:
    bot.add_dynamic_items(TipLogButton, TipListPageButton)
    await bot.add_cog(TipsCog(bot))
