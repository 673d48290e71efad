"""Follow-up timing: the worked examples, quiet hours, weekends, DST gaps and folds, snoozes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.entries import Entry, FeedbackStatus, Stage
from bot.followup_timing import (
    Window,
    anchored_window,
    check_in_due,
    feedback_request_due,
    local_instant,
    move_into_window,
    snooze_until,
    thank_you_due,
)
from bot.followups import FollowUpSettings, plan_steps
from bot.zones import resolve

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "logged", "thank_you", "feedback", "check_in"),
    [
        (LONDON, "2027-03-24 14:00", "2027-03-24 16:00", "2027-03-25 10:00", "2027-04-01 09:00"),
        (LONDON, "2027-03-26 22:30", "2027-03-29 07:00", "2027-03-29 09:00", "2027-04-05 09:00"),
        (NEW_YORK, "2027-03-12 20:00", "2027-03-12 22:00", "2027-03-15 14:00", "2027-03-22 14:00"),
    ],
)
def test_worked_examples(
    zone: ZoneInfo, logged: str, thank_you: str, feedback: str, check_in: str
) -> None:
    window = Window(zone)
    logged_at = utc(logged)
    feedback_at = feedback_request_due(logged_at, window, 1)
    assert thank_you_due(logged_at, window) == utc(thank_you)
    assert feedback_at == utc(feedback)
    assert check_in_due(feedback_at, window) == utc(check_in)


def test_quiet_hours_and_weekends() -> None:
    window = Window(LONDON)
    # 21:00 is already outside (the window is 08:00 up to 21:00).
    assert move_into_window(utc("2027-01-13 21:00"), window) == utc("2027-01-14 08:00")
    assert move_into_window(utc("2027-01-13 20:59"), window) == utc("2027-01-13 20:59")
    assert move_into_window(utc("2027-01-13 06:00"), window) == utc("2027-01-13 08:00")
    assert move_into_window(utc("2027-01-16 12:00"), window) == utc("2027-01-18 08:00")  # Sat
    every_day = Window(LONDON, weekdays_only=False)
    assert move_into_window(utc("2027-01-16 12:00"), every_day) == utc("2027-01-16 12:00")
    late = Window(LONDON, start=time(18, 0), end=time(22, 0))
    assert move_into_window(utc("2027-01-13 12:00"), late) == utc("2027-01-13 18:00")


def test_business_days_versus_calendar_days() -> None:
    logged = utc("2027-01-15 12:00")  # a Friday
    assert feedback_request_due(logged, Window(LONDON), 2) == utc("2027-01-19 10:00")
    assert feedback_request_due(logged, Window(LONDON, weekdays_only=False), 2) == utc(
        "2027-01-17 10:00"
    )


def test_dst_gap_and_fold() -> None:
    # 01:30 does not exist in London on 2027-03-28: it moves past the gap.
    assert local_instant(datetime(2027, 3, 28).date(), time(1, 30), LONDON) == utc(
        "2027-03-28 01:30"
    )
    # 01:30 happens twice on 2027-10-31: the first one (BST) is taken.
    assert local_instant(datetime(2027, 10, 31).date(), time(1, 30), LONDON) == utc(
        "2027-10-31 00:30"
    )
    window = Window(LONDON, start=time(1, 30), end=time(23, 0), weekdays_only=False)
    assert move_into_window(utc("2027-03-28 00:10"), window) == utc("2027-03-28 01:30")


def test_snoozes() -> None:
    window = Window(LONDON)
    now = utc("2027-01-13 15:00")  # Wednesday
    assert snooze_until("hour", now, window) == utc("2027-01-13 16:00")
    assert snooze_until("tomorrow", now, window) == utc("2027-01-14 10:00")
    assert snooze_until("week", now, window) == utc("2027-01-20 10:00")
    assert snooze_until("hour", utc("2027-01-13 20:30"), window) == utc("2027-01-14 08:00")
    # Friday's "tomorrow" and Saturday's "next week" with weekdays only: Monday at 10:00, as
    # promised, not the window's 08:00 start.
    assert snooze_until("tomorrow", utc("2027-01-15 15:00"), window) == utc("2027-01-18 10:00")
    assert snooze_until("week", utc("2027-01-16 11:00"), window) == utc("2027-01-25 10:00")
    every_day = Window(LONDON, weekdays_only=False)
    assert snooze_until("tomorrow", utc("2027-01-15 15:00"), every_day) == utc("2027-01-16 10:00")


@pytest.mark.parametrize(
    ("zone", "day"),
    [("Europe/London", "2027-10-31"), ("Africa/Casablanca", "2027-02-07")],
)
def test_moving_into_the_window_never_goes_back_in_a_repeated_hour(zone: str, day: str) -> None:
    # A window that starts inside an hour that happens twice: an instant in the second
    # occurrence, before the start, must not move to the (earlier) first occurrence.
    tz = ZoneInfo(zone)
    start = datetime.fromisoformat(f"{day} 00:00").replace(tzinfo=UTC) - timedelta(hours=6)
    for window_start in (time(1, 30), time(2, 15), time(2, 45)):
        window = Window(tz, start=window_start, end=time(21, 0), weekdays_only=False)
        for minute in range(0, 18 * 60, 5):
            instant = start + timedelta(minutes=minute)
            moved = move_into_window(instant, window)
            assert moved >= instant, (window_start, instant, moved)
            local = moved.astimezone(tz).time()
            assert window_start <= local < time(21, 0) or moved == instant


def test_the_fold_example_from_the_report() -> None:
    window = Window(LONDON, start=time(1, 30), end=time(21, 0), weekdays_only=False)
    # 01:10Z is 01:10 GMT, the second 01:10 of the night: the window opens at 01:30 GMT.
    assert move_into_window(utc("2027-10-31 01:10"), window) == utc("2027-10-31 01:30")


def test_a_window_without_10_00_gets_those_steps_at_its_start() -> None:
    evening = Window(LONDON, start=time(18, 0), end=time(23, 0))
    assert evening.aim == time(18, 0)
    logged = utc("2027-01-13 14:00")  # Wednesday
    thank_you = thank_you_due(logged, evening)
    feedback = feedback_request_due(logged, evening, 1, thank_you)
    assert thank_you == utc("2027-01-13 18:00")
    assert feedback == utc("2027-01-14 18:00")  # the next day at the window's start, not later
    assert check_in_due(feedback, evening) == utc("2027-01-21 18:00")
    early = Window(LONDON, start=time(6, 0), end=time(9, 0))
    assert feedback_request_due(logged, early, 1) == utc("2027-01-14 06:00")  # same day
    assert snooze_until("tomorrow", utc("2027-01-13 20:00"), evening) == utc("2027-01-14 18:00")
    assert Window(LONDON).aim == time(10, 0)


def test_the_feedback_request_keeps_two_hours_from_the_thank_you() -> None:
    evening = Window(LONDON, start=time(18, 0), end=time(23, 0))
    logged = utc("2027-01-13 21:30")  # the thank-you waits for Thursday 18:00
    thank_you = thank_you_due(logged, evening)
    assert thank_you == utc("2027-01-14 18:00")
    assert feedback_request_due(logged, evening, 1, thank_you) == utc("2027-01-14 20:00")
    assert feedback_request_due(logged, evening, 1) == utc("2027-01-14 18:00")  # none planned


@pytest.mark.parametrize(
    ("logged", "thank_you", "feedback", "check_in"),
    [
        # Wednesday afternoon: a day apart at 14:00, whatever the person's zone.
        ("2027-01-13 14:00", "2027-01-14 14:00", "2027-01-15 14:00", "2027-01-22 14:00"),
        # Friday late (UTC): weekdays only, so Monday and Tuesday at 22:30.
        ("2027-01-15 22:30", "2027-01-18 22:30", "2027-01-19 22:30", "2027-01-26 22:30"),
        # Just before and just after midnight UTC.
        ("2027-01-13 23:59", "2027-01-14 23:59", "2027-01-15 23:59", "2027-01-22 23:59"),
        ("2027-01-14 00:00", "2027-01-15 00:00", "2027-01-18 00:00", "2027-01-25 00:00"),
    ],
)
def test_without_a_zone_every_step_lands_at_the_time_of_day_of_the_log(
    logged: str, thank_you: str, feedback: str, check_in: str
) -> None:
    window = anchored_window(utc(logged), weekdays_only=True)
    thank_you_at = thank_you_due(utc(logged), window)
    feedback_at = feedback_request_due(utc(logged), window, 1, thank_you_at)
    assert (thank_you_at, feedback_at, check_in_due(feedback_at, window)) == (
        utc(thank_you),
        utc(feedback),
        utc(check_in),
    )
    # Its dates are the UTC dates: a log on Wednesday counts days from Wednesday.
    assert utc(logged).astimezone(window.zone).date() == utc(logged).date()


def test_without_a_zone_snoozes_and_pauses_keep_the_time_of_day() -> None:
    pressed = utc("2027-01-13 07:15")
    window = anchored_window(pressed, weekdays_only=True)
    assert snooze_until("tomorrow", pressed, window) == utc("2027-01-14 07:15")
    assert snooze_until("week", pressed, window) == utc("2027-01-20 07:15")
    assert move_into_window(utc("2027-01-15 12:00"), window) == utc("2027-01-18 07:15")


def entry(stage: Stage, interviewer: str | None = None, *, rejected: str = "2027-01-13") -> Entry:
    return Entry(
        id=1,
        user_id=1,
        number=1,
        guild_id=None,
        company="Acme",
        role=None,
        stage=stage,
        rejected_on=datetime.fromisoformat(rejected).date(),
        interviewer=interviewer,
        notes=None,
        feedback_status=FeedbackStatus.NOT_ASKED,
        feedback_summary=None,
        feedback_theme=None,
        created_at=int(utc("2027-01-13 14:00").timestamp() * 1000),
        updated_at=0,
    )


@pytest.mark.parametrize(
    ("stage", "interviewer", "thank_you"),
    [
        (Stage.APPLICATION, None, "no_conversation"),
        (Stage.APPLICATION, "Sam", "no_conversation"),
        (Stage.SCREEN, None, None),
        (Stage.ASSESSMENT, None, "no_interviewer"),
        (Stage.ASSESSMENT, "Sam", None),
        (Stage.INTERVIEW, None, None),
        (Stage.FINAL, None, None),
        (Stage.OFFER, None, None),
        (Stage.OTHER, None, "no_interviewer"),
        (Stage.OTHER, "  ", "no_interviewer"),
        (Stage.OTHER, "Sam", None),
    ],
)
def test_a_thank_you_only_after_a_conversation(
    stage: Stage, interviewer: str | None, thank_you: str | None
) -> None:
    plan = plan_steps(entry(stage, interviewer), FollowUpSettings(timezone="Europe/London"))
    assert plan.not_planned.get("thank_you") == thank_you
    assert ("thank_you" in plan.due) == (thank_you is None)
    assert {"feedback_request", "check_in"} <= set(plan.due)


def test_plan_reasons_for_steps_left_out() -> None:
    london = FollowUpSettings(timezone="Europe/London", check_in=False)
    plan = plan_steps(entry(Stage.INTERVIEW, rejected="2027-01-01"), london)
    assert plan.not_planned == {"thank_you": "thank_you_too_old", "check_in": "off"}
    assert set(plan.due) == {"feedback_request"}
    assert plan_steps(entry(Stage.INTERVIEW, rejected="2026-10-01"), london).too_old
    # Without a thank-you the feedback request keeps its usual time.
    application = plan_steps(entry(Stage.APPLICATION), FollowUpSettings(timezone="Europe/London"))
    assert application.due["feedback_request"] == utc("2027-01-14 10:00")


def test_a_person_without_a_zone_is_planned_by_the_logging_time() -> None:
    plan = plan_steps(entry(Stage.INTERVIEW), FollowUpSettings())
    assert plan.due == {
        "thank_you": utc("2027-01-14 14:00"),
        "feedback_request": utc("2027-01-15 14:00"),
        "check_in": utc("2027-01-22 14:00"),
    }
    fixed = plan_steps(entry(Stage.INTERVIEW), FollowUpSettings(timezone="UTC+05:30"))
    assert fixed.due["feedback_request"] == datetime(2027, 1, 14, 10, tzinfo=resolve("UTC+05:30"))
