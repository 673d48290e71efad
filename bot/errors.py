"""Errors are values for users and exceptions for us.

A `UserError` carries one sentence the person sees ephemerally; everything else is a bug or an
outage, logged with context, and the person gets a short apology.
"""

from __future__ import annotations


class UserError(Exception):
    """Something the person can fix; `message` is shown to them as is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(UserError):
    """The thing asked for does not exist for this person (or is not theirs: we do not say)."""


class LimitReached(UserError):
    """A per-person or per-server limit would be exceeded; nothing was changed."""
