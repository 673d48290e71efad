"""Sending a scheduled message exactly once: Discord's nonce first, then a look in the channel.

Before a send, the attempt (a nonce) is recorded where the promise lives, and every retry sends
with the same nonce: Discord returns the first message instead of creating a second one, but
only "within the past few minutes". So the nonce is trusted for `NONCE_TRUST_MS` from the
first attempt; past that, the channel is searched for the message itself, from just before
the first attempt onwards, by the marker only that message carries (its row id in a button's
custom_id) and by its author, before anything is sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import discord

log = logging.getLogger("nextround.delivery")

# Well inside Discord's window of "a few minutes", measured from the first attempt.
NONCE_TRUST_MS = 2 * 60_000
# Discord's clock and ours may differ; the search starts this much before the first attempt.
CLOCK_SKEW_MS = 60_000
PAGE_SIZE = 100  # the most Discord returns per request
# The search reads forward from the first attempt; a tip channel is at most a day of messages
# past it, a DM far less. Past this many pages the search gives up and says so.
MAX_PAGES = 50


def nonce_expired(first_attempt_at: int | None, now: int) -> bool:
    """True when an earlier attempt is too old for its nonce to protect a resend."""
    return first_attempt_at is not None and now - first_attempt_at > NONCE_TRUST_MS


def custom_ids(message: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for row in message.get("components", []):
        for component in row.get("components", []):
            custom_id = component.get("custom_id")
            if isinstance(custom_id, str):
                found.append(custom_id)
    return found


async def find_sent_message(
    client: discord.Client,
    channel_id: int,
    *,
    since: int,
    carries: Callable[[list[str]], bool],
) -> int | None:
    """The id of our message in `channel_id` sent after `since` (UTC ms) whose custom_ids
    satisfy `carries`, or None. Reads forward with `after=`, so how busy the channel is since
    then does not hide it."""
    assert client.user is not None
    bot_id = client.user.id
    after = discord.utils.time_snowflake(
        datetime.fromtimestamp((since - CLOCK_SKEW_MS) / 1000, UTC)
    )
    for _ in range(MAX_PAGES):
        page: list[dict[str, Any]] = list(
            await client.http.logs_from(channel_id, PAGE_SIZE, after=after)  # type: ignore[arg-type]
        )
        for message in page:
            author = message.get("author") or {}
            if int(author.get("id", 0)) == bot_id and carries(custom_ids(message)):
                return int(message["id"])
        if len(page) < PAGE_SIZE:
            return None
        after = max(int(message["id"]) for message in page)
    log.warning(
        "gave up looking for an earlier message in channel %d after %d pages",
        channel_id,
        MAX_PAGES,
    )
    return None
