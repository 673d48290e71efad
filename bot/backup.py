"""`nextround backup`: a consistent copy of the SQLite database, while the bot keeps running.

SQLite's online backup copies the database page by page under its own locking, so the copy is
consistent even while the bot writes (in WAL mode copying the file itself is not).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.clock import Clock


class BackupError(Exception):
    """The backup cannot be made; the message is one line for the operator."""


def default_backup_path(database: Path, clock: Clock) -> Path:
    """`backups/nextround-YYYY-MM-DD.sqlite3` in the database's folder."""
    return database.parent / "backups" / f"nextround-{clock.now().date().isoformat()}.sqlite3"


def backup_database(database: Path, target: Path) -> int:
    """Copy `database` to `target` (its folder is created); returns the copy's size in bytes.

    Never overwrites: an existing `target` is refused, so a second backup the same day cannot
    replace the first by accident."""
    if not database.is_file():
        raise BackupError(f"there is no database at {database} (check NEXTROUND_DB)")
    if target.exists():
        raise BackupError(f"{target} exists already; give another file name with --to")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BackupError(f"cannot create the folder {target.parent} ({error.strerror})") from None
    partial = target.with_name(target.name + ".partial")
    try:
        source = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)
        try:
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)
            finally:
                copy.close()
        finally:
            source.close()
        partial.rename(target)
    except (sqlite3.Error, OSError) as error:
        partial.unlink(missing_ok=True)
        raise BackupError(f"the backup failed: {error}") from None
    return target.stat().st_size
