"""`python -m bot` and the `nextround` command."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from dotenv import load_dotenv

from bot.config import ConfigError, configure_logging, load_settings


def main() -> None:
    # The .env of the working directory (not of the package); real environment variables win.
    dotenv_file = Path.cwd() / ".env"
    load_dotenv(dotenv_file)
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
