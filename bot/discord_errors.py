"""Telling Discord's errors apart by their JSON code, not by exception class alone.

`NotFound` is both "unknown channel" (10003) and "a message with this nonce was deleted";
403 is both "cannot DM this user" (50007) and "missing permissions" (50013).
"""

from __future__ import annotations

import asyncio

import aiohttp
import discord

from bot.scheduler import JobFailed, RetryLater

UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008
UNKNOWN_USER = 10013
MISSING_ACCESS = 50001
CANNOT_DM_USER = 50007
MISSING_PERMISSIONS = 50013
THREAD_ALREADY_CREATED = 160004

DESCRIPTIONS = {
    UNKNOWN_CHANNEL: "the channel no longer exists",
    UNKNOWN_MESSAGE: "the message no longer exists",
    UNKNOWN_USER: "the Discord account no longer exists",
    MISSING_ACCESS: "NextRound cannot see that channel or person",
    CANNOT_DM_USER: "the person does not accept direct messages from NextRound",
    MISSING_PERMISSIONS: "NextRound lacks a permission it needs there",
}

# Codes after which sending again cannot succeed until someone changes something.
PERMANENT_CODES = frozenset(DESCRIPTIONS)
UNREACHABLE_USER_CODES = frozenset({CANNOT_DM_USER, MISSING_ACCESS, UNKNOWN_USER})


def describe(code: int) -> str:
    return f"{DESCRIPTIONS.get(code, 'Discord refused the request')} (code {code})"


def as_job_error(error: BaseException) -> JobFailed | RetryLater:
    """Map an exception from a Discord call to the scheduler's permanent or transient error."""
    if isinstance(error, discord.HTTPException):
        if error.code in PERMANENT_CODES:
            return JobFailed(describe(error.code))
        if error.status == 429 or error.status >= 500:
            return RetryLater(f"Discord answered HTTP {error.status}")
        return JobFailed(f"Discord refused the request: HTTP {error.status}, code {error.code}")
    if isinstance(error, (TimeoutError, asyncio.TimeoutError, aiohttp.ClientError, OSError)):
        return RetryLater(f"network problem: {type(error).__name__}")
    if isinstance(error, discord.GatewayNotFound):
        return RetryLater("Discord is unreachable")
    return RetryLater(f"unexpected error: {type(error).__name__}")
