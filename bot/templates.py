"""Every sentence a person reads, in one place, so tone (and later translation) is one edit.

Tone: calm, brief, kind; no exclamation streaks; say what happened and what to do next.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import date

# -- command mentions --------------------------------------------------------------------------

# The synced ids of the top-level commands, so replies can carry clickable command mentions.
# Process-wide like discord.py's own API base: one bot runs per process, and it replaces the
# map on every start (an id changes only when a command is deleted and created again).
_command_ids: dict[str, int] = {}


def remember_command_ids(ids: Mapping[str, int]) -> None:
    _command_ids.clear()
    _command_ids.update(ids)


def command(name: str) -> str:
    """A clickable mention of `/name` (e.g. "rejection log"), or the name in code style until
    the command's id is known. Not for embed titles and footers: they render no mentions."""
    command_id = _command_ids.get(name.split(" ", 1)[0])
    return f"</{name}:{command_id}>" if command_id else f"`/{name}`"


class _WithCommands(dict[str, object]):
    def __missing__(self, key: str) -> object:
        if key.startswith("/"):
            return command(key[1:])
        raise KeyError(key)


def fill(template: str, /, **values: object) -> str:
    """`template.format(**values)`, with every `{/group name}` a command mention."""
    return template.format_map(_WithCommands(values))


def placeholders(template: str) -> list[str]:
    """The names of the fields a template expects (command mentions included)."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def option(name: str) -> str:
    """A command option as people type it: `notes:`."""
    return f"`{name}:`"


def plural(count: int, one: str, many: str | None = None) -> str:
    """ "1 entry", "2 entries", "1,000 tips"."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def month_label(year: int, month: int) -> str:
    """ "Jan 2026"."""
    return f"{MONTH_NAMES[month - 1]} {year}"


def example_date(today: date) -> str:
    """A date the person could use right now: yesterday, in their own time zone."""
    return date.fromordinal(today.toordinal() - 1).isoformat()


# Said when we do not know how far the request got, so it claims nothing about what changed.
APOLOGY = (
    "Sorry, something went wrong on our side. Please try again in a minute; "
    "your saved entries are safe."
)
MISSING_PERMISSIONS = "You need the {permissions} permission to use this command."
GUILD_ONLY = "This command works only in a server where NextRound is installed."
NOT_YOUR_BUTTON = "These buttons belong to someone else's message."
NOT_YOUR_MENU = "This menu belongs to someone else's message."
COOLDOWN = "You are going a little fast. Try again in {wait}."
CHECK_FAILED = "You can't use this command here."
BAD_OPTION = "I can't use {value!r} there; please check the value and try again."
PAGE_OUT_OF_RANGE = "There is no page {value}; page numbers go from 1 to {high:,}."

HELP_TITLE = "NextRound commands"
HELP_INTRO = (
    "NextRound keeps a private log of your rejections, reminds you to follow up, "
    "and shares an interview tip each week. Replies to these commands are only visible to you."
)
HELP_EMPTY = "No NextRound commands can be used here."
HELP_LINE = "{command} — {description}"
# Headings in the order a person meets them; admin tools come last.
HELP_SECTIONS = {
    "rejection": "**Your log**",
    "followups": "**Follow-ups by DM**",
    "privacy": "**Your data**",
    "about": "**NextRound**",
    "tips": "**For server admins**",
}
# Footers render no command mentions: plain names.
HELP_FOOTER_FIRST = "Next step: log your first rejection with /rejection log."
HELP_FOOTER_NEXT = "Next step: when you hear back, record it with /rejection feedback."

ABOUT_TITLE = "About NextRound"
ABOUT_DESCRIPTION = (
    "Version {version}. NextRound is open source: {url}\n"
    "Everything personal stays private: replies are only visible to you or come by DM, "
    "and NextRound never pings anyone."
)
ABOUT_STORED = "What is stored"
ABOUT_STORED_TEXT = (
    "For you: the entries you log, your follow-up settings and time zone, the follow-ups "
    "planned for your entries, and the id of your DM channel with NextRound.\n"
    "For a server: the tip schedule, the server's own tips and which tips were posted."
)
ABOUT_KEPT = "For how long"
ABOUT_KEPT_TEXT = (
    "Entries and settings: until you delete them. Follow-ups once sent, skipped, failed or "
    "cancelled: {follow_up_days} days. A form that was refused: {draft_minutes} minutes, so "
    "you can fix it. A server's tip data: {server_days} days after NextRound leaves it."
)
ABOUT_YOUR_DATA = "Export or delete"
ABOUT_YOUR_DATA_TEXT = (
    "{/privacy export} downloads everything NextRound stores about you (JSON and CSV). "
    "{/privacy delete} deletes all of it, everywhere. {/rejection delete} removes one entry."
)
ABOUT_SUMMARY = "Privacy summary (for the Developer Portal)"
ABOUT_SUMMARY_TEXT = (
    "Whoever runs this bot can paste this as the app's description:\n```\n{summary}\n```"
)
# At most 400 characters: the longest description the Developer Portal takes for an app.
PRIVACY_SUMMARY = (
    "NextRound keeps a private rejection log: only you see your entries, in replies visible "
    "to you and in DMs. It stores what you log, your follow-up settings and planned DMs, and "
    "each server's weekly tip schedule. Nothing is shared or sold. /privacy export downloads "
    "your data and /privacy delete erases it; finished follow-ups go after 30 days."
)


def and_list(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def permission_names(permissions: list[str]) -> str:
    names = [name.replace("_", " ").replace("guild", "server").title() for name in permissions]
    return " and ".join(names)


# -- entries ---------------------------------------------------------------------------------

LOGGED_ACKS = (
    "Logged. A no from {company} closes one door; it says nothing final about you.",
    "Saved. Every rejection you log is data for the next round, not a verdict.",
    "Logged. Taking a minute to write this down is already a good habit.",
    "Saved. Rejections are the most common step in any search; you're still moving.",
    "Logged. Be kind to yourself today; the search is a long game.",
)
# {field} is an option in code style (`company:`) or, in a form, the box's name in bold.
FIELD_EMPTY = "Please fill in {field}; spaces and invisible characters alone don't count."
FIELD_TOO_LONG = "Please keep {field} to {limit:,} characters or fewer; it has {length:,} now."
FORM_FIELD = "**{label}**"
DATE_DAYS_AGO_RANGE = "Please use 1 to {high} days ago, or a date like {example}."
DATE_UNREADABLE = (
    "I couldn't read the date {text!r}. Use a date like {example}, or today, yesterday "
    "or 3 days ago."
)
DATE_IN_FUTURE = "{date} is in the future; please use today or an earlier date."
DATE_TOO_EARLY = "Please use a date from {earliest} onwards."
STAGE_UNKNOWN = "Please pick {field} from the list: {choices}."
EDIT_NOTHING = "Add at least one thing to change, like `company:` or `notes:`."
FEEDBACK_BAD_CHOICE = "Please pick `status:` and `theme:` from the lists offered."
ENTRY_NOT_FOUND = "You have no entry #{number}. {/rejection list} shows your entries."
# The two daily limits: recent entries (dated within the last week) and older ones.
LIMIT_RECENT = (
    "You've logged {limit} recent entries in the last 24 hours, the most NextRound takes in a "
    "day. You can log the next one <t:{next}:R>, at <t:{next}:t>. Entries dated more than "
    "{days} days ago count separately (up to {backlog} a day), so older ones can go in now."
)
LIMIT_BACKLOG = (
    "You've logged {limit} entries dated more than {days} days ago in the last 24 hours, the "
    "most NextRound takes in a day for older ones. You can log the next one <t:{next}:R>, at "
    "<t:{next}:t>. Recent entries count separately (up to {recent} a day)."
)
LIMIT_KEPT = (
    "You have {limit:,} entries, the most NextRound keeps. To log more, delete some with "
    "{/rejection delete}, or download everything with {/privacy export} and start afresh "
    "with {/privacy delete}."
)
ENTRY_TITLE = "#{number} · {company}"
ENTRY_FIELD_COMPANY = "Company"
ENTRY_FIELD_ROLE = "Role"
ENTRY_FIELD_STAGE = "Stage"
ENTRY_FIELD_DATE = "Date"
ENTRY_FIELD_INTERVIEWER = "Interviewer"
ENTRY_FIELD_NOTES = "Notes"
ENTRY_FIELD_FEEDBACK = "Feedback"
ENTRY_FIELD_FEEDBACK_SUMMARY = "Feedback summary"
ENTRY_FIELD_NEXT = "What happens next"
NEXT_STEPS_DEFAULT = (
    "When you hear back, record it with {/rejection feedback} `number:{number}`. "
    "See everything with {/rejection list}."
)
ENTRY_NUMBER_OUT_OF_RANGE = (
    "There is no entry #{value}; entry numbers go from 1 to {high:,}. "
    "{/rejection list} shows yours."
)
NOT_SET = "—"
LIST_TITLE = "Your entries"
LIST_EMPTY = "You haven't logged any rejections yet. {/rejection log} takes a few seconds."
LIST_FOOTER = "Page {page} of {pages} · {total} · only you can see this"
LIST_ROW = "**#{number}** {company}{role} · {stage} · {date} · feedback: {feedback}"
LIST_NOT_ASKED = "not asked"
LIST_NO_SUCH_PAGE = "There is no page {page}; your list has {pages}."
# An entry offered while typing a `number` option (plain text: choices render no markdown).
ENTRY_CHOICE = "#{number} · {company}{role} · {stage}"
ENTRY_CHOICE_ROLE = " · {role}"
PREVIOUS = "Previous"
NEXT = "Next"
EDITED = "Updated entry #{number}."
DELETE_CONFIRM = (
    "Delete entry #{number} ({company})? Its pending follow-ups are cancelled too. "
    "This can't be undone."
)
DELETE_YES = "Delete"
DELETE_NO = "Keep it"
DELETED = "Deleted entry #{number} ({company})."
DELETE_KEPT = "Kept entry #{number}; nothing was deleted."
ENTRY_GONE = "That entry no longer exists, so nothing was deleted. {/rejection list} shows yours."
CONFIRMATION_OUT_OF_DATE = (
    "This confirmation is out of date, so nothing was deleted. "
    "Run {command} again if you still want to."
)
FEEDBACK_SAVED = "Feedback for #{number} saved: {status}."
FEEDBACK_CANCELLED_FOLLOW_UPS = "The pending {steps} for this entry won't be sent now."

STATS_TITLE = "Your search so far"
STATS_EMPTY = "No entries yet, so no stats. Log one with {/rejection log}."
STATS_TOTAL = "Entries"
STATS_BY_STAGE = "By stage"
STATS_BY_MONTH = "Last 12 months"
STATS_MONTH_ROW = "`{month}` {bar} {count}"
STATS_COUNT_ROW = "{label}: {count}"
STATS_FEEDBACK = "Feedback"
STATS_FEEDBACK_LINE = (
    "Asked for feedback on {asked} of {total} ({asked_rate:.0%}); "
    "received it on {received} of {asked} asked ({received_rate:.0%})."
)
STATS_THEMES = "Most common themes"
STATS_NO_THEMES = "No themes recorded yet."

# -- privacy ---------------------------------------------------------------------------------

EXPORT_READY = "Here is everything NextRound stores about you."
EXPORT_ZIPPED = (
    "Here is everything NextRound stores about you, zipped to fit Discord's upload limit."
)
EXPORT_TOO_LARGE = (
    "Your export is larger than Discord lets me upload here ({limit_mib:.0f} MiB), even zipped. "
    "Try again in a DM with NextRound, or delete old entries first."
)
PRIVACY_DELETE_CONFIRM = (
    "Delete all your NextRound data everywhere: every entry, follow-up and setting? "
    "Numbering starts again at #1. This can't be undone. The button works for {minutes} minutes."
)
PRIVACY_DELETE_CHANGED = (
    "Your data changed after this confirmation was shown, so nothing was deleted. "
    "Run {/privacy delete} again if you still want to delete everything."
)
PRIVACY_DELETE_YES = "Delete everything"
PRIVACY_DELETE_NO = "Cancel"
PRIVACY_DELETED = "Done. Deleted {summary}. NextRound keeps nothing else about you."
PRIVACY_DELETE_CANCELLED = "Cancelled; nothing was deleted."
PRIVACY_NOTHING = "nothing (there was no data)"


def count_phrase(counts: dict[str, int]) -> str:
    labels = {
        "entries": ("entry", "entries"),
        "follow_ups": ("follow-up", "follow-ups"),
        "scheduled": ("scheduled message", "scheduled messages"),
        "settings": ("settings record", "settings records"),
        "form_drafts": ("unsent form", "unsent forms"),
    }
    parts = [
        f"{count} {labels.get(kind, (kind, kind))[0 if count == 1 else 1]}"
        for kind, count in counts.items()
        if count
    ]
    return ", ".join(parts) if parts else PRIVACY_NOTHING


# -- follow-ups ------------------------------------------------------------------------------

FOLLOW_UP_STEP_NAMES = {
    "thank_you": "Thank-you note",
    "feedback_request": "Feedback request",
    "check_in": "Check-in",
}
FOLLOW_UP_TITLES = {
    "thank_you": "Time to thank {who}",
    "feedback_request": "Time to ask {company} for feedback",
    "check_in": "Did feedback come from {company}?",
}
FOLLOW_UP_INTROS = {
    "thank_you": (
        "A short thank-you keeps the door open and leaves a good last impression. "
        "Here is a draft you can send as it is or make your own."
    ),
    "feedback_request": (
        "Asking what you could improve is the quickest way to turn a no into something useful. "
        "Here is a polite draft."
    ),
    "check_in": (
        "If feedback came, record it with {/rejection feedback} `number:{number}`. "
        "If not, one gentle nudge is fine; here is a draft."
    ),
}
DRAFTS = {
    "thank_you": (
        "Hi {name},\n\n"
        "Thank you for taking the time to talk with me about {the_role} at {company}. "
        "I enjoyed the conversation and learning more about the team. I'd be glad to stay in "
        "touch, and I wish you the best with the search.\n\n"
        "Best regards"
    ),
    "feedback_request": (
        "Hi {name},\n\n"
        "Thank you again for considering me for {the_role} at {company}. I understand "
        "you've decided not to move forward. If you have a moment, I'd be grateful for any "
        "feedback on what I could improve, in my experience or in how I came across. It would "
        "help me a great deal.\n\n"
        "Thank you, and best regards"
    ),
    "check_in": (
        "Hi {name},\n\n"
        "I hope you're well. I'm following up on my note about {the_role} at {company}. "
        "If you have a few minutes to share any feedback, I would really value it. Either way, "
        "thank you for your time.\n\n"
        "Best regards"
    ),
}
DRAFT_NAME_FALLBACK = "there"
DRAFT_ROLE = "the {role} role"
DRAFT_ROLE_FALLBACK = "the role"
FOLLOW_UP_LATE = "This reminder is late: it was due <t:{due}:F>. Sorry about that."
FOLLOW_UP_FOOTER = "Entry #{number} · NextRound follow-up"
FOLLOW_UP_DONE = "Done"
FOLLOW_UP_SKIP = "Skip"
FOLLOW_UP_STOP = "Stop follow-ups for this entry"
FOLLOW_UP_SNOOZE_HOUR = "Snooze 1 hour"
FOLLOW_UP_SNOOZE_TOMORROW = "Tomorrow"
FOLLOW_UP_SNOOZE_WEEK = "Next week"
FOLLOW_UP_OUTCOME = "Outcome"
FOLLOW_UP_OUTCOMES = {
    "done": "Done. Nice work.",
    "done_feedback": "Done. Feedback marked as asked on entry #{number}.",
    "skip": "Skipped.",
    "stop": "Follow-ups stopped for this entry.",
    "snooze": "Snoozed until <t:{due}:F>.",
}
FOLLOW_UP_ALREADY_HANDLED = "This follow-up was already handled."
FOLLOW_UP_GONE = "This follow-up no longer exists (its entry was deleted)."

NEXT_STEPS_PLANNED = "Follow-ups by DM: {items}."
NEXT_STEPS_ITEM = "{name} <t:{due}:R>"
NEXT_STEPS_TOO_OLD = "No follow-ups: this rejection is more than 60 days old."
NEXT_STEPS_NONE = "No follow-ups planned (they are turned off in {/followups settings})."
NEXT_STEPS_PAUSED = "Follow-ups are paused; they'll wait until you resume."
NEXT_STEPS_ALL_DONE = "No follow-ups are waiting for this entry."
NEXT_STEPS_NOT_PLANNED = "No {name}: {reason}."
NOT_PLANNED_REASONS = {
    "off": "turned off in {/followups settings}",
    "no_conversation": "an application has no interviewer to thank",
    "no_interviewer": "no interviewer named for this stage",
    "thank_you_too_old": "the rejection is more than {days} days old",
}
# While no zone is set: what the reply says about the times, next to the zone picker.
NEXT_STEPS_NO_ZONE = (
    "**No time zone set.** Rather than guess from UTC, these come at <t:{at}:t>, the time of "
    "day you logged. Pick your zone below for {start}–{end} your time."
)
NEXT_STEPS_NO_ZONE_NOTHING = (
    "**No time zone set**: dates like today count in UTC. Pick your zone below."
)
ZONE_PICKER_PLACEHOLDER = "Pick your time zone"
ZONE_PICKER_OPTION = "{city} · now {time}"
ZONE_PICKER_UTC = "UTC is right · now {time}"
ZONE_PICKER_UTC_DESCRIPTION = "Follow-ups {start}–{end} UTC"
ZONE_PICKER_OTHER = "Another zone…"
ZONE_PICKER_OTHER_DESCRIPTION = "Type your city, a zone or an offset"
ZONE_FORM_TITLE = "Your time zone"
ZONE_FORM_LABEL = "City, time zone or UTC offset"
ZONE_FORM_PLACEHOLDER = "New York, Europe/London, EST or UTC+5:30"
ZONE_SET = "Time zone set: {zone}. Pending follow-ups were re-planned to match."
ZONE_READ_NOTE = "Read as {read_as}."

DM_PROBLEM_NOTICE = (
    "I couldn't send you a follow-up: your direct messages are closed to NextRound. {where} "
    "Then check with {/followups test}."
)
# Where to allow DMs: in a server NextRound is in, or elsewhere (a DM, the app on your account).
DM_WHERE_SERVER = (
    "To allow them, tap this server's name, open Privacy Settings and turn on Direct Messages."
)
DM_WHERE_APP = (
    "To allow them, tap NextRound's name and allow direct messages in its app settings, or "
    "turn on Direct Messages in the Privacy Settings of a server you share with NextRound."
)


def dm_where(in_shared_server: bool) -> str:
    return DM_WHERE_SERVER if in_shared_server else DM_WHERE_APP


DM_TEST = "This is a test from NextRound: follow-up DMs reach you. You can ignore this message."
DM_TEST_SENT = "Sent you a test DM. If it arrived, follow-ups will reach you."
DM_TEST_CLOSED = (
    "I couldn't DM you: your direct messages are closed to NextRound. {where} "
    "Then try {/followups test} again."
)
DM_TEST_FAILED = (
    "Discord didn't take the test DM just now. Please try {/followups test} again in a minute."
)

SETTINGS_TITLE = "Your follow-up settings"
SETTINGS_SAVED = "Saved. Pending follow-ups were re-planned to match."
SETTINGS_LINES = (
    "Time zone: {timezone}\n"
    "Allowed hours: **{window_start}–{window_end}**{weekdays}\n"
    "Thank-you note: **{thank_you}** (2 hours after you log; not after an application)\n"
    "Feedback request: **{feedback_request}** ({delay} {day_word} after the day you log, "
    "at {aim})\n"
    "Check-in: **{check_in}** (a week after the feedback request)\n"
    "{paused}"
)
SETTINGS_ZONE = "**{zone}**"
SETTINGS_ZONE_NOT_SET = (
    "**not set** (until you set one, follow-ups come at the time of day you logged the entry)"
)
SETTINGS_WEEKDAYS = ", weekdays only"
SETTINGS_ON = "on"
SETTINGS_OFF = "off"
SETTINGS_NOT_PAUSED = "Not paused."
SETTINGS_PAUSED_UNTIL = "Paused until <t:{until}:F>."
SETTINGS_PAUSED = "Paused until you run {/followups resume}."
SETTINGS_DAY = "day"
SETTINGS_BUSINESS_DAY = "business day"

BAD_TIMEZONE = (
    "I don't know the time zone {zone!r}. Type a city like London or New York, a zone like "
    "Europe/London or an offset like UTC+5:30, and pick from the list."
)
BAD_TIMEZONE_DID_YOU_MEAN = (
    "I don't know the time zone {zone!r}. Did you mean {suggestion}? Pick it from the list, "
    "or type your city."
)
BAD_OFFSET = "{zone} isn't an offset in use; offsets go from UTC−12:00 to UTC+14:00."
ZONE_COUNTRY_AMBIGUOUS = (
    "{country} has several time zones. Type your city (like {cities}) or pick from the list."
)
ZONE_DESCRIPTION = "{name} ({offset}, now {time}, {summer})"
ZONE_DESCRIPTION_FIXED = "{name} (now {time}; a fixed offset, no summer time)"
ZONE_OPTION = "{name} — now {time}, {offset}, {summer}"
ZONE_OPTION_FIXED = "{name} — now {time}, no summer time"
ZONE_READ_AS = "{typed} → {name}"
ZONE_SUMMER = "follows summer time"
ZONE_NO_SUMMER = "no summer time"
BAD_TIME = "Please give {field} as a 24-hour time, like 08:00 or 21:30."
BAD_WINDOW = "The allowed hours must start before they end ({start}–{end})."
SHORT_WINDOW = (
    "Please allow at least two hours for follow-ups; {start}–{end} is shorter. "
    "The window doesn't need to include 10:00."
)
BAD_DELAY = "Please pick `feedback_delay_days:` from 1 to 14."
BAD_PAUSE_UNTIL = (
    "I couldn't read {text!r}. Use a date like {day}, a date and time like {day} 09:00, "
    "or a number of days like 3 days."
)
PAUSE_IN_PAST = "That time has already passed; pick a later one."
PAUSE_TOO_FAR = (
    "A pause can last up to {days} days. Pick an earlier date, or leave out `until:` to pause "
    "until you resume."
)
PAUSED = "Follow-ups paused{until}. Due ones will wait and then arrive at the next allowed time."
PAUSED_UNTIL = " until <t:{until}:F>"
RESUMED = "Follow-ups resumed; anything held arrives at the next allowed time."
NOT_PAUSED = "Follow-ups aren't paused."

LIST_FOLLOW_UPS_TITLE = "Your follow-ups"
LIST_FOLLOW_UPS_EMPTY = "No follow-ups pending or sent recently. Log a rejection to plan some."
LIST_FOLLOW_UPS_COMING = "**Coming up**"
LIST_FOLLOW_UPS_RECENT = "**Recently (last 14 days)**"
LIST_FOLLOW_UPS_ROW = "{name} · {entry} · {state}"
LIST_FOLLOW_UPS_ENTRY = "#{number} {company}"
LIST_FOLLOW_UPS_DELETED_ENTRY = "a deleted entry"
LIST_FOLLOW_UPS_FOOTER = "Page {page} of {pages} · {total} · only you can see this"
# How a follow-up's state reads in /followups list (and when cancelling one that is not
# pending any more). `at` is when it is due or finished; `until` a snooze's end.
FOLLOW_UP_STATES = {
    "due": "due <t:{at}:f> (<t:{at}:R>)",
    "due_snoozed": "snoozed, due <t:{at}:f> (<t:{at}:R>)",
    "retrying": "delayed by a problem on Discord's side; trying again <t:{at}:R>",
    "held": "held until you use {/followups resume}",
    "sending": "sending now",
    "sent": "sent <t:{at}:f>",
    "sent late": "sent late, <t:{at}:f>",
    "done": "sent <t:{at}:f>, marked done",
    "skipped": "sent <t:{at}:f>, skipped",
    "stopped": "sent <t:{at}:f>; you stopped follow-ups for this entry",
    "snoozed": "sent <t:{at}:f>, snoozed until <t:{until}:f>",
    "skipped: feedback already asked for": "not sent: you had already asked for feedback",
    "skipped: feedback already recorded": "not sent: you had already recorded feedback",
    "missed: more than 7 days late": "not sent: it was more than 7 days late",
    "cancelled: entry deleted": "cancelled: the entry was deleted",
    "cancelled": "cancelled",
    "cancelled by you": "cancelled by you",
    "cancelled: turned off in settings": "cancelled: turned off in your settings",
    "cancelled: feedback recorded": "cancelled: you recorded feedback",
    "not_delivered_dm": "not delivered: NextRound can't DM you (check with {/followups test})",
    "not_delivered": "not delivered: {reason}",
    "finished": "finished <t:{at}:f>",
}
FOLLOW_UP_CANCEL_PLACEHOLDER = "Cancel a follow-up on this page…"
FOLLOW_UP_CANCEL_OPTION = "{name} · {entry}"
FOLLOW_UP_CANCEL_OPTION_WHEN = "Due {when}"
FOLLOW_UP_CHOICE = "{name} · {entry} · {when}"
# A time where Discord timestamps don't render (select menus, autocomplete), in the person's
# own time zone.
LOCAL_TIME = "{weekday} {day} {month}, {time} {zone}"
SHORT_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SHORT_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
FOLLOW_UP_CANCELLED = "Cancelled the {name} for {entry}."
FOLLOW_UP_NOT_PENDING = (
    "The {name} for {entry} isn't waiting to be sent any more ({state}), so nothing changed."
)
FOLLOW_UP_NUMBER_OUT_OF_RANGE = (
    "There is no follow-up {value}; follow-up numbers go from 1 to {high:,}. "
    "{/followups list} shows yours."
)
FOLLOW_UP_NOT_FOUND = "You have no pending follow-up {id}. {/followups list} shows them."


# -- tips ---------------------------------------------------------------------------------------

TIPS_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TIPS_PERMISSION_LABELS = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
    "read_message_history": "Read Message History",
    "create_public_threads": "Create Public Threads",
    "mention_everyone": "Mention @everyone, @here, and All Roles",
}


def tip_permission_names(names: list[str], *, bold: bool = True) -> str:
    marks = "**" if bold else ""
    return and_list([f"{marks}{TIPS_PERMISSION_LABELS.get(name, name)}{marks}" for name in names])


TIP_POST_TITLE = "Interview Tip of the Week #{number} — {title}"
TIP_POST_LATE = "*Posted late: this post was due <t:{due}:F>.*"
TIP_POST_FOOTER = "NextRound · tip {id} · log rejections privately with /rejection log"
TIP_THREAD_NAME = "Tip #{number} — {title}"
TIP_LOG_BUTTON = "Log a rejection"
TIP_LOG_UNAVAILABLE = "Logging from here isn't available right now. Use {/rejection log} instead."
TIP_LOG_FORM_TITLE = "Log a rejection (only you see it)"
TIP_LOG_COMPANY = "Company"
TIP_LOG_ROLE = "Role"
TIP_LOG_STAGE = "How far you got"
TIP_LOG_STAGE_PLACEHOLDER = "Interview (default)"
TIP_LOG_DATE = "Date"
TIP_LOG_DATE_PLACEHOLDER = "YYYY-MM-DD, today, yesterday or 3 days ago (default today)"
TIP_LOG_NOTES = "Notes"
LOG_FORM_INTERVIEWER = "Interviewer (for the thank-you note)"

# A form that was refused keeps what was typed: the reply has a button that opens it again.
FORM_RETRY = "Edit and try again"
FORM_KEPT = "{problem}\nWhat you typed is kept for {minutes} minutes: press **{button}** to fix it."
FORM_DRAFT_GONE = (
    "That form was kept for {minutes} minutes and has expired, or was already sent. "
    "Please fill it in again."
)

TIPS_TIME_FIELD = "time"  # the option's name
TIPS_BAD_WEEKDAY = "I don't know the weekday {weekday!r}. Pick one from the list."
TIPS_NOT_TEXT_CHANNEL = "{channel} isn't a text or announcement channel. Pick one of those."
TIPS_BOT_MISSING_PERMISSIONS = (
    "NextRound can't post tips in {channel}: it lacks {permissions} there. "
    "Give its role that permission in the channel settings, then try again."
)
TIPS_ROLE_EVERYONE = "Pick a role to mention, not @everyone, or leave the role out."
TIPS_CHANNEL_GONE = "The tips channel no longer exists. Pick a new one with {/tips setup}."
TIPS_PROBLEM_CHANNEL_GONE = "the tips channel no longer exists"
TIPS_PROBLEM_PERMISSIONS = "NextRound lacks {permissions} in the tips channel"
TIPS_NOT_SET_UP = "Tips aren't set up in this server yet. Start with {/tips setup}."
TIPS_UNKNOWN_TIP = "There's no tip {tip!r} here. {/tips list} shows every tip and its id."
TIPS_NOTHING_TO_POST = (
    "There's no tip to post: every shipped tip is hidden and this server has none of its own. "
    "Add one with {/tips add}."
)
TIPS_NOTHING_TO_SKIP = "There's no upcoming post to skip (tips are paused or stopped)."
TIPS_TOO_MANY = "This server has {limit} tips of its own, the most it can keep. Remove one first."
TIPS_SHIPPED_NOT_EDITABLE = (
    "Tip {tip} ships with NextRound, so its text can't be edited. You can hide it with "
    "{/tips remove} and add your own version with {/tips add}."
)
TIPS_ALREADY_HIDDEN = "Tip {tip} is already hidden in this server."
TIPS_NOT_HIDDEN = "Tip {tip} isn't hidden in this server, so there's nothing to restore."
TIPS_SERVER_TIP_NOT_HIDDEN = (
    "Tip {tip} is one of this server's own tips; those are never hidden, only removed. "
    "Add it again with /tips add."
)
TIPS_BAD_PAGE = "There is no page {page}; the tip list has {pages} pages."
TIPS_TITLE_EMPTY = "The title can't be empty."
TIPS_TITLE_TOO_LONG = "The title can be at most {limit} characters."
TIPS_BODY_LENGTH = "The tip itself must be {low} to {high:,} characters long."
TIPS_THREAD_PROBLEM = "The discussion thread under the last post couldn't be opened: {reason}."
TIPS_POST_NOW_FAILED = "I couldn't post the tip: {reason}. Nothing was posted or counted."
TIPS_SKIP_REASONS = {
    "offline": "NextRound was offline for more than a day",
    "no_tips": "there was no tip to post",
    "admin": "skipped with {/tips skip}",
}

TIPS_SETUP_DONE = (
    "Done. A tip goes to {channel} every {weekday} at {time}{role}. Time zone: {zone}. "
    "The first one posts <t:{first}:F> (<t:{first}:R>)."
)
TIPS_SETUP_ROLE = ", mentioning {role}"
TIPS_STATUS_TITLE = "Interview Tip of the Week"
TIPS_STATUS_NOT_SET_UP = "Not set up yet. Start with {/tips setup}."
TIPS_STATUS_WHERE = "Where and when"
TIPS_STATUS_WHERE_LINE = "{channel}, every {weekday} at {time} ({zone}){role}"
TIPS_STATUS_NEXT = "Next post"
TIPS_STATUS_NEXT_LINE = "<t:{due}:F> (<t:{due}:R>)"
TIPS_STATUS_PAUSED = "Paused. {/tips resume} starts again from the next slot."
TIPS_STATUS_LEFT = "Paused: NextRound was removed from this server. {/tips resume} starts again."
TIPS_STATUS_STOPPED = "Stopped: {reason}. Fix it, then run {/tips resume} or {/tips setup}."
TIPS_STATUS_NONE = "None planned. {/tips resume} plans the next one."
TIPS_STATUS_LAST = "Last post"
TIPS_STATUS_LAST_LINE = "#{number} — {title} · {link} · <t:{at}:R>"
TIPS_STATUS_NO_POSTS = "Nothing posted yet."
TIPS_STATUS_THREADS = "Discussion threads"
TIPS_STATUS_ON = "On"
TIPS_STATUS_OFF = "Off"
TIPS_STATUS_SKIPPED = "Skipped slots"
TIPS_STATUS_SKIP_LINE = "<t:{slot}:F>: {reason}"
TIPS_STATUS_SKIP_MORE = "…and {count} earlier"
TIPS_STATUS_PROBLEM = "Last problem"
TIPS_STATUS_PROBLEM_LINE = "{problem} (<t:{at}:R>)"
TIPS_PREVIEW_NOTE = (
    "Preview, only for you: this is how tip {id} would look as post #{number}. "
    "Its button works here too: it opens the form members get and logs a rejection for you."
)
TIPS_PREVIEW_ROLE = " Members will see it with {role} above it."
TIPS_POSTED_NOW = (
    "Posted tip #{number} — {title}: {link}. The weekly post goes on with the next tip."
)
TIPS_SKIPPED = "The post due <t:{skipped}:F> is skipped; its tip waits. Next post: <t:{next}:F>."
TIPS_PAUSED = "Tips paused. Nothing posts until you run {/tips resume}."
TIPS_ALREADY_PAUSED = "Tips are already paused. {/tips resume} starts them again."
TIPS_RESUMED = "Tips are back on. Next post: <t:{due}:F> (<t:{due}:R>)."
TIPS_NOT_STOPPED = "Tips aren't paused or stopped; the next post is <t:{due}:F>."
TIPS_ADDED = "Added tip {id} — {title}. Your own tips post before the shipped ones."
TIPS_EDITED = "Saved tip {id} — {title}."
TIPS_REMOVED = "Removed tip {id} — {title}."
TIPS_HIDDEN = (
    "Tip {id} — {title} is hidden in this server; it won't be posted here. "
    "/tips restore shows it again."
)
TIPS_RESTORED = "Tip {id} — {title} is shown again in this server; it posts here in its turn."
TIPS_THREADS_ON = "Each new post will get a discussion thread."
TIPS_THREADS_OFF = "New posts won't get a discussion thread."
TIPS_LIST_TITLE = "Tips for this server"
TIPS_LIST_ROW = "`{id}` {title}{marks}"
TIPS_LIST_HIDDEN = "hidden"
TIPS_LIST_POSTED = "posted as #{number}"
TIPS_LIST_NEXT = "next"
TIPS_LIST_FOOTER = (
    "Page {page} of {pages} · {total} tips · s-ids are this server's own · "
    "'posted' counts the current round"
)
TIPS_ADD_MODAL_TITLE = "Add a tip for this server"
TIPS_EDIT_MODAL_TITLE = "Edit tip {id}"
TIPS_FIELD_TITLE = "Title"
TIPS_FIELD_BODY = "The tip"
TIPS_FIELD_BODY_PLACEHOLDER = "Practical and kind; markdown works. Up to 1,200 characters."
