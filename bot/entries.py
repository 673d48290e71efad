"""Rules for entries (logged rejections): validation, dates, numbering limits and stats.

Pure functions, testable without Discord or a database; the cog only parses and renders.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum

from bot import templates
from bot.errors import UserError
from bot.text import visible_text

COMPANY_MAX = 100
ROLE_MAX = 100
INTERVIEWER_MAX = 100
NOTES_MAX = 1000
FEEDBACK_SUMMARY_MAX = 500
DAYS_AGO_MAX = 365
EARLIEST_DATE = date(2000, 1, 1)
DATE_TEXT_MAX = 40  # what `date:` may hold; the longest form Discord lets through
# New entries per person per rolling 24 hours. Entries dated more than a week back count
# separately, against a higher limit: someone who starts today can log the search behind them.
DAILY_LIMIT = 30
BACKLOG_DAILY_LIMIT = 200
BACKLOG_AFTER_DAYS = 7
KEPT_LIMIT = 5000  # entries kept per person; the next is refused, nothing is evicted
PAGE_SIZE = 10


class Stage(StrEnum):
    APPLICATION = "application"
    SCREEN = "screen"
    ASSESSMENT = "assessment"
    INTERVIEW = "interview"
    FINAL = "final"
    OFFER = "offer"
    OTHER = "other"


STAGE_LABELS: dict[Stage, str] = {
    Stage.APPLICATION: "Application",
    Stage.SCREEN: "Phone or recruiter screen",
    Stage.ASSESSMENT: "Assessment or technical test",
    Stage.INTERVIEW: "Interview",
    Stage.FINAL: "Final round",
    Stage.OFFER: "Offer stage",
    Stage.OTHER: "Other",
}


# Stages where the person surely spoke with someone at the company. An application had no
# conversation; an assessment or an "other" stage may or may not have (a live technical
# interview, an online test): it counts as one when the person named who they spoke with.
CONVERSATION_STAGES = frozenset({Stage.SCREEN, Stage.INTERVIEW, Stage.FINAL, Stage.OFFER})
MAYBE_CONVERSATION_STAGES = frozenset({Stage.ASSESSMENT, Stage.OTHER})


def had_conversation(stage: Stage, interviewer: str | None) -> bool:
    """Whether there is someone to thank for their time (the thank-you note's premise)."""
    if stage in CONVERSATION_STAGES:
        return True
    return stage in MAYBE_CONVERSATION_STAGES and bool(interviewer and interviewer.strip())


class FeedbackStatus(StrEnum):
    NOT_ASKED = "not_asked"
    ASKED = "asked"
    RECEIVED = "received"
    DECLINED = "declined"
    NO_REPLY = "no_reply"


FEEDBACK_LABELS: dict[FeedbackStatus, str] = {
    FeedbackStatus.NOT_ASKED: "Not asked yet",
    FeedbackStatus.ASKED: "Asked",
    FeedbackStatus.RECEIVED: "Received",
    FeedbackStatus.DECLINED: "Declined to give",
    FeedbackStatus.NO_REPLY: "No reply",
}


class FeedbackTheme(StrEnum):
    EXPERIENCE = "experience"
    EXPLAINING = "explaining"
    TECHNICAL = "technical"
    COMMUNICATION = "communication"
    PRESENCE = "presence"
    PREPARATION = "preparation"
    FIT = "fit"
    NONE_GIVEN = "none_given"
    OTHER = "other"


THEME_LABELS: dict[FeedbackTheme, str] = {
    FeedbackTheme.EXPERIENCE: "Not enough experience",
    FeedbackTheme.EXPLAINING: "Experience not explained well",
    FeedbackTheme.TECHNICAL: "Technical skills",
    FeedbackTheme.COMMUNICATION: "Communication",
    FeedbackTheme.PRESENCE: "Presence and body language",
    FeedbackTheme.PREPARATION: "Preparation",
    FeedbackTheme.FIT: "Team or culture fit",
    FeedbackTheme.NONE_GIVEN: "No reason given",
    FeedbackTheme.OTHER: "Other",
}

# Statuses that mean the person asked for feedback at some point.
ASKED_STATUSES = frozenset(
    {
        FeedbackStatus.ASKED,
        FeedbackStatus.RECEIVED,
        FeedbackStatus.DECLINED,
        FeedbackStatus.NO_REPLY,
    }
)


@dataclass(frozen=True, slots=True)
class EntryFields:
    """Validated values for a new entry (or the changed values of an edit)."""

    company: str
    role: str | None
    stage: Stage
    rejected_on: date
    interviewer: str | None
    notes: str | None


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    user_id: int
    number: int
    guild_id: int | None
    company: str
    role: str | None
    stage: Stage
    rejected_on: date
    interviewer: str | None
    notes: str | None
    feedback_status: FeedbackStatus
    feedback_summary: str | None
    feedback_theme: FeedbackTheme | None
    created_at: int  # UTC Unix ms
    updated_at: int


CONFIRMATION_SECONDS = 5 * 60  # how long a "Delete everything" button stays good


@dataclass(frozen=True, slots=True)
class DataMark:
    """How far a person's data went when they were asked to confirm deleting all of it.

    Carried in the confirmation's buttons, so a press deletes only what the person saw asked
    about: not after a few minutes, and not once something was added (entry ids are never
    reused, and the person's row is created anew after a deletion).
    """

    asked_at: int  # UTC Unix seconds, from the injected clock
    person_since: int  # when the person's row was created (ms); 0 when they had none
    last_entry_id: int  # their newest entry's id; 0 when they had none

    def is_current(self, now: float) -> bool:
        # Either way round: another instance's clock may run a little behind the one that asked.
        return abs(now - self.asked_at) <= CONFIRMATION_SECONDS


# How a sentence names a field: a command option (`notes:`), or a form's box by its label.
FieldNamer = Callable[[str], str]


def clean_required(value: str, field: str, limit: int) -> str:
    """`field` is the field as the sentence names it, e.g. `templates.option("company")`."""
    # Zero-width and blank characters count as nothing, or an entry could look empty.
    text = visible_text(value)
    if not text:
        raise UserError(templates.FIELD_EMPTY.format(field=field))
    if len(text) > limit:
        raise UserError(templates.FIELD_TOO_LONG.format(field=field, length=len(text), limit=limit))
    return text


def clean_optional(value: str | None, field: str, limit: int) -> str | None:
    if value is None:
        return None
    text = visible_text(value)
    if not text:
        return None
    if len(text) > limit:
        raise UserError(templates.FIELD_TOO_LONG.format(field=field, length=len(text), limit=limit))
    return text


def is_backlog(rejected_on: date, today: date) -> bool:
    """Whether an entry counts towards the higher daily limit for older entries."""
    return (today - rejected_on).days > BACKLOG_AFTER_DAYS


def backlog_cutoff(today: date) -> date:
    """Entries dated before this day are older ones (`is_backlog`)."""
    return today - timedelta(days=BACKLOG_AFTER_DAYS)


_DAYS_AGO = re.compile(r"^(\d{1,4})\s*days?\s+ago$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_entry_date(text: str | None, today: date) -> date:
    """`YYYY-MM-DD`, `today`, `yesterday` or `N days ago` (1–365), relative to the person's day."""
    if text is None or not text.strip():
        return today
    value = " ".join(text.strip().lower().split())
    if value == "today":
        return today
    if value == "yesterday":
        return today - timedelta(days=1)
    if match := _DAYS_AGO.match(value):
        days = int(match.group(1))
        if not 1 <= days <= DAYS_AGO_MAX:
            raise UserError(
                templates.DATE_DAYS_AGO_RANGE.format(
                    high=DAYS_AGO_MAX, example=templates.example_date(today)
                )
            )
        return today - timedelta(days=days)
    match = _ISO_DATE.match(value)
    try:
        if match is None:
            raise ValueError(value)
        parsed = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise UserError(
            templates.DATE_UNREADABLE.format(
                text=text.strip()[:40], example=templates.example_date(today)
            )
        ) from None
    if parsed > today:
        raise UserError(templates.DATE_IN_FUTURE.format(date=parsed.isoformat()))
    if parsed < EARLIEST_DATE:
        raise UserError(templates.DATE_TOO_EARLY.format(earliest=EARLIEST_DATE.isoformat()))
    return parsed


def local_today(now: datetime, zone: tzinfo) -> date:
    return now.astimezone(zone).date()


def validate_new_entry(
    *,
    company: str,
    role: str | None,
    stage: str | None,
    date_text: str | None,
    interviewer: str | None,
    notes: str | None,
    today: date,
    field: FieldNamer = templates.option,
) -> EntryFields:
    """`field` names a field in a refusal: the command's option by default, a form its box."""
    return EntryFields(
        company=clean_required(company, field("company"), COMPANY_MAX),
        role=clean_optional(role, field("role"), ROLE_MAX),
        stage=parse_stage(stage) if stage else Stage.INTERVIEW,
        rejected_on=parse_entry_date(date_text, today),
        interviewer=clean_optional(interviewer, field("interviewer"), INTERVIEWER_MAX),
        notes=clean_optional(notes, field("notes"), NOTES_MAX),
    )


def parse_stage(value: str) -> Stage:
    try:
        return Stage(value)
    except ValueError:
        choices = templates.and_list(list(STAGE_LABELS.values()))
        raise UserError(
            templates.STAGE_UNKNOWN.format(field=templates.option("stage"), choices=choices)
        ) from None


def page_count(total: int, page_size: int = PAGE_SIZE) -> int:
    return max(1, -(-total // page_size))


def check_page(page: int, total: int) -> None:
    pages = page_count(total)
    if not 1 <= page <= pages:
        raise UserError(
            templates.LIST_NO_SUCH_PAGE.format(page=page, pages=templates.plural(pages, "page"))
        )


@dataclass(frozen=True, slots=True)
class EntryStats:
    total: int
    by_stage: list[tuple[Stage, int]]
    by_month: list[tuple[str, int]]  # ("2027-03", n), the last 12 months, oldest first
    asked: int
    received: int
    top_themes: list[tuple[FeedbackTheme, int]]

    @property
    def asked_rate(self) -> float:
        return self.asked / self.total if self.total else 0.0

    @property
    def received_rate(self) -> float:
        """Of the entries where feedback was asked, how many got it."""
        return self.received / self.asked if self.asked else 0.0


def last_months(today: date, count: int = 12) -> list[str]:
    months: list[str] = []
    year, month = today.year, today.month
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months[::-1]


def compute_stats(entries: Sequence[Entry], today: date) -> EntryStats:
    stages = Counter(entry.stage for entry in entries)
    months = Counter(entry.rejected_on.strftime("%Y-%m") for entry in entries)
    themes: Counter[FeedbackTheme] = Counter(
        entry.feedback_theme
        for entry in entries
        if entry.feedback_theme is not None and entry.feedback_theme != FeedbackTheme.NONE_GIVEN
    )
    return EntryStats(
        total=len(entries),
        by_stage=[(stage, stages[stage]) for stage in Stage if stages[stage]],
        by_month=[(month, months.get(month, 0)) for month in last_months(today)],
        asked=sum(1 for entry in entries if entry.feedback_status in ASKED_STATUSES),
        received=sum(1 for entry in entries if entry.feedback_status == FeedbackStatus.RECEIVED),
        # Ties break by theme order so the same data always shows the same top 3.
        top_themes=sorted(
            themes.items(), key=lambda item: (-item[1], list(FeedbackTheme).index(item[0]))
        )[:3],
    )
