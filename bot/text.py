"""Showing user text safely: no mention can form, markdown cannot break layout, limits hold."""

from __future__ import annotations

import unicodedata

import discord

ELLIPSIS = "…"
_ZERO_WIDTH_SPACE = "\u200b"


def defuse_mentions(text: str) -> str:
    """Break every mention form (@everyone, @here, <@id>, <@&id>) without changing how it reads.

    Mentions are off bot-wide already; this keeps the text itself free of them too, so a
    message quoted or forwarded elsewhere cannot ping anyone either.
    """
    return text.replace("@", "@" + _ZERO_WIDTH_SPACE)


def truncate(text: str, limit: int) -> str:
    """Cut visibly with "…" so the result has at most `limit` characters."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + ELLIPSIS


def safe(text: str, limit: int) -> str:
    """User text for an embed or message: escaped, defused and within `limit`."""
    escaped = discord.utils.escape_markdown(text, as_needed=False, ignore_links=False)
    return truncate(defuse_mentions(escaped), limit)


def one_line(text: str) -> str:
    return " ".join(text.split())


# Characters that show nothing and change nothing around them. Most are format characters
# (category Cf); the rest are letters and symbols drawn as blank space, used to make a name
# look empty: U+115F, U+1160, U+3164 and U+FFA0 (Hangul fillers), U+2800 (braille blank),
# U+17B4 and U+17B5 (Khmer inherent vowels).
_BLANK_LOOKING = frozenset({0x115F, 0x1160, 0x17B4, 0x17B5, 0x2800, 0x3164, 0xFFA0})
# Format characters that do show: they are drawn together with the digits after them.
_PREPENDED_MARKS = frozenset({0x0600, 0x0601, 0x0602, 0x0603, 0x0604, 0x0605, 0x06DD, 0x070F})
_PREPENDED_MARKS |= {0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD}
_TAGS = range(0xE0001, 0xE0080)  # they spell a subdivision flag after the flag emoji


def _is_modifier(char: str) -> bool:
    """Invisible alone but part of the character before it (an accent, an emoji variation)."""
    return unicodedata.category(char) in ("Mn", "Me") or ord(char) in _TAGS


def _is_filler(char: str) -> bool:
    """Shows nothing and modifies nothing: space, control and format characters, blanks."""
    code = ord(char)
    if char.isspace() or code in _BLANK_LOOKING:
        return True
    category = unicodedata.category(char)
    if category == "Cf":
        return code not in _PREPENDED_MARKS and code not in _TAGS
    return category in ("Cc", "Zs", "Zl", "Zp")


def _shows(char: str) -> bool:
    # Unassigned code points count as visible: they are most likely emoji newer than
    # Python's Unicode database.
    return not _is_filler(char) and not _is_modifier(char)


def has_visible_character(text: str) -> bool:
    """Whether anything of `text` would be seen: zero-width and blank characters are not."""
    return any(_shows(char) for char in text)


def visible_text(text: str) -> str:
    """`text` without what shows nothing at its ends; "" when nothing of it shows.

    Inside the text nothing changes (a zero-width joiner builds emoji there). At the end, an
    accent or variation selector stays with the visible character it belongs to.
    """
    start = next((index for index, char in enumerate(text) if _shows(char)), None)
    if start is None:
        return ""
    end = len(text)
    while end > start:
        base = end - 1
        while _is_modifier(text[base]):  # stops at text[start] at the latest, which shows
            base -= 1
        if not _is_filler(text[base]):
            break
        end = base
    return text[start:end]
