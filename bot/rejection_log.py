"""The rejection log: what the /rejection and /privacy commands ask of the core.

Other features (follow-ups) subscribe to its events instead of the log knowing about them.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sqlite3
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from bot import templates
from bot.clock import Clock
from bot.db import Database
from bot.db import entries as entry_store
from bot.db.connection import now_ms
from bot.db.jobs import NewJob
from bot.entries import (
    COMPANY_MAX,
    FEEDBACK_LABELS,
    FEEDBACK_SUMMARY_MAX,
    INTERVIEWER_MAX,
    NOTES_MAX,
    PAGE_SIZE,
    ROLE_MAX,
    STAGE_LABELS,
    THEME_LABELS,
    DataMark,
    Entry,
    EntryFields,
    EntryStats,
    FeedbackStatus,
    FeedbackTheme,
    FieldNamer,
    Stage,
    check_page,
    clean_optional,
    clean_required,
    compute_stats,
    local_today,
    parse_entry_date,
    parse_stage,
    validate_new_entry,
)
from bot.errors import NotFound, UserError
from bot.limits import check_entry_number, check_page_number, fits_a_row
from bot.text import one_line, truncate
from bot.zones import resolve

log = logging.getLogger("nextround.entries")


EntryListener = Callable[[Entry], Awaitable[None]]
# Returns a line for the person's reply (what else changed), or None.
FeedbackListener = Callable[[Entry], Awaitable[str | None]]
EXPORT_JSON = "nextround-export.json"
EXPORT_CSV = "nextround-export.csv"
EXPORT_ZIP = "nextround-export.zip"
EXPORT_VERSION = 2  # 2: times ISO 8601 with offset everywhere, ids as strings, drafts
# Each code has its label beside it, so the file reads without this program.
CSV_COLUMNS = (
    "number",
    "company",
    "role",
    "stage",
    "stage_label",
    "rejected_on",
    "interviewer",
    "notes",
    "feedback_status",
    "feedback_status_label",
    "feedback_summary",
    "feedback_theme",
    "feedback_theme_label",
    "logged_at",
    "updated_at",
)
# One format for every time (ISO 8601 with its UTC offset); ids, Discord's and ours, as strings
# so no spreadsheet or JavaScript rounds them; counts and entry numbers stay numbers.
EXPORT_TIMES = frozenset(
    {"created_at", "updated_at", "due_at", "finished_at", "expires_at", "paused_until"}
)
EXPORT_FLAGS = frozenset(
    {"weekdays_only", "thank_you", "feedback_request", "check_in", "paused_indefinitely"}
)


def zone_of(name: str | None) -> tzinfo:
    return resolve(name)


def not_found(number: int) -> NotFound:
    # The same sentence whether the number does not exist or belongs to someone else.
    return NotFound(templates.fill(templates.ENTRY_NOT_FOUND, number=number))


def iso_from_ms(value: int | None) -> str | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value / 1000, UTC).isoformat(timespec="seconds")


@dataclass(slots=True)
class EntryEvents:
    """Hooks for features that react to entries (follow-ups plan and cancel their DMs)."""

    logged: list[EntryListener] = field(default_factory=list)
    changed: list[EntryListener] = field(default_factory=list)
    deleted: list[EntryListener] = field(default_factory=list)
    feedback_changed: list[FeedbackListener] = field(default_factory=list)
    # Called once the person's own rows are gone (the confirmation proved current).
    person_deleted: list[Callable[[int], Awaitable[dict[str, int]]]] = field(default_factory=list)

    @staticmethod
    async def emit(listeners: list[EntryListener], entry: Entry) -> None:
        for listener in listeners:
            try:
                await listener(entry)
            except Exception:
                # The entry itself is saved; a listener failing must not undo that for the user.
                log.exception("entry listener %r failed for entry %d", listener, entry.id)

    @staticmethod
    async def collect(listeners: list[FeedbackListener], entry: Entry) -> list[str]:
        """Like `emit`, gathering the lines listeners return for the reply."""
        lines: list[str] = []
        for listener in listeners:
            try:
                line = await listener(entry)
            except Exception:
                log.exception("entry listener %r failed for entry %d", listener, entry.id)
                continue
            if line:
                lines.append(line)
        return lines


@dataclass(frozen=True, slots=True)
class FeedbackRecorded:
    """The entry with its new feedback, and what else that changed (cancelled follow-ups)."""

    entry: Entry
    notes: list[str]


@dataclass(frozen=True, slots=True)
class LoggedEntry:
    """A new entry with what was planned for it, so the reply needs no second read."""

    entry: Entry
    planned: list[NewJob] | None = None  # None: not known here, read it back if needed
    person: sqlite3.Row | None = None


# Given the person's row and "now", returns the planner of rows for one new entry. It runs
# inside the entry's transaction on the database thread, so it must be pure.
EntryPlan = Callable[[Entry], list[NewJob]]
EntryPlanner = Callable[[sqlite3.Row | None, int], EntryPlan]


class RejectionLog:
    def __init__(self, database: Database, clock: Clock) -> None:
        self.database = database
        self.clock = clock
        self.events = EntryEvents()
        # Plans timeline rows for a new entry, inserted in the entry's own transaction so an
        # entry never exists without its follow-ups (set by the follow-up feature).
        self.planner: EntryPlanner | None = None
        self.on_planned: Callable[[int], None] | None = None  # told the earliest new due time

    async def zone_for(self, user_id: int) -> tzinfo:
        return zone_of(await entry_store.person_timezone(self.database, user_id))

    async def today_for(self, user_id: int) -> date:
        return local_today(self.clock.now(), await self.zone_for(user_id))

    async def log_entry(
        self,
        user_id: int,
        guild_id: int | None,
        *,
        company: str,
        role: str | None = None,
        stage: str | None = None,
        date_text: str | None = None,
        interviewer: str | None = None,
        notes: str | None = None,
        field: FieldNamer = templates.option,
    ) -> LoggedEntry:
        """`field` names a field in a refusal (a form names its boxes, not options)."""
        now = now_ms(self.clock)
        local_now = self.clock.now()

        def build(person: sqlite3.Row | None) -> tuple[EntryFields, EntryPlan | None, date]:
            zone = zone_of(person["timezone"] if person is not None else None)
            today = local_today(local_now, zone)
            fields = validate_new_entry(
                company=company,
                role=role,
                stage=stage,
                date_text=date_text,
                interviewer=interviewer,
                notes=notes,
                today=today,
                field=field,
            )
            return fields, self.planner(person, now) if self.planner else None, today

        entry, planned, person = await entry_store.create_entry(
            self.database, user_id, guild_id, now, build
        )
        if planned and self.on_planned is not None:
            self.on_planned(min(job.due_at for job in planned))
        await self.events.emit(self.events.logged, entry)
        return LoggedEntry(entry, planned, person)

    async def get(self, user_id: int, number: int) -> Entry:
        check_entry_number(number)
        entry = await entry_store.get_entry(self.database, user_id, number)
        if entry is None:
            raise not_found(number)
        return entry

    async def page(self, user_id: int, page: int) -> tuple[list[Entry], int, int]:
        """One page of entries, newest first, with the page count and the total."""
        check_page_number(page)
        total = await entry_store.count_entries(self.database, user_id)
        if total == 0:
            return [], 1, 0
        check_page(page, total)
        entries = await entry_store.list_entries(
            self.database, user_id, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
        return entries, -(-total // PAGE_SIZE), total

    async def edit(
        self,
        user_id: int,
        number: int,
        *,
        company: str | None = None,
        role: str | None = None,
        stage: str | None = None,
        date_text: str | None = None,
        interviewer: str | None = None,
        notes: str | None = None,
    ) -> Entry:
        check_entry_number(number)
        changes: dict[str, Any] = {}
        option = templates.option
        if company is not None:
            changes["company"] = clean_required(company, option("company"), COMPANY_MAX)
        if role is not None:
            changes["role"] = clean_optional(role, option("role"), ROLE_MAX)
        if stage is not None:
            changes["stage"] = parse_stage(stage).value
        if date_text is not None:
            changes["rejected_on"] = parse_entry_date(
                date_text, await self.today_for(user_id)
            ).isoformat()
        if interviewer is not None:
            changes["interviewer"] = clean_optional(
                interviewer, option("interviewer"), INTERVIEWER_MAX
            )
        if notes is not None:
            changes["notes"] = clean_optional(notes, option("notes"), NOTES_MAX)
        if not changes:
            raise UserError(templates.EDIT_NOTHING)
        entry = await entry_store.update_entry(
            self.database, user_id, number, changes, now_ms(self.clock)
        )
        if entry is None:
            raise not_found(number)
        await self.events.emit(self.events.changed, entry)
        return entry

    async def get_by_id(self, user_id: int, entry_id: int) -> Entry:
        """The entry a button names; its id is never reused, unlike its number."""
        entry = None
        if fits_a_row(entry_id):
            entry = await entry_store.get_owned_entry(self.database, user_id, entry_id)
        if entry is None:
            raise NotFound(templates.fill(templates.ENTRY_GONE))
        return entry

    async def delete(self, user_id: int, entry_id: int) -> Entry:
        entry = None
        if fits_a_row(entry_id):
            entry = await entry_store.delete_entry(self.database, user_id, entry_id)
        if entry is None:
            raise NotFound(templates.fill(templates.ENTRY_GONE))
        await self.events.emit(self.events.deleted, entry)
        return entry

    async def set_feedback(
        self,
        user_id: int,
        number: int,
        status: str,
        summary: str | None = None,
        theme: str | None = None,
    ) -> FeedbackRecorded:
        check_entry_number(number)
        try:
            parsed_status = FeedbackStatus(status)
            parsed_theme = FeedbackTheme(theme) if theme else None
        except ValueError:
            raise UserError(templates.FEEDBACK_BAD_CHOICE) from None
        cleaned_summary = clean_optional(summary, templates.option("summary"), FEEDBACK_SUMMARY_MAX)
        entry = await entry_store.set_feedback(
            self.database,
            user_id,
            number,
            status=parsed_status,
            summary=cleaned_summary,
            theme=parsed_theme,
            now=now_ms(self.clock),
        )
        if entry is None:
            raise not_found(number)
        notes = await self.events.collect(self.events.feedback_changed, entry)
        return FeedbackRecorded(entry, notes)

    async def has_entries(self, user_id: int) -> bool:
        return await entry_store.count_entries(self.database, user_id) > 0

    async def stats(self, user_id: int) -> EntryStats:
        entries = await entry_store.list_entries(self.database, user_id)
        return compute_stats(entries, await self.today_for(user_id))

    async def company_suggestions(self, user_id: int, typed: str) -> list[str]:
        return await entry_store.company_names(self.database, user_id, typed)

    async def number_suggestions(self, user_id: int, typed: str) -> list[tuple[int, str]]:
        """(number, label) of the person's entries for a `number` option, newest first:
        "#3 · Acme · Data analyst · Final round", within Discord's 100 characters."""
        entries = await entry_store.number_suggestions(self.database, user_id, typed[:100])
        return [(entry.number, entry_choice_label(entry)) for entry in entries]

    async def export(self, user_id: int) -> tuple[bytes, bytes]:
        """All of a person's data as (JSON, CSV) bytes, UTF-8 and not ASCII-escaped."""
        tables = await entry_store.person_rows(self.database, user_id)
        entries = await entry_store.list_entries(self.database, user_id)
        entries.reverse()  # oldest first reads naturally in a file
        document: dict[str, Any] = {
            "format": "nextround-export",
            "version": EXPORT_VERSION,
            "user_id": str(user_id),
            "exported_at": iso_from_ms(now_ms(self.clock)),
            "settings": [
                export_row({key: value for key, value in row.items() if key != "user_id"})
                for row in tables["settings"]
            ],
            "entries": [entry_document(entry) for entry in entries],
            "follow_ups": [
                {**export_row(row), "payload": json.loads(row["payload"])}
                for row in tables["follow_ups"]
            ],
            "form_drafts": [
                {**export_row(row), "fields": json.loads(row["fields"])}
                for row in tables["form_drafts"]
            ],
        }
        json_bytes = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for item in document["entries"]:
            row = csv_row(item)
            writer.writerow({column: spreadsheet_cell(row.get(column)) for column in CSV_COLUMNS})
        return json_bytes, buffer.getvalue().encode("utf-8")

    async def data_mark(self, user_id: int) -> DataMark:
        """What a confirmation to delete everything is asked about, for `delete_everything`."""
        since, last = await entry_store.data_mark(self.database, user_id)
        return DataMark(int(self.clock.timestamp()), since, last)

    async def delete_everything(self, user_id: int, mark: DataMark) -> dict[str, int]:
        """Deletes all of a person's data, if nothing was added since they were asked."""
        if not mark.is_current(self.clock.timestamp()):
            raise UserError(
                templates.CONFIRMATION_OUT_OF_DATE.format(
                    command=templates.command("privacy delete")
                )
            )
        if not (fits_a_row(mark.person_since) and fits_a_row(mark.last_entry_id)):
            raise UserError(templates.fill(templates.PRIVACY_DELETE_CHANGED))
        counts = await entry_store.delete_person(
            self.database, user_id, unchanged_since=(mark.person_since, mark.last_entry_id)
        )
        if counts is None:
            raise UserError(templates.fill(templates.PRIVACY_DELETE_CHANGED))
        # Other features' data goes once the confirmation has proved current.
        for listener in self.events.person_deleted:
            counts.update(await listener(user_id))
        return counts


# A spreadsheet runs a cell starting with one of these as a formula (=HYPERLINK(...) opens a
# link); OWASP's advice for CSV files is to put a single quote in front.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


CHOICE_NAME_MAX = 100  # Discord's limit for an autocomplete choice's name


def entry_choice_label(entry: Entry) -> str:
    stage = STAGE_LABELS[entry.stage]
    role = (
        templates.ENTRY_CHOICE_ROLE.format(role=truncate(one_line(entry.role), 30))
        if entry.role
        else ""
    )
    # The company gets what the number, role and stage leave of the 100 characters.
    rest = templates.ENTRY_CHOICE.format(number=entry.number, company="", role=role, stage=stage)
    company = truncate(one_line(entry.company), max(10, CHOICE_NAME_MAX - len(rest)))
    label = templates.ENTRY_CHOICE.format(
        number=entry.number, company=company, role=role, stage=stage
    )
    return truncate(label, CHOICE_NAME_MAX)


def spreadsheet_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text; the JSON export keeps the exact value."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def export_row(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row as the export shows it: `EXPORT_TIMES` as ISO times, ids as strings."""
    shown: dict[str, Any] = {}
    for key, value in row.items():
        if key in EXPORT_TIMES:
            shown[key] = iso_from_ms(value)
        elif key in EXPORT_FLAGS:
            shown[key] = bool(value)
        elif (key == "id" or key.endswith("_id")) and value is not None:
            shown[key] = str(value)
        else:
            shown[key] = value
    return shown


def csv_row(item: dict[str, Any]) -> dict[str, Any]:
    """An exported entry with a label beside each code."""
    theme = item.get("feedback_theme")
    return {
        **item,
        "stage_label": STAGE_LABELS[Stage(item["stage"])],
        "feedback_status_label": FEEDBACK_LABELS[FeedbackStatus(item["feedback_status"])],
        "feedback_theme_label": THEME_LABELS[FeedbackTheme(theme)] if theme else None,
    }


def entry_document(entry: Entry) -> dict[str, Any]:
    data = asdict(entry)
    data.pop("id")
    data.pop("user_id")
    return {
        **data,
        "guild_id": str(entry.guild_id) if entry.guild_id else None,
        "stage": entry.stage.value,
        "rejected_on": entry.rejected_on.isoformat(),
        "feedback_status": entry.feedback_status.value,
        "feedback_theme": entry.feedback_theme.value if entry.feedback_theme else None,
        "logged_at": iso_from_ms(data.pop("created_at")),
        "updated_at": iso_from_ms(entry.updated_at),
    }


def package_export(
    json_bytes: bytes, csv_bytes: bytes, upload_limit: int
) -> list[tuple[str, bytes]]:
    """The two files, or one zip when they are too large together, or nothing if still too large."""
    if len(json_bytes) + len(csv_bytes) <= upload_limit:
        return [(EXPORT_JSON, json_bytes), (EXPORT_CSV, csv_bytes)]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(EXPORT_JSON, json_bytes)
        archive.writestr(EXPORT_CSV, csv_bytes)
    packed = buffer.getvalue()
    if len(packed) <= upload_limit:
        return [(EXPORT_ZIP, packed)]
    return []
