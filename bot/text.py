"""Showing user text safely: no mention can form, markdown cannot break layout, limits hold."""

from __future__ import annotations

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
