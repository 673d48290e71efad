"""Every sentence a person reads, in one place, so tone (and later translation) is one edit.

Tone: calm, brief, kind; no exclamation streaks; say what happened and what to do next.
"""

from __future__ import annotations

APOLOGY = (
    "Sorry, something went wrong on our side and nothing was changed. Please try again in a minute."
)
MISSING_PERMISSIONS = "You need the {permissions} permission to use this command."
GUILD_ONLY = "This command works only in a server where NextRound is installed."
NOT_YOUR_BUTTON = "These buttons belong to someone else's message."
COOLDOWN = "You are going a little fast. Try again in {seconds:.0f} seconds."
CHECK_FAILED = "You can't use this command here."

HELP_TITLE = "NextRound commands"
HELP_INTRO = (
    "NextRound keeps a private log of your rejections, reminds you to follow up, "
    "and shares an interview tip each week. Replies to these commands are only visible to you."
)
HELP_EMPTY = "No NextRound commands can be used here."
HELP_LINE = "`/{name}` — {description}"
HELP_FOOTER = "Tip: start with /rejection log."


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
ENTRY_TITLE = "#{number} · {company}"
ENTRY_FIELD_ROLE = "Role"
ENTRY_FIELD_STAGE = "Stage"
ENTRY_FIELD_DATE = "Date"
ENTRY_FIELD_INTERVIEWER = "Interviewer"
ENTRY_FIELD_NOTES = "Notes"
ENTRY_FIELD_FEEDBACK = "Feedback"
ENTRY_FIELD_NEXT = "What happens next"
NEXT_STEPS_DEFAULT = (
    "When you hear back, record it with `/rejection feedback {number}`. "
    "See everything with `/rejection list`."
)
NOT_SET = "—"
LIST_TITLE = "Your entries"
LIST_EMPTY = "You haven't logged any rejections yet. `/rejection log` takes a few seconds."
LIST_FOOTER = "Page {page} of {pages} · {total} entries · only you can see this"
LIST_ROW = "**#{number}** {company}{role} · {stage} · {date} · feedback: {feedback}"
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
FEEDBACK_SAVED = "Feedback for #{number} saved: {status}."

STATS_TITLE = "Your search so far"
STATS_EMPTY = "No entries yet, so no stats. Log one with `/rejection log`."
STATS_TOTAL = "Entries"
STATS_BY_STAGE = "By stage"
STATS_BY_MONTH = "Last 12 months"
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
    "Numbering starts again at #1. This can't be undone."
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
    }
    parts = [
        f"{count} {labels.get(kind, (kind, kind))[0 if count == 1 else 1]}"
        for kind, count in counts.items()
        if count
    ]
    return ", ".join(parts) if parts else PRIVACY_NOTHING
