"""Bounds of the numbers people give commands.

Discord enforces them from the synced command tree (`app_commands.Range`); the core checks
them again before any SQL, because a value can arrive anyway (a stale sync, an old client, a
forged request) and SQLite refuses integers beyond 64 bits with an error, not an answer.
"""

from __future__ import annotations

from bot import templates
from bot.errors import UserError

# At most 30 new entries a day (bot.entries.DAILY_LIMIT) is under 11,000 numbers a year, so
# a person reaches #1,000,000 after about 90 years of the busiest logging allowed.
ENTRY_NUMBER_MAX = 1_000_000
# 5,000 kept entries are 500 pages of 10, and a server's tips far fewer: 10,000 never binds.
PAGE_MAX = 10_000
# A follow-up's number is its row id, shared by every scheduled row of every person and never
# reused, so it only grows; the bound is Discord's largest integer option (2**53 - 1), far
# below SQLite's 2**63 - 1.
FOLLOW_UP_NUMBER_MAX = 2**53 - 1
# SQLite's largest INTEGER; a larger id read back from a custom_id names no row.
ROW_ID_MAX = 2**63 - 1

# Lengths of short text options, declared in the command tree so Discord refuses more before
# anything is sent. Each leaves room beyond its longest valid value: the reply to a value that
# is merely wrong explains the format, which a length error cannot.
TIME_TEXT_MAX = 8  # HH:MM
ZONE_TEXT_MAX = 64  # IANA names reach 32 characters (America/Argentina/ComodRivadavia)
PAUSE_TEXT_MAX = 40  # YYYY-MM-DD HH:MM, or "3 days"
TIP_ID_TEXT_MAX = 12  # "63", "s12"


def _check(value: int, high: int, sentence: str) -> None:
    if not 1 <= value <= high:
        raise UserError(templates.fill(sentence, value=value, high=high))


def check_entry_number(number: int) -> None:
    _check(number, ENTRY_NUMBER_MAX, templates.ENTRY_NUMBER_OUT_OF_RANGE)


def check_page_number(page: int) -> None:
    _check(page, PAGE_MAX, templates.PAGE_OUT_OF_RANGE)


def check_follow_up_number(number: int) -> None:
    _check(number, FOLLOW_UP_NUMBER_MAX, templates.FOLLOW_UP_NUMBER_OUT_OF_RANGE)


def fits_a_row(value: int) -> bool:
    """Whether `value` (from a custom_id) can be compared with stored ids without an error."""
    return 0 <= value <= ROW_ID_MAX
