"""Rules for entries without Discord: dates, validation, stats, safe text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from bot.entries import (
    CONFIRMATION_SECONDS,
    DataMark,
    Entry,
    FeedbackStatus,
    FeedbackTheme,
    Stage,
    check_page,
    compute_stats,
    last_months,
    parse_entry_date,
    validate_new_entry,
)
from bot.errors import UserError
from bot.limits import (
    ENTRY_NUMBER_MAX,
    FOLLOW_UP_NUMBER_MAX,
    PAGE_MAX,
    ROW_ID_MAX,
    check_entry_number,
    check_follow_up_number,
    check_page_number,
)
from bot.rejection_log import spreadsheet_cell
from bot.text import defuse_mentions, safe, truncate
from cogs.privacy import DeleteEverythingButton
from cogs.rejections import DeleteEntryButton

TODAY = date(2027, 3, 24)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, TODAY),
        ("", TODAY),
        ("today", TODAY),
        ("  Today ", TODAY),
        ("yesterday", date(2027, 3, 23)),
        ("1 day ago", date(2027, 3, 23)),
        ("3 days ago", date(2027, 3, 21)),
        ("365 days ago", date(2026, 3, 24)),
        ("2027-03-24", TODAY),
        ("2000-01-01", date(2000, 1, 1)),
    ],
)
def test_dates_people_type(text: str | None, expected: date) -> None:
    assert parse_entry_date(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2027-03-25", "in the future"),
        ("1999-12-31", "2000-01-01"),
        ("0 days ago", "use 1 to 365 days ago, or a date like 2027-03-23"),
        ("366 days ago", "use 1 to 365 days ago"),
        ("2027-02-30", "couldn't read"),
        ("next tuesday", "couldn't read"),
        ("24/03/2027", "couldn't read"),
    ],
)
def test_bad_dates_say_why(text: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_entry_date(text, TODAY)
    assert message in caught.value.message


def test_validation_trims_and_limits() -> None:
    fields = validate_new_entry(
        company="  Acme  ",
        role="  ",
        stage=None,
        date_text=None,
        interviewer=" Sam ",
        notes=None,
        today=TODAY,
    )
    assert fields.company == "Acme"
    assert fields.role is None
    assert fields.stage is Stage.INTERVIEW
    assert fields.interviewer == "Sam"
    for field, value in (("company", "   "), ("company", "x" * 101), ("notes", "n" * 1001)):
        options = {
            "company": "Acme",
            "role": None,
            "stage": None,
            "date_text": None,
            "interviewer": None,
            "notes": None,
            field: value,
        }
        with pytest.raises(UserError):
            validate_new_entry(**options, today=TODAY)  # type: ignore[arg-type]
    assert (
        validate_new_entry(
            company="c" * 100,
            role="r" * 100,
            stage="final",
            date_text=None,
            interviewer="i" * 100,
            notes="n" * 1000,
            today=TODAY,
        ).stage
        is Stage.FINAL
    )


def test_page_bounds() -> None:
    check_page(1, 0)
    check_page(3, 21)
    with pytest.raises(UserError, match="no page 4"):
        check_page(4, 21)
    with pytest.raises(UserError, match="no page 0"):
        check_page(0, 5)


def make_entry(number: int, **overrides: object) -> Entry:
    values: dict[str, object] = {
        "id": number,
        "user_id": 1,
        "number": number,
        "guild_id": None,
        "company": "Acme",
        "role": None,
        "stage": Stage.INTERVIEW,
        "rejected_on": TODAY,
        "interviewer": None,
        "notes": None,
        "feedback_status": FeedbackStatus.NOT_ASKED,
        "feedback_summary": None,
        "feedback_theme": None,
        "created_at": 0,
        "updated_at": 0,
    }
    values.update(overrides)
    return Entry(**values)  # type: ignore[arg-type]


def test_stats() -> None:
    entries = [
        make_entry(1, stage=Stage.SCREEN, rejected_on=date(2026, 4, 1)),
        make_entry(2, feedback_status=FeedbackStatus.ASKED),
        make_entry(
            3, feedback_status=FeedbackStatus.RECEIVED, feedback_theme=FeedbackTheme.TECHNICAL
        ),
        make_entry(
            4, feedback_status=FeedbackStatus.RECEIVED, feedback_theme=FeedbackTheme.TECHNICAL
        ),
        make_entry(
            5, feedback_status=FeedbackStatus.DECLINED, feedback_theme=FeedbackTheme.NONE_GIVEN
        ),
        make_entry(
            6, stage=Stage.FINAL, rejected_on=date(2025, 1, 1), feedback_theme=FeedbackTheme.FIT
        ),
    ]
    stats = compute_stats(entries, TODAY)
    assert stats.total == 6
    assert dict(stats.by_stage) == {Stage.SCREEN: 1, Stage.INTERVIEW: 4, Stage.FINAL: 1}
    months = dict(stats.by_month)
    assert len(months) == 12
    assert months["2027-03"] == 4
    assert months["2026-04"] == 1
    assert "2025-01" not in months
    assert (stats.asked, stats.received) == (4, 2)
    assert stats.asked_rate == pytest.approx(4 / 6)
    assert stats.received_rate == pytest.approx(0.5)
    assert stats.top_themes == [(FeedbackTheme.TECHNICAL, 2), (FeedbackTheme.FIT, 1)]


def test_last_months_cross_the_year() -> None:
    assert last_months(date(2027, 2, 10), 3) == ["2026-12", "2027-01", "2027-02"]


def test_text_is_made_safe() -> None:
    dangerous = "@everyone <@&123> <@456> @here **bold**"
    cleaned = safe(dangerous, 200)
    for mention in ("@everyone", "@here", "<@&123>", "<@456>"):
        assert mention not in cleaned
    assert "\\*\\*bold\\*\\*" in cleaned
    assert defuse_mentions("a@b") != "a@b"
    assert truncate("abcdef", 4) == "abc…"
    assert len(truncate("x" * 5000, 1024)) == 1024


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_a_spreadsheet_would_run_get_a_quote(start: str) -> None:
    assert spreadsheet_cell(f"{start}1+1") == f"'{start}1+1"


@pytest.mark.parametrize("value", ["Acme", "a=b", " =1", "", None, 3, "'quoted"])
def test_other_csv_cells_are_kept(value: object) -> None:
    assert spreadsheet_cell(value) == value


@pytest.mark.parametrize(
    ("check", "high"),
    [
        (check_entry_number, ENTRY_NUMBER_MAX),
        (check_page_number, PAGE_MAX),
        (check_follow_up_number, FOLLOW_UP_NUMBER_MAX),
    ],
)
def test_numbers_outside_their_bounds_are_refused_before_any_lookup(
    check: Callable[[int], None], high: int
) -> None:
    check(1)
    check(high)
    for value in (0, -1, high + 1, 2**63, -(2**63) - 1):
        with pytest.raises(UserError, match=f"from 1 to {high:,}"):
            check(value)
    assert high <= 2**53 - 1  # the largest integer a Discord option can carry


def test_a_delete_everything_question_is_good_for_five_minutes_either_way() -> None:
    mark = DataMark(asked_at=1_000_000, person_since=0, last_entry_id=0)
    assert mark.is_current(1_000_000)
    assert mark.is_current(1_000_000 + CONFIRMATION_SECONDS)
    assert mark.is_current(1_000_000 - CONFIRMATION_SECONDS)
    assert not mark.is_current(1_000_000 + CONFIRMATION_SECONDS + 1)
    assert not mark.is_current(1_000_000 - CONFIRMATION_SECONDS - 1)


def test_confirmation_custom_ids_fit_discords_limit_at_their_largest() -> None:
    largest_user = 2**64 - 1
    mark = DataMark(asked_at=2**33, person_since=2**43, last_entry_id=ROW_ID_MAX)
    buttons = [
        DeleteEverythingButton(largest_user, mark, "yes"),
        DeleteEntryButton(largest_user, ROW_ID_MAX, "yes"),
    ]
    for button in buttons:
        assert len(button.custom_id) <= 100
        match = button.template.match(button.custom_id)
        assert match is not None
        assert type(button).from_match(match).custom_id == button.custom_id
