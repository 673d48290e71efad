"""/followups: when and whether NextRound DMs you about your entries."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import Choice
from discord.ext import commands

from bot import templates
from bot.client import NextRoundBot
from bot.components import OwnedButton, OwnedSelect
from bot.db.followups import FollowUpRow
from bot.embeds import BRAND_COLOUR, DESCRIPTION_MAX
from bot.errors import NotFound, UserError
from bot.followups import (
    LABEL_MAX,
    FollowUpButton,
    FollowUpPage,
    FollowUpSettings,
    entry_text,
    local_time_text,
    parse_pause_until,
    state_text,
    step_name,
)
from bot.interaction_errors import report_interaction_error
from bot.limits import (
    FOLLOW_UP_NUMBER_MAX,
    PAGE_MAX,
    PAUSE_TEXT_MAX,
    TIME_TEXT_MAX,
    ZONE_TEXT_MAX,
)
from bot.text import truncate
from bot.zones import (
    UTC_NAME,
    city_of,
    describe,
    facts,
    likely_zones,
    parse_zone,
    read_as,
    suggestions,
)

ZoneText = app_commands.Range[str, 1, ZONE_TEXT_MAX]
TimeText = app_commands.Range[str, 1, TIME_TEXT_MAX]


def settings_embed(settings: FollowUpSettings, now_ms: int, now: datetime) -> discord.Embed:
    on_off = {True: templates.SETTINGS_ON, False: templates.SETTINGS_OFF}
    if not settings.paused_at(now_ms):
        paused = templates.SETTINGS_NOT_PAUSED
    elif settings.paused_indefinitely:
        paused = templates.fill(templates.SETTINGS_PAUSED)
    else:
        paused = templates.SETTINGS_PAUSED_UNTIL.format(until=(settings.paused_until or 0) // 1000)
    delay = settings.feedback_delay_days
    zone = (
        templates.SETTINGS_ZONE.format(zone=describe(settings.timezone, now))
        if settings.timezone is not None
        else templates.SETTINGS_ZONE_NOT_SET
    )
    description = templates.SETTINGS_LINES.format(
        timezone=zone,
        window_start=settings.window_start,
        window_end=settings.window_end,
        weekdays=templates.SETTINGS_WEEKDAYS if settings.weekdays_only else "",
        thank_you=on_off[settings.thank_you],
        feedback_request=on_off[settings.feedback_request],
        check_in=on_off[settings.check_in],
        delay=delay,
        day_word=(
            templates.SETTINGS_BUSINESS_DAY if settings.weekdays_only else templates.SETTINGS_DAY
        )
        + ("s" if delay != 1 else ""),
        aim=settings.window.aim.strftime("%H:%M"),
        paused=paused,
    )
    return discord.Embed(title=templates.SETTINGS_TITLE, description=description)


def zone_choices(current: str, interaction: discord.Interaction[NextRoundBot]) -> list[Choice[str]]:
    """Autocomplete for every zone option (follow-ups and tips): what was meant first."""
    now = interaction.client.clock.now()
    return [
        Choice(name=found.label, value=found.name)
        for found in suggestions(current, now, locale=str(interaction.locale))
    ]


# -- the zone picker under a log reply ----------------------------------------------------

ZONE_PICKER_ID = "nr:tz:{user}:{entry}"
OTHER_ZONE = "nr:other"  # not a zone: opens the form to type one


def zone_picker_view(
    owner_id: int, entry_id: int, locale: str, now: datetime, settings: FollowUpSettings
) -> discord.ui.View:
    """A menu of zones likely for the person's Discord language, each with its time now so
    the right one is the one showing their clock; plus UTC and "another zone"."""
    options = zone_options(
        locale, int(now.timestamp()) // 60, settings.window_start, settings.window_end
    )
    view = discord.ui.View(timeout=None)
    view.add_item(ZonePicker(owner_id, entry_id, list(options)))
    return view


@lru_cache(maxsize=256)
def zone_options(
    locale: str, minute: int, start: str, end: str
) -> tuple[discord.SelectOption, ...]:
    # The same for everyone with this language in this minute: built once, not per reply.
    now = datetime.fromtimestamp(minute * 60, UTC)
    options = []
    for zone in likely_zones(locale):
        found = facts(zone, now)
        options.append(
            discord.SelectOption(
                label=templates.ZONE_PICKER_OPTION.format(
                    city=city_of(zone), time=found.local_time
                ),
                value=zone,
                description=f"{zone} · {found.offset}"[:100],
            )
        )
    options.append(
        discord.SelectOption(
            label=templates.ZONE_PICKER_UTC.format(time=facts(UTC_NAME, now).local_time),
            value=UTC_NAME,
            description=templates.ZONE_PICKER_UTC_DESCRIPTION.format(start=start, end=end),
        )
    )
    options.append(
        discord.SelectOption(
            label=templates.ZONE_PICKER_OTHER,
            value=OTHER_ZONE,
            description=templates.ZONE_PICKER_OTHER_DESCRIPTION,
        )
    )
    return tuple(options)


async def set_zone_from_reply(
    interaction: discord.Interaction[NextRoundBot], owner_id: int, entry_id: int, typed: str
) -> None:
    """Set the zone chosen under a log reply, re-plan, and update that reply in place: its
    follow-up times, a line saying what was set, and no picker any more."""
    bot = interaction.client
    found = parse_zone(typed, bot.clock.now())
    await bot.follow_ups.update_settings(owner_id, timezone=found.name)
    lines = [templates.ZONE_SET.format(zone=describe(found.name, bot.clock.now()))]
    if (note := read_as(found)) is not None:
        lines.insert(0, templates.ZONE_READ_NOTE.format(read_as=note))
    embed = (
        interaction.message.embeds[0]
        if interaction.message and interaction.message.embeds
        else None
    )
    if embed is not None:
        try:
            entry = await bot.rejection_log.get_by_id(owner_id, entry_id)
        except NotFound:
            entry = None
        for index, field in enumerate(embed.fields):
            if entry is not None and field.name == templates.ENTRY_FIELD_NEXT:
                embed.set_field_at(
                    index, name=field.name, value=await bot.next_steps_for(entry), inline=False
                )
    await interaction.response.edit_message(content="\n".join(lines), embed=embed, view=None)


class ZonePicker(OwnedSelect, template=r"^nr:tz:(?P<user>\d+):(?P<entry>\d+)$"):
    """The zone menu under a log reply; works after restarts, only for its person."""

    def __init__(
        self, owner_id: int, entry_id: int, options: list[discord.SelectOption] | None = None
    ) -> None:
        super().__init__(
            ZONE_PICKER_ID.format(user=owner_id, entry=entry_id),
            options=options or [],
            placeholder=templates.ZONE_PICKER_PLACEHOLDER,
            owner_id=owner_id,
        )
        self.entry_id = entry_id

    @classmethod
    def from_match(cls, match: re.Match[str]) -> ZonePicker:
        return cls(int(match["user"]), int(match["entry"]))

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        (choice,) = self.values
        if choice == OTHER_ZONE:
            await interaction.response.send_modal(ZoneForm(self.owner_id, self.entry_id))
            return
        await set_zone_from_reply(interaction, self.owner_id, self.entry_id, choice)


class ZoneForm(discord.ui.Modal):
    """ "Another zone…": one line to type a city, a zone name or an offset."""

    def __init__(self, owner_id: int, entry_id: int) -> None:
        super().__init__(
            title=templates.ZONE_FORM_TITLE,
            timeout=15 * 60.0,
            custom_id=f"nr:tz-form:{owner_id}:{entry_id}",
        )
        self.owner_id = owner_id
        self.entry_id = entry_id
        self.zone: discord.ui.TextInput[ZoneForm] = discord.ui.TextInput(
            label=templates.ZONE_FORM_LABEL,
            placeholder=templates.ZONE_FORM_PLACEHOLDER,
            max_length=60,
        )
        self.add_item(self.zone)

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        await set_zone_from_reply(interaction, self.owner_id, self.entry_id, self.zone.value)

    async def on_error(  # type: ignore[override]  # Modal drops BaseView's item argument
        self, interaction: discord.Interaction[Any], error: Exception, /
    ) -> None:
        await report_interaction_error(interaction, error, "the time zone form")


def list_line(row: FollowUpRow, listing: FollowUpPage) -> str:
    return templates.LIST_FOLLOW_UPS_ROW.format(
        name=f"**{step_name(row)}**",
        entry=entry_text(row, markdown=True),
        state=state_text(row, listing.settings, listing.now),
    )


def list_embed(listing: FollowUpPage) -> discord.Embed:
    lines: list[str] = []
    section = None
    for row in listing.rows:
        coming = row.state in ("pending", "running")
        if coming != section:
            # Headings on every page, so page 3 still says which part of the list it is.
            lines.append(
                templates.LIST_FOLLOW_UPS_COMING if coming else templates.LIST_FOLLOW_UPS_RECENT
            )
            section = coming
        lines.append(list_line(row, listing))
    embed = discord.Embed(
        title=templates.LIST_FOLLOW_UPS_TITLE,
        description=truncate("\n".join(lines), DESCRIPTION_MAX),
        colour=BRAND_COLOUR,
    )
    embed.set_footer(
        text=templates.LIST_FOLLOW_UPS_FOOTER.format(
            page=listing.page,
            pages=listing.pages,
            total=templates.plural(listing.total, "follow-up"),
        )
    )
    return embed


def list_view(user_id: int, listing: FollowUpPage) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    zone = listing.settings.window.zone
    options = [
        discord.SelectOption(
            label=truncate(
                templates.FOLLOW_UP_CANCEL_OPTION.format(
                    name=step_name(row), entry=entry_text(row)
                ),
                LABEL_MAX,
            ),
            description=truncate(
                templates.FOLLOW_UP_CANCEL_OPTION_WHEN.format(
                    when=local_time_text(row.due_at, zone)
                ),
                LABEL_MAX,
            ),
            value=str(row.id),
        )
        for row in listing.rows
        if row.state == "pending"
    ]
    if options:
        view.add_item(CancelFollowUpSelect(user_id, listing.page, options))
    if listing.pages > 1:
        page = listing.page
        view.add_item(FollowUpPageButton(user_id, page - 1, "p", disabled=page <= 1))
        view.add_item(FollowUpPageButton(user_id, page + 1, "n", disabled=page >= listing.pages))
    return view


async def render_list(
    bot: NextRoundBot, user_id: int, page: int, *, clamp: bool = False
) -> tuple[discord.Embed, discord.ui.View]:
    listing = await bot.follow_ups.page(user_id, page, clamp=clamp)
    if not listing.rows:
        embed = discord.Embed(
            title=templates.LIST_FOLLOW_UPS_TITLE, description=templates.LIST_FOLLOW_UPS_EMPTY
        )
        return embed, discord.ui.View(timeout=None)
    return list_embed(listing), list_view(user_id, listing)


class FollowUpPageButton(
    OwnedButton, template=r"^nr:fu-list:(?P<user>\d+):(?P<page>\d+):(?P<dir>[pn])$"
):
    """Previous/Next on /followups list; the page to show is in the custom_id."""

    def __init__(self, owner_id: int, page: int, direction: str, *, disabled: bool = False) -> None:
        super().__init__(
            f"nr:fu-list:{owner_id}:{page}:{direction}",
            label=templates.PREVIOUS if direction == "p" else templates.NEXT,
            style=discord.ButtonStyle.secondary,
            owner_id=owner_id,
            disabled=disabled,
        )
        self.row = 1
        self.page = page

    @classmethod
    def from_match(cls, match: re.Match[str]) -> FollowUpPageButton:
        return cls(int(match["user"]), int(match["page"]), match["dir"])

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        # An old list may point past the end: show its last page rather than refuse.
        embed, view = await render_list(interaction.client, self.owner_id, self.page, clamp=True)
        await interaction.response.edit_message(content=None, embed=embed, view=view)


class CancelFollowUpSelect(OwnedSelect, template=r"^nr:fu-cancel:(?P<user>\d+):(?P<page>\d+)$"):
    """ "Cancel a follow-up on this page…" under /followups list: the options are the page's
    pending follow-ups, by row id; the list is shown again afterwards, with what happened."""

    def __init__(
        self, owner_id: int, page: int, options: list[discord.SelectOption] | None = None
    ) -> None:
        super().__init__(
            f"nr:fu-cancel:{owner_id}:{page}",
            owner_id=owner_id,
            placeholder=templates.FOLLOW_UP_CANCEL_PLACEHOLDER,
            options=options,
        )
        self.row = 0
        self.page = page

    @classmethod
    def from_match(cls, match: re.Match[str]) -> CancelFollowUpSelect:
        return cls(int(match["user"]), int(match["page"]))

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        bot: NextRoundBot = interaction.client
        picked = self.values[0] if self.values else ""
        try:
            # A value that is not a number (a forged request) names no follow-up.
            row = await bot.follow_ups.cancel(
                self.owner_id, int(picked) if picked.isascii() and picked.isdigit() else 0
            )
            content = cancelled_sentence(row)
        except UserError as refused:
            content = refused.message  # shown above the list again, which is up to date
        embed, view = await render_list(bot, self.owner_id, self.page, clamp=True)
        await interaction.response.edit_message(content=content, embed=embed, view=view)


def cancelled_sentence(row: FollowUpRow) -> str:
    return templates.FOLLOW_UP_CANCELLED.format(
        name=step_name(row).lower(), entry=entry_text(row, markdown=True)
    )


def in_shared_server(interaction: discord.Interaction[NextRoundBot]) -> bool:
    """Asked in a server NextRound is in: that server's privacy settings govern its DMs."""
    guild_id = interaction.guild_id
    return guild_id is not None and interaction.client.get_guild(guild_id) is not None


@app_commands.allowed_installs(guilds=True, users=True)
@app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
class FollowUpsCog(commands.GroupCog, group_name="followups"):
    """Follow-up DMs about your entries."""

    def __init__(self, bot: NextRoundBot) -> None:
        self.bot = bot
        self.follow_ups = bot.follow_ups
        super().__init__()

    @app_commands.command(name="settings")
    @app_commands.describe(
        timezone="Your city or time zone, like London, Europe/London, EST or UTC+5:30",
        window_start="Earliest time a follow-up may arrive, HH:MM (default 08:00)",
        window_end="Follow-ups arrive before this time, HH:MM (default 21:00)",
        weekdays_only="Only Monday to Friday (default on)",
        thank_you="Remind me to thank the interviewer",
        feedback_request="Remind me to ask for feedback",
        check_in="Check a week later whether feedback came",
        feedback_delay_days="Days after the day you log to ask for feedback (1–14, default 1)",
    )
    async def settings_command(
        self,
        interaction: discord.Interaction[NextRoundBot],
        timezone: ZoneText | None = None,
        window_start: TimeText | None = None,
        window_end: TimeText | None = None,
        weekdays_only: bool | None = None,
        thank_you: bool | None = None,
        feedback_request: bool | None = None,
        check_in: bool | None = None,
        feedback_delay_days: app_commands.Range[int, 1, 14] | None = None,
    ) -> None:
        """See or change when follow-up DMs reach you."""
        options = {
            "timezone": timezone,
            "window_start": window_start,
            "window_end": window_end,
            "weekdays_only": weekdays_only,
            "thank_you": thank_you,
            "feedback_request": feedback_request,
            "check_in": check_in,
            "feedback_delay_days": feedback_delay_days,
        }
        user_id = interaction.user.id
        now = int(self.bot.clock.timestamp() * 1000)
        today = self.bot.clock.now()
        if all(value is None for value in options.values()):
            settings = await self.follow_ups.settings(user_id)
            await interaction.response.send_message(
                embed=settings_embed(settings, now, today), ephemeral=True
            )
            return
        lines = [templates.SETTINGS_SAVED]
        if timezone is not None:
            # Read here too, to say what an abbreviation or a city was read as.
            found = parse_zone(timezone, today)
            if (note := read_as(found)) is not None:
                lines.append(templates.ZONE_READ_NOTE.format(read_as=note))
        settings = await self.follow_ups.update_settings(user_id, **options)
        await interaction.response.send_message(
            "\n".join(lines), embed=settings_embed(settings, now, today), ephemeral=True
        )

    @settings_command.autocomplete("timezone")
    async def timezone_autocomplete(
        self, interaction: discord.Interaction[NextRoundBot], current: str
    ) -> list[Choice[str]]:
        return zone_choices(current, interaction)

    @app_commands.command(name="list")
    @app_commands.describe(page="Page number (10 follow-ups per page, what comes next first)")
    async def list_command(
        self,
        interaction: discord.Interaction[NextRoundBot],
        page: app_commands.Range[int, 1, PAGE_MAX] = 1,
    ) -> None:
        """Your coming follow-ups and those of the last 14 days; cancel one from the list."""
        embed, view = await render_list(self.bot, interaction.user.id, page)
        await interaction.response.send_message(embed=embed, view=view, ephemeral=True)

    @app_commands.command(name="cancel")
    @app_commands.describe(number="Start typing the company or step, then pick the follow-up")
    async def cancel_command(
        self,
        interaction: discord.Interaction[NextRoundBot],
        number: app_commands.Range[int, 1, FOLLOW_UP_NUMBER_MAX],
    ) -> None:
        """Cancel one pending follow-up (or use the menu under /followups list)."""
        row = await self.follow_ups.cancel(interaction.user.id, number)
        await interaction.response.send_message(cancelled_sentence(row), ephemeral=True)

    @cancel_command.autocomplete("number")
    async def cancel_autocomplete(
        self, interaction: discord.Interaction[NextRoundBot], current: str
    ) -> list[Choice[int]]:
        found = await self.follow_ups.cancel_suggestions(interaction.user.id, str(current))
        return [Choice(name=label, value=job_id) for job_id, label in found]

    @app_commands.command(name="pause")
    @app_commands.describe(
        until="YYYY-MM-DD, YYYY-MM-DD HH:MM or '3 days' (default: until you resume)"
    )
    async def pause_command(
        self,
        interaction: discord.Interaction[NextRoundBot],
        until: app_commands.Range[str, 1, PAUSE_TEXT_MAX] | None = None,
    ) -> None:
        """Hold all follow-ups for a while; nothing is lost."""
        user_id = interaction.user.id
        until_ms = None
        if until is not None and until.strip():
            settings = await self.follow_ups.settings(user_id)
            until_ms = parse_pause_until(until, settings, self.bot.clock.now())
        await self.follow_ups.pause(user_id, until_ms)
        suffix = templates.PAUSED_UNTIL.format(until=until_ms // 1000) if until_ms else ""
        await interaction.response.send_message(
            templates.PAUSED.format(until=suffix), ephemeral=True
        )

    @app_commands.command(name="resume")
    async def resume_command(self, interaction: discord.Interaction[NextRoundBot]) -> None:
        """Resume paused follow-ups."""
        resumed = await self.follow_ups.resume(interaction.user.id)
        await interaction.response.send_message(
            templates.RESUMED if resumed else templates.NOT_PAUSED, ephemeral=True
        )

    @app_commands.command(name="test")
    async def test_command(self, interaction: discord.Interaction[NextRoundBot]) -> None:
        """Send yourself a test DM to check that follow-ups can reach you."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        message = await self.follow_ups.send_test(
            interaction.user.id, in_shared_server=in_shared_server(interaction)
        )
        await interaction.followup.send(message, ephemeral=True)

    @commands.Cog.listener()
    async def on_app_command_completion(
        self, interaction: discord.Interaction[NextRoundBot], command: object
    ) -> None:
        # The one-time notice about undelivered DMs, after whatever the person asked for.
        notice = await self.follow_ups.take_notice(
            interaction.user.id, in_shared_server=in_shared_server(interaction)
        )
        if notice is not None:
            await interaction.followup.send(notice, ephemeral=True)


async def setup(bot: NextRoundBot) -> None:
    bot.add_dynamic_items(FollowUpButton, ZonePicker, FollowUpPageButton, CancelFollowUpSelect)
    await bot.add_cog(FollowUpsCog(bot))
