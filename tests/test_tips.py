"""Tip of the Week rules without Discord: weekly slots, the tip cycle, checks, the post's
embed, and the database guarantees (one post per server and slot, numbering, purge)."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import discord
import pytest

from bot.clock import ManualClock
from bot.db import Database
from bot.db import tips as tip_store
from bot.db.jobs import NewJob
from bot.db.tips import Pick, PickState
from bot.errors import UserError
from bot.scheduler import Scheduler
from bot.tip_library import Tip, load_tip_library
from bot.tips import (
    TipOfTheWeek,
    choose_next_tip,
    clean_tip_text,
    missing_permissions,
    next_weekly_slot,
    server_tip_number,
    slot_key,
    tip_post_embed,
    weekday_number,
)

pytestmark = pytest.mark.timeout(20)

LONDON = ZoneInfo("Europe/London")
LIBRARY = load_tip_library()
MONDAY, SUNDAY = 0, 6


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def tip(tip_id: str) -> Tip:
    return Tip(id=tip_id, title=f"Tip {tip_id}", body="x" * 300, tags=("mindset",))


# -- weekly slots ---------------------------------------------------------------------------------


def test_monday_0900_london_is_0900z_in_winter_and_0800z_in_summer() -> None:
    first = next_weekly_slot(utc("2027-03-20T12:00:00"), MONDAY, time(9, 0), LONDON)
    assert first == utc("2027-03-22T09:00:00")
    second = next_weekly_slot(first, MONDAY, time(9, 0), LONDON)
    assert second == utc("2027-03-29T08:00:00")


def test_the_next_slot_is_strictly_after() -> None:
    at_slot = utc("2027-03-22T09:00:00")
    assert next_weekly_slot(at_slot, MONDAY, time(9, 0), LONDON) == utc("2027-03-29T08:00:00")
    just_before = at_slot - timedelta(milliseconds=1)
    assert next_weekly_slot(just_before, MONDAY, time(9, 0), LONDON) == at_slot
    # Later the same weekday: next week.
    assert next_weekly_slot(utc("2027-03-22T10:00:00"), MONDAY, time(9, 0), LONDON) == utc(
        "2027-03-29T08:00:00"
    )


def test_a_time_skipped_by_dst_lands_after_the_gap_and_a_repeated_time_takes_the_first() -> None:
    # 01:30 on Sunday 28 March 2027 does not exist in London: 02:30 BST = 01:30 UTC.
    gap = next_weekly_slot(utc("2027-03-27T00:00:00"), SUNDAY, time(1, 30), LONDON)
    assert gap == utc("2027-03-28T01:30:00")
    # 01:30 on Sunday 31 October 2027 happens twice: the first one, 01:30 BST = 00:30 UTC.
    fold = next_weekly_slot(utc("2027-10-30T00:00:00"), SUNDAY, time(1, 30), LONDON)
    assert fold == utc("2027-10-31T00:30:00")
    # And the week after, back to 01:30 GMT.
    assert next_weekly_slot(fold, SUNDAY, time(1, 30), LONDON) == utc("2027-11-07T01:30:00")


@pytest.mark.parametrize(
    "zone", ["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]
)
def test_a_year_of_slots_keeps_the_local_weekday_and_time(zone: str) -> None:
    place = ZoneInfo(zone)
    slot = next_weekly_slot(utc("2027-01-01T00:00:00"), 2, time(18, 30), place)
    for _ in range(53):
        following = next_weekly_slot(slot, 2, time(18, 30), place)
        local = following.astimezone(place)
        assert (local.weekday(), local.hour, local.minute) == (2, 18, 30)
        assert abs(following - slot - timedelta(days=7)) <= timedelta(hours=1)
        slot = following


def test_slot_keys_name_the_server_and_the_utc_instant() -> None:
    slot = int(utc("2027-03-29T08:00:00").timestamp() * 1000)
    assert slot_key(42, slot) == "tip:42:2027-03-29T08:00+00:00"
    assert slot_key(42, slot) != slot_key(43, slot)


# -- the cycle ---------------------------------------------------------------------------------


def test_server_tips_first_in_order_added_then_shipped_skipping_hidden() -> None:
    shipped = [tip("1"), tip("2"), tip("3")]
    own = [tip("s1"), tip("s2")]
    posted: set[str] = set()
    order = []
    for _ in range(4):
        choice = choose_next_tip(own, shipped, {"2"}, 1, posted)
        assert choice is not None and choice.cycle == 1
        order.append(choice.tip.id)
        posted.add(choice.tip.id)
    assert order == ["s1", "s2", "1", "3"]
    # Everything had its turn: a new cycle starts from the top.
    choice = choose_next_tip(own, shipped, {"2"}, 1, posted)
    assert choice is not None and (choice.tip.id, choice.cycle) == ("s1", 2)


def test_a_server_tip_added_mid_cycle_comes_next() -> None:
    shipped = [tip("1"), tip("2"), tip("3")]
    choice = choose_next_tip([tip("s7")], shipped, set(), 3, {"1"})
    assert choice is not None and (choice.tip.id, choice.cycle) == ("s7", 3)


def test_nothing_to_post_when_everything_is_hidden() -> None:
    assert choose_next_tip([], [tip("1")], {"1"}, 1, set()) is None


def test_never_the_same_tip_twice_in_a_cycle_while_tips_come_and_go() -> None:
    rng = random.Random(5)
    shipped = list(LIBRARY)
    own: list[Tip] = []
    hidden: set[str] = set()
    cycle, posted = 1, set[str]()
    seen_per_cycle: dict[int, list[str]] = {}
    for week in range(300):
        if rng.random() < 0.1:
            own.append(tip(f"s{week}"))
        if rng.random() < 0.05:
            hidden.add(rng.choice(shipped).id)
        choice = choose_next_tip(own, shipped, hidden, cycle, posted)
        assert choice is not None
        if choice.cycle != cycle:
            cycle, posted = choice.cycle, set()
        posted.add(choice.tip.id)
        seen_per_cycle.setdefault(cycle, []).append(choice.tip.id)
    assert len(seen_per_cycle) >= 3
    for ids in seen_per_cycle.values():
        assert len(ids) == len(set(ids))


# -- checks and wording -------------------------------------------------------------------------


def test_missing_permissions_names_what_a_post_needs() -> None:
    everything = discord.Permissions(
        view_channel=True,
        send_messages=True,
        embed_links=True,
        read_message_history=True,
        create_public_threads=True,
        mention_everyone=True,
    )
    assert missing_permissions(everything, threads=True, mention_needed=True) == []
    basic = discord.Permissions(view_channel=True, send_messages=True)
    # Read Message History: without it the look for an earlier post after an outage sees
    # nothing and the tip would be posted twice.
    assert missing_permissions(basic, threads=False, mention_needed=False) == [
        "embed_links",
        "read_message_history",
    ]
    assert missing_permissions(basic, threads=True, mention_needed=True) == [
        "embed_links",
        "read_message_history",
        "create_public_threads",
        "mention_everyone",
    ]


def test_weekdays_and_server_tip_ids() -> None:
    assert weekday_number("Monday") == 0
    assert weekday_number("sunday") == 6
    with pytest.raises(UserError):
        weekday_number("someday")
    assert server_tip_number("s12") == 12
    assert server_tip_number("S3") == 3
    assert server_tip_number("12") is None
    assert server_tip_number("s") is None


def test_server_tip_text_is_checked() -> None:
    assert clean_tip_text("  A   title ", "  body text long enough  ") == (
        "A title",
        "body text long enough",
    )
    for title, body in (("", "x" * 50), ("x" * 81, "x" * 50), ("ok", "short"), ("ok", "x" * 1201)):
        with pytest.raises(UserError):
            clean_tip_text(title, body)


def test_the_post_embed_keeps_limits_and_puts_times_where_they_render() -> None:
    long = Tip(id="s1", title="T" * 300, body="Ping @everyone and <@&123>. " * 10, tags=())
    slot = int(utc("2027-03-22T09:00:00").timestamp() * 1000)
    embed = tip_post_embed(12, long, when=slot, late_due=slot)
    assert embed.title is not None and len(embed.title) == 256
    assert embed.title.startswith("Interview Tip of the Week #12 — TTT")
    assert embed.description is not None
    assert "@everyone" not in embed.description
    assert f"<t:{slot // 1000}:F>" in embed.description
    assert embed.footer.text is not None and "<t:" not in embed.footer.text
    assert embed.timestamp == utc("2027-03-22T09:00:00")
    on_time = tip_post_embed(1, LIBRARY[0], when=slot)
    assert on_time.description == LIBRARY[0].body


# -- the database -------------------------------------------------------------------------------

START = utc("2027-03-20T12:00:00")
GUILD = 1234


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = await Database.open(tmp_path / "tips.sqlite3", ManualClock(START))
    yield db
    await db.close()


def first_shipped(state: PickState) -> Pick | None:
    choice = choose_next_tip([], LIBRARY, state.hidden, state.cycle, state.posted)
    return None if choice is None else Pick(choice.tip.id, choice.tip.title, choice.cycle)


async def reserve(database: Database, slot: int | None, nonce: str = "n") -> tip_store.PostRow:
    post = await tip_store.reserve_post(
        database, GUILD, slot=slot, channel_id=5, nonce=nonce, now=0, pick=first_shipped
    )
    assert post is not None
    return post


async def test_a_slot_is_reserved_once_whoever_asks(database: Database, tmp_path: Path) -> None:
    other = await Database.open(tmp_path / "tips.sqlite3", ManualClock(START))
    try:
        posts = await asyncio.gather(
            *(reserve(db, 1_000, nonce=f"n{i}") for i, db in enumerate([database, other] * 3))
        )
    finally:
        await other.close()
    assert len({(post.id, post.number, post.tip_id, post.nonce) for post in posts}) == 1
    # The database itself refuses a second post for the same (server, slot).
    with pytest.raises(sqlite3.IntegrityError):
        await database.execute(
            "INSERT INTO tip_posts (guild_id, number, tip_id, title, cycle, slot, channel_id, "
            "nonce, reserved_at) VALUES (?, 99, '9', 't', 1, 1000, 5, 'x', 0)",
            (GUILD,),
        )


async def test_numbers_count_posts_and_a_released_reservation_gives_its_number_back(
    database: Database,
) -> None:
    first = await reserve(database, 1_000)
    second = await reserve(database, None)
    assert (first.number, second.number) == (1, 2)
    assert (first.tip_id, second.tip_id) == (LIBRARY[0].id, LIBRARY[1].id)
    await tip_store.release_post(database, second.id, 0)
    third = await reserve(database, 2_000)
    assert (third.number, third.tip_id) == (2, LIBRARY[1].id)
    await tip_store.mark_posted(database, third.id, 777, 0)
    await tip_store.release_post(database, third.id, 0)  # posted: kept
    assert (await reserve(database, None)).number == 3


async def test_setting_up_again_frees_the_slot_key_for_the_new_row(database: Database) -> None:
    clock = ManualClock(START)
    tips = TipOfTheWeek(database, clock, Scheduler(database, clock), LIBRARY)
    for _ in range(3):
        schedule, first = await tips.setup(
            GUILD,
            channel_id=5,
            weekday="monday",
            time_text="09:00",
            timezone="Europe/London",
            role_id=None,
        )
    rows = await database.fetch_all(
        "SELECT state, unique_key, payload FROM scheduled_jobs WHERE kind = 'tip:post' ORDER BY id"
    )
    assert [row["state"] for row in rows] == ["cancelled", "cancelled", "pending"]
    assert [row["unique_key"] for row in rows] == [None, None, slot_key(GUILD, first)]
    assert f'"generation":{schedule.generation}' in rows[2]["payload"]


async def test_a_server_purge_deletes_every_tip_table_row(database: Database) -> None:
    await tip_store.add_server_tip(database, GUILD, "t", "b" * 30, now=0, limit=5)
    await tip_store.hide_tip(database, GUILD, "3", 0)
    await reserve(database, 1_000)
    await tip_store.record_skip(database, GUILD, 2_000, "offline", 0)
    await tip_store.purge_server(database, GUILD, 0)
    for table in ("tip_schedules", "server_tips", "tip_hidden", "tip_posts", "tip_skips"):
        assert await database.fetch_value(f"SELECT COUNT(*) FROM {table}") == 0


async def test_server_tip_ids_are_never_reused(database: Database) -> None:
    first = await tip_store.add_server_tip(database, GUILD, "a", "b" * 30, now=0, limit=2)
    assert await tip_store.delete_server_tip(database, GUILD, 1)
    second = await tip_store.add_server_tip(database, GUILD, "c", "d" * 30, now=0, limit=2)
    assert (first, second) == (1, 2)
    await tip_store.add_server_tip(database, GUILD, "e", "f" * 30, now=0, limit=2)
    assert await tip_store.add_server_tip(database, GUILD, "g", "h" * 30, now=0, limit=2) is None


def test_the_daily_purge_row_is_one_per_day() -> None:
    clock = ManualClock(START)
    tips = TipOfTheWeek(None, clock, None, LIBRARY)  # type: ignore[arg-type]
    before = int(utc("2027-03-21T02:59:00").timestamp() * 1000)
    after = int(utc("2027-03-21T03:00:00").timestamp() * 1000)
    job: NewJob = tips.purge_job(before)
    assert (job.due_at, job.unique_key) == (after, "tip:purge:2027-03-21")
    assert tips.purge_job(after).unique_key == "tip:purge:2027-03-22"
