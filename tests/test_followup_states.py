"""How a follow-up's stored state reads in /followups list: plain words, Discord timestamps."""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from bot.db.followups import FollowUpRow
from bot.followups import FollowUpSettings, choice_label, entry_text, local_time_text, state_text

DUE = 1_805_968_800_000  # Thu 2027-03-25 10:00 UTC
FINISHED = 1_805_904_000_000  # Wed 2027-03-24 16:00 UTC
ROW = FollowUpRow(
    id=137,
    kind="followup:thank_you",
    entry_id=5,
    due_at=DUE,
    state="pending",
    outcome=None,
    finished_at=None,
    snoozed=False,
    company="Acme",
    entry_number=3,
)
SETTINGS = FollowUpSettings()


def finished(state: str, outcome: str | None) -> FollowUpRow:
    return replace(ROW, state=state, outcome=outcome, finished_at=FINISHED)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (ROW, "due <t:1805968800:f> (<t:1805968800:R>)"),
        (replace(ROW, snoozed=True), "snoozed, due <t:1805968800:f> (<t:1805968800:R>)"),
        (
            replace(ROW, outcome="retrying: Discord answered HTTP 503"),
            "delayed by a problem on Discord's side; trying again <t:1805968800:R>",
        ),
        (replace(ROW, state="running"), "sending now"),
        (finished("done", "sent"), "sent <t:1805904000:f>"),
        (finished("done", "sent late"), "sent late, <t:1805904000:f>"),
        (finished("done", "done"), "sent <t:1805904000:f>, marked done"),
        (finished("done", "skipped"), "sent <t:1805904000:f>, skipped"),
        (
            finished("done", "snoozed until 2026-12-01T20:30+00:00"),
            "sent <t:1805904000:f>, snoozed until <t:1796157000:f>",
        ),
        (
            finished("done", "skipped: feedback already asked for"),
            "not sent: you had already asked for feedback",
        ),
        (
            finished("done", "missed: more than 7 days late"),
            "not sent: it was more than 7 days late",
        ),
        (finished("cancelled", "cancelled"), "cancelled"),
        (
            replace(finished("cancelled", "cancelled"), company=None, entry_number=None),
            "cancelled: the entry was deleted",
        ),
        (finished("cancelled", "cancelled by you"), "cancelled by you"),
        (
            finished("cancelled", "cancelled: turned off in settings"),
            "cancelled: turned off in your settings",
        ),
        (
            finished(
                "failed", "the person does not accept direct messages from NextRound (code 50007)"
            ),
            "not delivered: NextRound can't DM you (check with `/followups test`)",  # no ids
        ),
        (
            finished("failed", "Discord refused the request: HTTP 400, code 50035"),
            "not delivered: Discord refused the request: HTTP 400, code 50035",
        ),
        (finished("done", "something new"), "finished <t:1805904000:f>"),
    ],
)
def test_every_stored_state_reads_plainly(row: FollowUpRow, expected: str) -> None:
    assert state_text(row, SETTINGS, FINISHED) == expected


def test_a_pause_until_resumed_holds_what_is_pending() -> None:
    paused = FollowUpSettings(paused_indefinitely=True)
    assert state_text(ROW, paused, FINISHED) == "held until you use `/followups resume`"
    assert state_text(finished("done", "sent"), paused, FINISHED) == "sent <t:1805904000:f>"


def test_a_pause_with_an_end_moves_what_falls_due_in_it() -> None:
    ends = DUE + 86_400_000  # a day later, in allowed time
    paused = FollowUpSettings(paused_until=ends)
    assert state_text(ROW, paused, FINISHED) == "due <t:1806055200:f> (<t:1806055200:R>)"
    assert state_text(ROW, paused, ends) == "due <t:1805968800:f> (<t:1805968800:R>)"


def test_local_times_and_labels_fit_where_timestamps_do_not_render() -> None:
    assert local_time_text(DUE, ZoneInfo("Europe/London")) == "Thu 25 Mar, 10:00 GMT"
    assert local_time_text(DUE, ZoneInfo("America/New_York")) == "Thu 25 Mar, 06:00 EDT"
    assert choice_label(ROW, ZoneInfo("UTC")) == "Thank-you note · #3 Acme · Thu 25 Mar, 10:00 UTC"
    long = replace(ROW, company="A" * 100, kind="followup:feedback_request")
    label = choice_label(long, ZoneInfo("UTC"))
    assert len(label) == 100 and label.endswith("… · Thu 25 Mar, 10:00 UTC")
    assert entry_text(replace(ROW, company="*bold* @here"), markdown=True) == (
        "#3 \\*bold\\* @\u200bhere"
    )
    assert entry_text(replace(ROW, company=None, entry_number=None)) == "a deleted entry"
