"""Settings as a new user meets them: one clear line and exit code 2 for anything wrong."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import ConfigError, load_settings

REPO = Path(__file__).resolve().parent.parent


def clean_environment(env: dict[str, str]) -> dict[str, str]:
    kept = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DISCORD_", "NEXTROUND_", "DEV_GUILD"))
    }
    return {**kept, **env}


def run_bot(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`nextround` with this environment in `cwd`, run in this process: a startup problem is
    decided before anything connects, so a new interpreter per case would only cost time
    (`test_the_command_itself_gives_one_line_and_exit_2` runs the real command)."""
    saved_environment, saved_cwd = dict(os.environ), Path.cwd()
    out, err = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    try:
        os.environ.clear()
        os.environ.update(clean_environment(env))
        os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main([])
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int | str | None) else 1
    finally:
        os.environ.clear()
        os.environ.update(saved_environment)
        os.chdir(saved_cwd)
    return subprocess.CompletedProcess(
        ["nextround"], int(code or 0), out.getvalue(), err.getvalue()
    )


def test_the_command_itself_gives_one_line_and_exit_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        env={**clean_environment({}), "PYTHONPATH": str(REPO)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("nextround: DISCORD_TOKEN: not set; copy .env.example")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "DISCORD_TOKEN"),
        ({"DISCORD_TOKEN": "x", "DEV_GUILD_ID": "abc"}, "DEV_GUILD_ID"),
        ({"DISCORD_TOKEN": "x", "NEXTROUND_DB": "{file}/nested/db.sqlite3"}, "NEXTROUND_DB"),
        ({"DISCORD_TOKEN": "x", "LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"DISCORD_TOKEN": "x", "NEXTROUND_SEND_RATE": "60"}, "NEXTROUND_SEND_RATE"),
        ({"DISCORD_TOKEN": "x", "DISCORD_API_BASE_URL": "discord.com"}, "DISCORD_API_BASE_URL"),
        (
            {"DISCORD_TOKEN": "x", "DISCORD_API_BASE_URL": "http://127.0.0.1:9/api"},
            "DISCORD_API_BASE_URL",
        ),
        ({"DISCORD_TOKEN": ""}, "DISCORD_TOKEN"),
    ],
)
def test_bad_settings_give_one_line_and_exit_2(
    tmp_path: Path, env: dict[str, str], variable: str
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = {key: value.format(file=blocker) for key, value in env.items()}
    result = run_bot(env, tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"nextround: {variable}: ")
    assert "Traceback" not in result.stderr


def test_token_is_never_in_the_settings_repr(tmp_path: Path) -> None:
    settings = load_settings(
        {"DISCORD_TOKEN": "secret-token-value", "NEXTROUND_DB": str(tmp_path / "x.db")}
    )
    assert "secret-token-value" not in repr(settings)
    assert "secret-token-value" not in str(settings)


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"DISCORD_TOKEN": "t"})
    assert settings.database_path == tmp_path / "data" / "nextround.sqlite3"
    assert (tmp_path / "data").is_dir()
    assert settings.api_base_url == "https://discord.com/api/v10"
    assert settings.gateway_url == "wss://gateway.discord.gg/"
    assert settings.max_sleep_seconds == 30
    assert settings.send_rate_per_second == 45
    assert settings.dev_guild_id is None
    assert not settings.force_sync


def test_values_are_parsed(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "DISCORD_TOKEN": " t ",
            "NEXTROUND_DB": str(tmp_path / "db" / "x.sqlite3"),
            "DEV_GUILD_ID": "123456789012345678",
            "LOG_LEVEL": "debug",
            "DISCORD_API_BASE_URL": "http://127.0.0.1:9/api/v10/",
            "NEXTROUND_FORCE_SYNC": "1",
            "NEXTROUND_MAX_SLEEP": "5",
        }
    )
    assert settings.token == "t"
    assert settings.dev_guild_id == 123456789012345678
    assert settings.log_level == "DEBUG"
    assert settings.api_base_url == "http://127.0.0.1:9/api/v10"
    assert settings.force_sync
    assert settings.max_sleep_seconds == 5


def test_dotenv_is_read_from_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DISCORD_TOKEN=from-dotenv\nDEV_GUILD_ID=nope\n")
    result = run_bot({}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("nextround: DEV_GUILD_ID: 'nope'")


def test_config_error_names_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"DISCORD_TOKEN": "t", "NEXTROUND_MAX_SLEEP": "-1"})
    assert caught.value.variable == "NEXTROUND_MAX_SLEEP"


def only_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_no_token_anywhere_says_copy_the_example(tmp_path: Path) -> None:
    line = only_line(run_bot({}, tmp_path))
    assert line.startswith("nextround: DISCORD_TOKEN: not set; copy .env.example to .env")


def test_empty_token_in_dotenv_says_where_to_paste_it(tmp_path: Path) -> None:
    # What a fresh copy of .env.example holds until the token is pasted.
    (tmp_path / ".env").write_text("# the bot token\nDISCORD_TOKEN=\n")
    line = only_line(run_bot({}, tmp_path))
    assert line.startswith(f"nextround: DISCORD_TOKEN: empty in {tmp_path / '.env'}; paste ")
    assert ".env.example" not in line


def test_dotenv_without_a_token_line_says_add_one(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LOG_LEVEL=INFO\n")
    line = only_line(run_bot({}, tmp_path))
    assert line.startswith("nextround: DISCORD_TOKEN: not set; add DISCORD_TOKEN=")
    assert str(tmp_path / ".env") in line
    assert ".env.example" not in line


@pytest.mark.parametrize("dotenv", [None, "DISCORD_TOKEN=from-dotenv\n"])
def test_empty_token_in_the_environment_says_so(tmp_path: Path, dotenv: str | None) -> None:
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv)  # the empty variable wins over this token
    line = only_line(run_bot({"DISCORD_TOKEN": ""}, tmp_path))
    assert line.startswith("nextround: DISCORD_TOKEN: set but empty in the environment")
    assert ".env.example" not in line


def test_api_base_without_a_version_is_refused_with_an_example(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"DISCORD_TOKEN": "t", "DISCORD_API_BASE_URL": "http://127.0.0.1:8765/api/"})
    assert caught.value.variable == "DISCORD_API_BASE_URL"
    assert "http://127.0.0.1:8765/api/v10" in str(caught.value)
    settings = load_settings(
        {
            "DISCORD_TOKEN": "t",
            "DISCORD_API_BASE_URL": "http://proxy.internal:8080/api/v9",
            "NEXTROUND_DB": str(tmp_path / "x.db"),
        }
    )
    assert settings.api_base_url == "http://proxy.internal:8080/api/v9"
