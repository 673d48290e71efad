"""All SQL lives in this package: the connection owner, numbered migrations, and repositories."""

from bot.db.connection import Database, DatabaseError

__all__ = ["Database", "DatabaseError"]
