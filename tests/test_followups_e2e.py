"""Follow-up DMs end to end: worked examples, buttons, restarts at every point, DMs closed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot import templates
from bot.clock import ManualClock
from bot.db import Database
from bot.db import jobs as job_store
from bot.errors import UserError
from tests.conftest import START, BotFactory, RunningBot, World
from tests.emulator import RecordedMessage

pytestmark = pytest.mark.timeout(30)

EPHEMERAL = 1 << 6
STEPS = ("thank_you", "feedback_request", "check_in")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ms(text: str) -> int:
    return int(utc(text).timestamp() * 1000)


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> ManualClock:
    return ManualClock(getattr(request, "param", START))


async def command(
    world: World, user: int, name: str, options: dict[str, Any] | None = None, *, dm: bool = False
) -> dict[str, Any]:
    if dm:
        interaction = await world.emulator.invoke(user, name, options or {})
    else:
        interaction = await world.emulator.invoke(
            user, name, options or {}, guild_id=world.guild_id, channel_id=world.channel_id
        )
    response = await interaction.wait_response()
    if response["type"] == 5:  # deferred: the answer is the first follow-up
        message = await interaction.wait_followup()
        return message.payload
    data: dict[str, Any] = response["data"]
    assert data.get("flags", 0) & EPHEMERAL
    return data


async def follow_up_rows(running: RunningBot, user: int) -> dict[str, dict[str, Any]]:
    rows = await running.database.fetch_all(
        "SELECT * FROM scheduled_jobs WHERE user_id = ? AND kind LIKE 'followup:%' ORDER BY due_at",
        (user,),
    )
    return {row["kind"].removeprefix("followup:"): dict(row) for row in rows}


async def move_to(running: RunningBot, instant: float) -> None:
    running.clock.set(instant / 1000)
    await running.bot.scheduler.settle()


def custom_ids(message: Any) -> list[str]:
    return [component["custom_id"] for row in message.components for component in row["components"]]


@pytest.mark.parametrize(
    ("clock", "zone", "logged", "expected"),
    [
        (
            ms("2027-03-24 14:00") / 1000,
            "Europe/London",
            "2027-03-24 14:00",
            ("2027-03-24 16:00", "2027-03-25 10:00", "2027-04-01 09:00"),
        ),
        (
            ms("2027-03-26 22:30") / 1000,
            "Europe/London",
            "2027-03-26 22:30",
            ("2027-03-29 07:00", "2027-03-29 09:00", "2027-04-05 09:00"),
        ),
        (
            ms("2027-03-12 20:00") / 1000,
            "America/New_York",
            "2027-03-12 20:00",
            ("2027-03-12 22:00", "2027-03-15 14:00", "2027-03-22 14:00"),
        ),
    ],
    indirect=["clock"],
)
async def test_worked_examples_arrive_at_their_instants(
    world: World, start_bot: BotFactory, zone: str, logged: str, expected: tuple[str, str, str]
) -> None:
    running = await start_bot()
    await command(world, world.alice, "followups settings", {"timezone": zone})
    assert running.clock.timestamp() * 1000 == ms(logged)
    reply = await command(
        world,
        world.alice,
        "rejection log",
        {"company": "Acme", "role": "Analyst", "interviewer": "Sam Lee"},
    )
    assert "<t:" in reply["embeds"][0]["fields"][-1]["value"]
    rows = await follow_up_rows(running, world.alice)
    assert [rows[step]["due_at"] for step in STEPS] == [ms(text) for text in expected]
    for number, (step, due_text) in enumerate(zip(STEPS, expected, strict=True), start=1):
        await move_to(running, ms(due_text) - 1)
        assert len(world.emulator.dm_messages(world.alice)) == number - 1
        await move_to(running, ms(due_text))
        dms = world.emulator.dm_messages(world.alice)
        assert len(dms) == number, step
        embed = dms[-1].embeds[0]
        assert datetime.fromisoformat(embed["timestamp"]) == utc(due_text)
        assert "Acme" in embed["description"] and "```" in embed["description"]
        assert len(embed["description"]) < 1500
        assert "late" not in embed["description"]
        assert any(f":{rows[step]['id']}:" in custom_id for custom_id in custom_ids(dms[-1]))
    assert "Sam Lee" in world.emulator.dm_messages(world.alice)[0].embeds[0]["description"]


async def test_buttons_done_snooze_skip_stop_survive_a_restart(
    world: World, start_bot: BotFactory
) -> None:
    running = await start_bot()
    await command(world, world.alice, "followups settings", {"timezone": "Europe/London"})
    await command(world, world.alice, "rejection log", {"company": "Acme"})
    await command(world, world.alice, "rejection log", {"company": "Globex"})
    rows = await follow_up_rows(running, world.alice)
    await move_to(running, rows["thank_you"]["due_at"])
    first, second = world.emulator.dm_messages(world.alice)
    await running.stop()
    running = await start_bot()  # the buttons are DynamicItems: they work after a restart

    stranger = await world.emulator.click(world.bob, first, custom_ids(first)[0])
    assert "someone else" in (await stranger.wait_response())["data"]["content"]

    job_id = custom_ids(first)[0].split(":")[3]
    snooze = await world.emulator.click(world.alice, first, f"nr:fu:{world.alice}:{job_id}:hour")
    edited = (await snooze.wait_response())["data"]
    assert edited["embeds"][0]["fields"][-1]["value"].startswith("Snoozed until <t:")
    assert all(
        component.get("disabled") for row in edited["components"] for component in row["components"]
    )
    # A second press (a double tap racing the edit) changes nothing.
    with pytest.raises(UserError, match="already handled"):
        await running.bot.follow_ups.respond(world.alice, int(job_id), "done")
    await move_to(running, running.clock.timestamp() * 1000 + 3_600_000)
    snoozed = world.emulator.dm_messages(world.alice)[-1]
    assert len(world.emulator.dm_messages(world.alice)) == 3
    assert "Acme" in snoozed.embeds[0]["title"] or "Acme" in snoozed.embeds[0]["description"]

    second_job = custom_ids(second)[0].split(":")[3]
    stop = await world.emulator.click(world.alice, second, f"nr:fu:{world.alice}:{second_job}:stop")
    assert "stopped" in (await stop.wait_response())["data"]["embeds"][0]["fields"][-1]["value"]
    globex = await running.database.fetch_all(
        "SELECT state FROM scheduled_jobs WHERE subject_id = (SELECT id FROM entries "
        "WHERE company = 'Globex') AND kind LIKE 'followup:%'"
    )
    assert sorted(row["state"] for row in globex) == ["cancelled", "cancelled", "done"]

    # Done on a feedback request marks feedback as asked on the entry.
    acme_rows = await follow_up_rows(running, world.alice)
    await move_to(running, acme_rows["feedback_request"]["due_at"])
    request = world.emulator.dm_messages(world.alice)[-1]
    done = await world.emulator.click(world.alice, request, custom_ids(request)[0])
    assert "asked" in (await done.wait_response())["data"]["embeds"][0]["fields"][-1]["value"]
    status = await running.database.fetch_value(
        "SELECT feedback_status FROM entries WHERE company = 'Acme'"
    )
    assert status == "asked"
    skip = await world.emulator.click(world.alice, snoozed, custom_ids(snoozed)[1])
    assert "Skipped" in (await skip.wait_response())["data"]["embeds"][0]["fields"][-1]["value"]


@pytest.mark.parametrize(
    ("status", "cancelled", "kept"),
    [
        ("received", {"feedback_request", "check_in"}, set()),
        ("declined", {"feedback_request", "check_in"}, set()),
        ("asked", {"feedback_request"}, {"check_in"}),
    ],
)
async def test_recorded_feedback_cancels_what_it_makes_pointless(
    world: World, running: RunningBot, status: str, cancelled: set[str], kept: set[str]
) -> None:
    await command(world, world.alice, "rejection log", {"company": "Acme"})
    reply = await command(world, world.alice, "rejection feedback", {"number": 1, "status": status})
    rows = await follow_up_rows(running, world.alice)
    assert {step for step in cancelled if rows[step]["state"] == "cancelled"} == cancelled
    assert {step for step in kept if rows[step]["state"] == "pending"} == kept
    assert rows["thank_you"]["state"] == "pending"
    assert "feedback request" in reply["content"] and "won't be sent" in reply["content"]
    # Nothing pointless arrives later either.
    await move_to(running, max(row["due_at"] for row in rows.values()))
    titles = [dm.embeds[0]["title"] for dm in world.emulator.dm_messages(world.alice)]
    assert not any("ask Acme for feedback" in title for title in titles)
    assert any("Did feedback come" in title for title in titles) == bool(kept)


async def test_feedback_recorded_while_a_request_is_due_is_not_sent(
    world: World, running: RunningBot
) -> None:
    # Recorded straight in the database, as a press racing the delivery would: the delivery
    # itself looks at the entry before sending.
    await command(world, world.alice, "rejection log", {"company": "Acme"})
    rows = await follow_up_rows(running, world.alice)
    await running.database.execute("UPDATE entries SET feedback_status = 'asked'")
    await move_to(running, rows["feedback_request"]["due_at"])
    rows = await follow_up_rows(running, world.alice)
    assert rows["feedback_request"]["outcome"] == "skipped: feedback already asked for"
    assert len(world.emulator.dm_messages(world.alice)) == 1  # the thank-you only


async def test_old_entries_get_fewer_or_no_follow_ups(world: World, running: RunningBot) -> None:
    reply = await command(
        world, world.alice, "rejection log", {"company": "Old", "date": "61 days ago"}
    )
    assert "more than 60 days old" in reply["embeds"][0]["fields"][-1]["value"]
    await command(world, world.alice, "rejection log", {"company": "Week", "date": "8 days ago"})
    rows = await follow_up_rows(running, world.alice)
    assert set(rows) == {"feedback_request", "check_in"}


async def test_dms_closed_fails_and_notices_once(world: World, running: RunningBot) -> None:
    world.emulator.set_dms_closed(world.alice)
    await command(world, world.alice, "rejection log", {"company": "Acme"})
    rows = await follow_up_rows(running, world.alice)
    await move_to(running, rows["thank_you"]["due_at"])
    rows = await follow_up_rows(running, world.alice)
    assert rows["thank_you"]["state"] == "failed"
    assert "direct messages" in rows["thank_you"]["outcome"]
    assert len(world.emulator.requests_matching("POST", r"^/channels/\d+/messages$")) == 1
    interaction = await world.emulator.invoke(
        world.alice, "rejection list", {}, guild_id=world.guild_id, channel_id=world.channel_id
    )
    notice = await interaction.wait_followup()
    assert notice.ephemeral
    # Asked in a server NextRound is in: that server's privacy settings are where to look.
    assert notice.content == templates.fill(
        templates.DM_PROBLEM_NOTICE, where=templates.DM_WHERE_SERVER
    )
    assert "(" not in notice.content and "code" not in notice.content
    assert "the person" not in notice.content
    again = await world.emulator.invoke(world.alice, "help", {})
    await again.wait_response()
    await running.bot.scheduler.settle()
    assert again.followups == []
    listing = await command(world, world.alice, "followups list")
    last_line = listing["embeds"][0]["description"].splitlines()[-1]
    assert last_line.startswith(
        "**Thank-you note** · #1 Acme · not delivered: NextRound can't DM you "
        "(check with </followups test:"
    )


async def test_a_dm_notice_waiting_at_a_restart_is_still_shown(
    world: World, start_bot: BotFactory
) -> None:
    running = await start_bot()
    world.emulator.set_dms_closed(world.alice)
    await command(world, world.alice, "rejection log", {"company": "Acme"})
    rows = await follow_up_rows(running, world.alice)
    await move_to(running, rows["thank_you"]["due_at"])
    await running.stop()  # before Alice runs another command

    await start_bot()
    interaction = await world.emulator.invoke(world.alice, "help", {})  # in a DM
    notice = await interaction.wait_followup()
    assert notice.content == templates.fill(
        templates.DM_PROBLEM_NOTICE, where=templates.DM_WHERE_APP
    )
    assert "this server" not in notice.content


async def test_followups_test_command(world: World, running: RunningBot) -> None:
    sent = await command(world, world.alice, "followups test")
    assert "test DM" in sent["content"]
    assert len(world.emulator.dm_messages(world.alice)) == 1
    world.emulator.set_dms_closed(world.bob)
    refused = await command(world, world.bob, "followups test")
    assert refused["content"] == templates.fill(
        templates.DM_TEST_CLOSED, where=templates.DM_WHERE_SERVER
    )


async def test_a_late_follow_up_says_so_and_a_week_late_one_is_missed(
    world: World, start_bot: BotFactory
) -> None:
    running = await start_bot()
    await command(world, world.alice, "rejection log", {"company": "Acme"})
    rows = await follow_up_rows(running, world.alice)
    await running.stop()
    running.clock.set(rows["thank_you"]["due_at"] / 1000 + 3 * 3600)  # down for three hours
    running = await start_bot()
    await running.bot.scheduler.settle()
    (late,) = world.emulator.dm_messages(world.alice)
    assert f"<t:{rows['thank_you']['due_at'] // 1000}:F>" in late.embeds[0]["description"]
    assert "late" in late.embeds[0]["description"]
    await running.stop()
    running.clock.set(rows["check_in"]["due_at"] / 1000 + 8 * 86400)
    running = await start_bot()
    await running.bot.scheduler.settle()
    rows = await follow_up_rows(running, world.alice)
    assert rows["feedback_request"]["outcome"].startswith("missed")
    assert rows["check_in"]["outcome"].startswith("missed")
    assert len(world.emulator.dm_messages(world.alice)) == 1


async def test_settings_change_replans_and_pause_holds(world: World, running: RunningBot) -> None:
    await command(world, world.alice, "rejection log", {"company": "Acme"})
    before = await follow_up_rows(running, world.alice)
    # No zone yet: at the time of day she logged (14:00 UTC), a day apart.
    assert [before[step]["due_at"] for step in STEPS] == [
        ms("2027-03-25 14:00"),
        ms("2027-03-26 14:00"),
        ms("2027-04-02 14:00"),
    ]
    saved = await command(
        world,
        world.alice,
        "followups settings",
        {"timezone": "America/New_York", "feedback_delay_days": 2, "thank_you": False},
    )
    assert "re-planned" in saved["content"]
    after = await follow_up_rows(running, world.alice)
    assert after["thank_you"]["state"] == "cancelled"
    assert after["feedback_request"]["due_at"] == ms("2027-03-26 14:00")  # Fri 10:00 EDT
    assert after["check_in"]["due_at"] == ms("2027-04-02 14:00")
    for bad, phrase in (
        ({"timezone": "Mars/Olympus"}, "don't know the time zone"),
        ({"window_start": "25:00"}, "Please give `window_start:` as a 24-hour time"),
        ({"window_start": "20:00", "window_end": "09:00"}, "start before"),
    ):
        refused = await command(world, world.alice, "followups settings", bad)
        assert phrase in refused["content"]
    assert (await follow_up_rows(running, world.alice)) == after

    # The example in a refusal is a date that would work today (a week ahead), in her zone.
    unreadable = await command(world, world.alice, "followups pause", {"until": "next month"})
    assert unreadable["content"] == (
        "I couldn't read 'next month'. Use a date like 2027-03-31, a date and time like "
        "2027-03-31 09:00, or a number of days like 3 days."
    )
    bad_hour = await command(world, world.alice, "followups pause", {"until": "2027-04-01 25:00"})
    assert bad_hour["content"].startswith("I couldn't read '2027-04-01 25:00'.")
    paused = await command(world, world.alice, "followups pause")
    assert "paused" in paused["content"]
    await move_to(running, ms("2027-03-27 00:00"))
    assert world.emulator.dm_messages(world.alice) == []
    await command(world, world.alice, "followups resume")
    await running.bot.scheduler.settle()
    (held,) = world.emulator.dm_messages(world.alice)  # Saturday: waits for Monday 08:00 EDT
    assert held is not None


async def test_timezone_autocomplete(world: World, running: RunningBot) -> None:
    choices = await world.emulator.autocomplete(
        world.alice, "followups settings", {"timezone": "europe/lon"}, "timezone"
    )
    assert choices[0]["value"] == "Europe/London"


async def deliver_and_forget(running: RunningBot, world: World) -> dict[str, Any]:
    """Deliver the thank-you, then put its row back to 'running' as a crash before the
    acknowledgement would have left it."""
    rows = await follow_up_rows(running, world.alice)
    await move_to(running, rows["thank_you"]["due_at"])
    job_id = rows["thank_you"]["id"]
    await running.database.execute(
        "UPDATE scheduled_jobs SET state = 'running', outcome = NULL, finished_at = NULL, "
        "lease_owner = ?, lease_expires_at = ? WHERE id = ?",
        (running.bot.scheduler.owner, rows["thank_you"]["due_at"] + 60_000, job_id),
    )
    return rows


@pytest.mark.parametrize("point", ["claimed", "attempt_recorded", "sent", "marked"])
@pytest.mark.parametrize("outage", ["short", "longer_than_nonce_window"])
async def test_restart_at_each_point_of_a_delivery_gives_one_dm(
    world: World, start_bot: BotFactory, point: str, outage: str
) -> None:
    running = await start_bot()
    await command(world, world.alice, "rejection log", {"company": "Acme"})
    rows = await follow_up_rows(running, world.alice)
    thank_you = rows["thank_you"]
    if point == "sent":
        await deliver_and_forget(running, world)
    elif point == "marked":
        await move_to(running, thank_you["due_at"])
    await running.stop()
    if point in ("claimed", "attempt_recorded"):
        # The state a run killed right after claiming (or after recording its attempt) leaves.
        running.clock.set(thank_you["due_at"] / 1000)
        database = await Database.open(running.settings.database_path, running.clock)
        owner = running.bot.scheduler.owner
        (job,) = await job_store.claim_due(
            database,
            owner=owner,
            now=thank_you["due_at"],
            lease_until=thank_you["due_at"] + 60_000,
            limit=1,
        )
        if point == "attempt_recorded":
            await job_store.record_attempt(
                database,
                job.id,
                owner=owner,
                claim=job.claim,
                nonce=f"{job.id:x}-crashed",
                channel_id=world.emulator.dm_channel_id(world.alice),
                at=thank_you["due_at"],
                lease_until=thank_you["due_at"] + 60_000,
            )
        await database.close()
    if outage == "longer_than_nonce_window":
        world.emulator.advance_time(600)
        running.clock.advance(600)
    running = await start_bot()
    await running.bot.scheduler.settle()
    await running.bot.scheduler.settle()
    assert len(world.emulator.dm_messages(world.alice)) == 1
    rows = await follow_up_rows(running, world.alice)
    assert rows["thank_you"]["state"] == "done"
    assert rows["thank_you"]["outcome"].startswith("sent")
    lookups = world.emulator.requests_matching("GET", r"^/channels/\d+/messages")
    if point == "sent":
        # Inside the window Discord's nonce de-duplicates the resend; after it, the bot finds
        # its own message in the DM channel and does not send again.
        if outage == "short":
            assert world.emulator.stats["nonce_dedup"] == 1
        else:
            assert len(lookups) == 1
            assert world.emulator.stats["nonce_dedup"] == 0


# -- /followups list and cancel ---------------------------------------------------------------


async def open_list(
    world: World, user: int, options: dict[str, Any] | None = None
) -> RecordedMessage:
    interaction = await world.emulator.invoke(
        user, "followups list", options or {}, guild_id=world.guild_id, channel_id=world.channel_id
    )
    message = await interaction.wait_message()
    assert message.ephemeral
    return message


def list_lines(message: RecordedMessage) -> list[str]:
    return str(message.embeds[0]["description"]).splitlines()


def cancel_options(message: RecordedMessage) -> list[dict[str, Any]]:
    for row in message.components:
        for component in row["components"]:
            if component["custom_id"].startswith("nr:fu-cancel:"):
                return list(component["options"])
    return []


async def test_list_is_in_time_order_with_plain_states_and_pages(
    world: World, running: RunningBot
) -> None:
    await command(world, world.alice, "followups settings", {"timezone": "Europe/London"})
    for company in ("Acme", "Globex", "Initech", "Umbrella"):
        await command(world, world.alice, "rejection log", {"company": company})
    rows = await running.database.fetch_all(
        "SELECT id, due_at FROM scheduled_jobs WHERE user_id = ? ORDER BY due_at, id",
        (world.alice,),
    )
    # The four thank-you notes are due first; deliver them, snooze one, mark one done.
    await move_to(running, rows[3]["due_at"])
    dms = {dm.embeds[0]["fields"][0]["value"]: dm for dm in world.emulator.dm_messages(world.alice)}
    assert len(dms) == 4
    snooze = await world.emulator.click(world.alice, dms["Acme"], custom_ids(dms["Acme"])[3])
    await snooze.wait_response()
    done = await world.emulator.click(world.alice, dms["Globex"], custom_ids(dms["Globex"])[0])
    await done.wait_response()
    # 4 sent + 1 snoozed again + 8 still to come = 13 rows: two pages of 10 and 3, the 9
    # still to come first.
    first = await open_list(world, world.alice)
    lines = list_lines(first)
    footer = first.embeds[0]["footer"]["text"]
    assert footer.startswith("Page 1 of 2 · 13 follow-ups")
    assert lines[0] == "**Coming up**"
    assert lines[10] == "**Recently (last 14 days)**"
    coming = lines[1:10]
    # Soonest first, every time a Discord timestamp; no internal numbers anywhere.
    assert coming[0].startswith("**Thank-you note** · #1 Acme · snoozed, due <t:")
    dues = [int(line.split("<t:")[1].split(":")[0]) for line in coming]
    assert dues == sorted(dues)
    assert coming[1].startswith("**Feedback request** · #1 Acme · due <t:")
    text = "\n".join(lines)
    for row in rows:
        assert f"`{row['id']}`" not in text
    assert "cancelled: cancelled" not in text and "done: done" not in text

    stranger = await world.emulator.click(world.bob, first, f"nr:fu-list:{world.alice}:2:n")
    assert "someone else" in (await stranger.wait_response())["data"]["content"]
    turn = await world.emulator.click(world.alice, first, f"nr:fu-list:{world.alice}:2:n")
    second = (await turn.wait_response())["data"]
    page_two = second["embeds"][0]["description"].splitlines()
    assert second["embeds"][0]["footer"]["text"].startswith("Page 2 of 2 · 13 follow-ups")
    assert page_two[0] == "**Recently (last 14 days)**"
    finished = [lines[11], *page_two[1:]]
    assert len(finished) == 4
    # Most recent first; what the person did with each, in plain words.
    assert any(line.endswith(", marked done") and "#2 Globex" in line for line in finished)
    assert any("#1 Acme · sent <t:" in line and ", snoozed until <t:" in line for line in finished)
    plain_sent = [line for line in finished if " · sent <t:" in line and "snoozed" not in line]
    assert sum(line.endswith(":f>") for line in plain_sent) == 2
    assert not any("+00:00" in line for line in finished)
    previous = await world.emulator.click(
        world.alice, first, f"nr:fu-list:{world.alice}:1:p"
    )  # the message now shows page 2, whose Previous goes back to page 1
    assert (await previous.wait_response())["data"]["embeds"][0]["footer"]["text"].startswith(
        "Page 1 of 2"
    )
    out_of_range = await command(world, world.alice, "followups list", {"page": 3})
    assert out_of_range["content"] == "There is no page 3; your list has 2 pages."


async def test_cancel_from_the_list_needs_no_number(world: World, running: RunningBot) -> None:
    await command(world, world.alice, "followups settings", {"timezone": "Europe/London"})
    await command(world, world.alice, "rejection log", {"company": "Acme"})
    message = await open_list(world, world.alice)
    options = cancel_options(message)
    assert [option["label"] for option in options] == [
        "Thank-you note · #1 Acme",
        "Feedback request · #1 Acme",
        "Check-in · #1 Acme",
    ]
    # Plain local times where Discord timestamps don't render (Wed 24 Mar, 16:00 GMT).
    assert options[0]["description"] == "Due Wed 24 Mar, 14:00 GMT".replace("14:00", "16:00")
    custom_id = f"nr:fu-cancel:{world.alice}:1"
    stranger = await world.emulator.click(
        world.bob, message, custom_id, values=[options[1]["value"]]
    )
    assert "someone else" in (await stranger.wait_response())["data"]["content"]

    picked = await world.emulator.click(
        world.alice, message, custom_id, values=[options[1]["value"]]
    )
    edited = (await picked.wait_response())["data"]
    assert edited["content"] == "Cancelled the feedback request for #1 Acme."
    rows = await follow_up_rows(running, world.alice)
    assert rows["feedback_request"]["state"] == "cancelled"
    assert rows["feedback_request"]["outcome"] == "cancelled by you"
    assert rows["thank_you"]["state"] == rows["check_in"]["state"] == "pending"
    lines = edited["embeds"][0]["description"].splitlines()
    assert "**Feedback request** · #1 Acme · cancelled by you" in lines
    refreshed = world.emulator.message(message.id)
    assert refreshed is not None
    assert [option["label"] for option in cancel_options(refreshed)] == [
        "Thank-you note · #1 Acme",
        "Check-in · #1 Acme",
    ]

    # The thank-you goes out while the list is still open: picking it is refused plainly.
    await move_to(running, rows["thank_you"]["due_at"])
    late = await world.emulator.click(
        world.alice, refreshed, custom_id, values=[cancel_options(refreshed)[0]["value"]]
    )
    refused = (await late.wait_response())["data"]
    assert refused["content"].startswith(
        "The thank-you note for #1 Acme isn't waiting to be sent any more (sent <t:"
    )
    assert refused["content"].endswith("), so nothing changed.")
    assert len(world.emulator.dm_messages(world.alice)) == 1
    assert [option["label"] for option in cancel_options(refreshed)] == ["Check-in · #1 Acme"]


async def test_cancel_command_autocompletes_pending_follow_ups(
    world: World, running: RunningBot
) -> None:
    await command(world, world.alice, "followups settings", {"timezone": "America/New_York"})
    await command(world, world.alice, "rejection log", {"company": "Acme"})
    await command(world, world.alice, "rejection log", {"company": "Globex"})
    choices = await world.emulator.autocomplete(
        world.alice, "followups cancel", {"number": ""}, "number"
    )
    assert len(choices) == 6
    assert choices[0]["name"] == "Thank-you note · #1 Acme · Wed 24 Mar, 12:00 EDT"
    assert all(isinstance(choice["value"], int) for choice in choices)
    globex = await world.emulator.autocomplete(
        world.alice, "followups cancel", {"number": "glob"}, "number"
    )
    assert [choice["name"].split(" · ")[:2] for choice in globex] == [
        ["Thank-you note", "#2 Globex"],
        ["Feedback request", "#2 Globex"],
        ["Check-in", "#2 Globex"],
    ]
    # Bob sees none of Alice's.
    assert (
        await world.emulator.autocomplete(world.bob, "followups cancel", {"number": ""}, "number")
        == []
    )
    done = await command(world, world.alice, "followups cancel", {"number": globex[2]["value"]})
    assert done["content"] == "Cancelled the check-in for #2 Globex."
    again = await command(world, world.alice, "followups cancel", {"number": globex[2]["value"]})
    assert again["content"] == (
        "The check-in for #2 Globex isn't waiting to be sent any more (cancelled by you), "
        "so nothing changed."
    )


async def test_ninety_follow_ups_are_nine_pages_none_left_out(
    world: World, running: RunningBot
) -> None:
    for number in range(1, 31):  # 30 entries, the most a day allows: 90 follow-ups
        await command(world, world.alice, "rejection log", {"company": f"Company {number}"})
    second = await open_list(world, world.alice, {"page": 2})
    assert second.embeds[0]["footer"]["text"].startswith("Page 2 of 9 · 90 follow-ups")
    seen: list[str] = []
    message = await open_list(world, world.alice)
    for page in range(1, 10):
        if page > 1:
            turn = await world.emulator.click(
                world.alice, message, f"nr:fu-list:{world.alice}:{page}:n"
            )
            await turn.wait_response()
        lines = [line for line in list_lines(message) if not line.startswith("**Coming")]
        assert len(lines) == 10
        assert len(cancel_options(message)) == 10
        seen.extend(lines)
    assert len(set(seen)) == 90
    assert message.embeds[0]["footer"]["text"].startswith("Page 9 of 9")
