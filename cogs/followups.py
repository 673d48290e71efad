"""/followups: when and whether NextRound DMs you about your entries."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.app_commands import Choice
from discord.ext import commands

from bot import templates
from bot.client import NextRoundBot
from bot.db.followups import FollowUpRow
from bot.followups import (
    FollowUpButton,
    FollowUpSettings,
    parse_pause_until,
    step_of,
    zone_suggestions,
)
from bot.limits import FOLLOW_UP_NUMBER_MAX, PAUSE_TEXT_MAX, TIME_TEXT_MAX, ZONE_TEXT_MAX
from bot.text import safe

ZoneText = app_commands.Range[str, 1, ZONE_TEXT_MAX]
TimeText = app_commands.Range[str, 1, TIME_TEXT_MAX]

STATUS_LABELS = {
    "pending": "",
    "running": templates.LIST_FOLLOW_UPS_SENDING,
    "cancelled": templates.LIST_FOLLOW_UPS_CANCELLED,
}


def settings_embed(settings: FollowUpSettings, now_ms: int) -> discord.Embed:
    on_off = {True: templates.SETTINGS_ON, False: templates.SETTINGS_OFF}
    if not settings.paused_at(now_ms):
        paused = templates.SETTINGS_NOT_PAUSED
    elif settings.paused_indefinitely:
        paused = templates.fill(templates.SETTINGS_PAUSED)
    else:
        paused = templates.SETTINGS_PAUSED_UNTIL.format(until=(settings.paused_until or 0) // 1000)
    delay = settings.feedback_delay_days
    description = templates.SETTINGS_LINES.format(
        timezone=settings.timezone,
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
        paused=paused,
    )
    return discord.Embed(title=templates.SETTINGS_TITLE, description=description)


def list_line(row: FollowUpRow) -> str:
    if row.state in ("pending", "running"):
        when = f"<t:{row.due_at // 1000}:F> (<t:{row.due_at // 1000}:R>)"
        status = STATUS_LABELS[row.state] + (
            templates.LIST_FOLLOW_UPS_SNOOZED if row.snoozed else ""
        )
    else:
        finished = (row.finished_at or row.due_at) // 1000
        when = f"<t:{finished}:R>"
        status = f" · {row.state}: {row.outcome or ''}"
    return templates.LIST_FOLLOW_UPS_ROW.format(
        id=row.id,
        name=templates.FOLLOW_UP_STEP_NAMES[step_of(row.kind)],
        number=row.entry_number or "?",
        company=safe(row.company or templates.LIST_FOLLOW_UPS_DELETED_ENTRY, 60),
        when=when,
        status=safe(status, 200),
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
        timezone="Your time zone, like Europe/London (follow-ups arrive at local times)",
        window_start="Earliest time a follow-up may arrive, HH:MM (default 08:00)",
        window_end="Follow-ups arrive before this time, HH:MM (default 21:00)",
        weekdays_only="Only Monday to Friday (default on)",
        thank_you="Remind me to thank the interviewer",
        feedback_request="Remind me to ask for feedback",
        check_in="Check a week later whether feedback came",
        feedback_delay_days="Days after the rejection to ask for feedback (1–14, default 1)",
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
        if all(value is None for value in options.values()):
            settings = await self.follow_ups.settings(user_id)
            await interaction.response.send_message(
                embed=settings_embed(settings, now), ephemeral=True
            )
            return
        settings = await self.follow_ups.update_settings(user_id, **options)
        await interaction.response.send_message(
            templates.SETTINGS_SAVED, embed=settings_embed(settings, now), ephemeral=True
        )

    @settings_command.autocomplete("timezone")
    async def timezone_autocomplete(
        self, interaction: discord.Interaction[NextRoundBot], current: str
    ) -> list[Choice[str]]:
        return [Choice(name=name, value=name) for name in zone_suggestions(current)]

    @app_commands.command(name="list")
    async def list_command(self, interaction: discord.Interaction[NextRoundBot]) -> None:
        """Your pending, recently sent and failed follow-ups."""
        rows = await self.follow_ups.listing(interaction.user.id)
        if not rows:
            await interaction.response.send_message(templates.LIST_FOLLOW_UPS_EMPTY, ephemeral=True)
            return
        embed = discord.Embed(
            title=templates.LIST_FOLLOW_UPS_TITLE,
            description="\n".join(list_line(row) for row in rows)[:4096],
        )
        embed.set_footer(text=templates.LIST_FOLLOW_UPS_FOOTER)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @app_commands.command(name="cancel")
    @app_commands.describe(number="The follow-up's number, as shown in /followups list")
    async def cancel_command(
        self,
        interaction: discord.Interaction[NextRoundBot],
        number: app_commands.Range[int, 1, FOLLOW_UP_NUMBER_MAX],
    ) -> None:
        """Cancel one pending follow-up."""
        await self.follow_ups.cancel(interaction.user.id, number)
        await interaction.response.send_message(
            templates.FOLLOW_UP_CANCELLED.format(id=number), ephemeral=True
        )

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
    bot.add_dynamic_items(FollowUpButton)
    await bot.add_cog(FollowUpsCog(bot))
