"""Every template renders with its longest likely values: no field left unfilled, nothing over
the Discord limit of the place it is shown, and command mentions only where they render."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import templates
from bot.tip_library import TITLE_MAX

REPO = Path(__file__).resolve().parent.parent

# The longest value a caller passes for each field (user text as the callers cut it).
SAMPLES: dict[str, object] = {
    "aim": "10:00",
    "asked": 5000,
    "asked_rate": 1.0,
    "at": 99_999_999_999,
    "backlog": 200,
    "bar": "▇" * 20,
    "button": templates.FORM_RETRY,
    "channel": "<#1234567890123456789>",
    "check_in": templates.SETTINGS_OFF,
    "cities": "Sydney, Perth or Adelaide",
    "city": "Rio de Janeiro",
    "country": "United States",
    "choices": "Application, Phone or recruiter screen, Assessment or technical test, "
    "Interview, Final round, Offer stage and Other",
    "command": "</rejection delete:1234567890123456789>",
    "company": "C" * 100,
    "count": 5000,
    "date": "2027-03-24",
    "day": "2027-03-31",
    "day_word": "business days",
    "days": 365,
    "delay": 14,
    "description": "D" * 100,
    "draft_minutes": 60,
    "due": 99_999_999_999,
    "earliest": "2000-01-01",
    "entry": "#1000000 " + "C" * 60,
    "end": "21:00",
    "example": "2027-03-23",
    "feedback": "declined to give",
    "feedback_request": templates.SETTINGS_OFF,
    "field": "`interviewer:`",
    "first": 99_999_999_999,
    "follow_up_days": 30,
    "high": 2**53 - 1,
    "id": "9007199254740991",
    "items": "thank-you note <t:99999999999:R>, feedback request <t:99999999999:R>, "
    "check-in <t:99999999999:R>",
    "label": "L" * 45,
    "length": 6000,
    "limit": 5000,
    "limit_mib": 25.0,
    "link": "https://discord.com/channels/1234567890123456789/1234567890123456789/"
    "1234567890123456789",
    "low": 20,
    "marks": " · *next, hidden, posted as #1000000*",
    "minutes": 60,
    "month": "Sep 2027",
    "name": "N" * 100,
    "next": 99_999_999_999,
    "number": 1_000_000,
    "page": 10_000,
    "pages": "10,000 pages",
    "offset": "UTC−09:30",
    "paused": "Paused until you run </followups resume:1234567890123456789>.",
    "permissions": templates.tip_permission_names(list(templates.TIPS_PERMISSION_LABELS)),
    "problem": "P" * 600,
    "read_as": "EST → America/New_York, follows summer time",
    "reason": "R" * 150,
    "received": 5000,
    "received_rate": 1.0,
    "recent": 30,
    "role": "R" * 100,
    "server_days": 30,
    "skipped": 99_999_999_999,
    "slot": 99_999_999_999,
    "stage": "Assessment or technical test",
    "start": "08:00",
    "state": "not delivered: " + "R" * 150,
    "status": "S" * 200,
    "steps": "feedback request and check-in",
    "suggestion": "America/Argentina/ComodRivadavia",
    "summary": templates.PRIVACY_SUMMARY,
    "summer": templates.ZONE_NO_SUMMER,
    "text": "T" * 40,
    "thank_you": templates.SETTINGS_OFF,
    "the_role": "the " + "R" * 100 + " role",
    "time": "23:59",
    "timezone": "America/Argentina/ComodRivadavia",
    "tip": "s123456789",
    "typed": "T" * 64,
    "title": "T" * 100,
    "total": "5,000 entries",
    "until": " until <t:99999999999:F>",
    "url": "https://github.com/nextround-bot/nextround",
    "value": 2**53 - 1,
    "version": "10.20.30.dev4",
    "wait": "3,600 seconds",
    "weekday": "Wednesday",
    "weekdays": templates.SETTINGS_WEEKDAYS,
    "when": "<t:99999999999:F> (<t:99999999999:R>)",
    "where": max(templates.DM_WHERE_APP, templates.DM_WHERE_SERVER, key=len),
    "who": "W" * 100,
    "window_end": "21:00",
    "window_start": "08:00",
    "zone": "Z" * 60,
}

# Where a caller passes less than the general sample.
OVERRIDES: dict[str, dict[str, object]] = {
    "TIP_THREAD_NAME": {"title": "T" * TITLE_MAX},  # a stored title, before `truncate`
}
# Modules that take a template and fill it themselves (`bot.limits._check`).
FILLS_WHAT_IT_IS_GIVEN = ("bot/limits.py",)

# Where each non-message template is shown, and Discord's limit there; anything else is
# message content (2,000 characters) or an embed description (4,096), so 2,000 holds for it.
MODAL_TITLE, LABEL, BUTTON, SELECT_PLACEHOLDER, INPUT_PLACEHOLDER = 45, 45, 80, 150, 100
EMBED_TITLE, FIELD_NAME, FIELD_VALUE, FOOTER, THREAD_NAME = 256, 256, 1024, 2048, 100
LIMITS = {
    "TIP_LOG_FORM_TITLE": MODAL_TITLE,
    "TIPS_ADD_MODAL_TITLE": MODAL_TITLE,
    "TIPS_EDIT_MODAL_TITLE": MODAL_TITLE,
    **dict.fromkeys(
        (
            "TIP_LOG_COMPANY",
            "TIP_LOG_ROLE",
            "TIP_LOG_STAGE",
            "TIP_LOG_DATE",
            "TIP_LOG_NOTES",
            "LOG_FORM_INTERVIEWER",
            "TIPS_FIELD_TITLE",
            "TIPS_FIELD_BODY",
        ),
        LABEL,
    ),
    **dict.fromkeys(
        (
            "PREVIOUS",
            "NEXT",
            "DELETE_YES",
            "DELETE_NO",
            "PRIVACY_DELETE_YES",
            "PRIVACY_DELETE_NO",
            "FOLLOW_UP_DONE",
            "FOLLOW_UP_SKIP",
            "FOLLOW_UP_STOP",
            "FOLLOW_UP_SNOOZE_HOUR",
            "FOLLOW_UP_SNOOZE_TOMORROW",
            "FOLLOW_UP_SNOOZE_WEEK",
            "TIP_LOG_BUTTON",
            "FORM_RETRY",
        ),
        BUTTON,
    ),
    "TIP_LOG_STAGE_PLACEHOLDER": SELECT_PLACEHOLDER,
    "TIP_LOG_DATE_PLACEHOLDER": INPUT_PLACEHOLDER,
    "TIPS_FIELD_BODY_PLACEHOLDER": INPUT_PLACEHOLDER,
    "TIP_THREAD_NAME": THREAD_NAME,
    **dict.fromkeys(
        (
            "ENTRY_FIELD_COMPANY",
            "ENTRY_FIELD_ROLE",
            "ENTRY_FIELD_STAGE",
            "ENTRY_FIELD_DATE",
            "ENTRY_FIELD_INTERVIEWER",
            "ENTRY_FIELD_NOTES",
            "ENTRY_FIELD_FEEDBACK",
            "ENTRY_FIELD_FEEDBACK_SUMMARY",
            "ENTRY_FIELD_NEXT",
            "STATS_TOTAL",
            "STATS_BY_STAGE",
            "STATS_BY_MONTH",
            "STATS_FEEDBACK",
            "STATS_THEMES",
            "FOLLOW_UP_OUTCOME",
            "TIPS_STATUS_WHERE",
            "TIPS_STATUS_NEXT",
            "TIPS_STATUS_LAST",
            "TIPS_STATUS_THREADS",
            "TIPS_STATUS_SKIPPED",
            "TIPS_STATUS_PROBLEM",
            "ABOUT_STORED",
            "ABOUT_KEPT",
            "ABOUT_YOUR_DATA",
            "ABOUT_SUMMARY",
        ),
        FIELD_NAME,
    ),
    **dict.fromkeys(
        (
            "NEXT_STEPS_PLANNED",
            "NEXT_STEPS_TOO_OLD",
            "NEXT_STEPS_NONE",
            "NEXT_STEPS_PAUSED",
            "NEXT_STEPS_DEFAULT",
            "STATS_FEEDBACK_LINE",
            "FOLLOW_UP_OUTCOMES",
            "TIPS_STATUS_WHERE_LINE",
            "TIPS_STATUS_NEXT_LINE",
            "TIPS_STATUS_LAST_LINE",
            "TIPS_STATUS_SKIP_LINE",
            "TIPS_STATUS_PROBLEM_LINE",
            "TIPS_STATUS_PAUSED",
            "TIPS_STATUS_LEFT",
            "TIPS_STATUS_STOPPED",
            "TIPS_STATUS_NONE",
            "ABOUT_STORED_TEXT",
            "ABOUT_KEPT_TEXT",
            "ABOUT_YOUR_DATA_TEXT",
            "ABOUT_SUMMARY_TEXT",
        ),
        FIELD_VALUE,
    ),
    # The Developer Portal takes an app description of up to 400 characters.
    "PRIVACY_SUMMARY": 400,
}
# Shown where Discord renders neither markdown nor mentions: plain text only.
PLAIN = re.compile(r"_(TITLE|TITLES|FOOTER|FOOTER_FIRST|FOOTER_NEXT|BUTTON|NAME)$")


def all_templates() -> Iterator[tuple[str, str]]:
    """(name, text) of every template: plain strings, and those inside tuples and dicts."""
    for name, value in vars(templates).items():
        if not name.isupper() or name in ("MONTH_NAMES",):
            continue
        if isinstance(value, str):
            yield name, value
        elif isinstance(value, tuple):
            yield from ((name, item) for item in value if isinstance(item, str))
        elif isinstance(value, dict):
            yield from ((name, item) for item in value.values() if isinstance(item, str))


def limit_of(name: str) -> int:
    if name in LIMITS:
        return LIMITS[name]
    if name.endswith(("_TITLE", "_TITLES")):
        return EMBED_TITLE
    if name.endswith("_FOOTER"):
        return FOOTER
    return 2000


def render(name: str, text: str) -> str:
    samples = {**SAMPLES, **OVERRIDES.get(name, {})}
    fields = {field: samples[field] for field in templates.placeholders(text) if field[:1] != "/"}
    return templates.fill(text, **fields)


TEMPLATES = list(all_templates())


def test_every_field_has_a_sample() -> None:
    missing = {
        field
        for _, text in TEMPLATES
        for field in templates.placeholders(text)
        if field not in SAMPLES and not field.startswith("/")
    }
    assert not missing, f"add samples for {sorted(missing)}"


@pytest.mark.parametrize("known_ids", [False, True], ids=["names", "mentions"])
def test_every_template_renders_whole_and_within_its_limit(known_ids: bool) -> None:
    ids = {top: 1234567890123456789 for top in ("rejection", "followups", "privacy", "tips")}
    templates.remember_command_ids(ids if known_ids else {})
    problems = []
    try:
        for name, text in TEMPLATES:
            rendered = render(name, text)
            if "{" in rendered or "}" in rendered or not rendered.strip():
                problems.append(f"{name}: unfilled: {rendered!r}")
            if len(rendered) > limit_of(name):
                problems.append(
                    f"{name}: {len(rendered)} characters, the limit is {limit_of(name)}"
                )
    finally:
        templates.remember_command_ids({})
    assert len(TEMPLATES) > 250
    assert not problems, "\n".join(problems)


def test_plain_places_get_no_mentions_or_markdown() -> None:
    plain = [
        name
        for name, _ in TEMPLATES
        if PLAIN.search(name) or limit_of(name) in (MODAL_TITLE, BUTTON, SELECT_PLACEHOLDER)
    ]
    assert "HELP_FOOTER_FIRST" in plain and "TIP_LOG_FORM_TITLE" in plain
    marked = [
        name
        for name, text in TEMPLATES
        if name in plain and ("{/" in text or "`" in text or "**" in text)
    ]
    assert not marked


def test_a_template_with_command_mentions_is_always_filled() -> None:
    """A `{/command}` left to `str.format` would raise; left alone it would show as is."""
    with_mentions = {
        name
        for name, text in TEMPLATES
        if any(f.startswith("/") for f in templates.placeholders(text))
    }
    assert "LIST_EMPTY" in with_mentions
    sources = [*REPO.joinpath("bot").rglob("*.py"), *REPO.joinpath("cogs").rglob("*.py")]
    unfilled = []
    for path in sources:
        where = path.relative_to(REPO).as_posix()
        if path.name == "templates.py" or where in FILLS_WHAT_IT_IS_GIVEN:
            continue
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines, 1):
            before = lines[number - 2] if number > 1 else ""
            for match in re.finditer(r"templates\.([A-Z_]+)\b", line):
                filled = "fill(" in line[: match.start()] or before.rstrip().endswith("fill(")
                if match[1] in with_mentions and not filled:
                    unfilled.append(f"{where}:{number}: {match[1]}")
    assert not unfilled


def test_command_mentions_and_their_fallback() -> None:
    templates.remember_command_ids({"rejection": 42})
    try:
        assert templates.command("rejection log") == "</rejection log:42>"
        assert templates.command("privacy export") == "`/privacy export`"
        assert (
            templates.fill("{/rejection list} shows #{n}", n=3) == "</rejection list:42> shows #3"
        )
    finally:
        templates.remember_command_ids({})
    assert templates.fill(templates.LIST_EMPTY).startswith("You haven't")
    assert "`/rejection log`" in templates.fill(templates.LIST_EMPTY)


def test_plurals_and_months() -> None:
    assert templates.plural(1, "entry", "entries") == "1 entry"
    assert templates.plural(1001, "entry", "entries") == "1,001 entries"
    assert templates.plural(2, "page") == "2 pages"
    assert templates.month_label(2026, 1) == "Jan 2026"
    assert templates.month_label(2027, 12) == "Dec 2027"
