"""Follow-up DMs: planning them when an entry is logged, delivering them exactly once,
and what the person does with them (done, snooze, skip, stop).

Each follow-up is a row of the one timeline (kind `followup:<step>`, subject = the entry).
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any

import discord

from bot import templates
from bot.clock import Clock
from bot.components import OwnedButton
from bot.db import Database
from bot.db import entries as entry_store
from bot.db import followups as followup_store
from bot.db.connection import Transaction, now_ms
from bot.db.jobs import Job, NewJob
from bot.delivery import find_sent_message, nonce_expired
from bot.discord_errors import UNREACHABLE_USER_CODES, as_job_error, describe
from bot.entries import (
    STAGE_LABELS,
    Entry,
    FeedbackStatus,
    Stage,
    check_page,
    had_conversation,
    page_count,
)
from bot.errors import NotFound, UserError
from bot.followup_timing import (
    FOLLOW_UP_MAX_AGE_DAYS,
    MIN_WINDOW,
    THANK_YOU_MAX_AGE_DAYS,
    Window,
    anchored_window,
    check_in_due,
    feedback_request_due,
    move_into_window,
    snooze_until,
    thank_you_due,
    window_length,
)
from bot.limits import check_follow_up_number, check_page_number
from bot.rejection_log import LoggedEntry
from bot.scheduler import JobResult, Reschedule, Scheduler
from bot.templates import FOLLOW_UP_STATES
from bot.text import one_line, safe, truncate
from bot.zones import parse_zone, resolve

log = logging.getLogger("nextround.followups")

STEPS = ("thank_you", "feedback_request", "check_in")
KIND_PREFIX = "followup:"
DAY_MS = 86_400_000
LATE_AFTER_MS = 10 * 60 * 1000
MISSED_AFTER_MS = 7 * DAY_MS
# A pause "until resumed" holds rows by looking again daily; resuming re-plans them at once.
HELD_RECHECK_MS = DAY_MS
PAUSE_MAX_DAYS = 365
RECENT_MS = 14 * DAY_MS
DRAFT_MAX = 1000


def kind_of(step: str) -> str:
    return f"{KIND_PREFIX}{step}"


def step_of(kind: str) -> str:
    return kind.removeprefix(KIND_PREFIX)


def ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


def from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def parse_hhmm(value: str, field: str) -> time:
    """`field` is the option's name, for the refusal."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise UserError(templates.BAD_TIME.format(field=templates.option(field)))
    return time(int(match[1]), int(match[2]))


@dataclass(frozen=True, slots=True)
class FollowUpSettings:
    timezone: str | None = None  # None: not set yet (see `window_for`)
    window_start: str = "08:00"
    window_end: str = "21:00"
    weekdays_only: bool = True
    thank_you: bool = True
    feedback_request: bool = True
    check_in: bool = True
    feedback_delay_days: int = 1
    paused_until: int | None = None  # a pause with an end (UTC ms)
    paused_indefinitely: bool = False  # a pause until the person resumes

    @property
    def zone_set(self) -> bool:
        return self.timezone is not None

    @property
    def window(self) -> Window:
        """The allowed hours in the person's zone (UTC until they set one)."""
        return window_of(self.timezone, self.window_start, self.window_end, self.weekdays_only)

    def window_for(self, anchor: int) -> Window:
        """Where follow-ups planned around `anchor` (UTC ms, a moment the person was awake:
        when they logged the entry, or pressed a snooze) may arrive.

        With a zone: the allowed hours there. Without one we cannot tell their day from their
        night, and no UTC window is daytime everywhere, so only the time of day of `anchor`
        (whole days later), until a zone is set and everything pending is re-planned."""
        if self.zone_set:
            return self.window
        return anchored_window(from_ms(anchor), self.weekdays_only)

    def enabled(self, step: str) -> bool:
        return bool(getattr(self, step))

    def paused_at(self, now: int) -> bool:
        return self.paused_indefinitely or (
            self.paused_until is not None and self.paused_until > now
        )

    def resumes_at(self, now: int, window: Window) -> int | None:
        """When a timed pause ends (moved into `window`); None if not paused that way."""
        if self.paused_indefinitely or self.paused_until is None or self.paused_until <= now:
            return None
        return ms(move_into_window(from_ms(self.paused_until), window))


def parse_pause_until(text: str, settings: FollowUpSettings, now: datetime) -> int:
    """`until` of /followups pause: `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` (local) or `N days`."""
    value = " ".join(text.strip().lower().split())
    zone = settings.window.zone
    # The example is a date that works now: a week from the person's today.
    unreadable = UserError(
        templates.BAD_PAUSE_UNTIL.format(
            text=text.strip()[:40],
            day=(now.astimezone(zone).date() + timedelta(days=7)).isoformat(),
        )
    )
    if match := re.fullmatch(r"(\d{1,3}) days?", value):
        until = now + timedelta(days=int(match[1]))
    else:
        match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?: (\d{1,2}:\d{2}))?", value)
        if match is None:
            raise unreadable
        try:
            day = datetime.strptime(match[1], "%Y-%m-%d").date()
            at = parse_hhmm(match[2] or "00:00", "until")
        except (ValueError, UserError):
            raise unreadable from None
        until = datetime.combine(day, at).replace(tzinfo=zone)
    return int(until.timestamp() * 1000)


@lru_cache(maxsize=1024)
def window_of(timezone: str | None, start: str, end: str, weekdays_only: bool) -> Window:
    # Planned for every new entry; people share a handful of settings, so parse each once.
    return Window(
        resolve(timezone),
        parse_hhmm(start, "window_start"),
        parse_hhmm(end, "window_end"),
        weekdays_only,
    )


def settings_from_row(row: sqlite3.Row | None) -> FollowUpSettings:
    if row is None:
        return FollowUpSettings()
    return FollowUpSettings(
        timezone=row["timezone"] or None,
        window_start=row["window_start"],
        window_end=row["window_end"],
        weekdays_only=bool(row["weekdays_only"]),
        thank_you=bool(row["thank_you"]),
        feedback_request=bool(row["feedback_request"]),
        check_in=bool(row["check_in"]),
        feedback_delay_days=row["feedback_delay_days"],
        paused_until=row["paused_until"],
        paused_indefinitely=bool(row["paused_indefinitely"]),
    )


# Why a step is not planned for an entry: keys of the reasons in bot/templates.py.
OFF = "off"
NO_CONVERSATION = "no_conversation"
NO_INTERVIEWER = "no_interviewer"
THANK_YOU_TOO_OLD = "thank_you_too_old"


@dataclass(frozen=True, slots=True)
class StepPlan:
    """What the rules give for one new entry: when each planned step is due, why each other
    step is not planned, and whether the whole entry is too old for any."""

    due: dict[str, datetime]
    not_planned: dict[str, str]
    too_old: bool = False


def steps_left_out(entry: Entry, settings: FollowUpSettings) -> StepPlan:
    """Which steps the rules leave out for an entry and why (no times: those cost more)."""
    window = settings.window_for(entry.created_at)
    logged_at = from_ms(entry.created_at)
    age_days = (logged_at.astimezone(window.zone).date() - entry.rejected_on).days
    if age_days > FOLLOW_UP_MAX_AGE_DAYS:
        return StepPlan({}, {}, too_old=True)
    not_planned = {step: OFF for step in STEPS if not settings.enabled(step)}
    if "thank_you" not in not_planned:
        if not had_conversation(entry.stage, entry.interviewer):
            # An application had nobody to thank; an assessment or "other" stage had, only
            # if the person named who they spoke with.
            not_planned["thank_you"] = (
                NO_CONVERSATION if entry.stage == Stage.APPLICATION else NO_INTERVIEWER
            )
        elif age_days > THANK_YOU_MAX_AGE_DAYS:
            not_planned["thank_you"] = THANK_YOU_TOO_OLD
    return StepPlan({}, not_planned)


def plan_steps(entry: Entry, settings: FollowUpSettings) -> StepPlan:
    left_out = steps_left_out(entry, settings)
    if left_out.too_old:
        return left_out
    not_planned = left_out.not_planned
    due = planned_times(entry, settings, thank_you="thank_you" not in not_planned)
    return StepPlan({step: at for step, at in due.items() if step not in not_planned}, not_planned)


def plan_follow_ups(entry: Entry, settings: FollowUpSettings, now: int) -> list[NewJob]:
    """The follow-ups for a newly logged entry, as timeline rows (the worked examples hold)."""
    plan = plan_steps(entry, settings)
    resumes = settings.resumes_at(now, settings.window_for(entry.created_at))
    jobs: list[NewJob] = []
    for step, due in plan.due.items():
        due_at = ms(due)
        if resumes is not None:
            due_at = max(due_at, resumes)
        jobs.append(
            NewJob(
                kind_of(step),
                due_at,
                user_id=entry.user_id,
                subject_id=entry.id,
            )
        )
    return jobs


def planned_times(
    entry: Entry, settings: FollowUpSettings, *, thank_you: bool = True
) -> dict[str, datetime]:
    """When each step is due by the rules; `thank_you`: whether a thank-you is planned (the
    feedback request then keeps its distance from it)."""
    window = settings.window_for(entry.created_at)
    logged_at = from_ms(entry.created_at)
    thank_you_at = thank_you_due(logged_at, window)
    feedback_at = feedback_request_due(
        logged_at,
        window,
        settings.feedback_delay_days,
        thank_you_at=thank_you_at if thank_you else None,
    )
    return {
        "thank_you": thank_you_at,
        "feedback_request": feedback_at,
        "check_in": check_in_due(feedback_at, window),
    }


def planned_steps_text(pending: list[tuple[str, int]]) -> str:
    """The "what happens next" line for planned follow-ups, given (kind, due ms) pairs."""
    items = ", ".join(
        templates.NEXT_STEPS_ITEM.format(
            name=templates.FOLLOW_UP_STEP_NAMES[step_of(kind)].lower(), due=due_at // 1000
        )
        for kind, due_at in pending
    )
    return templates.NEXT_STEPS_PLANNED.format(items=items)


def not_planned_text(not_planned: dict[str, str], entry: Entry) -> list[str]:
    """One short line per step left out, saying why; all turned off is one line."""
    if len(not_planned) == len(STEPS) and set(not_planned.values()) == {OFF}:
        return [templates.fill(templates.NEXT_STEPS_NONE)]
    return [
        templates.NEXT_STEPS_NOT_PLANNED.format(
            name=templates.FOLLOW_UP_STEP_NAMES[step].lower(),
            reason=templates.fill(
                templates.NOT_PLANNED_REASONS[reason],
                stage=STAGE_LABELS[entry.stage].lower(),
                days=THANK_YOU_MAX_AGE_DAYS,
            ),
        )
        for step, reason in sorted(not_planned.items(), key=lambda item: STEPS.index(item[0]))
    ]


def skip_reason(step: str, entry: Entry) -> str | None:
    """Why a follow-up is no longer useful given what was recorded since it was planned (the
    feedback, or a stage corrected to one without a conversation)."""
    if step == "thank_you" and not had_conversation(entry.stage, entry.interviewer):
        return "skipped: no conversation at this stage"
    status = entry.feedback_status
    if step == "feedback_request" and status != FeedbackStatus.NOT_ASKED:
        return "skipped: feedback already asked for"
    if step == "check_in" and status in (FeedbackStatus.RECEIVED, FeedbackStatus.DECLINED):
        return "skipped: feedback already recorded"
    return None


def job_id_of(custom_id: str) -> int | None:
    """The row id a follow-up DM's button names, or None for any other custom_id."""
    match = re.match(CUSTOM_ID_PATTERN, custom_id)
    return int(match["job"]) if match else None


def draft_for(step: str, entry: Entry) -> str:
    """Rendered at send time, so edits to the entry show; plain text, easy to copy."""
    the_role = (
        templates.DRAFT_ROLE.format(role=one_line(entry.role))
        if entry.role
        else templates.DRAFT_ROLE_FALLBACK
    )
    text = templates.DRAFTS[step].format(
        name=one_line(entry.interviewer) if entry.interviewer else templates.DRAFT_NAME_FALLBACK,
        the_role=the_role,
        company=one_line(entry.company),
    )
    return truncate(text.replace("```", "'''"), DRAFT_MAX)


LIST_PAGE_SIZE = 10
CHOICES_MAX = 25  # Discord's limit for autocomplete results and select options
LABEL_MAX = 100  # Discord's limit for a choice's name and a select option's label
_DM_UNREACHABLE = re.compile(
    r"\(code (?:" + "|".join(str(code) for code in sorted(UNREACHABLE_USER_CODES)) + r")\)$"
)


@dataclass(frozen=True, slots=True)
class FollowUpPage:
    rows: list[followup_store.FollowUpRow]
    page: int
    pages: int
    total: int
    settings: FollowUpSettings
    now: int


def step_name(row: followup_store.FollowUpRow) -> str:
    return templates.FOLLOW_UP_STEP_NAMES[step_of(row.kind)]


def entry_text(row: followup_store.FollowUpRow, limit: int = 60, *, markdown: bool = False) -> str:
    """ "#3 Acme": plain text, or escaped for places markdown renders (`markdown=True`)."""
    if row.entry_number is None or row.company is None:
        return templates.LIST_FOLLOW_UPS_DELETED_ENTRY
    company = one_line(row.company)
    return templates.LIST_FOLLOW_UPS_ENTRY.format(
        number=row.entry_number,
        company=safe(company, limit) if markdown else truncate(company, limit),
    )


def local_time_text(instant: int, zone: tzinfo) -> str:
    """A time as plain text in the person's zone, for places Discord timestamps don't render
    (select menus, autocomplete): "Thu 25 Mar, 10:00 GMT"."""
    local = from_ms(instant).astimezone(zone)
    return templates.LOCAL_TIME.format(
        weekday=templates.SHORT_WEEKDAYS[local.weekday()],
        day=local.day,
        month=templates.SHORT_MONTHS[local.month - 1],
        time=local.strftime("%H:%M"),
        zone=local.tzname() or "UTC",
    )


def state_text(row: followup_store.FollowUpRow, settings: FollowUpSettings, now: int) -> str:
    """A follow-up's state in plain words, with Discord timestamps: "due <t:…:f> (in 2 hours)",
    "sent <t:…:f>", "snoozed until <t:…:f>", "cancelled by you", "not delivered: …".

    The stored outcomes are for logs and support ("retrying: …", "snoozed until <iso>");
    people read these sentences instead."""
    states = FOLLOW_UP_STATES  # the two with a command mention go through fill() below
    outcome = row.outcome or ""
    if row.state == "running":
        return states["sending"]
    if row.state == "pending":
        if settings.paused_indefinitely:
            return templates.fill(states["held"])
        # During a pause with an end, what falls due first waits for the end of it.
        due = max(row.due_at, settings.resumes_at(now, settings.window) or 0) // 1000
        if outcome.startswith("retrying:"):
            return states["retrying"].format(at=due)
        return states["due_snoozed" if row.snoozed else "due"].format(at=due)
    at = (row.finished_at or row.due_at) // 1000
    if row.state == "failed":
        if _DM_UNREACHABLE.search(outcome):
            return templates.fill(states["not_delivered_dm"])
        return states["not_delivered"].format(reason=outcome or "unknown reason")
    if outcome.startswith("snoozed until "):
        try:
            until = datetime.fromisoformat(outcome.removeprefix("snoozed until "))
        except ValueError:
            return states["finished"].format(at=at)
        return states["snoozed"].format(at=at, until=int(until.timestamp()))
    if row.state == "cancelled" and outcome == "cancelled" and row.company is None:
        return states["cancelled: entry deleted"]
    if outcome in states:
        return states[outcome].format(at=at)
    if row.state == "cancelled":
        return states["cancelled"]
    return states["finished"].format(at=at)


def choice_label(row: followup_store.FollowUpRow, zone: tzinfo) -> str:
    """ "Thank-you note · #3 Acme · Thu 25 Mar, 10:00 GMT", within Discord's 100 characters."""
    when = local_time_text(row.due_at, zone)
    name = step_name(row)
    # What is left for the company name once the rest of the label is written.
    rest = templates.FOLLOW_UP_CHOICE.format(name=name, entry=entry_text(row, 0), when=when)
    room = max(10, LABEL_MAX - len(rest) + 1)
    return truncate(
        templates.FOLLOW_UP_CHOICE.format(name=name, entry=entry_text(row, room), when=when),
        LABEL_MAX,
    )


class FollowUps:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        scheduler: Scheduler,
    ) -> None:
        self.database = database
        self.clock = clock
        self.scheduler = scheduler
        self.client: discord.Client | None = None
        # Who may have an undelivered-DM notice waiting: checked after every command, so a
        # set in memory answers the usual "no" without a database round trip. The rows stay
        # the truth; the set only ever holds more people than have a notice, never fewer.
        self._notice_users: set[int] = set()
        self._notice_users_loaded = False

    # -- settings -------------------------------------------------------------------------

    async def settings(self, user_id: int) -> FollowUpSettings:
        return settings_from_row(await followup_store.settings_row(self.database, user_id))

    async def update_settings(self, user_id: int, **options: Any) -> FollowUpSettings:
        current = await self.settings(user_id)
        changes: dict[str, Any] = {}
        if options.get("timezone") is not None:
            changes["timezone"] = parse_zone(options["timezone"], self.clock.now()).name
        for name in ("window_start", "window_end"):
            if options.get(name) is not None:
                changes[name] = parse_hhmm(options[name], name).strftime("%H:%M")
        for name in ("weekdays_only", "thank_you", "feedback_request", "check_in"):
            if options.get(name) is not None:
                changes[name] = bool(options[name])
        if options.get("feedback_delay_days") is not None:
            delay = int(options["feedback_delay_days"])
            if not 1 <= delay <= 14:
                raise UserError(templates.BAD_DELAY)
            changes["feedback_delay_days"] = delay
        updated = replace(current, **changes)
        start = parse_hhmm(updated.window_start, "window_start")
        end = parse_hhmm(updated.window_end, "window_end")
        if start >= end:
            raise UserError(
                templates.BAD_WINDOW.format(start=updated.window_start, end=updated.window_end)
            )
        # Any window works, 10:00 inside it or not; only one too short to be reliable is not.
        if window_length(start, end) < MIN_WINDOW:
            raise UserError(
                templates.SHORT_WINDOW.format(start=updated.window_start, end=updated.window_end)
            )
        return await self._change_settings(user_id, changes)

    async def _change_settings(self, user_id: int, changes: dict[str, Any]) -> FollowUpSettings:
        """Save setting changes and move every pending follow-up they affect, in one
        transaction: the reply never says "saved" for half of it, nor "nothing changed"."""
        now = now_ms(self.clock)
        async with self.database.transaction() as tx:
            await followup_store.save_settings(tx, user_id, changes, now)
            settings = settings_from_row(await followup_store.settings_row(tx, user_id))
            if changes:
                moves, cancels = await self._replanned(tx, user_id, settings, now)
                await followup_store.cancel_pending(
                    tx, cancels, "cancelled: turned off in settings", now
                )
                await followup_store.move_pending(tx, moves)
        if changes:
            self.scheduler.wake()
        return settings

    async def _replanned(
        self, tx: Transaction, user_id: int, settings: FollowUpSettings, now: int
    ) -> tuple[list[tuple[int, int]], list[int]]:
        """Where the settings now put each pending follow-up not snoozed, and which to cancel."""
        moves: list[tuple[int, int]] = []
        cancels: list[int] = []
        rows = await followup_store.pending_for_person(tx, user_id)
        entries = await entry_store.entries_by_id(tx, {row["subject_id"] for row in rows})
        for row in rows:
            step = step_of(row["kind"])
            if not settings.enabled(step):
                cancels.append(row["id"])
                continue
            entry = entries.get(row["subject_id"])
            if entry is None or '"snoozed":true' in row["payload"]:
                continue
            window = settings.window_for(entry.created_at)
            earliest = settings.resumes_at(now, window) or ms(
                move_into_window(from_ms(now), window)
            )
            # The same rules as for a new entry (a thank-you the stage rules out keeps its
            # time: its delivery skips it).
            due = plan_steps(entry, settings).due.get(step) or planned_times(entry, settings)[step]
            moves.append((row["id"], max(ms(due), earliest)))
        return moves, cancels

    def check_pause_end(self, until: int | None) -> None:
        """A pause ends in the future and at most a year ahead (or never: until resumed)."""
        now = now_ms(self.clock)
        if until is None:
            return
        if until <= now:
            raise UserError(templates.PAUSE_IN_PAST)
        if until > now + PAUSE_MAX_DAYS * DAY_MS:
            raise UserError(templates.PAUSE_TOO_FAR.format(days=PAUSE_MAX_DAYS))

    async def pause(self, user_id: int, until: int | None) -> FollowUpSettings:
        """Hold every follow-up until `until` (UTC ms), or until resumed when None."""
        self.check_pause_end(until)
        return await self._change_settings(
            user_id, {"paused_until": until, "paused_indefinitely": until is None}
        )

    async def resume(self, user_id: int) -> bool:
        settings = await self.settings(user_id)
        if not settings.paused_at(now_ms(self.clock)):
            return False
        await self._change_settings(user_id, {"paused_until": None, "paused_indefinitely": False})
        return True

    def held_until(self, settings: FollowUpSettings, now: int, entry: Entry) -> int:
        """When a follow-up held by a pause looks again: the pause's end, or a day later for a
        pause until resumed (resuming re-plans it at once)."""
        window = settings.window_for(entry.created_at)
        resumes = settings.resumes_at(now, window)
        if resumes is not None:
            return resumes
        return ms(move_into_window(from_ms(now + HELD_RECHECK_MS), window))

    # -- hooks from the rejection log ---------------------------------------------------------

    @staticmethod
    def planner(person: sqlite3.Row | None, now: int) -> Callable[[Entry], list[NewJob]]:
        settings = settings_from_row(person)
        return lambda entry: plan_follow_ups(entry, settings, now)

    async def on_entry_deleted(self, entry: Entry) -> None:
        await self.scheduler.cancel_for_subject([kind_of(step) for step in STEPS], entry.id)

    async def on_feedback_changed(self, entry: Entry) -> str | None:
        """Cancel what recorded feedback makes pointless; returns a line for the reply."""
        steps = [step for step in ("feedback_request", "check_in") if skip_reason(step, entry)]
        if not steps:
            return None
        cancelled = await followup_store.cancel_for_entry(
            self.database,
            entry.id,
            [kind_of(step) for step in steps],
            "cancelled: feedback recorded",
            now_ms(self.clock),
        )
        if not cancelled:
            return None
        names = [templates.FOLLOW_UP_STEP_NAMES[step_of(kind)].lower() for kind in cancelled]
        return templates.FEEDBACK_CANCELLED_FOLLOW_UPS.format(steps=templates.and_list(names))

    async def next_steps(self, logged: LoggedEntry) -> str:
        """The follow-up lines of a log reply: what is planned and when, what is not and why,
        and how times are chosen while no zone is set."""
        entry = logged.entry
        if logged.planned is not None:
            pending = [(job.kind, job.due_at) for job in logged.planned]
            settings = settings_from_row(logged.person)
        else:
            rows = await followup_store.followups_for_entry(self.database, entry.id)
            pending = [(row.kind, row.due_at) for row in rows if row.state == "pending"]
            settings = await self.settings(entry.user_id)
        plan = steps_left_out(entry, settings)
        if plan.too_old and not pending:
            lines = [templates.NEXT_STEPS_TOO_OLD]
        elif pending and settings.paused_indefinitely:
            lines = [templates.NEXT_STEPS_PAUSED]
        else:
            lines = [planned_steps_text(pending)] if pending else []
            lines += not_planned_text(plan.not_planned, entry)
            if not lines:
                lines = [templates.NEXT_STEPS_ALL_DONE]
        if not settings.zone_set:
            if pending:
                lines.append(
                    templates.NEXT_STEPS_NO_ZONE.format(
                        at=entry.created_at // 60_000 * 60,
                        start=settings.window_start,
                        end=settings.window_end,
                    )
                )
            else:
                lines.append(templates.NEXT_STEPS_NO_ZONE_NOTHING)
        return "\n".join(lines)

    @staticmethod
    def zone_missing(logged: LoggedEntry) -> bool:
        """Whether the person behind a new entry has not set a time zone yet."""
        return not settings_from_row(logged.person).zone_set

    # -- listing and cancelling ---------------------------------------------------------------

    async def page(self, user_id: int, page: int, *, clamp: bool = False) -> FollowUpPage:
        """One page of the person's follow-ups: what is coming, soonest first, then what
        finished in the last 14 days, most recent first. `clamp`: a page past the end (an
        old button, a list that shrank) shows the last page instead of refusing."""
        check_page_number(page)
        now = now_ms(self.clock)
        settings = await self.settings(user_id)
        rows, total = await followup_store.followups_page(
            self.database,
            user_id,
            finished_since=now - RECENT_MS,
            offset=(page - 1) * LIST_PAGE_SIZE,
            limit=LIST_PAGE_SIZE,
        )
        pages = page_count(total, LIST_PAGE_SIZE)
        if page > pages and clamp:
            return await self.page(user_id, pages)
        if total:
            check_page(page, total)
        return FollowUpPage(rows, page, pages, total, settings, now)

    async def cancel(self, user_id: int, job_id: int) -> followup_store.FollowUpRow:
        """Cancel one pending follow-up; says plainly why not when it was sent or cancelled."""
        check_follow_up_number(job_id)
        row = await followup_store.followup(self.database, user_id, job_id)
        if row is None:
            raise NotFound(templates.fill(templates.FOLLOW_UP_NOT_FOUND, id=job_id))
        now = now_ms(self.clock)
        # The update itself checks the row is still pending: it may be sending right now.
        if row.state != "pending" or not await followup_store.cancel_one(
            self.database, user_id, job_id, "cancelled by you", now
        ):
            current = await followup_store.followup(self.database, user_id, job_id) or row
            settings = await self.settings(user_id)
            raise UserError(
                templates.FOLLOW_UP_NOT_PENDING.format(
                    name=step_name(current).lower(),
                    entry=entry_text(current),
                    state=state_text(current, settings, now),
                )
            )
        return row

    async def cancel_suggestions(self, user_id: int, typed: str) -> list[tuple[int, str]]:
        """(row id, label) of pending follow-ups for /followups cancel, soonest first: those
        whose step, entry number or company contain what was typed (or whose id it is)."""
        needle = " ".join(typed.lower().split()).lstrip("#")
        rows = await followup_store.pending_followups(self.database, user_id)
        zone = (await self.settings(user_id)).window.zone
        found: list[tuple[int, str]] = []
        for row in rows:
            label = choice_label(row, zone)
            if not needle or needle in label.lower() or needle == str(row.id):
                found.append((row.id, label))
            if len(found) == CHOICES_MAX:
                break
        return found

    async def take_notice(self, user_id: int, *, in_shared_server: bool) -> str | None:
        """The one-time notice that follow-ups could not reach the person, or None.

        `in_shared_server`: asked in a server NextRound is in, whose privacy settings then
        say where to allow DMs; elsewhere (a DM, the app on the person's account) they differ.
        """
        if not self._notice_users_loaded:
            self._notice_users |= await followup_store.people_with_dm_problem(self.database)
            self._notice_users_loaded = True
        if user_id not in self._notice_users:
            return None
        self._notice_users.discard(user_id)
        problem = await followup_store.take_dm_problem(self.database, user_id)
        if problem is None:
            return None
        return templates.fill(
            templates.DM_PROBLEM_NOTICE, where=templates.dm_where(in_shared_server)
        )

    # -- delivery -------------------------------------------------------------------------------

    def _client(self) -> discord.Client:
        if self.client is None:
            raise RuntimeError("follow-ups need a Discord client before delivering")
        return self.client

    async def dm_channel_id(self, user_id: int) -> int:
        cached = await followup_store.dm_channel(self.database, user_id)
        if cached is not None:
            return cached
        data = await self._client().http.start_private_message(user_id)
        channel_id = int(data["id"])
        await followup_store.remember_dm_channel(self.database, user_id, channel_id)
        return channel_id

    async def already_delivered(self, channel_id: int, job: Job) -> bool:
        """After a longer outage the nonce no longer protects us: look for the message itself."""
        assert job.attempted_at is not None
        found = await find_sent_message(
            self._client(),
            channel_id,
            since=job.attempted_at,
            carries=lambda ids: any(job_id_of(custom_id) == job.id for custom_id in ids),
        )
        return found is not None

    async def deliver(self, job: Job) -> JobResult:
        """The scheduler's handler for every follow-up kind."""
        step = step_of(job.kind)
        assert job.user_id is not None and job.subject_id is not None
        entry = await entry_store.get_entry_by_id(self.database, job.subject_id)
        if entry is None or entry.user_id != job.user_id:
            return JobResult("cancelled: entry deleted")
        settings = await self.settings(job.user_id)
        now = now_ms(self.clock)
        if settings.paused_at(now):
            raise Reschedule(
                "held: follow-ups paused", due_at=self.held_until(settings, now, entry)
            )
        skip = skip_reason(step, entry)
        if skip is not None:
            return JobResult(skip)
        lateness = now - job.planned_at
        if lateness > MISSED_AFTER_MS:
            return JobResult("missed: more than 7 days late")
        try:
            channel_id = await self.dm_channel_id(job.user_id)
            restart_window = False
            if nonce_expired(job.attempted_at, now):
                if await self.already_delivered(job.attempt_channel_id or channel_id, job):
                    return JobResult("sent")
                restart_window = True
            attempt = await self.scheduler.record_attempt(
                job, channel_id, restart_window=restart_window
            )
            embed = followup_embed(step, entry, job, late=lateness > LATE_AFTER_MS)
            view = followup_view(job.user_id, job.id)
            channel = self._client().get_partial_messageable(
                channel_id, type=discord.ChannelType.private
            )
            with self.scheduler.guarded(job):
                await channel.send(embed=embed, view=view, nonce=attempt.nonce)
        except discord.HTTPException as error:
            if error.code in UNREACHABLE_USER_CODES:
                await followup_store.record_dm_problem(
                    self.database, job.user_id, describe(error.code)
                )
                self._notice_users.add(job.user_id)
            raise as_job_error(error) from error
        except (OSError, TimeoutError) as error:
            raise as_job_error(error) from error
        return JobResult("sent late" if lateness > LATE_AFTER_MS else "sent")

    async def send_test(self, user_id: int, *, in_shared_server: bool) -> str:
        """Send a test DM now; returns the sentence for the person (sent, closed, failed)."""
        try:
            channel_id = await self.dm_channel_id(user_id)
            channel = self._client().get_partial_messageable(
                channel_id, type=discord.ChannelType.private
            )
            await channel.send(templates.DM_TEST)
        except discord.HTTPException as error:
            if error.code in UNREACHABLE_USER_CODES:
                return templates.fill(
                    templates.DM_TEST_CLOSED, where=templates.dm_where(in_shared_server)
                )
            log.warning("test DM to %s failed: %s", user_id, describe(error.code))
            return templates.fill(templates.DM_TEST_FAILED)
        return templates.DM_TEST_SENT

    # -- buttons on a delivered follow-up ----------------------------------------------------------

    async def respond(self, user_id: int, job_id: int, action: str) -> tuple[str, Entry | None]:
        """Apply a button press; returns the outcome sentence for the edited DM."""
        row = await followup_store.followup(self.database, user_id, job_id)
        if row is None or row.entry_id is None:
            raise UserError(templates.FOLLOW_UP_GONE)
        entry = await entry_store.get_entry_by_id(self.database, row.entry_id)
        if entry is None:
            raise UserError(templates.FOLLOW_UP_GONE)
        now = now_ms(self.clock)
        step = step_of(row.kind)
        then: NewJob | None = None
        if action in ("hour", "tomorrow", "week"):
            settings = await self.settings(user_id)
            if action == "hour" and not settings.zone_set:
                due = now + 3_600_000  # asked for while awake, an hour from now
            else:
                # Without a zone, a day or a week from the time of day of this press.
                due = ms(snooze_until(action, from_ms(now), settings.window_for(now)))
            then = NewJob(
                row.kind,
                due,
                payload={"snoozed": True},
                user_id=user_id,
                subject_id=entry.id,
            )
            outcome = templates.FOLLOW_UP_OUTCOMES["snooze"].format(due=due // 1000)
            recorded = f"snoozed until {from_ms(due).isoformat(timespec='minutes')}"
        elif action == "done":
            outcome = templates.FOLLOW_UP_OUTCOMES["done"]
            recorded = "done"
        elif action == "skip":
            outcome = templates.FOLLOW_UP_OUTCOMES["skip"]
            recorded = "skipped"
        elif action == "stop":
            outcome = templates.FOLLOW_UP_OUTCOMES["stop"]
            recorded = "stopped"
        else:
            raise UserError(templates.FOLLOW_UP_ALREADY_HANDLED)
        if not await followup_store.record_response(
            self.database, user_id, job_id, recorded, then=then, now=now
        ):
            raise UserError(templates.FOLLOW_UP_ALREADY_HANDLED)
        if action == "stop":
            await self.scheduler.cancel_for_subject([kind_of(s) for s in STEPS], entry.id)
        if (
            action == "done"
            and step == "feedback_request"
            and entry.feedback_status == FeedbackStatus.NOT_ASKED
        ):
            await entry_store.set_feedback(
                self.database,
                user_id,
                entry.number,
                status=FeedbackStatus.ASKED,
                summary=None,
                theme=None,
                now=now,
            )
            outcome = templates.FOLLOW_UP_OUTCOMES["done_feedback"].format(number=entry.number)
        if then is not None:
            self.scheduler.wake()
        return outcome, entry


ACTIONS = ("done", "skip", "stop", "hour", "tomorrow", "week")
ACTION_LABELS = {
    "done": templates.FOLLOW_UP_DONE,
    "skip": templates.FOLLOW_UP_SKIP,
    "stop": templates.FOLLOW_UP_STOP,
    "hour": templates.FOLLOW_UP_SNOOZE_HOUR,
    "tomorrow": templates.FOLLOW_UP_SNOOZE_TOMORROW,
    "week": templates.FOLLOW_UP_SNOOZE_WEEK,
}
CUSTOM_ID = "nr:fu:{user}:{job}:{action}"
CUSTOM_ID_PATTERN = (
    r"^nr:fu:(?P<user>\d+):(?P<job>\d+):(?P<action>done|skip|stop|hour|tomorrow|week)$"
)


def followup_embed(step: str, entry: Entry, job: Job, *, late: bool) -> discord.Embed:
    who = one_line(entry.interviewer) if entry.interviewer else one_line(entry.company)
    title = templates.FOLLOW_UP_TITLES[step].format(who=who, company=one_line(entry.company))
    lines = []
    if late:
        lines.append(templates.FOLLOW_UP_LATE.format(due=job.due_at // 1000))
    lines.append(templates.fill(templates.FOLLOW_UP_INTROS[step], number=entry.number))
    lines.append(f"```\n{draft_for(step, entry)}\n```")
    embed = discord.Embed(
        title=safe(title, 256),
        description="\n\n".join(lines),
        timestamp=from_ms(job.due_at),
        colour=discord.Colour(0x5865F2),
    )
    embed.add_field(name=templates.ENTRY_FIELD_COMPANY, value=safe(entry.company, 1024))
    if entry.role:
        embed.add_field(name=templates.ENTRY_FIELD_ROLE, value=safe(entry.role, 1024))
    embed.add_field(name=templates.ENTRY_FIELD_STAGE, value=STAGE_LABELS[entry.stage])
    embed.set_footer(text=templates.FOLLOW_UP_FOOTER.format(number=entry.number))
    return embed


class FollowUpButton(OwnedButton, template=CUSTOM_ID_PATTERN):
    """Done / Skip / Stop / Snooze on a follow-up DM; works after restarts, only for its person."""

    def __init__(
        self, owner_id: int, job_id: int, action: str, *, disabled: bool = False, row: int = 0
    ) -> None:
        super().__init__(
            CUSTOM_ID.format(user=owner_id, job=job_id, action=action),
            label=ACTION_LABELS[action],
            style=discord.ButtonStyle.success
            if action == "done"
            else discord.ButtonStyle.secondary,
            owner_id=owner_id,
            disabled=disabled,
        )
        self.row = row
        self.job_id = job_id
        self.action = action

    @classmethod
    def from_match(cls, match: re.Match[str]) -> FollowUpButton:
        return cls(int(match["user"]), int(match["job"]), match["action"])

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        follow_ups: FollowUps = interaction.client.follow_ups
        outcome, _ = await follow_ups.respond(self.owner_id, self.job_id, self.action)
        embed = (
            interaction.message.embeds[0]
            if interaction.message and interaction.message.embeds
            else None
        )
        if embed is not None:
            embed.add_field(name=templates.FOLLOW_UP_OUTCOME, value=outcome, inline=False)
        await interaction.response.edit_message(
            embed=embed,
            content=None if embed is not None else outcome,
            view=followup_view(self.owner_id, self.job_id, disabled=True),
        )


def followup_view(user_id: int, job_id: int, *, disabled: bool = False) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for index, action in enumerate(ACTIONS):
        view.add_item(
            FollowUpButton(user_id, job_id, action, disabled=disabled, row=0 if index < 3 else 1)
        )
    return view
