"""When follow-ups are due: allowed local hours, business days, snoozes, DST.

Pure functions over aware datetimes; instants in, instants out (UTC), local rules in between.
A zone is any `tzinfo`: an IANA zone, or a fixed offset (`UTC+05:30`, or the stand-in zone
of `anchored_window` for a person who has not said where they live).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache

FEEDBACK_HOUR = time(10, 0)
THANK_YOU_DELAY = timedelta(hours=2)
# The feedback request comes at least this long after the thank-you, so two DMs about one
# entry never arrive together (a late log with an evening window would otherwise do that).
FEEDBACK_AFTER_THANK_YOU = timedelta(hours=2)
MIN_WINDOW = timedelta(hours=2)
CHECK_IN_AFTER_DAYS = 7
THANK_YOU_MAX_AGE_DAYS = 7  # no thank-you for an interview longer ago than this
FOLLOW_UP_MAX_AGE_DAYS = 60  # no follow-ups at all for entries dated longer ago
SATURDAY = 5


@dataclass(frozen=True, slots=True)
class Window:
    """The local hours (and days) a follow-up may arrive in."""

    zone: tzinfo
    start: time = time(8, 0)
    end: time = time(21, 0)
    weekdays_only: bool = True

    def day_allowed(self, day: date) -> bool:
        return not self.weekdays_only or day.weekday() < SATURDAY

    @property
    def aim(self) -> time:
        """The time of day a step "at 10:00" arrives: 10:00 if the window holds it, else the
        window's start (an evening window gets it at its opening, the same day)."""
        if self.start <= FEEDBACK_HOUR < self.end:
            return FEEDBACK_HOUR
        return self.start


def anchored_window(anchor: datetime, weekdays_only: bool) -> Window:
    """Allowed time for a person whose zone is unknown: only the time of day of `anchor`, a
    moment they were awake (when they logged, or pressed a button), on allowed days.

    Built as a stand-in fixed-offset zone in which `anchor` falls at 10:00 (its date stays
    the UTC date), with a one-minute window there: every rule of the timeline then lands on
    that time of day, whole days later, without a second set of rules."""
    at = anchor.astimezone(UTC)
    return _anchored_window(at.hour * 60 + at.minute, weekdays_only)


@lru_cache(maxsize=2048)  # one per minute of the day: planned for every such entry
def _anchored_window(minute_of_day: int, weekdays_only: bool) -> Window:
    offset = timedelta(hours=FEEDBACK_HOUR.hour) - timedelta(minutes=minute_of_day)
    return Window(
        timezone(offset),
        FEEDBACK_HOUR,
        time(FEEDBACK_HOUR.hour, 1),
        weekdays_only,
    )


def window_length(start: time, end: time) -> timedelta:
    return datetime.combine(date.min, end) - datetime.combine(date.min, start)


def local_instant(day: date, at: time, zone: tzinfo) -> datetime:
    """`day` at wall-clock `at` in `zone`, as UTC.

    With fold=0 (PEP 495), a wall time skipped by a DST change (01:30 on a spring-forward night
    in London) is read with the offset from before the change, so it lands as far past the gap
    as it was into it (02:30 BST); a wall time that happens twice takes its first occurrence.
    """
    return datetime.combine(day, at).replace(tzinfo=zone, fold=0).astimezone(UTC)


def first_instant_at_or_after(day: date, at: time, zone: tzinfo, floor: datetime) -> datetime:
    """The first instant of wall time `at` on `day` that is not before `floor`: in an hour that
    happens twice, the second occurrence once the first has passed. Still before `floor` when
    both have passed."""
    first = local_instant(day, at, zone)
    if first >= floor:
        return first
    return datetime.combine(day, at).replace(tzinfo=zone, fold=1).astimezone(UTC)


def move_into_window(instant: datetime, window: Window) -> datetime:
    """Keep `instant` if allowed, else the start of the next allowed window after it; never
    earlier than `instant` (in a repeated hour the window may start a second time)."""
    instant = instant.astimezone(UTC)
    local = instant.astimezone(window.zone)
    day = local.date()
    if window.day_allowed(day) and window.start <= local.time() < window.end:
        return instant
    if not (window.day_allowed(day) and local.time() < window.start):
        day += timedelta(days=1)
    while True:
        while not window.day_allowed(day):
            day += timedelta(days=1)
        candidate = first_instant_at_or_after(day, window.start, window.zone, instant)
        if candidate >= instant:
            return candidate
        day += timedelta(days=1)


def add_days(day: date, count: int, business_days: bool) -> date:
    if not business_days:
        return day + timedelta(days=count)
    added = 0
    while added < count:
        day += timedelta(days=1)
        if day.weekday() < SATURDAY:
            added += 1
    return day


def thank_you_due(logged_at: datetime, window: Window) -> datetime:
    return move_into_window(logged_at + THANK_YOU_DELAY, window)


def feedback_request_due(
    logged_at: datetime, window: Window, delay_days: int, thank_you_at: datetime | None = None
) -> datetime:
    """`delay_days` (business) days after the day the entry was logged, at 10:00 (or the
    window's start); at least `FEEDBACK_AFTER_THANK_YOU` after a planned thank-you."""
    logged_day = logged_at.astimezone(window.zone).date()
    day = add_days(logged_day, delay_days, business_days=window.weekdays_only)
    due = move_into_window(local_instant(day, window.aim, window.zone), window)
    if thank_you_at is not None:
        due = max(due, move_into_window(thank_you_at + FEEDBACK_AFTER_THANK_YOU, window))
    return due


def check_in_due(feedback_request_at: datetime, window: Window) -> datetime:
    day = feedback_request_at.astimezone(window.zone).date() + timedelta(days=CHECK_IN_AFTER_DAYS)
    return move_into_window(local_instant(day, window.aim, window.zone), window)


def next_allowed_day(day: date, window: Window) -> date:
    while not window.day_allowed(day):
        day += timedelta(days=1)
    return day


def snooze_until(choice: str, now: datetime, window: Window) -> datetime:
    """`hour`: now + 1 h; `tomorrow`: the next local day at 10:00; `week`: the local date + 7
    days at 10:00 (10:00 or the window's start, as for the feedback request). A day outside
    the allowed days moves to the next allowed one first, so the snooze still lands at that
    time (Friday's "tomorrow" is Monday 10:00, not Monday 08:00)."""
    local_day = now.astimezone(window.zone).date()
    if choice == "hour":
        return move_into_window(now + timedelta(hours=1), window)
    if choice == "tomorrow":
        day = next_allowed_day(local_day + timedelta(days=1), window)
    elif choice == "week":
        day = next_allowed_day(local_day + timedelta(days=7), window)
    else:
        raise ValueError(f"unknown snooze {choice!r}")
    return move_into_window(local_instant(day, window.aim, window.zone), window)
