"""Interview Tip of the Week end to end: the real bot, the emulator and a clock the test moves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from bot import templates
from bot.clock import ManualClock
from bot.db import Database
from bot.db import jobs as job_store
from bot.db import tips as tip_store
from bot.db.tips import Pick
from bot.scheduler import Scheduler
from bot.templates import BAD_TIMEZONE
from bot.tip_library import load_tip_library
from bot.tips import TipOfTheWeek
from tests.conftest import MANAGE_GUILD, BotFactory, RunningBot, World
from tests.emulator import (
    CREATE_PUBLIC_THREADS,
    EMBED_LINKS,
    MENTION_EVERYONE,
    SEND_MESSAGES,
    CommandNotAvailable,
    RecordedMessage,
)

pytestmark = pytest.mark.timeout(30)

EPHEMERAL = 1 << 6
LIBRARY = load_tip_library()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ms(text: str) -> int:
    return int(utc(text).timestamp() * 1000)


# Sat 2027-03-20 12:00 UTC: two days before the first Monday of the worked example.
@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(utc("2027-03-20T12:00:00"))


async def tips(
    world: World,
    name: str,
    options: dict[str, Any] | None = None,
    *,
    user: int | None = None,
    channel: int | None = None,
) -> dict[str, Any]:
    """Run /tips <name> in the server and return the (ephemeral) reply."""
    interaction = await world.emulator.invoke(
        world.admin if user is None else user,
        f"tips {name}",
        options or {},
        guild_id=world.guild_id,
        channel_id=channel or world.channel_id,
    )
    response = await interaction.wait_response()
    if response["type"] == 5:  # deferred: the answer is the first follow-up
        message = await interaction.wait_followup()
        assert message.flags & EPHEMERAL
        return message.payload
    data: dict[str, Any] = response.get("data") or {}
    if response["type"] == 4:
        assert data.get("flags", 0) & EPHEMERAL, data
    return data


SETUP = {"weekday": "monday", "time": "09:00", "timezone": "Europe/London"}


async def set_up(world: World, **options: Any) -> dict[str, Any]:
    return await tips(world, "setup", {"channel": world.channel_id, **SETUP, **options})


def posts(world: World, channel_id: int | None = None) -> list[RecordedMessage]:
    return [
        message
        for message in world.emulator.messages(channel_id or world.channel_id)
        if message.author_id == world.emulator.bot_user_id
        and message.embeds
        and message.embeds[0].get("title", "").startswith("Interview Tip of the Week")
    ]


async def move_to(running: RunningBot, instant: str) -> None:
    running.clock.set(utc(instant))
    await running.bot.scheduler.settle()
    await running.bot.scheduler.settle()


async def slot_rows(running: RunningBot, world: World) -> list[dict[str, Any]]:
    rows = await running.database.fetch_all(
        "SELECT * FROM scheduled_jobs WHERE guild_id = ? AND kind = 'tip:post' ORDER BY id",
        (world.guild_id,),
    )
    return [dict(row) for row in rows]


async def test_monday_0900_london_posts_at_0900z_then_0800z_in_summer_time(
    world: World, running: RunningBot
) -> None:
    reply = await set_up(world)
    first = ms("2027-03-22T09:00:00")
    assert f"<t:{first // 1000}:F>" in reply["content"]

    await move_to(running, "2027-03-22T08:59:59")
    assert posts(world) == []
    await move_to(running, "2027-03-22T09:00:00")
    (post,) = posts(world)
    embed = post.embeds[0]
    assert embed["title"] == f"Interview Tip of the Week #1 — {LIBRARY[0].title}"
    assert embed["description"].startswith(LIBRARY[0].body[:40])
    assert "<t:" not in embed["footer"]["text"]
    assert embed["timestamp"].startswith("2027-03-22T09:00:00")
    button = post.components[0]["components"][0]
    assert button["label"] == "Log a rejection"
    assert button["custom_id"].startswith("nr:tip-log:")
    request = world.emulator.requests_matching("POST", rf"^/channels/{world.channel_id}/messages$")
    assert request[-1].json["allowed_mentions"]["parse"] == []

    # Summer time starts on Sunday 28 March: 09:00 in London is now 08:00 UTC.
    await move_to(running, "2027-03-29T07:59:59")
    assert len(posts(world)) == 1
    await move_to(running, "2027-03-29T08:00:00")
    assert [p.embeds[0]["title"] for p in posts(world)][1] == (
        f"Interview Tip of the Week #2 — {LIBRARY[1].title}"
    )
    rows = await slot_rows(running, world)
    assert [(row["state"], row["due_at"]) for row in rows] == [
        ("done", first),
        ("done", ms("2027-03-29T08:00:00")),
        ("pending", ms("2027-04-05T08:00:00")),
    ]
    assert rows[0]["unique_key"] == f"tip:{world.guild_id}:2027-03-22T09:00+00:00"


# -- restarts and outages ------------------------------------------------------------------------

SLOT = "2027-03-22T09:00:00"


async def crash_state(running: RunningBot, world: World, point: str) -> None:
    """Leave the database as a process killed at `point` of posting the first slot would."""
    slot = ms(SLOT)
    owner = running.bot.scheduler.owner
    running.clock.set(utc(SLOT))
    database = await Database.open(running.settings.database_path, running.clock)
    try:
        if point in ("sent", "marked"):
            # The post went out; the acknowledgement (and the next slot's row) never happened.
            await database.execute(
                "UPDATE scheduled_jobs SET state = 'running', outcome = NULL, finished_at = NULL, "
                "lease_owner = ?, lease_expires_at = ? WHERE kind = 'tip:post' AND due_at = ?",
                (owner, slot + 60_000, slot),
            )
            await database.execute(
                "DELETE FROM scheduled_jobs WHERE kind = 'tip:post' AND due_at > ?", (slot,)
            )
            if point == "sent":
                await database.execute(
                    "UPDATE tip_posts SET message_id = NULL, posted_at = NULL WHERE slot = ?",
                    (slot,),
                )
            return
        claimed = await job_store.claim_due(
            database, owner=owner, now=slot, lease_until=slot + 60_000, limit=10
        )
        assert "tip:post" in {job.kind for job in claimed}
        if point == "attempted":
            post = await tip_store.reserve_post(
                database,
                world.guild_id,
                slot=slot,
                channel_id=world.channel_id,
                nonce="tip-crashed-attempt",
                now=slot,
                pick=lambda state: Pick(LIBRARY[0].id, LIBRARY[0].title, 1),
            )
            assert post is not None
            await tip_store.mark_attempt(database, post.id, slot)
    finally:
        await database.close()


@pytest.mark.parametrize("point", ["before", "claimed", "attempted", "sent", "marked", "after"])
@pytest.mark.parametrize("outage", ["short", "longer_than_nonce_window"])
async def test_a_restart_at_any_point_of_a_slot_posts_it_once(
    world: World, start_bot: BotFactory, point: str, outage: str
) -> None:
    running = await start_bot()
    await set_up(world)
    if point in ("sent", "marked", "after"):
        await move_to(running, SLOT)
        assert len(posts(world)) == 1
    await running.stop()
    if point in ("claimed", "attempted", "sent", "marked"):
        await crash_state(running, world, point)
    running.clock.set(utc(SLOT))
    if outage == "short":
        running.clock.advance(30)
    else:
        world.emulator.advance_time(600)
        running.clock.advance(600)

    running = await start_bot()
    await running.bot.scheduler.settle()
    await running.bot.scheduler.settle()
    (post,) = posts(world)
    assert post.embeds[0]["title"].startswith("Interview Tip of the Week #1 — ")
    rows = await slot_rows(running, world)
    assert [(row["state"], row["due_at"]) for row in rows] == [
        ("done", ms(SLOT)),
        ("pending", ms("2027-03-29T08:00:00")),
    ]
    stored = await running.database.fetch_all("SELECT number, message_id FROM tip_posts")
    assert [(row["number"], row["message_id"]) for row in stored] == [(1, post.id)]
    lookups = world.emulator.requests_matching("GET", rf"^/channels/{world.channel_id}/messages")
    if point == "sent":
        # Inside the window Discord's nonce de-duplicates the resend; after it, the bot finds
        # its own post in the channel (by the button's custom_id) and does not send again.
        if outage == "short":
            assert world.emulator.stats["nonce_dedup"] == 1
        else:
            assert len(lookups) == 1
            assert world.emulator.stats["nonce_dedup"] == 0
    # The next week posts #2, once.
    await move_to(running, "2027-03-29T08:00:00")
    assert [p.embeds[0]["title"].split(" — ")[0] for p in posts(world)] == [
        "Interview Tip of the Week #1",
        "Interview Tip of the Week #2",
    ]


async def test_a_30_hour_outage_skips_the_slot_and_reports_it(
    world: World, start_bot: BotFactory
) -> None:
    running = await start_bot()
    await set_up(world)
    await running.stop()
    running.clock.set(utc("2027-03-23T15:00:00"))  # 30 hours after the slot
    running = await start_bot()
    await running.bot.scheduler.settle()
    assert posts(world) == []
    status = (await tips(world, "status"))["embeds"][0]
    skipped = next(f for f in status["fields"] if f["name"] == "Skipped slots")
    assert f"<t:{ms(SLOT) // 1000}:F>" in skipped["value"]
    assert "offline" in skipped["value"]
    next_post = next(f for f in status["fields"] if f["name"] == "Next post")
    assert f"<t:{ms('2027-03-29T08:00:00') // 1000}:F>" in next_post["value"]
    # The skipped slot used no number: the next post is #1.
    await move_to(running, "2027-03-29T08:00:00")
    (post,) = posts(world)
    assert post.embeds[0]["title"] == f"Interview Tip of the Week #1 — {LIBRARY[0].title}"


async def test_a_3_hour_outage_posts_once_and_late(world: World, start_bot: BotFactory) -> None:
    running = await start_bot()
    await set_up(world)
    await running.stop()
    running.clock.set(utc("2027-03-22T12:00:00"))
    running = await start_bot()
    await running.bot.scheduler.settle()
    await running.bot.scheduler.settle()
    (post,) = posts(world)
    description = post.embeds[0]["description"]
    assert f"Posted late: this post was due <t:{ms(SLOT) // 1000}:F>." in description
    rows = await slot_rows(running, world)
    assert rows[0]["outcome"] == "posted late"
    assert [row["state"] for row in rows] == ["done", "pending"]
    assert rows[1]["due_at"] == ms("2027-03-29T08:00:00")


# -- permanent errors ---------------------------------------------------------------------------


async def test_a_deleted_channel_stops_posting_until_setup(
    world: World, running: RunningBot
) -> None:
    await set_up(world)
    elsewhere = world.emulator.add_text_channel(world.guild_id, "admins")
    world.emulator.delete_channel(world.channel_id)
    await move_to(running, SLOT)
    rows = await slot_rows(running, world)
    assert [row["state"] for row in rows] == ["failed"]
    assert "no longer exists" in rows[0]["outcome"]
    # The guild cache already knows: no request is spent on a channel that is gone.
    assert world.emulator.requests_matching("POST", r"^/channels/\d+/messages$") == []
    status = (await tips(world, "status", channel=elsewhere))["embeds"][0]
    upcoming = next(f for f in status["fields"] if f["name"] == "Next post")["value"]
    assert "Stopped: the tips channel no longer exists" in upcoming
    # No retry storm: a week later nothing was tried again.
    await move_to(running, "2027-03-29T08:00:00")
    assert world.emulator.requests_matching("POST", r"^/channels/\d+/messages$") == []
    # /tips resume names the problem; /tips setup with a new channel starts again.
    refused = await tips(world, "resume", channel=elsewhere)
    assert refused["content"] == templates.fill(templates.TIPS_CHANNEL_GONE)
    await tips(world, "setup", {**SETUP, "channel": elsewhere}, channel=elsewhere)
    await move_to(running, "2027-04-05T08:00:00")
    (post,) = posts(world, elsewhere)
    assert post.embeds[0]["title"].startswith("Interview Tip of the Week #1 — ")


async def test_lost_permission_stops_posting_until_resume(
    world: World, running: RunningBot
) -> None:
    await set_up(world)
    world.emulator.set_bot_channel_permissions(world.channel_id, deny=SEND_MESSAGES)
    await move_to(running, SLOT)
    assert posts(world) == []
    (row,) = await slot_rows(running, world)
    assert row["state"] == "failed"
    assert row["attempts"] == 1
    status = (await tips(world, "status"))["embeds"][0]
    upcoming = next(f for f in status["fields"] if f["name"] == "Next post")["value"]
    assert "NextRound lacks Send Messages" in upcoming
    refused = await tips(world, "resume")
    assert "lacks **Send Messages**" in refused["content"]
    world.emulator.set_bot_channel_permissions(world.channel_id)
    await world.emulator.wait_for(
        lambda: (
            running.bot.get_channel(world.channel_id)
            .permissions_for(running.bot.get_guild(world.guild_id).me)  # type: ignore[union-attr]
            .send_messages
        )
    )
    resumed = await tips(world, "resume")
    assert f"<t:{ms('2027-03-29T08:00:00') // 1000}:F>" in resumed["content"]
    await move_to(running, "2027-03-29T08:00:00")
    (post,) = posts(world)
    assert post.embeds[0]["title"].startswith("Interview Tip of the Week #1 — ")


async def test_missing_access_is_permanent_too(world: World, running: RunningBot) -> None:
    await set_up(world)
    world.emulator.fault(
        "POST", rf"^/channels/{world.channel_id}/messages$", status=403, code=50001, times=None
    )
    await move_to(running, SLOT)
    (row,) = await slot_rows(running, world)
    assert row["state"] == "failed"
    assert "code 50001" in row["outcome"]


async def test_a_discord_outage_is_retried_and_never_ends_the_weekly_chain(
    world: World, running: RunningBot
) -> None:
    await set_up(world)
    # Timeouts past the scheduler's quick retries: the slot keeps being tried, more slowly.
    calls = 0
    original = running.bot.tips._send

    async def flaky(*args: Any, **kwargs: Any) -> int:
        nonlocal calls
        calls += 1
        if calls <= 9:
            raise TimeoutError
        return await original(*args, **kwargs)

    running.bot.tips._send = flaky  # type: ignore[method-assign]
    await move_to(running, SLOT)
    for _ in range(12):
        running.clock.advance(900)
        await running.bot.scheduler.settle()
    (post,) = posts(world)
    assert post.embeds[0]["title"].startswith("Interview Tip of the Week #1 — ")
    rows = await slot_rows(running, world)
    assert [row["state"] for row in rows] == ["done", "pending"]


# -- admins only --------------------------------------------------------------------------------


async def test_the_command_is_for_servers_and_manage_server_by_default(
    world: World, running: RunningBot
) -> None:
    (synced,) = [c for c in world.emulator.commands() if c["name"] == "tips"]
    assert synced["default_member_permissions"] == str(MANAGE_GUILD)
    assert synced["integration_types"] == [0]
    assert synced["contexts"] == [0]
    names = {option["name"] for option in synced["options"]}
    assert names == {
        "setup",
        "status",
        "preview",
        "post-now",
        "skip",
        "pause",
        "resume",
        "add",
        "edit",
        "remove",
        "restore",
        "list",
        "thread",
    }
    for option in synced["options"]:
        assert 1 <= len(option["description"]) <= 100


async def test_help_lists_tips_for_admins_only(world: World, running: RunningBot) -> None:
    async def help_for(user: int) -> str:
        interaction = await world.emulator.invoke(
            user, "help", {}, guild_id=world.guild_id, channel_id=world.channel_id
        )
        return str((await interaction.wait_response())["data"]["embeds"][0]["description"])

    setup = f"{templates.command('tips setup')} — Choose the channel, weekday, time"
    assert "**For server admins**" in await help_for(world.admin)
    assert setup in await help_for(world.admin)
    assert "/tips" not in await help_for(world.alice)
    assert "server admins" not in await help_for(world.alice)


async def test_a_member_without_manage_server_is_refused_in_code(
    world: World, running: RunningBot
) -> None:
    with pytest.raises(CommandNotAvailable):
        await tips(world, "status", {}, user=world.alice)
    # A server may open the command to everyone in its integration settings.
    world.emulator.open_command_to_everyone(world.guild_id, "tips")
    for name, options in (
        ("status", {}),
        (
            "setup",
            {"channel": world.channel_id, "weekday": "monday", "time": "09:00", "timezone": "UTC"},
        ),
        ("post-now", {}),
    ):
        reply = await tips(world, name, options, user=world.alice)
        assert reply["content"] == "You need the Manage Server permission to use this command."
    assert await running.database.fetch_value("SELECT COUNT(*) FROM tip_schedules") == 0
    assert posts(world) == []
    choices = await world.emulator.autocomplete(
        world.alice, "tips remove", {"tip": ""}, "tip", guild_id=world.guild_id
    )
    assert choices == []


# -- two schedulers on one database ---------------------------------------------------------------


async def test_two_scheduler_instances_on_one_database_post_each_slot_once(
    world: World, running: RunningBot
) -> None:
    await set_up(world)
    database = await Database.open(running.settings.database_path, running.clock)
    second = Scheduler(database, running.clock, owner="second-instance", batch_size=64)
    second_tips = TipOfTheWeek(database, running.clock, second, LIBRARY)
    second_tips.client = running.bot
    second.register("tip:post", second_tips.post_slot)
    second.register("tip:purge", second_tips.purge)
    await second.start()
    try:
        # Both plan the same slot: the unique key keeps one row.
        schedule = await second_tips.schedule_of(world.guild_id)
        assert schedule is not None
        assert await second.schedule(second_tips.slot_job(schedule, ms(SLOT))) == []
        running.clock.set(utc(SLOT))
        await asyncio.gather(running.bot.scheduler.settle(), second.settle())
        await asyncio.gather(running.bot.scheduler.settle(), second.settle())
        assert len(posts(world)) == 1
    finally:
        await second.stop()
        await database.close()
    keys = [row["unique_key"] for row in await slot_rows(running, world)]
    assert len(keys) == len(set(keys))


# -- the button -------------------------------------------------------------------------------


async def test_the_log_a_rejection_button_opens_a_form_that_logs_an_entry(
    world: World, running: RunningBot
) -> None:
    await set_up(world)
    await move_to(running, SLOT)
    (post,) = posts(world)
    custom_id = post.components[0]["components"][0]["custom_id"]
    click = await world.emulator.click(world.bob, post, custom_id)
    response = await click.wait_response()
    assert response["type"] == 9  # a modal
    modal = click.modal
    assert modal is not None
    assert len(modal["components"]) == 5
    submitted = await world.emulator.submit_modal(
        world.bob,
        modal["custom_id"],
        {
            **inputs_of(modal, company="Acme", role="Data analyst", date="yesterday", notes=""),
            stage_id(modal): ["final"],
        },
    )
    reply = await submitted.wait_response()
    assert reply["type"] == 4
    assert reply["data"]["flags"] & EPHEMERAL
    assert reply["data"]["embeds"][0]["title"] == "#1 · Acme"
    entry = await running.database.fetch_one(
        "SELECT * FROM entries WHERE user_id = ?", (world.bob,)
    )
    assert entry is not None
    assert (entry["company"], entry["role"], entry["stage"], entry["rejected_on"]) == (
        "Acme",
        "Data analyst",
        "final",
        "2027-03-21",
    )
    # A bad date is one sentence, and nothing is stored.
    click = await world.emulator.click(world.alice, post, custom_id)
    await click.wait_response()
    modal = click.modal
    assert modal is not None
    refused = await world.emulator.submit_modal(
        world.alice, modal["custom_id"], inputs_of(modal, company="Beta", date="someday")
    )
    data = (await refused.wait_response())["data"]
    assert data["flags"] & EPHEMERAL
    assert "someday" in data["content"]
    assert (
        await running.database.fetch_value(
            "SELECT COUNT(*) FROM entries WHERE user_id = ?", (world.alice,)
        )
        == 0
    )


def inputs_of(modal: dict[str, Any], **values: str) -> dict[str, str]:
    """Map the form's labels (company, role, date, notes) to their text inputs' custom_ids."""
    found: dict[str, str] = {}
    for row in modal["components"]:
        for component in row.get("components", []):
            label = component["label"].lower()
            for name, value in values.items():
                if label.startswith(name):
                    found[component["custom_id"]] = value
    return found


def stage_id(modal: dict[str, Any]) -> str:
    (label,) = [c for c in modal["components"] if c["type"] == 18]
    return str(label["component"]["custom_id"])


# -- setup, post-now, skip, pause ----------------------------------------------------------------


async def test_setup_refuses_bad_input_with_one_sentence_and_stores_nothing(
    world: World, running: RunningBot
) -> None:
    bad_zone = await set_up(world, timezone="Mars/Olympus")
    assert bad_zone["content"] == BAD_TIMEZONE.format(zone="Mars/Olympus")
    bad_time = await set_up(world, time="25:00")
    assert bad_time["content"] == "Please give `time:` as a 24-hour time, like 08:00 or 21:30."
    world.emulator.set_bot_channel_permissions(world.channel_id, deny=EMBED_LINKS)
    await world.emulator.wait_for(lambda: not bot_can(running, world, "embed_links"))
    no_embeds = await set_up(world)
    assert "lacks **Embed Links** there" in no_embeds["content"]
    world.emulator.set_bot_channel_permissions(world.channel_id)
    await world.emulator.wait_for(lambda: bot_can(running, world, "embed_links"))
    role = world.emulator.add_role(world.guild_id, "job-seekers")
    await world.emulator.wait_for(
        lambda: running.bot.get_guild(world.guild_id).get_role(role) is not None  # type: ignore[union-attr]
    )
    no_mention = await set_up(world, role=role)
    assert "lacks **Mention @everyone, @here, and All Roles** there" in no_mention["content"]
    everyone = await set_up(world, role=world.guild_id)
    assert everyone["content"].startswith("Pick a role to mention, not @everyone")
    assert await running.database.fetch_value("SELECT COUNT(*) FROM tip_schedules") == 0
    assert await slot_rows(running, world) == []
    # With Mention Everyone the role is accepted, and it is the only mention a post makes.
    world.emulator.set_bot_channel_permissions(world.channel_id, allow=MENTION_EVERYONE)
    await world.emulator.wait_for(lambda: bot_can(running, world, "mention_everyone"))
    done = await set_up(world, role=role)
    assert f"mentioning <@&{role}>" in done["content"]
    await move_to(running, SLOT)
    (post,) = posts(world)
    assert post.content == f"<@&{role}>"
    (send,) = world.emulator.requests_matching("POST", rf"^/channels/{world.channel_id}/messages$")
    assert send.json["allowed_mentions"]["parse"] == []
    assert send.json["allowed_mentions"]["roles"] == [role]


def bot_can(running: RunningBot, world: World, permission: str) -> bool:
    guild = running.bot.get_guild(world.guild_id)
    assert guild is not None
    channel = guild.get_channel(world.channel_id)
    assert channel is not None
    return bool(getattr(channel.permissions_for(guild.me), permission))


async def test_post_now_takes_the_next_number_and_skip_moves_the_tip_on(
    world: World, running: RunningBot
) -> None:
    not_yet = await tips(world, "post-now")
    assert not_yet["content"] == templates.fill(templates.TIPS_NOT_SET_UP)
    assert templates.command("tips setup").startswith("</tips setup:")
    await set_up(world)
    reply = await tips(world, "post-now")
    (now_post,) = posts(world)
    assert now_post.embeds[0]["title"] == f"Interview Tip of the Week #1 — {LIBRARY[0].title}"
    assert f"/{world.channel_id}/{now_post.id}" in reply["content"]
    # The weekly slot posts the tip after it.
    await move_to(running, SLOT)
    assert posts(world)[1].embeds[0]["title"] == (
        f"Interview Tip of the Week #2 — {LIBRARY[1].title}"
    )
    skipped = await tips(world, "skip")
    assert f"<t:{ms('2027-03-29T08:00:00') // 1000}:F> is skipped" in skipped["content"]
    await move_to(running, "2027-03-29T08:00:00")
    assert len(posts(world)) == 2
    await move_to(running, "2027-04-05T08:00:00")
    assert posts(world)[2].embeds[0]["title"] == (
        f"Interview Tip of the Week #3 — {LIBRARY[2].title}"
    )
    status = (await tips(world, "status"))["embeds"][0]
    fields = {field["name"]: field["value"] for field in status["fields"]}
    assert f"skipped with {templates.command('tips skip')}" in fields["Skipped slots"]
    assert fields["Last post"].startswith(f"#3 — {LIBRARY[2].title}")
    assert f"/{world.channel_id}/{posts(world)[2].id}" in fields["Last post"]


def status_fields(status: dict[str, Any]) -> dict[str, str]:
    return {field["name"]: field["value"] for field in status["embeds"][0]["fields"]}


async def test_a_skipped_slot_never_comes_back_as_the_next_post(
    world: World, running: RunningBot
) -> None:
    await set_up(world)
    following = ms("2027-03-29T08:00:00")
    await tips(world, "skip")
    # Neither pausing and resuming nor setting the same schedule up again undoes the skip.
    resumed = (await tips(world, "pause"), await tips(world, "resume"))[1]
    assert f"<t:{following // 1000}:F>" in resumed["content"]
    again = await set_up(world)
    assert f"<t:{following // 1000}:F>" in again["content"]
    fields = status_fields(await tips(world, "status"))
    assert fields["Next post"].startswith(f"<t:{following // 1000}:F>")
    assert fields["Skipped slots"].startswith(
        f"<t:{ms(SLOT) // 1000}:F>: skipped with </tips skip:"
    )
    # Skipping the next one too: still never listed twice.
    await tips(world, "skip")
    fields = status_fields(await tips(world, "status"))
    third = ms("2027-04-05T08:00:00")
    assert fields["Next post"].startswith(f"<t:{third // 1000}:F>")
    assert f"<t:{third // 1000}:F>" not in fields["Skipped slots"]
    await move_to(running, "2027-03-29T08:00:00")
    assert posts(world) == []
    await move_to(running, "2027-04-05T08:00:00")
    assert len(posts(world)) == 1


async def test_pause_and_resume(world: World, running: RunningBot) -> None:
    await set_up(world)
    assert (await tips(world, "pause"))["content"].startswith("Tips paused.")
    assert (await tips(world, "pause"))["content"].startswith("Tips are already paused.")
    await move_to(running, SLOT)
    assert posts(world) == []
    status = (await tips(world, "status"))["embeds"][0]
    assert "Paused." in next(f for f in status["fields"] if f["name"] == "Next post")["value"]
    resumed = await tips(world, "resume")
    assert f"<t:{ms('2027-03-29T08:00:00') // 1000}:F>" in resumed["content"]
    again = await tips(world, "resume")
    assert again["content"].startswith("Tips aren't paused or stopped")
    await move_to(running, "2027-03-29T08:00:00")
    assert len(posts(world)) == 1
    rows = await slot_rows(running, world)
    assert [row["state"] for row in rows] == ["cancelled", "done", "pending"]


async def test_setup_again_replaces_the_pending_slot(world: World, running: RunningBot) -> None:
    await set_up(world)
    await set_up(world)  # the same slot again: its key is freed and taken by the new row
    await set_up(world, weekday="tuesday", time="18:30", timezone="America/New_York")
    rows = await slot_rows(running, world)
    assert [row["state"] for row in rows] == ["cancelled", "cancelled", "pending"]
    assert rows[2]["due_at"] == ms("2027-03-23T22:30:00")  # 18:30 EDT
    await move_to(running, "2027-03-23T22:30:00")
    assert len(posts(world)) == 1


# -- server tips and the library ------------------------------------------------------------------


async def add_tip(world: World, title: str, body: str) -> dict[str, Any]:
    interaction = await world.emulator.invoke(
        world.admin, "tips add", {}, guild_id=world.guild_id, channel_id=world.channel_id
    )
    await interaction.wait_response()
    modal = interaction.modal
    assert modal is not None
    ids = [row["components"][0]["custom_id"] for row in modal["components"]]
    submitted = await world.emulator.submit_modal(
        world.admin, modal["custom_id"], {ids[0]: title, ids[1]: body}
    )
    return dict((await submitted.wait_response())["data"])


async def test_server_tips_come_first_and_shipped_ones_can_be_hidden(
    world: World, running: RunningBot
) -> None:
    added = await add_tip(world, "Ask the panel one question", "Bring one real question. " * 4)
    assert added["content"].startswith("Added tip s1 — Ask the panel one question.")
    await add_tip(world, "Second own tip", "A tip of our own, long enough to pass.")
    listing = (await tips(world, "list"))["embeds"][0]
    lines = listing["description"].splitlines()
    assert lines[0] == "`s1` Ask the panel one question · *next*"
    assert lines[1].startswith("`s2` Second own tip")
    assert "Page 1 of 7 · 65 tips" in listing["footer"]["text"]
    preview = await tips(world, "preview")
    assert (
        preview["embeds"][0]["title"] == "Interview Tip of the Week #1 — Ask the panel one question"
    )
    shipped = await tips(world, "preview", {"tip": LIBRARY[5].id})
    assert shipped["embeds"][0]["description"].startswith(LIBRARY[5].body[:30])

    refused = await tips(world, "edit", {"tip": LIBRARY[0].id})
    assert "can't be edited" in refused["content"]
    hidden = await tips(world, "remove", {"tip": LIBRARY[0].id})
    assert hidden["content"].startswith(f"Tip {LIBRARY[0].id} — ")
    assert "hidden" in hidden["content"]
    unknown = await tips(world, "remove", {"tip": "s99"})
    assert unknown["content"].startswith("There's no tip 's99' here.")

    edit = await world.emulator.invoke(
        world.admin,
        "tips edit",
        {"tip": "s2"},
        guild_id=world.guild_id,
        channel_id=world.channel_id,
    )
    await edit.wait_response()
    modal = edit.modal
    assert modal is not None
    inputs = [row["components"][0] for row in modal["components"]]
    assert inputs[0]["value"] == "Second own tip"
    saved = await world.emulator.submit_modal(
        world.admin,
        modal["custom_id"],
        {
            inputs[0]["custom_id"]: "Edited own tip",
            inputs[1]["custom_id"]: "New text, long enough.",
        },
    )
    assert (await saved.wait_response())["data"]["content"] == "Saved tip s2 — Edited own tip."
    removed = await tips(world, "remove", {"tip": "s1"})
    assert removed["content"] == "Removed tip s1 — Ask the panel one question."

    await set_up(world)
    await move_to(running, SLOT)
    await move_to(running, "2027-03-29T08:00:00")
    titles = [post.embeds[0]["title"] for post in posts(world)]
    assert titles == [
        "Interview Tip of the Week #1 — Edited own tip",
        f"Interview Tip of the Week #2 — {LIBRARY[1].title}",  # tip 1 is hidden
    ]
    listing = (await tips(world, "list"))["embeds"][0]["description"].splitlines()
    assert listing[0] == "`s2` Edited own tip · *posted as #1*"
    assert listing[1] == f"`{LIBRARY[0].id}` {LIBRARY[0].title} · *hidden*"
    assert listing[3] == f"`{LIBRARY[2].id}` {LIBRARY[2].title} · *next*"
    choices = await world.emulator.autocomplete(
        world.admin, "tips edit", {"tip": "s"}, "tip", guild_id=world.guild_id
    )
    assert [choice["value"] for choice in choices] == ["s2"]
    bad_page = await tips(world, "list", {"page": 9})
    assert bad_page["content"] == "There is no page 9; the tip list has 7 pages."


async def test_tips_list_has_previous_and_next(world: World, running: RunningBot) -> None:
    moderator = world.emulator.add_user("moderator")
    mods = world.emulator.add_role(world.guild_id, "mods", MANAGE_GUILD)
    world.emulator.add_member(world.guild_id, moderator, roles=[mods])
    interaction = await world.emulator.invoke(
        moderator, "tips list", {}, guild_id=world.guild_id, channel_id=world.channel_id
    )
    message = await interaction.wait_message()
    assert message.ephemeral
    assert message.embeds[0]["description"].splitlines()[0].startswith(f"`{LIBRARY[0].id}` ")
    forward = f"nr:tips-list:{moderator}:2:n"
    stranger = await world.emulator.click(world.admin, message, forward)
    assert "someone else" in (await stranger.wait_response())["data"]["content"]
    turned = await world.emulator.click(moderator, message, forward)
    page_two = (await turned.wait_response())["data"]["embeds"][0]
    assert page_two["description"].splitlines()[0].startswith(f"`{LIBRARY[10].id}` ")
    assert page_two["footer"]["text"].startswith("Page 2 of 7 · 63 tips")
    back = await world.emulator.click(moderator, message, f"nr:tips-list:{moderator}:1:p")
    page_one = (await back.wait_response())["data"]
    assert page_one["embeds"][0]["footer"]["text"].startswith("Page 1 of 7")
    (buttons,) = page_one["components"]
    assert [b.get("disabled", False) for b in buttons["components"]] == [True, False]
    last = await world.emulator.invoke(
        moderator, "tips list", {"page": 7}, guild_id=world.guild_id, channel_id=world.channel_id
    )
    (buttons,) = (await last.wait_response())["data"]["components"]
    assert [b.get("disabled", False) for b in buttons["components"]] == [False, True]
    # Manage Server is checked again at every press, not only when the list was shown.
    world.emulator.set_role_permissions(mods, 0)
    refused = await world.emulator.click(moderator, message, forward)
    assert (await refused.wait_response())["data"]["content"] == (
        "You need the Manage Server permission to use this command."
    )


async def test_a_hidden_shipped_tip_can_be_restored(world: World, running: RunningBot) -> None:
    await tips(world, "remove", {"tip": LIBRARY[0].id})
    await tips(world, "remove", {"tip": LIBRARY[3].id})
    hidden = await world.emulator.autocomplete(
        world.admin, "tips restore", {"tip": ""}, "tip", guild_id=world.guild_id
    )
    assert [choice["value"] for choice in hidden] == [LIBRARY[0].id, LIBRARY[3].id]
    assert (await tips(world, "preview"))["embeds"][0]["title"].endswith(LIBRARY[1].title)
    restored = await tips(world, "restore", {"tip": LIBRARY[0].id})
    assert restored["content"] == (
        f"Tip {LIBRARY[0].id} — {LIBRARY[0].title} is shown again in this server; "
        "it posts here in its turn."
    )
    again = await tips(world, "restore", {"tip": LIBRARY[0].id})
    assert again["content"] == (
        f"Tip {LIBRARY[0].id} isn't hidden in this server, so there's nothing to restore."
    )
    await add_tip(world, "Our own", "A tip of our own, long enough to pass.")
    own = await tips(world, "restore", {"tip": "s1"})
    assert own["content"].startswith("Tip s1 is one of this server's own tips")
    unknown = await tips(world, "restore", {"tip": "s9"})
    assert unknown["content"].startswith("There's no tip 's9' here.")
    lines = (await tips(world, "list"))["embeds"][0]["description"].splitlines()
    assert lines[1] == f"`{LIBRARY[0].id}` {LIBRARY[0].title}"
    assert lines[4] == f"`{LIBRARY[3].id}` {LIBRARY[3].title} · *hidden*"
    await set_up(world)
    await move_to(running, SLOT)
    await move_to(running, "2027-03-29T08:00:00")
    assert [post.embeds[0]["title"] for post in posts(world)] == [
        "Interview Tip of the Week #1 — Our own",
        f"Interview Tip of the Week #2 — {LIBRARY[0].title}",
    ]
    # Members without Manage Server get no suggestions, even where the command is open to all.
    world.emulator.open_command_to_everyone(world.guild_id, "tips")
    assert (
        await world.emulator.autocomplete(
            world.alice, "tips restore", {"tip": ""}, "tip", guild_id=world.guild_id
        )
        == []
    )


async def test_preview_is_the_post_members_get_with_a_working_button(
    world: World, running: RunningBot
) -> None:
    role = world.emulator.add_role(world.guild_id, "job-seekers")
    world.emulator.set_bot_channel_permissions(world.channel_id, allow=MENTION_EVERYONE)
    await world.emulator.wait_for(lambda: bot_can(running, world, "mention_everyone"))
    await set_up(world, role=role)
    interaction = await world.emulator.invoke(
        world.admin, "tips preview", {}, guild_id=world.guild_id, channel_id=world.channel_id
    )
    preview = await interaction.wait_message()
    assert preview.ephemeral
    assert preview.content == (
        f"Preview, only for you: this is how tip {LIBRARY[0].id} would look as post #1. "
        "Its button works here too: it opens the form members get and logs a rejection for you. "
        f"Members will see it with <@&{role}> above it."
    )
    answer = world.emulator.requests_matching("POST", r"^/interactions/\d+/[^/]+/callback")[-1]
    assert answer.json["data"]["allowed_mentions"]["parse"] == []
    await move_to(running, SLOT)
    (post,) = posts(world)
    assert preview.embeds == post.embeds
    assert preview.components[0]["components"][0]["label"] == "Log a rejection"
    assert (
        preview.components[0]["components"][0]["label"]
        == post.components[0]["components"][0]["label"]
    )
    click = await world.emulator.click(
        world.admin, preview, preview.components[0]["components"][0]["custom_id"]
    )
    await click.wait_response()
    modal = click.modal
    assert modal is not None and modal["title"] == "Log a rejection (only you see it)"
    submitted = await world.emulator.submit_modal(
        world.admin, modal["custom_id"], inputs_of(modal, company="Acme")
    )
    logged = (await submitted.wait_response())["data"]
    assert logged["flags"] & EPHEMERAL
    assert logged["embeds"][0]["title"] == "#1 · Acme"


async def test_timezone_autocomplete(world: World, running: RunningBot) -> None:
    choices = await world.emulator.autocomplete(
        world.admin,
        "tips setup",
        {"timezone": "europe/lon"},
        "timezone",
        guild_id=world.guild_id,
    )
    assert choices[0]["value"] == "Europe/London"


# -- threads -------------------------------------------------------------------------------------


async def test_a_thread_under_each_post_and_an_existing_thread_counts_as_done(
    world: World, running: RunningBot
) -> None:
    await set_up(world)
    world.emulator.set_bot_channel_permissions(world.channel_id, deny=CREATE_PUBLIC_THREADS)
    await world.emulator.wait_for(lambda: not bot_can(running, world, "create_public_threads"))
    refused = await tips(world, "thread", {"enabled": True})
    assert "lacks **Create Public Threads**" in refused["content"]
    world.emulator.set_bot_channel_permissions(world.channel_id)
    await world.emulator.wait_for(lambda: bot_can(running, world, "create_public_threads"))
    assert (await tips(world, "thread", {"enabled": True}))["content"].startswith("Each new post")
    await move_to(running, SLOT)
    (post,) = posts(world)
    assert world.emulator.channels[post.id].name == f"Tip #1 — {LIBRARY[0].title}"[:100]
    # After a crash between the thread and the acknowledgement, Discord answers 160004.
    world.emulator.fault(
        "POST", r"^/channels/\d+/messages/\d+/threads$", status=400, code=160004, times=1
    )
    await move_to(running, "2027-03-29T08:00:00")
    rows = await slot_rows(running, world)
    assert [row["state"] for row in rows] == ["done", "done", "pending"]
    schedule = await running.bot.tips.schedule_of(world.guild_id)
    assert schedule is not None
    assert schedule.last_problem is None


# -- the bot leaving and coming back ------------------------------------------------------------


async def test_removal_pauses_and_the_data_goes_30_days_later(
    world: World, running: RunningBot
) -> None:
    await set_up(world)
    await add_tip(world, "Our own tip", "A tip of our own, long enough to pass.")
    world.emulator.remove_bot_from_guild(world.guild_id)
    await world.emulator.wait_for(lambda: running.bot.get_guild(world.guild_id) is None)
    await running.bot.scheduler.settle()
    schedule = await running.bot.tips.schedule_of(world.guild_id)
    assert schedule is not None and schedule.paused and schedule.left_at is not None
    await move_to(running, SLOT)
    assert posts(world) == []
    # Back within 30 days: everything is kept, and posting waits for /tips resume.
    world.emulator.add_bot_to_guild(world.guild_id)
    await world.emulator.wait_for(lambda: running.bot.get_guild(world.guild_id) is not None)
    await running.bot.scheduler.settle()
    schedule = await running.bot.tips.schedule_of(world.guild_id)
    assert schedule is not None and schedule.paused and schedule.left_at is None
    await move_to(running, "2027-05-01T12:00:00")
    assert await running.database.fetch_value("SELECT COUNT(*) FROM server_tips") == 1
    # Removed again and not back: the server's tip data is deleted after 30 days.
    world.emulator.remove_bot_from_guild(world.guild_id)
    await world.emulator.wait_for(lambda: running.bot.get_guild(world.guild_id) is None)
    await move_to(running, "2027-05-30T12:00:00")
    assert await running.database.fetch_value("SELECT COUNT(*) FROM tip_schedules") == 1
    await move_to(running, "2027-06-01T12:00:00")
    for table in ("tip_schedules", "server_tips", "tip_posts", "tip_skips", "tip_hidden"):
        assert await running.database.fetch_value(f"SELECT COUNT(*) FROM {table}") == 0
