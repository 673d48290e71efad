"""`python -m bot` and the `nextround` command."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from dotenv import load_dotenv

from bot.config import ConfigError, configure_logging, load_settings, prepare_database_path


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="nextround", description="NextRound, a Discord bot for job-seeker communities."
    )
    commands = parser.add_subparsers(dest="command", metavar="command")
    commands.add_parser("run", help="run the bot (the default)")
    backup = commands.add_parser(
        "backup", help="copy the database consistently, also while the bot runs"
    )
    backup.add_argument(
        "--to",
        type=Path,
        default=None,
        help="the copy's file (default: backups/nextround-YYYY-MM-DD.sqlite3 in the "
        "database's folder)",
    )
    return parser.parse_args(argv)


def run_backup(target: Path | None) -> int:
    from bot.backup import BackupError, backup_database, default_backup_path  # noqa: PLC0415
    from bot.clock import SystemClock  # noqa: PLC0415

    try:
        database = prepare_database_path(os.environ.get("NEXTROUND_DB", "").strip() or None)
        target = target or default_backup_path(database, SystemClock())
        size = backup_database(database, target)
    except (ConfigError, BackupError) as error:
        print(f"nextround: {error}", file=sys.stderr)
        return 2
    print(f"backed up {database} to {target} ({size:,} bytes)")
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    # The .env of the working directory (not of the package); real environment variables win.
    dotenv_file = Path.cwd() / ".env"
    load_dotenv(dotenv_file)
    if args.command == "backup":
        raise SystemExit(run_backup(args.to))
    try:
        settings = load_settings(os.environ, dotenv_file if dotenv_file.is_file() else None)
    except ConfigError as error:
        print(f"nextround: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_level)

    # Imported late so a bad setting is reported before discord.py loads.
    from bot.app import run_bot  # noqa: PLC0415

    try:
        asyncio.run(run_bot(settings))
    except ConfigError as error:
        print(f"nextround: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass


if __name__ == "__main__":
    main()
