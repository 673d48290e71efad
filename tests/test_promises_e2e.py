"""The promises under faults: a failing database, a runner that stalls past its lease, lost
responses, long outages, busy channels, two processes on one database, and people acting while
a delivery is in flight. The real bot and client against the emulator; time is moved by hand."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.clock import ManualClock
from bot.db import Database
from bot.db.jobs import Job
from bot.followups import STEPS, FollowUps, kind_of
from bot.scheduler import LeaseLost, Scheduler
from tests.conftest import START, TOKEN, BotFactory, RunningBot, World
from tests.emulator import READ_MESSAGE_HISTORY
from tests.test_followups_e2e import command, follow_up_rows, move_to
from tests.test_process import start_process

pytestmark = pytest.mark.timeout(30)

# START is Wed 2027-03-24 14:00 UTC; a person without a zone gets the thank-you a day later at
# the time of day they logged, Thu 14:00 UTC.
THANK_YOU_DUE = int((START + 24 * 3600) * 1000)


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait for the bot to get somewhere: polling its own counters, with no assumption about
    how fast it is (the test's timeout is the limit)."""
    while not condition():  # noqa: ASYNC110 - the bot's counters have no event to wait on
        await asyncio.sleep(0.005)
    assert condition(), what


def at_least(value: Callable[[], int], wanted: int) -> Callable[[], bool]:
    return lambda: value() >= wanted


def dms_by_person(world: World, people: list[int]) -> dict[int, int]:
    return {person: len(world.emulator.dm_messages(person)) for person in people}


# -- 1. the database fails under the scheduler -------------------------------------------------


async def test_a_locked_then_failing_database_holds_deliveries_and_loses_none(
    world: World, start_bot: BotFactory, caplog: pytest.LogCaptureFixture
) -> None:
    running = await start_bot(busy_timeout_ms=50)
    scheduler = running.bot.scheduler
    people = [world.emulator.add_user(f"person{number}") for number in range(8)]
    for person in people:
        world.emulator.add_member(world.guild_id, person)
        await command(world, person, "rejection log", {"company": "Acme"})

    # Another process holds the write lock: every claim fails with "database is locked".
    blocker = sqlite3.connect(running.settings.database_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    running.clock.set(THANK_YOU_DUE / 1000)
    scheduler.wake()
    for failures in range(1, 6):
        await until(at_least(lambda: scheduler.database_failures, failures), "a failed pass")
        running.clock.advance(30)  # past the backoff, however far it has grown
    assert dms_by_person(world, people) == dict.fromkeys(people, 0)
    assert scheduler.database_failures >= 5
    blocker.execute("ROLLBACK")

    # Then outcomes cannot be written (an I/O error on those writes, say): the DMs go out,
    # their acknowledgements wait in memory, and the leases are still renewed meanwhile.
    blocker.execute(
        "CREATE TRIGGER fail_outcomes BEFORE UPDATE OF state ON scheduled_jobs "
        "WHEN NEW.state = 'done' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
    )
    running.clock.advance(30)
    await until(lambda: sum(dms_by_person(world, people).values()) == len(people), "the DMs")
    await until(lambda: scheduler.database_failures >= 1, "outcomes that cannot be written")
    for _ in range(4):  # two minutes, twice the lease, without writing an outcome
        passes = scheduler.passes
        running.clock.advance(30)
        await until(at_least(lambda: scheduler.passes, passes + 1), "another pass")
    blocker.execute("DROP TRIGGER fail_outcomes")
    blocker.close()
    running.clock.advance(30)
    await scheduler.settle()

    assert dms_by_person(world, people) == dict.fromkeys(people, 1)
    assert world.emulator.stats["nonce_dedup"] == 0  # nothing was even sent a second time
    rows = await running.database.fetch_all(
        "SELECT state, outcome, claims FROM scheduled_jobs WHERE kind = 'followup:thank_you'"
    )
    assert [(row["state"], row["outcome"], row["claims"]) for row in rows] == [
        ("done", "sent", 1)
    ] * len(people)
    held = [r for r in caplog.records if r.getMessage().startswith("scheduled work is on hold")]
    back = [r for r in caplog.records if "scheduled work is running again" in r.getMessage()]
    assert len(held) == 2 and len(back) == 2  # once per outage, with its cause
    assert "database is locked" in held[0].getMessage()
    assert "disk I/O error" in held[1].getMessage()


# -- 2. a runner stalls past its lease ---------------------------------------------------------


async def stand_in_process(
    running: RunningBot, clock: ManualClock, owner: str, client: discord.Client
) -> tuple[Database, Scheduler]:
    """Another process on the same database: its own connection, clock and scheduler, and a
    Discord client of its own (so its requests queue behind nobody else's)."""
    database = await Database.open(running.settings.database_path, clock)
    scheduler = Scheduler(database, clock, owner=owner)
    follow_ups = FollowUps(database, clock, scheduler)
    follow_ups.client = client
    for step in STEPS:
        scheduler.register(kind_of(step), follow_ups.deliver)
    return database, scheduler


async def logged_in_client() -> discord.Client:
    """A Discord client that has logged in (REST only, no gateway), as a process would."""
    client = discord.Client(intents=discord.Intents.none())
    await client.login(TOKEN)
    return client


async def test_a_runner_that_lost_its_lease_never_sends(world: World, running: RunningBot) -> None:
    await running.bot.scheduler.stop()  # two stand-in processes run the timeline instead
    await command(world, world.alice, "rejection log", {"company": "Acme"})
    clock_a = ManualClock(THANK_YOU_DUE / 1000)
    clock_b = ManualClock(THANK_YOU_DUE / 1000 + 61)  # B runs a minute later: A's lease is over
    gate_a, gate_b = asyncio.Event(), asyncio.Event()
    # Each process stops while opening the DM channel, before recording its attempt.
    world.emulator.fault("POST", r"^/users/@me/channels$", hold=gate_a)
    world.emulator.fault("POST", r"^/users/@me/channels$", hold=gate_b)
    # A is the real bot's client, with its REST connector and its last check before a send.
    other_client = await logged_in_client()
    db_a, process_a = await stand_in_process(running, clock_a, "process-a", running.bot)
    db_b, process_b = await stand_in_process(running, clock_b, "process-b", other_client)
    try:
        await process_a.start()
        await world.emulator.wait_for_request("POST", r"^/users/@me/channels$")
        await process_b.start()  # takes the row back from A's expired lease, and claims it
        await world.emulator.wait_for_request("POST", r"^/users/@me/channels$", count=2)
        clock_a.set(clock_b.timestamp())  # A wakes up (SIGCONT) and carries on
        gate_a.set()
        await process_a.settle()
        assert world.emulator.dm_messages(world.alice) == []  # A gave up: not its row anymore
        gate_b.set()
        await process_b.settle()
        (dm,) = world.emulator.dm_messages(world.alice)
        rows = await follow_up_rows(running, world.alice)
        assert rows["thank_you"]["state"] == "done"
        assert rows["thank_you"]["nonce"] == dm.nonce
    finally:
        for process, database in ((process_a, db_a), (process_b, db_b)):
            await process.stop()
            await database.close()
        await other_client.close()


async def test_a_send_whose_lease_ran_out_does_not_leave(world: World, running: RunningBot) -> None:
    # The last check is in the HTTP connector, right before the request leaves (after any wait
    # for the send budget): a process that stalls after recording its attempt sends nothing.
    await running.bot.scheduler.stop()
    await command(world, world.alice, "rejection log", {"company": "Acme"})
    clock = ManualClock(THANK_YOU_DUE / 1000)
    held: asyncio.Queue[Job] = asyncio.Queue()
    release = asyncio.Event()

    async def hold(job: Job) -> None:
        await held.put(job)
        await release.wait()

    database = await Database.open(running.settings.database_path, clock)
    scheduler = Scheduler(database, clock, owner="stalling")
    scheduler.register("followup:thank_you", hold)
    await scheduler.start()
    try:
        job = await asyncio.wait_for(held.get(), 5)
        channel_id = world.emulator.dm_channel_id(world.alice)
        attempt = await scheduler.record_attempt(job, channel_id)
        clock.advance(50)  # the process stalled: 10 s of its lease left, under the margin
        channel = running.bot.get_partial_messageable(channel_id)
        with pytest.raises(LeaseLost), scheduler.guarded(job):
            await channel.send("late", nonce=attempt.nonce)
        assert world.emulator.requests_matching("POST", rf"^/channels/{channel_id}/messages$") == []
        release.set()
    finally:
        await scheduler.stop()
        await database.close()


# -- 3 and 6. a lost response, retries, and a busy channel ---------------------------------------


async def test_a_tip_whose_response_was_lost_posts_once_after_retries(
    world: World, running: RunningBot
) -> None:
    # Discord keeps a nonce "for a few minutes"; here exactly as long as the bot trusts one.
    world.emulator.nonce_window = 120.0
    await tips_setup(world, weekday="wednesday", time="14:30", timezone="UTC")
    slot = int((START + 1800) * 1000)
    # The post is made but its answer is lost; then four quick retries meet 503s.
    world.emulator.fault("POST", rf"^/channels/{world.channel_id}/messages$", 503, after=True)
    await move_to(running, slot)
    assert len(tip_posts(world)) == 1
    world.emulator.fault("POST", rf"^/channels/{world.channel_id}/messages$", 503, times=4)
    for _ in range(20):  # past the fifth retry, in steps shorter than any backoff after it
        await move_to(running, running.clock.timestamp() * 1000 + 20_000)
    assert len(tip_posts(world)) == 1
    row = await running.database.fetch_one(
        "SELECT message_id FROM tip_posts WHERE guild_id = ?", (world.guild_id,)
    )
    assert row is not None and row["message_id"] == tip_posts(world)[0].id


async def test_a_follow_up_sent_before_a_long_outage_is_found_in_a_busy_dm(
    world: World, running: RunningBot
) -> None:
    await command(world, world.alice, "rejection log", {"company": "Acme"})
    dm_channel = world.emulator.dm_channel_id(world.alice)
    # Sent, answer lost; then Discord is down for ten minutes.
    world.emulator.fault("POST", rf"^/channels/{dm_channel}/messages$", 503, after=True)
    await move_to(running, THANK_YOU_DUE)
    assert len(world.emulator.dm_messages(world.alice)) == 1
    outage = world.emulator.fault("POST", rf"^/channels/{dm_channel}/messages$", 503, times=None)
    for number in range(120):  # meanwhile the person writes a lot in the DM
        world.emulator.post_user_message(world.alice, dm_channel, f"note {number}")
    for _ in range(60):
        await move_to(running, running.clock.timestamp() * 1000 + 10_000)
    world.emulator._faults.remove(outage)
    for _ in range(12):
        await move_to(running, running.clock.timestamp() * 1000 + 60_000)
    bot_dms = [m for m in world.emulator.dm_messages(world.alice) if m.embeds]
    assert len(bot_dms) == 1
    rows = await follow_up_rows(running, world.alice)
    assert rows["thank_you"]["state"] == "done"
    lookups = world.emulator.requests_matching("GET", rf"^/channels/{dm_channel}/messages")
    assert lookups and all("after" in request.query for request in lookups)


# -- 4. a long Discord outage ------------------------------------------------------------------


async def test_an_outage_of_hours_loses_no_follow_up(world: World, running: RunningBot) -> None:
    await command(world, world.alice, "rejection log", {"company": "Acme"})
    outage = world.emulator.fault("POST", r"^/channels/\d+/messages$", 503, times=None)
    await move_to(running, THANK_YOU_DUE)
    for _ in range(3 * 6):  # three hours in ten-minute steps
        await move_to(running, running.clock.timestamp() * 1000 + 600_000)
    rows = await follow_up_rows(running, world.alice)
    assert rows["thank_you"]["state"] == "pending"
    assert rows["thank_you"]["attempts"] > 8  # the old limit, long passed
    retries = world.emulator.requests_matching("POST", r"^/channels/\d+/messages$")
    gaps = [b.at - a.at for a, b in itertools.pairwise(retries)]
    assert max(gaps) <= 600 + 5  # at most every ten minutes, once backed off
    world.emulator._faults.remove(outage)
    await move_to(running, running.clock.timestamp() * 1000 + 600_000)
    (dm,) = world.emulator.dm_messages(world.alice)
    assert "late" in dm.embeds[0]["description"]  # measured from when it was due, not retried
    rows = await follow_up_rows(running, world.alice)
    assert (rows["thank_you"]["state"], rows["thank_you"]["outcome"]) == ("done", "sent late")


# -- 5. a tip channel without Read Message History ---------------------------------------------


async def test_tips_need_read_message_history_and_say_so(world: World, running: RunningBot) -> None:
    world.emulator.set_bot_channel_permissions(world.channel_id, deny=READ_MESSAGE_HISTORY)
    refused = await tips_command(world, "setup", {"channel": world.channel_id, **TIPS_SETUP})
    assert "lacks **Read Message History**" in refused["content"]
    assert await running.database.fetch_value("SELECT COUNT(*) FROM tip_schedules") == 0

    world.emulator.set_bot_channel_permissions(world.channel_id)
    await until_cache_sees(running, world, read_history=True)
    await tips_command(world, "setup", {"channel": world.channel_id, **TIPS_SETUP})
    world.emulator.set_bot_channel_permissions(world.channel_id, deny=READ_MESSAGE_HISTORY)
    await until_cache_sees(running, world, read_history=False)
    refused = await tips_command(world, "thread", {"enabled": True})
    assert "lacks **Read Message History**" in refused["content"]
    refused = await tips_command(world, "resume")
    assert "lacks **Read Message History**" in refused["content"]
    # A slot that comes while it is missing posts nothing and says why.
    await move_to(running, int((START + 7 * 86_400) * 1000))
    assert tip_posts(world) == []
    status = (await tips_command(world, "status"))["embeds"][0]
    upcoming = next(f for f in status["fields"] if f["name"] == "Next post")["value"]
    assert "lacks Read Message History" in upcoming


# -- 7. two processes with default settings ----------------------------------------------------


async def test_two_live_processes_never_share_an_instance_name(
    tmp_path: Path, clock: ManualClock
) -> None:
    path = tmp_path / "shared.sqlite3"
    first_db, second_db = await Database.open(path, clock), await Database.open(path, clock)
    first, second = Scheduler(first_db, clock), Scheduler(second_db, clock)
    try:
        await first.start()
        await second.start()
        assert first.owner != second.owner
        assert second.owner == f"{first.owner}-2"
        # An explicit name held by a live process is refused.
        third_db = await Database.open(path, clock)
        with pytest.raises(Exception, match="another running process"):
            await Scheduler(third_db, clock, owner=first.owner).start()
        await third_db.close()
    finally:
        await first.stop()
        await second.stop()
        await first_db.close()
    # A restart of the first instance gets its name back (and with it, its rows).
    again_db = await Database.open(path, clock)
    again = Scheduler(again_db, clock)
    try:
        await again.start()
        assert again.owner == first.owner
    finally:
        await again.stop()
        await again_db.close()
        await second_db.close()


# -- 8. pause until resumed --------------------------------------------------------------------


async def test_pause_until_resumed_is_a_state_and_everything_keeps_working(
    world: World, running: RunningBot
) -> None:
    paused = await command(world, world.alice, "followups pause")
    assert paused["content"].startswith("Follow-ups paused")
    reply = await command(world, world.alice, "rejection log", {"company": "Acme"})
    assert "paused" in reply["embeds"][0]["fields"][-1]["value"]
    settings = await command(world, world.alice, "followups settings")
    assert "Paused until you run </followups resume:" in settings["embeds"][0]["description"]
    await move_to(running, THANK_YOU_DUE + 3 * 86_400_000)
    assert world.emulator.dm_messages(world.alice) == []
    rows = await follow_up_rows(running, world.alice)
    assert all(row["due_at"] < 253_402_300_799_000 for row in rows.values())
    resumed = await command(world, world.alice, "followups resume")
    assert resumed["content"].startswith("Follow-ups resumed")
    await move_to(running, running.clock.timestamp() * 1000 + 3 * 86_400_000)  # past a weekend
    assert len(world.emulator.dm_messages(world.alice)) >= 1


@pytest.mark.parametrize("until_text", ["9999-12-31 23:59", "9999-01-01", "400 days"])
async def test_a_pause_beyond_a_year_is_refused_and_changes_nothing(
    world: World, running: RunningBot, until_text: str
) -> None:
    refused = await command(world, world.alice, "followups pause", {"until": until_text})
    assert "up to 365 days" in refused["content"]
    settings = await command(world, world.alice, "followups settings")
    assert "Not paused" in settings["embeds"][0]["description"]
    reply = await command(world, world.alice, "rejection log", {"company": "Acme"})
    assert "Follow-ups by DM" in reply["embeds"][0]["fields"][-1]["value"]


# -- 13. deleting everything while a delivery is in flight -------------------------------------


async def test_privacy_delete_during_a_delivery_leaves_nothing(
    world: World, running: RunningBot
) -> None:
    await command(world, world.alice, "rejection log", {"company": "Acme"})
    gate = asyncio.Event()
    world.emulator.fault("POST", r"^/users/@me/channels$", hold=gate)
    running.clock.set(THANK_YOU_DUE / 1000)
    running.bot.scheduler.wake()
    await world.emulator.wait_for_request("POST", r"^/users/@me/channels$")
    confirm = await world.emulator.invoke(world.alice, "privacy delete", {})
    prompt = await confirm.wait_message()
    yes = next(
        component["custom_id"]
        for row in prompt.components
        for component in row["components"]
        if component["custom_id"].endswith(":yes")
    )
    pressed = await world.emulator.click(world.alice, prompt, yes)
    assert "Deleted" in (await pressed.wait_response())["data"]["content"]
    gate.set()
    await running.bot.scheduler.settle()
    assert world.emulator.dm_messages(world.alice) == []
    for table in ("people", "entries", "scheduled_jobs"):
        count = await running.database.fetch_value(
            f"SELECT COUNT(*) FROM {table} WHERE user_id = ?", (world.alice,)
        )
        assert count == 0, table


# -- tips helpers ------------------------------------------------------------------------------

TIPS_SETUP = {"weekday": "monday", "time": "09:00", "timezone": "Europe/London"}
EPHEMERAL = 1 << 6


async def tips_command(
    world: World, name: str, options: dict[str, Any] | None = None
) -> dict[str, Any]:
    interaction = await world.emulator.invoke(
        world.admin,
        f"tips {name}",
        options or {},
        guild_id=world.guild_id,
        channel_id=world.channel_id,
    )
    response = await interaction.wait_response()
    data: dict[str, Any] = response.get("data") or {}
    return data


async def tips_setup(world: World, **options: Any) -> dict[str, Any]:
    return await tips_command(world, "setup", {"channel": world.channel_id, **options})


def tip_posts(world: World) -> list[Any]:
    return [
        message
        for message in world.emulator.messages(world.channel_id)
        if message.author_id == world.emulator.bot_user_id and message.embeds
    ]


async def until_cache_sees(running: RunningBot, world: World, *, read_history: bool) -> None:
    def sees() -> bool:
        guild = running.bot.get_guild(world.guild_id)
        channel = running.bot.get_channel(world.channel_id)
        assert guild is not None and channel is not None
        return channel.permissions_for(guild.me).read_message_history == read_history  # type: ignore[union-attr]

    await until(sees, "the permission change to reach the bot's cache")


async def test_a_second_process_with_the_same_explicit_name_stops_with_one_line(
    world: World, tmp_path: Path, clock: ManualClock
) -> None:
    database = tmp_path / "nextround.sqlite3"
    # The first process: this one, holding the name as a running bot does.
    first = await Database.open(database, clock)
    try:
        assert await first.claim_instance("worker-1") == "worker-1"
        second = await start_process(
            tmp_path,
            DISCORD_API_BASE_URL=world.emulator.api_base,
            DISCORD_GATEWAY_URL=world.emulator.gateway_url,
            NEXTROUND_DB=str(database),
            NEXTROUND_INSTANCE="worker-1",
        )
        output, _ = await asyncio.wait_for(second.communicate(), timeout=20)
    finally:
        await first.close()
    assert second.returncode == 2
    lines = output.decode().strip().splitlines()
    assert lines == [
        f"nextround: NEXTROUND_INSTANCE: another running process uses the instance name "
        f"'worker-1' on {database}; give each process its own name"
    ]
