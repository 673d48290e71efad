"""Interview Tip of the Week: weekly slots, which tip comes next, and posting each slot once.

Each server's next weekly slot is one row of the timeline (kind `tip:post`, unique key
`tip:<guild>:<slot>`); its handler posts and returns the following slot's row, which the
scheduler inserts with the acknowledgement. The #N and the tip of a post are taken in one
transaction that is idempotent per slot, so a retry, a restart or a second scheduler on the same
database reuses them and Discord's nonce (or a look in the channel) prevents a second message.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any, Literal

import discord

from bot import templates
from bot.clock import Clock
from bot.db import Database
from bot.db import tips as tip_store
from bot.db.connection import now_ms
from bot.db.jobs import Job, NewJob
from bot.db.tips import Pick, PickState, PostRow, ScheduleRow, ServerTipRow, SkipRow
from bot.delivery import find_sent_message, nonce_expired
from bot.discord_errors import THREAD_ALREADY_CREATED, as_job_error, describe
from bot.errors import LimitReached, NotFound, UserError
from bot.followup_timing import local_instant
from bot.followups import parse_hhmm
from bot.interaction_errors import report_interaction_error
from bot.limits import check_page_number
from bot.scheduler import JobFailed, JobResult, Reschedule, Scheduler
from bot.text import defuse_mentions, one_line, truncate, visible_text
from bot.tip_library import BODY_MAX, TITLE_MAX, Tip
from bot.zones import parse_zone, resolve

log = logging.getLogger("nextround.tips")

POST_KIND = tip_store.POST_KIND
PURGE_KIND = "tip:purge"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
CATCH_UP_MS = DAY_MS  # a slot missed by up to this much is posted late; beyond, it is skipped
LATE_AFTER_MS = 10 * 60_000  # a post later than this says so
PURGE_AFTER_MS = 30 * DAY_MS
PURGE_AT = time(3, 0)  # UTC, daily
PURGE_WAIT_MS = 10 * 60_000

SERVER_TIP_LIMIT = 200
SERVER_BODY_MIN = 20
PAGE_SIZE = 10
SKIPS_SHOWN = 5
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
THREAD_NAME_MAX = 100
THREAD_ARCHIVE_MINUTES: Literal[1440] = 1440  # a day: a tip's discussion is short
BRAND_COLOUR = discord.Colour(0x5865F2)

SKIP_OFFLINE = "offline"
SKIP_NO_TIPS = "no_tips"
SKIP_ADMIN = "admin"

BUTTON_ID = "nr:tip-log:{post}"
BUTTON_PATTERN = r"^nr:tip-log:(?P<post>\d+)$"
# The button under a preview names no post: post ids start at 1, so no post is 0 (and a look
# for an earlier post in the channel never mistakes a preview for one: previews are private).
PREVIEW_POST_ID = 0
_SERVER_TIP_ID = re.compile(r"^[sS](\d{1,9})$")


# -- pure rules --------------------------------------------------------------------------------


def ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def next_weekly_slot(after: datetime, weekday: int, at: time, zone: tzinfo) -> datetime:
    """The first instant strictly after `after` that is `weekday` (0 = Monday) at `at` in `zone`.

    Computed on local dates, so a slot stays at its wall-clock time across DST changes; a time
    skipped or repeated by a change is resolved as `local_instant` does (fold=0).
    """
    local_day = after.astimezone(zone).date()
    day = local_day + timedelta(days=(weekday - local_day.weekday()) % 7)
    while True:
        candidate = local_instant(day, at, zone)
        if candidate > after:
            return candidate
        day += timedelta(days=7)


def slot_key(guild_id: int, slot: int) -> str:
    """The timeline's unique key for one server's slot: one row, ever, per (server, slot)."""
    return f"tip:{guild_id}:{from_ms(slot).isoformat(timespec='minutes')}"


def weekday_number(name: str) -> int:
    try:
        return WEEKDAYS.index(name.strip().lower())
    except ValueError:
        raise UserError(templates.TIPS_BAD_WEEKDAY.format(weekday=name[:20])) from None


def server_tip_id(number: int) -> str:
    return f"s{number}"


def server_tip_number(tip_id: str) -> int | None:
    match = _SERVER_TIP_ID.fullmatch(tip_id.strip())
    return int(match[1]) if match else None


def as_tip(row: ServerTipRow) -> Tip:
    return Tip(id=server_tip_id(row.number), title=row.title, body=row.body, tags=())


@dataclass(frozen=True, slots=True)
class TipChoice:
    tip: Tip
    cycle: int


def choose_next_tip(
    server_tips: Sequence[Tip],
    shipped: Sequence[Tip],
    hidden: AbstractSet[str],
    cycle: int,
    posted: AbstractSet[str],
) -> TipChoice | None:
    """The next tip to post, and the cycle it belongs to.

    The server's own tips come first in the order added, then the shipped tips in library
    order, skipping hidden ones and any posted in the current cycle. When every tip has had its
    turn, a new cycle starts from the top. None when there is nothing at all to post.
    """
    pool = [*server_tips, *(tip for tip in shipped if tip.id not in hidden)]
    if not pool:
        return None
    for tip in pool:
        if tip.id not in posted:
            return TipChoice(tip, cycle)
    return TipChoice(pool[0], cycle + 1)


def missing_permissions(
    permissions: discord.Permissions, *, threads: bool, mention_needed: bool
) -> list[str]:
    """The permission names (discord.py attribute names) a tip post still needs.

    Read Message History too: after an outage NextRound looks for its own earlier post before
    sending again, and without it sees none and would post twice."""
    needed = ["view_channel", "send_messages", "embed_links", "read_message_history"]
    if threads:
        needed.append("create_public_threads")
    if mention_needed:
        needed.append("mention_everyone")
    return [name for name in needed if not getattr(permissions, name)]


POSTABLE_CHANNEL_TYPES = frozenset({discord.ChannelType.text, discord.ChannelType.news})


def check_post_channel(
    channel: discord.abc.GuildChannel | discord.Thread,
    me: discord.Member,
    *,
    threads: bool,
    role: discord.Role | None,
) -> None:
    """Refuse, naming what is wrong, a channel where NextRound could not post a tip.

    Uses the bot's own permissions there; a slash option's resolved channel carries the
    invoking member's instead.
    """
    if channel.type not in POSTABLE_CHANNEL_TYPES:
        raise UserError(templates.TIPS_NOT_TEXT_CHANNEL.format(channel=channel.mention))
    mention_needed = role is not None and not role.mentionable
    missing = missing_permissions(
        channel.permissions_for(me), threads=threads, mention_needed=mention_needed
    )
    if missing:
        raise UserError(
            templates.TIPS_BOT_MISSING_PERMISSIONS.format(
                channel=channel.mention, permissions=templates.tip_permission_names(missing)
            )
        )


def check_role(role: discord.Role | None) -> None:
    if role is not None and role.is_default():
        raise UserError(templates.TIPS_ROLE_EVERYONE)


def clean_tip_text(title: str, body: str) -> tuple[str, str]:
    # Zero-width and blank characters count as nothing, or a post could look empty.
    cleaned_title = one_line(visible_text(title))
    cleaned_body = visible_text(body)
    if not cleaned_title:
        raise UserError(templates.TIPS_TITLE_EMPTY)
    if len(cleaned_title) > TITLE_MAX:
        raise UserError(templates.TIPS_TITLE_TOO_LONG.format(limit=TITLE_MAX))
    if not SERVER_BODY_MIN <= len(cleaned_body) <= BODY_MAX:
        raise UserError(templates.TIPS_BODY_LENGTH.format(low=SERVER_BODY_MIN, high=BODY_MAX))
    return cleaned_title, cleaned_body


def tip_post_embed(
    number: int, tip: Tip, *, when: int, late_due: int | None = None
) -> discord.Embed:
    """The weekly post: number and title, the tip, and (for a late post) when it was due.

    Times go in the description or the embed timestamp: footers do not render Discord
    timestamps. Server tips keep their markdown; mentions are broken so none can form.
    """
    title = truncate(templates.TIP_POST_TITLE.format(number=number, title=one_line(tip.title)), 256)
    parts = [defuse_mentions(tip.body)]
    if late_due is not None:
        parts.append(templates.TIP_POST_LATE.format(due=late_due // 1000))
    embed = discord.Embed(
        title=title,
        description=truncate("\n\n".join(parts), EMBED_DESCRIPTION_MAX),
        colour=BRAND_COLOUR,
        timestamp=from_ms(when),
    )
    embed.set_footer(text=templates.TIP_POST_FOOTER.format(id=tip.id))
    return embed


def post_mentions(role_id: int | None) -> tuple[str | None, discord.AllowedMentions]:
    """The post's content and the only mention it may make: the schedule's role, if any."""
    if role_id is None:
        return None, discord.AllowedMentions.none()
    return f"<@&{role_id}>", discord.AllowedMentions(
        everyone=False, users=False, roles=[discord.Object(role_id)], replied_user=False
    )


class TipLogButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=BUTTON_PATTERN):
    """ "Log a rejection" under a tip post: anyone may press it; it works after restarts.

    Its custom_id names the post, which is also how a post is recognised in the channel.
    """

    def __init__(self, post_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=templates.TIP_LOG_BUTTON,
                style=discord.ButtonStyle.secondary,
                custom_id=BUTTON_ID.format(post=post_id),
            )
        )
        self.post_id = post_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> TipLogButton:
        return cls(int(match["post"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        tips: TipOfTheWeek = interaction.client.tips
        try:
            if tips.log_form is None:
                raise UserError(templates.fill(templates.TIP_LOG_UNAVAILABLE))
            await tips.log_form(interaction)
        except Exception as error:
            await report_interaction_error(interaction, error, f"button {self.custom_id}")


def post_view(post_id: int) -> discord.ui.View:
    # Only a DynamicItem: discord.py keeps no per-message view for it.
    view = discord.ui.View(timeout=None)
    view.add_item(TipLogButton(post_id))
    return view


def preview_view() -> discord.ui.View:
    """The post's own button, working: a preview shows exactly what members get."""
    return post_view(PREVIEW_POST_ID)


# -- what the commands show --------------------------------------------------------------------


def schedule_zone(schedule: ScheduleRow) -> tzinfo:
    return resolve(schedule.timezone)


def schedule_time(schedule: ScheduleRow) -> time:
    return parse_hhmm(schedule.time or "00:00", "time")


@dataclass(frozen=True, slots=True)
class TipStatus:
    schedule: ScheduleRow | None
    next_slot: int | None
    last_post: PostRow | None
    skips: list[SkipRow]
    skip_total: int


@dataclass(frozen=True, slots=True)
class ListedTip:
    tip: Tip
    hidden: bool
    posted_as: int | None  # its number in the current cycle, if posted
    next_up: bool


@dataclass(frozen=True, slots=True)
class TipPage:
    items: list[ListedTip]
    page: int
    pages: int
    total: int


@dataclass(frozen=True, slots=True)
class Preview:
    tip: Tip
    number: int
    when: int
    role_id: int | None


@dataclass(frozen=True, slots=True)
class Posted:
    number: int
    title: str
    channel_id: int
    message_id: int


LogForm = Callable[[discord.Interaction[Any]], Awaitable[None]]


# -- the service -------------------------------------------------------------------------------


# What a schedule looks like once setup or resume has started it again.
RUNNING_AGAIN: dict[str, Any] = {
    "paused": 0,
    "attention": None,
    "last_problem": None,
    "last_problem_at": None,
    "left_at": None,
}


class TipOfTheWeek:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        scheduler: Scheduler,
        library: Sequence[Tip],
    ) -> None:
        self.database = database
        self.clock = clock
        self.scheduler = scheduler
        self.library = tuple(library)
        self._shipped = {tip.id: tip for tip in self.library}
        self.client: discord.Client | None = None
        # Opens the "Log a rejection" form; set by the /tips extension, which owns the modal.
        self.log_form: LogForm | None = None

    def _now(self) -> int:
        return now_ms(self.clock)

    def _client(self) -> discord.Client:
        if self.client is None:
            raise RuntimeError("tips need a Discord client before posting")
        return self.client

    # -- slots ----------------------------------------------------------------------------

    def next_slot(self, schedule: ScheduleRow, after: int) -> int:
        assert schedule.weekday is not None
        return ms(
            next_weekly_slot(
                from_ms(after), schedule.weekday, schedule_time(schedule), schedule_zone(schedule)
            )
        )

    def next_free_slot(self, schedule: ScheduleRow, after: int, skipped: AbstractSet[int]) -> int:
        """The first slot after `after` not skipped with /tips skip. Every plan goes through
        here (setup, resume, skip, the row after a post): a skip outlives a pause, a resume or
        the same schedule set up again, and a slot is never both skipped and next."""
        slot = self.next_slot(schedule, after)
        while slot in skipped:
            slot = self.next_slot(schedule, slot)
        return slot

    def slot_job(self, schedule: ScheduleRow, slot: int) -> NewJob:
        return NewJob(
            POST_KIND,
            slot,
            payload={"slot": slot, "generation": schedule.generation},
            guild_id=schedule.guild_id,
            unique_key=slot_key(schedule.guild_id, slot),
        )

    def _first_slot_job(self, now: int) -> Callable[[ScheduleRow, frozenset[int]], NewJob]:
        return lambda schedule, skipped: self.slot_job(
            schedule, self.next_free_slot(schedule, now, skipped)
        )

    # -- choosing tips --------------------------------------------------------------------

    def _choose(self, state: PickState) -> TipChoice | None:
        return choose_next_tip(
            [as_tip(row) for row in state.server_tips],
            self.library,
            state.hidden,
            state.cycle,
            state.posted,
        )

    def _pick(self, state: PickState) -> Pick | None:
        choice = self._choose(state)
        return None if choice is None else Pick(choice.tip.id, choice.tip.title, choice.cycle)

    async def find_tip(self, guild_id: int, tip_id: str) -> Tip:
        """A shipped tip by its number or one of this server's tips by its s-id."""
        wanted = tip_id.strip()
        shipped = self._shipped.get(wanted)
        if shipped is not None:
            return shipped
        number = server_tip_number(wanted)
        row = (
            None if number is None else await tip_store.server_tip(self.database, guild_id, number)
        )
        if row is None:
            raise NotFound(templates.fill(templates.TIPS_UNKNOWN_TIP, tip=wanted[:20]))
        return as_tip(row)

    async def _tip_of(self, post: PostRow) -> Tip | None:
        try:
            return await self.find_tip(post.guild_id, post.tip_id)
        except NotFound:
            return None

    async def _reserve(
        self, guild_id: int, *, slot: int | None, channel_id: int
    ) -> tuple[PostRow, Tip] | None:
        """Number, tip and nonce for a post; a reservation whose tip has gone is made again."""
        for _ in range(3):
            post = await tip_store.reserve_post(
                self.database,
                guild_id,
                slot=slot,
                channel_id=channel_id,
                # Random, at most 25 characters (Discord's limit); every later run of the same
                # slot gets this reservation back, so the same nonce.
                nonce=f"tip{secrets.token_hex(10)}",
                now=self._now(),
                pick=self._pick,
            )
            if post is None:
                return None
            tip = await self._tip_of(post)
            if tip is not None:
                return post, tip
            await tip_store.release_post(self.database, post.id, self._now())
        return None

    # -- admin commands -------------------------------------------------------------------

    async def schedule_of(self, guild_id: int) -> ScheduleRow | None:
        return await tip_store.get_schedule(self.database, guild_id)

    async def _configured(self, guild_id: int) -> ScheduleRow:
        schedule = await self.schedule_of(guild_id)
        if schedule is None or schedule.channel_id is None:
            raise UserError(templates.fill(templates.TIPS_NOT_SET_UP))
        return schedule

    async def setup(
        self,
        guild_id: int,
        *,
        channel_id: int,
        weekday: str,
        time_text: str,
        timezone: str,
        role_id: int | None,
    ) -> tuple[ScheduleRow, int]:
        """(Re)create the schedule; returns it and its first slot. Bad input changes nothing."""
        day = weekday_number(weekday)
        at = parse_hhmm(time_text, templates.TIPS_TIME_FIELD)
        zone = parse_zone(timezone, self.clock.now()).name
        now = self._now()
        schedule, job = await tip_store.change_schedule(
            self.database,
            guild_id,
            {
                "channel_id": channel_id,
                "weekday": day,
                "time": at.strftime("%H:%M"),
                "timezone": zone,
                "role_id": role_id,
                **RUNNING_AGAIN,
            },
            now=now,
            reason="cancelled: schedule set up again",
            next_job=self._first_slot_job(now),
        )
        self.scheduler.wake()
        assert job is not None
        return schedule, job.due_at

    async def status(self, guild_id: int) -> TipStatus:
        schedule = await self.schedule_of(guild_id)
        skips, total = await tip_store.recent_skips(self.database, guild_id, SKIPS_SHOWN)
        return TipStatus(
            schedule=schedule,
            next_slot=await tip_store.pending_slot(self.database, guild_id),
            last_post=await tip_store.last_post(self.database, guild_id),
            skips=skips,
            skip_total=total,
        )

    async def preview(self, guild_id: int, tip_id: str | None) -> Preview:
        """The tip asked for (default: the next one to be posted), the number it would get and
        the time its post would show (the next slot, or now when none is planned)."""
        schedule = await self.schedule_of(guild_id)
        number = (schedule.post_count if schedule else 0) + 1
        when = await tip_store.pending_slot(self.database, guild_id) or self._now()
        role_id = schedule.role_id if schedule else None
        if tip_id:
            return Preview(await self.find_tip(guild_id, tip_id), number, when, role_id)
        choice = self._choose(await tip_store.pick_state(self.database, guild_id))
        if choice is None:
            raise UserError(templates.fill(templates.TIPS_NOTHING_TO_POST))
        return Preview(choice.tip, number, when, role_id)

    async def post_now(self, guild_id: int) -> Posted:
        """Post the next tip now as the next #N; the weekly slot then posts the one after it."""
        schedule = await self._configured(guild_id)
        assert schedule.channel_id is not None
        reserved = await self._reserve(guild_id, slot=None, channel_id=schedule.channel_id)
        if reserved is None:
            raise UserError(templates.fill(templates.TIPS_NOTHING_TO_POST))
        post, tip = reserved
        try:
            message_id = await self._send(schedule, post, tip, when=self._now())
        except discord.HTTPException as error:
            await tip_store.release_post(self.database, post.id, self._now())
            reason = describe(error.code) if error.code else f"HTTP {error.status}"
            raise UserError(templates.TIPS_POST_NOW_FAILED.format(reason=reason)) from error
        except Exception:
            await tip_store.release_post(self.database, post.id, self._now())
            raise
        await tip_store.mark_posted(self.database, post.id, message_id, self._now())
        await self._open_thread(schedule, replace(post, message_id=message_id))
        return Posted(post.number, post.title, post.channel_id, message_id)

    async def skip(self, guild_id: int) -> tuple[int, int]:
        """Skip the coming slot; returns (skipped slot, the slot after it)."""
        schedule = await self._configured(guild_id)
        skipped = await tip_store.skip_next_slot(
            self.database,
            guild_id,
            now=self._now(),
            reason=SKIP_ADMIN,
            following=lambda slot, skipped: self.slot_job(
                schedule, self.next_free_slot(schedule, slot, skipped)
            ),
        )
        if skipped is None:
            raise UserError(templates.TIPS_NOTHING_TO_SKIP)
        self.scheduler.wake()
        slot, job = skipped
        return slot, job.due_at

    async def pause(self, guild_id: int) -> bool:
        """Stop posting until resumed; False if it was paused already."""
        schedule = await self._configured(guild_id)
        if schedule.paused:
            return False
        await tip_store.change_schedule(
            self.database,
            guild_id,
            {"paused": 1},
            now=self._now(),
            reason="cancelled: paused",
            next_job=lambda _schedule, _skipped: None,
        )
        return True

    async def resume(self, guild_id: int) -> int | None:
        """Post again from the next slot (clears a problem); None if nothing was stopped."""
        schedule = await self._configured(guild_id)
        stopped = schedule.paused or schedule.attention is not None or schedule.left_at is not None
        if not stopped and await tip_store.pending_slot(self.database, guild_id) is not None:
            return None
        now = self._now()
        _, job = await tip_store.change_schedule(
            self.database,
            guild_id,
            dict(RUNNING_AGAIN),
            now=now,
            reason="cancelled: resumed",
            next_job=self._first_slot_job(now),
        )
        self.scheduler.wake()
        assert job is not None
        return job.due_at

    async def set_threads(self, guild_id: int, enabled: bool) -> None:
        await tip_store.update_settings(
            self.database, guild_id, {"threads": int(enabled)}, self._now()
        )

    async def add_tip(self, guild_id: int, title: str, body: str) -> Tip:
        clean_title, clean_body = clean_tip_text(title, body)
        number = await tip_store.add_server_tip(
            self.database,
            guild_id,
            clean_title,
            clean_body,
            now=self._now(),
            limit=SERVER_TIP_LIMIT,
        )
        if number is None:
            raise LimitReached(templates.TIPS_TOO_MANY.format(limit=SERVER_TIP_LIMIT))
        return Tip(id=server_tip_id(number), title=clean_title, body=clean_body, tags=())

    async def editable_tip(self, guild_id: int, tip_id: str) -> Tip:
        """A server tip to edit; shipped tips are refused (their text is the same everywhere)."""
        tip = await self.find_tip(guild_id, tip_id)
        if tip.id in self._shipped:
            raise UserError(templates.fill(templates.TIPS_SHIPPED_NOT_EDITABLE, tip=tip.id))
        return tip

    async def edit_tip(self, guild_id: int, tip_id: str, title: str, body: str) -> Tip:
        tip = await self.editable_tip(guild_id, tip_id)
        clean_title, clean_body = clean_tip_text(title, body)
        number = server_tip_number(tip.id)
        assert number is not None
        if not await tip_store.update_server_tip(
            self.database, guild_id, number, clean_title, clean_body, self._now()
        ):
            raise NotFound(templates.fill(templates.TIPS_UNKNOWN_TIP, tip=tip.id))
        return Tip(id=tip.id, title=clean_title, body=clean_body, tags=())

    async def remove_tip(self, guild_id: int, tip_id: str) -> tuple[Tip, bool]:
        """Delete a server tip or hide a shipped one here; returns (tip, whether it was hidden)."""
        tip = await self.find_tip(guild_id, tip_id)
        if tip.id in self._shipped:
            if not await tip_store.hide_tip(self.database, guild_id, tip.id, self._now()):
                raise UserError(templates.TIPS_ALREADY_HIDDEN.format(tip=tip.id))
            return tip, True
        number = server_tip_number(tip.id)
        assert number is not None
        await tip_store.delete_server_tip(self.database, guild_id, number)
        return tip, False

    async def restore_tip(self, guild_id: int, tip_id: str) -> Tip:
        """Show a hidden shipped tip in this server again; it posts in its turn."""
        tip = await self.find_tip(guild_id, tip_id)
        if tip.id not in self._shipped:
            raise UserError(templates.TIPS_SERVER_TIP_NOT_HIDDEN.format(tip=tip.id))
        if not await tip_store.unhide_tip(self.database, guild_id, tip.id):
            raise UserError(templates.TIPS_NOT_HIDDEN.format(tip=tip.id))
        return tip

    async def listing(self, guild_id: int, page: int, *, clamp: bool = False) -> TipPage:
        """Server tips (in the order added), then shipped tips, 10 a page, with their marks.
        `clamp`: a page past the end (an old button) shows the last page instead."""
        check_page_number(page)
        state = await tip_store.pick_state(self.database, guild_id)
        server = [as_tip(row) for row in state.server_tips]
        posted = await tip_store.numbers_in_cycle(self.database, guild_id, state.cycle)
        choice = self._choose(state)
        every = [*server, *self.library]
        pages = max(1, -(-len(every) // PAGE_SIZE))
        if clamp:
            page = min(page, pages)
        if not 1 <= page <= pages:
            raise UserError(templates.TIPS_BAD_PAGE.format(page=page, pages=pages))
        start = (page - 1) * PAGE_SIZE
        items = [
            ListedTip(
                tip=tip,
                hidden=tip.id in state.hidden,
                posted_as=posted.get(tip.id),
                next_up=choice is not None and choice.tip.id == tip.id,
            )
            for tip in every[start : start + PAGE_SIZE]
        ]
        return TipPage(items, page, pages, len(every))

    async def tip_suggestions(
        self, guild_id: int, typed: str, *, server_only: bool = False, hidden_only: bool = False
    ) -> list[tuple[str, str]]:
        """(id, label) pairs for autocomplete: ids or titles containing what was typed."""
        needle = typed.strip().lower()
        if hidden_only:
            hidden = await tip_store.hidden_tips(self.database, guild_id)
            candidates = [tip for tip in self.library if tip.id in hidden]
        else:
            server = [as_tip(row) for row in await tip_store.server_tips(self.database, guild_id)]
            candidates = server if server_only else [*server, *self.library]
        found = [
            tip
            for tip in candidates
            if not needle or tip.id.lower().startswith(needle) or needle in tip.title.lower()
        ]
        return [(tip.id, truncate(f"{tip.id} · {tip.title}", 100)) for tip in found[:25]]

    # -- servers coming and going -----------------------------------------------------------

    async def server_left(self, guild_id: int) -> None:
        """The bot was removed: pause the schedule; the data goes in 30 days unless it returns."""
        if await self.schedule_of(guild_id) is None:
            return
        await tip_store.change_schedule(
            self.database,
            guild_id,
            {"paused": 1, "left_at": self._now()},
            now=self._now(),
            reason="cancelled: removed from the server",
            next_job=lambda _schedule, _skipped: None,
        )
        log.info("removed from server %d: tips paused, data kept for 30 days", guild_id)

    async def server_returned(self, guild_id: int) -> None:
        """The bot is back: the data stays; posting waits for /tips resume."""
        if await tip_store.mark_returned(self.database, guild_id, self._now()):
            log.info("back in server %d: tips stay paused until /tips resume", guild_id)

    async def reconcile_servers(self, present: AbstractSet[int]) -> None:
        """At connection: catch a removal or a return that happened while offline."""
        rows = await self.database.fetch_all("SELECT guild_id, left_at FROM tip_schedules")
        for row in rows:
            if row["left_at"] is None and row["guild_id"] not in present:
                await self.server_left(row["guild_id"])
            elif row["left_at"] is not None and row["guild_id"] in present:
                await self.server_returned(row["guild_id"])

    def purge_job(self, after: int) -> NewJob:
        day = from_ms(after).date()
        due = datetime.combine(day, PURGE_AT, tzinfo=UTC)
        if ms(due) <= after:
            due += timedelta(days=1)
        return NewJob(PURGE_KIND, ms(due), unique_key=f"tip:purge:{due.date().isoformat()}")

    async def ensure_purge_scheduled(self) -> None:
        await self.scheduler.schedule(self.purge_job(self._now()))

    async def purge(self, job: Job) -> JobResult:
        """The daily job: delete the data of servers the bot left more than 30 days ago."""
        now = self._now()
        client = self._client()
        if not client.is_ready():
            # Which servers the bot is in is known only once connected.
            raise Reschedule("waiting for the Discord connection", due_at=now + PURGE_WAIT_MS)
        purged = 0
        for guild_id in await tip_store.servers_left_before(self.database, now - PURGE_AFTER_MS):
            if client.get_guild(guild_id) is not None:
                await tip_store.mark_returned(self.database, guild_id, now)
                continue
            await tip_store.purge_server(self.database, guild_id, now)
            purged += 1
        if purged:
            log.info("deleted the tip data of %d servers left more than 30 days ago", purged)
        return JobResult(f"purged {purged}", next_jobs=[self.purge_job(max(now, job.due_at))])

    # -- posting -------------------------------------------------------------------------------

    async def post_slot(self, job: Job) -> JobResult:
        """The scheduler's handler for `tip:post`: post one server's weekly slot, once."""
        guild_id = job.guild_id
        assert guild_id is not None
        slot = int(job.payload["slot"])
        schedule = await self.schedule_of(guild_id)
        if schedule is None or schedule.channel_id is None:
            return JobResult("cancelled: no schedule")
        if schedule.generation != int(job.payload.get("generation", -1)):
            return JobResult("cancelled: the schedule changed")
        if schedule.paused or schedule.left_at is not None:
            return JobResult("cancelled: paused")
        if schedule.attention is not None:
            return JobResult("cancelled: needs attention")
        problem = self._posting_problem(schedule)
        if problem is not None:
            await self._stop_posting(guild_id, None, problem)
            raise JobFailed(problem)
        skipped = await tip_store.skipped_after(self.database, guild_id, slot)
        following = [self.slot_job(schedule, self.next_free_slot(schedule, slot, skipped))]
        now = self._now()
        post = await tip_store.post_for_slot(self.database, guild_id, slot)
        restart_window = False
        try:
            if (
                post is not None
                and post.message_id is None
                and nonce_expired(post.attempted_at, now)
            ):
                found = await self._find_in_channel(post)
                if found is not None:
                    await tip_store.mark_posted(self.database, post.id, found, now)
                    post = replace(post, message_id=found)
                else:
                    restart_window = True
            if post is not None and post.message_id is not None:
                await self._open_thread(schedule, post)
                return JobResult("posted", following)
            if now - slot > CATCH_UP_MS:
                if post is not None:
                    await tip_store.release_post(self.database, post.id, now)
                await tip_store.record_skip(self.database, guild_id, slot, SKIP_OFFLINE, now)
                return JobResult("skipped: more than 24 hours late", following)
            reserved = await self._reserve(guild_id, slot=slot, channel_id=schedule.channel_id)
            if reserved is None:
                await tip_store.record_skip(self.database, guild_id, slot, SKIP_NO_TIPS, now)
                return JobResult("skipped: no tips to post", following)
            post, tip = reserved
            late = now - slot > LATE_AFTER_MS
            # Only the runner holding the slot's row may send; it keeps the row for the send.
            await self.scheduler.extend_lease(job)
            with self.scheduler.guarded(job):
                message_id = await self._send(
                    schedule,
                    post,
                    tip,
                    when=slot,
                    late_due=slot if late else None,
                    restart_window=restart_window,
                )
            await tip_store.mark_posted(self.database, post.id, message_id, self._now())
        except discord.HTTPException as error:
            failure = as_job_error(error)
            if isinstance(failure, JobFailed):
                await self._stop_posting(guild_id, post, failure.reason)
            raise failure from error
        except (OSError, TimeoutError) as error:
            raise as_job_error(error) from error
        await self._open_thread(schedule, replace(post, message_id=message_id))
        return JobResult("posted late" if late else "posted", following)

    def _posting_problem(self, schedule: ScheduleRow) -> str | None:
        """What stops a post, as far as the guild cache shows (None when it does not know).

        A channel where NextRound cannot read its history is refused before sending: the look
        for an earlier post after an outage would see nothing there and post twice."""
        guild = self._client().get_guild(schedule.guild_id)
        if guild is None or schedule.channel_id is None:
            return None
        channel = guild.get_channel_or_thread(schedule.channel_id)
        if channel is None:
            return templates.TIPS_PROBLEM_CHANNEL_GONE
        missing = missing_permissions(
            channel.permissions_for(guild.me), threads=False, mention_needed=False
        )
        if missing:
            return templates.TIPS_PROBLEM_PERMISSIONS.format(
                permissions=templates.tip_permission_names(missing, bold=False)
            )
        return None

    async def _stop_posting(self, guild_id: int, post: PostRow | None, reason: str) -> None:
        """A permanent error: no more posts (and no retries) until /tips setup or resume."""
        now = self._now()
        if post is not None and post.message_id is None:
            await tip_store.release_post(self.database, post.id, now)
        await tip_store.update_settings(
            self.database,
            guild_id,
            {"attention": reason, "last_problem": reason, "last_problem_at": now},
            now,
        )
        log.warning("tips for server %d stopped: %s", guild_id, reason)

    async def _send(
        self,
        schedule: ScheduleRow,
        post: PostRow,
        tip: Tip,
        *,
        when: int,
        late_due: int | None = None,
        restart_window: bool = False,
    ) -> int:
        """Send a reserved post with its nonce, recording the attempt first."""
        await tip_store.mark_attempt(
            self.database, post.id, self._now(), restart_window=restart_window
        )
        content, mentions = post_mentions(schedule.role_id)
        channel = self._client().get_partial_messageable(
            post.channel_id, guild_id=post.guild_id, type=discord.ChannelType.text
        )
        message = await channel.send(
            content=content,
            embed=tip_post_embed(post.number, tip, when=when, late_due=late_due),
            view=post_view(post.id),
            nonce=post.nonce,
            allowed_mentions=mentions,
        )
        return message.id

    async def _find_in_channel(self, post: PostRow) -> int | None:
        """After a longer outage the nonce no longer protects us: look for the post itself."""
        assert post.attempted_at is not None
        marker = BUTTON_ID.format(post=post.id)
        return await find_sent_message(
            self._client(),
            post.channel_id,
            since=post.attempted_at,
            carries=lambda ids: marker in ids,
        )

    async def _open_thread(self, schedule: ScheduleRow, post: PostRow) -> None:
        """The discussion thread under a post; a thread that exists already counts as done."""
        if not schedule.threads or post.thread_done or post.message_id is None:
            return
        name = truncate(
            templates.TIP_THREAD_NAME.format(number=post.number, title=one_line(post.title)),
            THREAD_NAME_MAX,
        )
        try:
            await self._client().http.start_thread_with_message(
                post.channel_id,
                post.message_id,
                name=name,
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
        except discord.HTTPException as error:
            if error.code != THREAD_ALREADY_CREATED:
                await self._note_problem(post.guild_id, describe(error.code))
        except (OSError, TimeoutError) as error:
            await self._note_problem(post.guild_id, f"network problem: {type(error).__name__}")
        # The post is out either way; a thread is not worth posting again for.
        await tip_store.mark_thread_done(self.database, post.id)

    async def _note_problem(self, guild_id: int, reason: str) -> None:
        text = templates.TIPS_THREAD_PROBLEM.format(reason=reason)
        await tip_store.update_settings(
            self.database,
            guild_id,
            {"last_problem": text, "last_problem_at": self._now()},
            self._now(),
        )
        log.warning("tips for server %d: %s", guild_id, text)


__all__ = [
    "POST_KIND",
    "PURGE_KIND",
    "WEEKDAYS",
    "ListedTip",
    "Posted",
    "Preview",
    "TipChoice",
    "TipLogButton",
    "TipOfTheWeek",
    "TipPage",
    "TipStatus",
    "check_post_channel",
    "check_role",
    "choose_next_tip",
    "next_weekly_slot",
    "post_view",
    "preview_view",
    "slot_key",
    "tip_post_embed",
]
