"""The bot as a real process: `python -m bot` against the emulator, stopped with SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.conftest import World

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parent.parent


async def start_process(cwd: Path, **settings: str) -> asyncio.subprocess.Process:
    """`python -m bot` with these settings (and none left over from the environment);
    stderr goes to stdout."""
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("NEXTROUND_")},
        "DISCORD_TOKEN": "test-token",
        "PYTHONPATH": str(REPO),
        **settings,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def test_sigterm_stops_cleanly_and_closes_the_database(world: World, tmp_path: Path) -> None:
    emulator = world.emulator
    database = tmp_path / "db" / "nextround.sqlite3"
    process = await start_process(
        tmp_path,
        DISCORD_API_BASE_URL=emulator.api_base,
        DISCORD_GATEWAY_URL=emulator.gateway_url,
        NEXTROUND_DB=str(database),
        LOG_LEVEL="INFO",
    )
    try:
        await emulator.wait_until_connected(timeout=20)
        await emulator.wait_for(lambda: emulator.sync_count() == 1, timeout=20, what="sync")
        interaction = await emulator.invoke(world.alice, "help", {})
        assert (await interaction.wait_response(timeout=10))["type"] == 4
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = output.decode()
    assert process.returncode == 0, log
    assert "stopped; database closed" in log
    assert "Traceback" not in log
    assert "voice" not in log  # NextRound never uses voice: no warning about its libraries
    # Closed cleanly: the WAL was checkpointed and the file opens with the schema in place.
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    assert {"scheduled_jobs", "entries", "people", "command_sync"} <= tables


async def test_discord_out_of_reach_at_start_gives_one_line(tmp_path: Path) -> None:
    process = await start_process(
        tmp_path,
        DISCORD_API_BASE_URL="http://127.0.0.1:9/api/v10",  # the discard port: nothing listens
        NEXTROUND_DB=str(tmp_path / "nextround.sqlite3"),
    )
    output_bytes, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    output = output_bytes.decode()
    assert "Traceback" not in output
    last = output.strip().splitlines()[-1]
    assert last.startswith("nextround: DISCORD_API_BASE_URL: cannot reach http://127.0.0.1:9/")


async def last_line_of_a_failed_start(process: asyncio.subprocess.Process) -> str:
    output_bytes, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    output = output_bytes.decode()
    assert process.returncode == 2, output
    assert "Traceback" not in output
    return output.strip().splitlines()[-1]


async def test_gateway_out_of_reach_at_start_gives_one_line(world: World, tmp_path: Path) -> None:
    # REST answers, so login and the command sync succeed; only the gateway is wrong.
    process = await start_process(
        tmp_path,
        DISCORD_API_BASE_URL=world.emulator.api_base,
        DISCORD_GATEWAY_URL="ws://127.0.0.1:9/",  # the discard port: nothing listens
        NEXTROUND_DB=str(tmp_path / "nextround.sqlite3"),
    )
    last = await last_line_of_a_failed_start(process)
    assert last.startswith("nextround: DISCORD_GATEWAY_URL: cannot reach ws://127.0.0.1:9/"), last


async def test_api_base_that_is_not_the_api_gives_one_line(world: World, tmp_path: Path) -> None:
    # Ends in a version, so the setting looks right, but nothing there is Discord's API: 404.
    process = await start_process(
        tmp_path,
        DISCORD_API_BASE_URL=f"{world.emulator.base_url}/v10",
        DISCORD_GATEWAY_URL=world.emulator.gateway_url,
        NEXTROUND_DB=str(tmp_path / "nextround.sqlite3"),
    )
    last = await last_line_of_a_failed_start(process)
    assert last.startswith(
        f"nextround: DISCORD_API_BASE_URL: {world.emulator.base_url}/v10 answered 404"
    ), last


async def test_gateway_lost_after_connecting_is_reconnected(world: World, tmp_path: Path) -> None:
    """Once connected, an unreachable gateway is an outage to sit out, not a setting to fix."""
    emulator = world.emulator
    process = await start_process(
        tmp_path,
        DISCORD_API_BASE_URL=emulator.api_base,
        DISCORD_GATEWAY_URL=emulator.gateway_url,
        NEXTROUND_DB=str(tmp_path / "nextround.sqlite3"),
        LOG_LEVEL="INFO",
    )
    assert process.stdout is not None
    try:
        await emulator.wait_until_connected(timeout=20)
        await emulator.wait_for(lambda: emulator.sync_count() == 1, timeout=20, what="sync")
        connections = emulator.identify_count + emulator.resume_count
        await emulator.close()  # the port is closed: reconnecting is refused for now
        seen: list[str] = []
        while not any("Attempting a reconnect" in line for line in seen):
            line = (await asyncio.wait_for(process.stdout.readline(), timeout=20)).decode()
            assert line, "the bot stopped instead of reconnecting:\n" + "".join(seen)
            seen.append(line)
        await emulator.start()  # the same port again
        await emulator.wait_for(
            lambda: emulator.identify_count + emulator.resume_count > connections,
            timeout=20,
            what="the bot to connect again",
        )
        await emulator.wait_until_connected(timeout=20)
        interaction = await emulator.invoke(world.alice, "help", {})
        assert (await interaction.wait_response(timeout=10))["type"] == 4
        process.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(process.communicate(), timeout=20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, "".join(seen) + rest.decode()
    assert "stopped; database closed" in rest.decode()


async def test_backup_copies_the_database_while_the_bot_runs(world: World, tmp_path: Path) -> None:
    emulator = world.emulator
    database = tmp_path / "data" / "nextround.sqlite3"
    process = await start_process(
        tmp_path,
        DISCORD_API_BASE_URL=emulator.api_base,
        DISCORD_GATEWAY_URL=emulator.gateway_url,
        NEXTROUND_DB=str(database),
    )
    try:
        await emulator.wait_until_connected(timeout=20)
        interaction = await emulator.invoke(
            world.alice,
            "rejection log",
            {"company": "Acme"},
            guild_id=world.guild_id,
            channel_id=world.channel_id,
        )
        await interaction.wait_response(timeout=10)
        target = tmp_path / "copies" / "monday.sqlite3"
        backup = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "backup",
            "--to",
            str(target),
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO), "NEXTROUND_DB": str(database)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(backup.communicate(), timeout=30)
        assert backup.returncode == 0, output
        assert output.decode().startswith(f"backed up {database} to {target}")
        with sqlite3.connect(target) as copy:
            assert copy.execute("SELECT company FROM entries").fetchall() == [("Acme",)]
        # A second backup to the same file is refused: nothing is overwritten.
        again = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "backup",
            "--to",
            str(target),
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO), "NEXTROUND_DB": str(database)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(again.communicate(), timeout=30)
        assert again.returncode == 2
        assert (
            output.decode().strip()
            == f"nextround: {target} exists already; give another file name with --to"
        )
    finally:
        process.terminate()
        await process.wait()
