"""Time zones and when follow-ups arrive, end to end: the first log without a zone and its
zone menu, zones as people type them, windows without 10:00, and stage-aware planning."""

from __future__ import annotations

from typing import Any

import pytest

from bot import templates
from tests.conftest import RunningBot, World
from tests.emulator import InteractionHandle, RecordedMessage
from tests.test_followups_e2e import EPHEMERAL, STEPS, command, follow_up_rows, move_to, ms

pytestmark = pytest.mark.timeout(30)

# The conftest clock starts at Wed 2027-03-24 14:00 UTC (10:00 in New York, 14:00 in London).


async def log(
    world: World, user: int, options: dict[str, Any], *, locale: str = "en-US"
) -> tuple[dict[str, Any], RecordedMessage]:
    interaction = await world.emulator.invoke(
        user,
        "rejection log",
        options,
        guild_id=world.guild_id,
        channel_id=world.channel_id,
        locale=locale,
    )
    data: dict[str, Any] = (await interaction.wait_response())["data"]
    assert data["flags"] & EPHEMERAL
    return data, await interaction.wait_message()


def next_steps(data: dict[str, Any]) -> str:
    (field,) = [f for f in data["embeds"][0]["fields"] if f["name"] == templates.ENTRY_FIELD_NEXT]
    return str(field["value"])


def zone_menu(message: RecordedMessage) -> dict[str, Any]:
    (row,) = message.components
    (menu,) = row["components"]
    assert menu["type"] == 3  # a string select
    return dict(menu)


async def due_times(running: RunningBot, user: int) -> list[int | None]:
    rows = await follow_up_rows(running, user)
    return [rows[step]["due_at"] if step in rows else None for step in STEPS]


async def stored_zone(running: RunningBot, user: int) -> str | None:
    value = await running.database.fetch_value(
        "SELECT timezone FROM people WHERE user_id = ?", (user,)
    )
    return None if value is None else str(value)


# -- the first log without a zone -----------------------------------------------------------


async def test_a_first_log_without_a_zone_plans_by_day_and_offers_likely_zones(
    world: World, running: RunningBot
) -> None:
    data, message = await log(world, world.alice, {"company": "Acme", "interviewer": "Sam"})
    text = next_steps(data)
    at = int(ms("2027-03-24 14:00") / 1000)
    assert "No time zone set" in text and "UTC" in text
    assert f"<t:{at}:t>" in text  # shown in her own clock by Discord: the time she logged
    # Nothing at night in any zone: every step at the time of day she was awake, a day apart.
    assert await due_times(running, world.alice) == [
        ms("2027-03-25 14:00"),
        ms("2027-03-26 14:00"),
        ms("2027-04-02 14:00"),
    ]
    menu = zone_menu(message)
    entry_id = await running.database.fetch_value("SELECT id FROM entries")
    assert menu["custom_id"] == f"nr:tz:{world.alice}:{entry_id}"
    options = {option["value"]: option for option in menu["options"]}
    assert list(options)[:4] == [
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
    ]
    assert {"UTC", "nr:other"} <= set(options)
    assert options["America/New_York"]["label"] == "New York · now 10:00"
    assert options["UTC"]["label"] == "UTC is right · now 14:00"

    stranger = await world.emulator.click(
        world.bob, message, menu["custom_id"], values=["Europe/London"]
    )
    assert "someone else" in (await stranger.wait_response())["data"]["content"]
    assert await stored_zone(running, world.alice) is None

    chosen = await world.emulator.click(
        world.alice, message, menu["custom_id"], values=["America/New_York"]
    )
    updated = await chosen.wait_response()
    assert updated["type"] == 7  # the log reply itself is updated
    assert updated["data"]["content"].startswith(
        "Time zone set: America/New_York (UTC−04:00, now 10:00, follows summer time)."
    )
    assert updated["data"]["components"] == []
    assert "No time zone set" not in next_steps(updated["data"])
    assert await stored_zone(running, world.alice) == "America/New_York"
    # Re-planned at once, as the worked examples for New York (logged at 10:00 EDT).
    planned = [ms("2027-03-24 16:00"), ms("2027-03-25 14:00"), ms("2027-04-01 14:00")]
    assert await due_times(running, world.alice) == planned
    assert all(f"<t:{due // 1000}:R>" in next_steps(updated["data"]) for due in planned[:2])

    # With a zone, the next log asks nothing and uses her hours.
    again, second = await log(world, world.alice, {"company": "Globex"})
    assert "No time zone set" not in next_steps(again)
    assert second.components == []
    await move_to(running, ms("2027-03-24 16:00"))
    titles = [dm.embeds[0]["title"] for dm in world.emulator.dm_messages(world.alice)]
    assert titles == ["Time to thank Sam", "Time to thank Globex"]


async def test_the_zone_menu_follows_the_language_and_utc_is_a_choice(
    world: World, running: RunningBot
) -> None:
    _, message = await log(world, world.bob, {"company": "Acme"}, locale="de")
    menu = zone_menu(message)
    assert [option["value"] for option in menu["options"]][:3] == [
        "Europe/Berlin",
        "Europe/Vienna",
        "Europe/Zurich",
    ]
    chosen = await world.emulator.click(world.bob, message, menu["custom_id"], values=["UTC"])
    updated = (await chosen.wait_response())["data"]
    assert updated["content"].startswith("Time zone set: UTC")
    assert await stored_zone(running, world.bob) == "UTC"
    # An explicit UTC is a zone like any other: 08:00–21:00 UTC, no prompt any more.
    assert await due_times(running, world.bob) == [
        ms("2027-03-24 16:00"),
        ms("2027-03-25 10:00"),
        ms("2027-04-01 10:00"),
    ]
    _, second = await log(world, world.bob, {"company": "Globex"}, locale="de")
    assert second.components == []


async def open_zone_form(
    world: World, user: int, message: RecordedMessage
) -> tuple[InteractionHandle, dict[str, Any]]:
    menu = zone_menu(message)
    click = await world.emulator.click(user, message, menu["custom_id"], values=["nr:other"])
    assert (await click.wait_response())["type"] == 9  # a form
    assert click.modal is not None
    return click, click.modal


def current(world: World, message: RecordedMessage) -> RecordedMessage:
    found = world.emulator.message(message.id)
    assert found is not None
    return found


def input_of(modal: dict[str, Any]) -> str:
    (row,) = modal["components"]
    return str(row["components"][0]["custom_id"])


async def test_another_zone_opens_a_form_that_reads_what_a_person_types(
    world: World, running: RunningBot
) -> None:
    _, message = await log(world, world.alice, {"company": "Acme"})
    _, modal = await open_zone_form(world, world.alice, message)
    refused = await world.emulator.submit_modal(
        world.alice, modal["custom_id"], {input_of(modal): "Mars/Olympus"}
    )
    answer = (await refused.wait_response())["data"]
    assert answer["flags"] & EPHEMERAL
    assert answer["content"] == templates.BAD_TIMEZONE.format(zone="Mars/Olympus")
    assert current(world, message).components  # the menu is still there to retry

    _, modal = await open_zone_form(world, world.alice, message)
    submitted = await world.emulator.submit_modal(
        world.alice, modal["custom_id"], {input_of(modal): "est"}
    )
    updated = (await submitted.wait_response())["data"]
    assert updated["content"].splitlines()[0] == "Read as est → America/New_York."
    assert await stored_zone(running, world.alice) == "America/New_York"
    assert current(world, message).components == []


# -- zones as people type them --------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored", "read_as", "shown"),
    [
        ("London", "Europe/London", None, "(UTC+00:00, now 14:00"),
        ("new york", "America/New_York", None, "(UTC−04:00, now 10:00"),
        ("Bangalore", "Asia/Kolkata", "Bangalore → Asia/Kolkata", "(UTC+05:30, now 19:30"),
        ("europe/london", "Europe/London", None, "(UTC+00:00, now 14:00"),
        ("UK", "Europe/London", "UK → Europe/London", "follows summer time"),
        ("CET", "Europe/Berlin", "CET → Europe/Berlin", "(UTC+01:00, now 15:00"),
        ("EST", "America/New_York", "EST → America/New_York", "follows summer time"),
        ("PST", "America/Los_Angeles", "PST → America/Los_Angeles", "(UTC−07:00, now 07:00"),
        ("GMT+1", "UTC+01:00", "GMT+1 → UTC+01:00", "UTC+01:00 (now 15:00; a fixed offset"),
        ("UTC+5:30", "UTC+05:30", "UTC+5:30 → UTC+05:30", "UTC+05:30 (now 19:30"),
        ("Etc/GMT+1", "UTC-01:00", "Etc/GMT+1 → UTC-01:00", "UTC-01:00 (now 13:00"),
    ],
)
async def test_zone_input_a_person_would_type(
    world: World, running: RunningBot, typed: str, stored: str, read_as: str | None, shown: str
) -> None:
    reply = await command(world, world.alice, "followups settings", {"timezone": typed})
    assert await stored_zone(running, world.alice) == stored
    note = templates.ZONE_READ_NOTE.format(read_as=read_as) if read_as else None
    assert (note in reply["content"]) if note else ("Read as" not in reply["content"])
    description = reply["embeds"][0]["description"]
    assert f"**{stored} " in description and shown in description


async def test_a_fixed_offset_plans_in_that_offset(world: World, running: RunningBot) -> None:
    await command(world, world.alice, "followups settings", {"timezone": "UTC+5:30"})
    await command(world, world.alice, "rejection log", {"company": "Acme"})
    # Logged at 19:30 local: the thank-you (21:30) waits for 08:00, the request for 10:00.
    assert await due_times(running, world.alice) == [
        ms("2027-03-25 02:30"),
        ms("2027-03-25 04:30"),
        ms("2027-04-01 04:30"),
    ]


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("GMT+1", "UTC+01:00"),
        ("EST", "America/New_York"),
        ("new york", "America/New_York"),
        ("london", "Europe/London"),
        ("UTC+5:30", "UTC+05:30"),
        ("india", "Asia/Kolkata"),
    ],
)
async def test_autocomplete_ranks_what_was_meant_first(
    world: World, running: RunningBot, typed: str, first: str
) -> None:
    for user, command_name, guild_id in (
        (world.alice, "followups settings", None),
        (world.admin, "tips setup", world.guild_id),
    ):
        choices = await world.emulator.autocomplete(
            user, command_name, {"timezone": typed}, "timezone", guild_id=guild_id
        )
        assert choices[0]["value"] == first
        assert "now " in choices[0]["name"]
        assert not any(choice["value"].startswith("Etc/") for choice in choices)


async def test_tips_setup_reads_zones_the_same_way(world: World, running: RunningBot) -> None:
    interaction = await world.emulator.invoke(
        world.admin,
        "tips setup",
        {"channel": world.channel_id, "weekday": "monday", "time": "09:00", "timezone": "EST"},
        guild_id=world.guild_id,
        channel_id=world.channel_id,
    )
    content = (await interaction.wait_response())["data"]["content"]
    assert "Time zone: America/New_York (UTC−04:00, now 10:00, follows summer time)." in content
    zone = await running.database.fetch_value("SELECT timezone FROM tip_schedules")
    assert zone == "America/New_York"


# -- a window without 10:00 -----------------------------------------------------------------


async def test_an_evening_window_is_accepted_and_steps_go_to_its_start(
    world: World, running: RunningBot
) -> None:
    reply = await command(
        world,
        world.alice,
        "followups settings",
        {"timezone": "Europe/London", "window_start": "18:00", "window_end": "23:00"},
    )
    assert "Saved" in reply["content"]
    assert "at 18:00" in reply["embeds"][0]["description"]
    await command(world, world.alice, "rejection log", {"company": "Acme"})
    # Logged 14:00 GMT: the thank-you (16:00) waits for 18:00; the feedback request aims at
    # 10:00, outside the window, so it comes at 18:00 the next day; the check-in a week later
    # at 18:00 BST (summer time began on the 28th).
    assert await due_times(running, world.alice) == [
        ms("2027-03-24 18:00"),
        ms("2027-03-25 18:00"),
        ms("2027-04-01 17:00"),
    ]
    accepted = await command(
        world, world.alice, "followups settings", {"window_start": "12:00", "window_end": "20:00"}
    )
    assert "Saved" in accepted["content"]
    refused = await command(
        world, world.alice, "followups settings", {"window_start": "20:00", "window_end": "21:30"}
    )
    assert refused["content"] == templates.SHORT_WINDOW.format(start="20:00", end="21:30")


# -- stage-aware planning -------------------------------------------------------------------


async def test_follow_ups_depend_on_the_stage_and_the_reply_says_why(
    world: World, running: RunningBot
) -> None:
    await command(world, world.alice, "followups settings", {"timezone": "Europe/London"})
    cases: list[tuple[dict[str, Any], set[str], str | None]] = [
        ({"stage": "application"}, {"feedback_request", "check_in"}, "an application has"),
        ({"stage": "assessment"}, {"feedback_request", "check_in"}, "no interviewer named"),
        ({"stage": "assessment", "interviewer": "Kim"}, set(STEPS), None),
        ({"stage": "other"}, {"feedback_request", "check_in"}, "no interviewer named"),
        ({"stage": "screen"}, set(STEPS), None),
        ({"stage": "final", "date": "9 days ago"}, {"feedback_request", "check_in"}, "7 days"),
    ]
    for number, (options, planned, reason) in enumerate(cases, start=1):
        data, _ = await log(world, world.alice, {"company": f"Company {number}", **options})
        kinds = await running.database.fetch_all(
            "SELECT kind FROM scheduled_jobs WHERE subject_id = "
            "(SELECT id FROM entries WHERE number = ?)",
            (number,),
        )
        assert {row["kind"].removeprefix("followup:") for row in kinds} == planned, options
        text = next_steps(data)
        if reason is None:
            assert "No thank-you note" not in text
        else:
            assert "No thank-you note: " in text and reason in text
    await command(world, world.alice, "followups settings", {"check_in": False})
    data, _ = await log(world, world.alice, {"company": "Initech", "stage": "application"})
    assert "No check-in: turned off in </followups settings:" in next_steps(data)


async def test_a_stage_corrected_to_application_skips_the_thank_you(
    world: World, running: RunningBot
) -> None:
    await command(world, world.alice, "followups settings", {"timezone": "Europe/London"})
    await command(world, world.alice, "rejection log", {"company": "Acme"})
    await command(world, world.alice, "rejection edit", {"number": 1, "stage": "application"})
    await move_to(running, ms("2027-03-24 16:00"))
    rows = await follow_up_rows(running, world.alice)
    assert rows["thank_you"]["outcome"] == "skipped: no conversation at this stage"
    assert world.emulator.dm_messages(world.alice) == []
