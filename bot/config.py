"""Settings, read once at startup from the environment (and `.env`), never at import time."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

DEFAULT_API_BASE_URL = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"
DEFAULT_DATABASE = Path("data") / "nextround.sqlite3"
# Discord's global limit is 50 requests/s; scheduled sends stay below it so interaction
# replies (which do not count towards it) are never starved either.
DISCORD_GLOBAL_RATE = 50.0
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TOKEN_HELP = "Discord Developer Portal → your application → Bot → Reset Token"


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line for the person running the bot."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True, slots=True)
class Settings:
    token: str
    database_path: Path
    dev_guild_id: int | None
    log_level: str
    api_base_url: str
    gateway_url: str
    max_sleep_seconds: float
    send_rate_per_second: float
    force_sync: bool
    instance_name: str = ""

    def __repr__(self) -> str:  # the token never appears in logs or tracebacks
        return (
            f"Settings(database_path={self.database_path!s}, dev_guild_id={self.dev_guild_id}, "
            f"log_level={self.log_level}, api_base_url={self.api_base_url}, "
            f"gateway_url={self.gateway_url})"
        )


def _text(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _snowflake(env: Mapping[str, str], name: str) -> int | None:
    value = _text(env, name)
    if value is None:
        return None
    if not value.isdigit() or not 0 < int(value) < 2**63:
        raise ConfigError(
            name, f"{value!r} is not a Discord id; copy the server id (a number) or leave it unset"
        )
    return int(value)


def _positive_number(
    env: Mapping[str, str], name: str, default: float, maximum: float | None = None
) -> float:
    value = _text(env, name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not number > 0 or (maximum is not None and number > maximum):
        limit = f" and at most {maximum:g}" if maximum is not None else ""
        raise ConfigError(name, f"{value!r} must be a number above 0{limit}")
    return number


def _url(env: Mapping[str, str], name: str, default: str, schemes: tuple[str, ...]) -> str:
    value = _text(env, name)
    if value is None:
        return default
    if not value.startswith(tuple(f"{scheme}://" for scheme in schemes)):
        raise ConfigError(name, f"{value!r} must start with {' or '.join(schemes)}://")
    return value


def _api_base_url(env: Mapping[str, str]) -> str:
    name = "DISCORD_API_BASE_URL"
    value = _url(env, name, DEFAULT_API_BASE_URL, ("https", "http")).rstrip("/")
    # discord.py appends routes such as /users/@me to this as it is: without the version
    # every request, login first, is a 404.
    if re.search(r"/v\d+$", value) is None:
        example = f"{value}/v10" if value.endswith("/api") else DEFAULT_API_BASE_URL
        raise ConfigError(name, f"{value!r} must end in the API version, e.g. {example}")
    return value


def _token(env: Mapping[str, str], dotenv_file: Path | None) -> str:
    """The bot token, or an error that says where it is missing."""
    token = _text(env, "DISCORD_TOKEN")
    if token is not None:
        return token
    if "DISCORD_TOKEN" not in env:
        if dotenv_file is None:
            problem = f"not set; copy .env.example to .env and paste your bot token ({TOKEN_HELP})"
        else:
            problem = f"not set; add DISCORD_TOKEN=your-bot-token to {dotenv_file} ({TOKEN_HELP})"
        raise ConfigError("DISCORD_TOKEN", problem)
    # Set but empty: .env.example ships an empty line to paste into, and a real environment
    # variable, even an empty one, wins over .env.
    from_dotenv = dotenv_values(dotenv_file) if dotenv_file is not None else {}
    if "DISCORD_TOKEN" in from_dotenv and not (from_dotenv["DISCORD_TOKEN"] or "").strip():
        problem = (
            f"empty in {dotenv_file}; paste your bot token after DISCORD_TOKEN= ({TOKEN_HELP})"
        )
    else:
        problem = (
            "set but empty in the environment, which wins over .env; set it to your bot token "
            f"or unset it ({TOKEN_HELP})"
        )
    raise ConfigError("DISCORD_TOKEN", problem)


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = (_text(env, name) or "0").lower()
    if value not in {"0", "1", "true", "false", "yes", "no"}:
        raise ConfigError(name, f"{value!r} must be 1 or 0")
    return value in {"1", "true", "yes"}


def prepare_database_path(raw: str | None) -> Path:
    """Resolve the database path and create its folder, or explain why that is impossible."""
    path = Path(raw) if raw else DEFAULT_DATABASE
    path = path.expanduser().resolve()
    blocking_file = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking_file is not None:
        raise ConfigError(
            "NEXTROUND_DB", f"{blocking_file} is a file, not a folder; give a writable file path"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(
            "NEXTROUND_DB",
            f"cannot create the folder {path.parent} ({error.strerror or error}); "
            "point it at a writable location",
        ) from None
    if path.is_dir():
        raise ConfigError("NEXTROUND_DB", f"{path} is a folder; give a file path")
    target = path if path.exists() else path.parent
    if not os.access(target, os.W_OK):
        raise ConfigError(
            "NEXTROUND_DB", f"{target} is not writable; point it at a writable location"
        )
    return path


def load_settings(env: Mapping[str, str], dotenv_file: Path | None = None) -> Settings:
    """Build settings from `env`; raise `ConfigError` naming the first bad variable.

    `dotenv_file` is the `.env` that was read into `env`, if there was one: a missing token is
    then explained in terms of that file."""
    level = (_text(env, "LOG_LEVEL") or "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"{level!r} must be one of {', '.join(LOG_LEVELS)}")
    dev_guild_id = _snowflake(env, "DEV_GUILD_ID")
    api_base_url = _api_base_url(env)
    gateway_url = _url(env, "DISCORD_GATEWAY_URL", DEFAULT_GATEWAY_URL, ("wss", "ws"))
    max_sleep_seconds = _positive_number(env, "NEXTROUND_MAX_SLEEP", 30.0)
    send_rate = _positive_number(env, "NEXTROUND_SEND_RATE", 45.0, maximum=DISCORD_GLOBAL_RATE)
    force_sync = _flag(env, "NEXTROUND_FORCE_SYNC")
    # Empty: the host name, made unique among the live processes on the database at start.
    instance_name = _text(env, "NEXTROUND_INSTANCE") or ""
    if len(instance_name) > 100:
        raise ConfigError("NEXTROUND_INSTANCE", "must be at most 100 characters")
    token = _token(env, dotenv_file)
    return Settings(
        token=token,
        database_path=prepare_database_path(_text(env, "NEXTROUND_DB")),
        dev_guild_id=dev_guild_id,
        log_level=level,
        api_base_url=api_base_url,
        gateway_url=gateway_url,
        max_sleep_seconds=max_sleep_seconds,
        send_rate_per_second=send_rate,
        force_sync=force_sync,
        instance_name=instance_name,
    )


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # discord.py is chatty at DEBUG; keep its own noise at INFO unless asked otherwise.
    if level != "DEBUG":
        logging.getLogger("discord").setLevel(max(logging.INFO, logging.getLevelName(level)))
