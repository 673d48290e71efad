"""/rejection and /privacy end to end: the real bot, the emulator, an injected clock."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from typing import Any

import discord
import pytest
from discord.http import handle_message_parameters

from bot import templates
from bot.db import entries as entry_store
from tests.conftest import RunningBot, World
from tests.emulator import InteractionHandle, RecordedMessage

pytestmark = pytest.mark.timeout(30)

EPHEMERAL = 1 << 6
MENTION = re.compile(r"@everyone|@here|<@[!&]?\d+>")


async def run(
    world: World,
    user: int,
    command: str,
    options: dict[str, Any] | None = None,
    *,
    where: str = "guild",
    validate: bool = True,
) -> InteractionHandle:
    emulator = world.emulator
    if where == "guild":
        return await emulator.invoke(
            user,
            command,
            options or {},
            guild_id=world.guild_id,
            channel_id=world.channel_id,
            validate_options=validate,
        )
    if where == "user_install":
        return await emulator.invoke(
            user,
            command,
            options or {},
            guild_id=world.guild_id,
            channel_id=world.channel_id,
            user_install=True,
        )
    return await emulator.invoke(user, command, options or {})


async def reply(
    world: World,
    user: int,
    command: str,
    options: dict[str, Any] | None = None,
    *,
    where: str = "guild",
    validate: bool = True,
) -> dict[str, Any]:
    interaction = await run(world, user, command, options, where=where, validate=validate)
    response = await interaction.wait_response()
    data: dict[str, Any] = response["data"]
    assert data.get("flags", 0) & EPHEMERAL, f"{command} must answer ephemerally"
    assert data.get("allowed_mentions", {"parse": []}).get("parse", []) == []
    return data


def text_of(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False)


async def entry_count(running: RunningBot, user: int) -> int:
    return await entry_store.count_entries(running.database, user)


async def test_log_with_every_option(world: World, running: RunningBot) -> None:
    data = await reply(
        world,
        world.alice,
        "rejection log",
        {
            "company": "  Acme Corp ",
            "role": "Backend engineer",
            "stage": "final",
            "date": "yesterday",
            "interviewer": "Sam Lee",
            "notes": "Asked about scaling.",
        },
    )
    embed = data["embeds"][0]
    assert embed["title"] == "#1 · Acme Corp"
    assert len(embed["description"]) < 200
    assert "!!" not in embed["description"]
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert fields["Role"] == "Backend engineer"
    assert fields["Stage"] == "Final round"
    assert fields["Date"] == "2027-03-23"
    assert fields["Interviewer"] == "Sam Lee"
    assert "Follow-ups by DM" in fields["What happens next"]
    entry = await entry_store.get_entry(running.database, world.alice, 1)
    assert entry is not None
    assert entry.company == "Acme Corp"
    assert entry.guild_id == world.guild_id


@pytest.mark.parametrize(
    ("options", "phrase"),
    [
        ({"company": "   "}, "Please fill in `company:`; spaces"),
        # Discord refuses these lengths itself (the synced limits); the bot still does, for a
        # value that arrives anyway.
        ({"company": "x" * 101}, "Please keep `company:` to 100 characters or fewer; it has 101"),
        ({"company": "Acme", "role": "r" * 101}, "`role:` to 100 characters"),
        ({"company": "Acme", "interviewer": "i" * 101}, "`interviewer:` to 100 characters"),
        (
            {"company": "Acme", "notes": "n" * 1001},
            "`notes:` to 1,000 characters or fewer; it has 1,001",
        ),
        ({"company": "Acme", "date": "2027-03-25"}, "2027-03-25 is in the future"),
        ({"company": "Acme", "date": "last week"}, "couldn't read the date 'last week'"),
        ({"company": "Acme", "date": "1999-05-01"}, "from 2000-01-01 onwards"),
    ],
)
async def test_bad_input_is_one_sentence_and_stores_nothing(
    world: World, running: RunningBot, options: dict[str, Any], phrase: str
) -> None:
    data = await reply(world, world.alice, "rejection log", options, validate=False)
    assert phrase in data["content"]
    assert "embeds" not in data or not data["embeds"]
    assert data["content"].count(".") <= 3
    assert await entry_count(running, world.alice) == 0


async def test_text_that_shows_nothing_counts_as_empty(world: World, running: RunningBot) -> None:
    refused = await reply(world, world.alice, "rejection log", {"company": "\u200b\u200d\ufeff"})
    assert "Please fill in `company:`" in refused["content"]
    assert await entry_count(running, world.alice) == 0
    data = await reply(
        world,
        world.alice,
        "rejection log",
        {
            "company": "\u2800Acme\u200b",
            "role": "\u3164",
            "interviewer": "\u115f\u1160\uffa0",
            "notes": "\u2060\u2061\u2062\u2063\u2064\u180e",
        },
    )
    assert data["embeds"][0]["title"] == "#1 · Acme"
    await reply(
        world,
        world.alice,
        "rejection feedback",
        {"number": 1, "status": "asked", "summary": "\u200b"},
    )
    entry = await entry_store.get_entry(running.database, world.alice, 1)
    assert entry is not None
    assert (entry.company, entry.role, entry.interviewer, entry.notes) == ("Acme", None, None, None)
    assert entry.feedback_summary is None


async def test_mentions_in_user_text_never_ping(world: World, running: RunningBot) -> None:
    data = await reply(
        world,
        world.alice,
        "rejection log",
        {
            "company": "@everyone <@&123>",
            "notes": "<@&123> and @here and <@456>",
        },
    )
    assert not MENTION.search(text_of(data))
    view = await reply(world, world.alice, "rejection view", {"number": 1})
    assert not MENTION.search(text_of(view))
    listing = await reply(world, world.alice, "rejection list")
    assert not MENTION.search(text_of(listing))
    for request in world.emulator.requests_matching("POST", r"^/interactions/"):
        assert request.json["data"].get("allowed_mentions", {}).get("parse", []) == []


async def test_numbers_are_never_reused(world: World, running: RunningBot) -> None:
    for company in ("A", "B", "C", "D"):
        await reply(world, world.alice, "rejection log", {"company": company})
    await run_delete(world, world.alice, 4)
    data = await reply(world, world.alice, "rejection log", {"company": "E"})
    assert data["embeds"][0]["title"] == "#5 · E"


def button_id(message: RecordedMessage, label: str) -> str:
    for row in message.components:
        for component in row.get("components") or []:
            if component.get("label") == label:
                return str(component["custom_id"])
    raise LookupError(f"no button {label!r} on message {message.id}")


async def press(world: World, user: int, message: RecordedMessage, label: str) -> dict[str, Any]:
    click = await world.emulator.click(user, message, button_id(message, label))
    response = await click.wait_response()
    data: dict[str, Any] = response["data"]
    return data


async def ask(
    world: World, user: int, command: str, options: dict[str, Any] | None = None
) -> RecordedMessage:
    """Run a command that asks to confirm; returns the message with the buttons."""
    interaction = await run(world, user, command, options)
    await interaction.wait_response()
    return await interaction.wait_message()


async def run_delete(world: World, user: int, number: int, confirm: bool = True) -> dict[str, Any]:
    message = await ask(world, user, "rejection delete", {"number": number})
    return await press(
        world, user, message, templates.DELETE_YES if confirm else templates.DELETE_NO
    )


async def test_another_persons_number_is_not_found(world: World, running: RunningBot) -> None:
    await reply(world, world.alice, "rejection log", {"company": "Acme"})
    missing = (await reply(world, world.bob, "rejection view", {"number": 99}))["content"]
    for command, options in (
        ("rejection view", {"number": 1}),
        ("rejection edit", {"number": 1, "company": "Mine now"}),
        ("rejection delete", {"number": 1}),
        ("rejection feedback", {"number": 1, "status": "asked"}),
    ):
        data = await reply(world, world.bob, command, options)
        assert data["content"] == missing.replace("#99", "#1")
    entry = await entry_store.get_entry(running.database, world.alice, 1)
    assert entry is not None and entry.company == "Acme"


async def test_list_pages_and_buttons(world: World, running: RunningBot) -> None:
    for number in range(1, 24):
        await reply(world, world.alice, "rejection log", {"company": f"Company {number}"})
    interaction = await run(world, world.alice, "rejection list")
    first = (await interaction.wait_response())["data"]
    rows = first["embeds"][0]["description"].splitlines()
    assert len(rows) == 10
    assert rows[0].startswith("**#23** Company 23")
    assert "Page 1 of 3" in first["embeds"][0]["footer"]["text"]
    message = await interaction.wait_message()
    stranger = await world.emulator.click(world.bob, message, f"nr:list:{world.alice}:2:n")
    assert "someone else" in (await stranger.wait_response())["data"]["content"]
    click = await world.emulator.click(world.alice, message, f"nr:list:{world.alice}:2:n")
    page_two = (await click.wait_response())["data"]
    assert page_two["embeds"][0]["description"].splitlines()[0].startswith("**#13**")
    out_of_range = await reply(world, world.alice, "rejection list", {"page": 4})
    assert "no page 4" in out_of_range["content"]


async def test_edit_delete_feedback_and_stats(world: World, running: RunningBot) -> None:
    await reply(world, world.alice, "rejection log", {"company": "Acme", "stage": "screen"})
    edited = await reply(
        world,
        world.alice,
        "rejection edit",
        {"number": 1, "role": "Designer", "date": "3 days ago"},
    )
    fields = {field["name"]: field["value"] for field in edited["embeds"][0]["fields"]}
    assert fields["Role"] == "Designer"
    assert fields["Date"] == "2027-03-21"
    nothing = await reply(world, world.alice, "rejection edit", {"number": 1})
    assert nothing["content"] == templates.EDIT_NOTHING
    feedback = await reply(
        world,
        world.alice,
        "rejection feedback",
        {"number": 1, "status": "received", "summary": "More system design", "theme": "technical"},
    )
    assert "received" in feedback["content"]
    stats = await reply(world, world.alice, "rejection stats")
    stats_text = text_of(stats)
    assert "Technical skills: 1" in stats_text
    assert "Phone or recruiter screen: 1" in stats_text
    months = next(f for f in stats["embeds"][0]["fields"] if f["name"] == "Last 12 months")
    rows = months["value"].splitlines()
    assert rows[0].startswith("`Apr 2026`") and rows[-1] == "`Mar 2027` ▇ 1"
    kept = await run_delete(world, world.alice, 1, confirm=False)
    assert "Kept entry #1" in kept["content"]
    deleted = await run_delete(world, world.alice, 1)
    assert "Deleted entry #1" in deleted["content"]
    assert await entry_count(running, world.alice) == 0
    pending = await running.database.fetch_value(
        "SELECT COUNT(*) FROM scheduled_jobs WHERE user_id = ? AND state = 'pending'",
        (world.alice,),
    )
    assert pending == 0


async def test_company_autocomplete_is_personal_and_prefix_first(
    world: World, running: RunningBot
) -> None:
    for company in ("Globex", "Acme", "Big Acme Labs", "Acme Widgets"):
        await reply(world, world.alice, "rejection log", {"company": company})
    await reply(world, world.bob, "rejection log", {"company": "Acme Secret"})
    choices = await world.emulator.autocomplete(
        world.alice,
        "rejection log",
        {"company": "acm"},
        "company",
        guild_id=world.guild_id,
        channel_id=world.channel_id,
    )
    names = [choice["name"] for choice in choices]
    assert set(names) == {"Acme", "Acme Widgets", "Big Acme Labs"}
    assert names[-1] == "Big Acme Labs"


async def test_number_options_autocomplete_your_own_entries(
    world: World, running: RunningBot
) -> None:
    await reply(
        world,
        world.alice,
        "rejection log",
        {"company": "Acme", "role": "Data analyst", "stage": "final"},
    )
    for number in range(2, 14):
        await reply(world, world.alice, "rejection log", {"company": f"Company {number}"})
    await reply(world, world.alice, "rejection log", {"company": "W" * 100, "role": "R" * 100})
    await reply(world, world.bob, "rejection log", {"company": "Acme Secret"})

    async def suggest(command: str, typed: str, user: int | None = None) -> list[Any]:
        return await world.emulator.autocomplete(
            world.alice if user is None else user,
            command,
            {"number": typed},
            "number",
            guild_id=world.guild_id,
            channel_id=world.channel_id,
        )

    newest = await suggest("rejection view", "")
    assert [choice["value"] for choice in newest] == list(range(14, 0, -1))
    assert all(len(choice["name"]) <= 100 for choice in newest)
    assert newest[0]["name"].startswith("#14 · WWW") and newest[0]["name"].endswith(" · Interview")
    assert newest[-1]["name"] == "#1 · Acme · Data analyst · Final round"
    # A number: that entry first, then the others starting with it, newest first.
    assert [c["value"] for c in await suggest("rejection edit", "1")] == [1, 14, 13, 12, 11, 10]
    assert [c["value"] for c in await suggest("rejection delete", "#12")] == [12]
    # Company or role text, on every command that takes a number.
    assert [c["value"] for c in await suggest("rejection feedback", "analyst")] == [1]
    assert [c["value"] for c in await suggest("rejection view", "acme")] == [1]
    assert await suggest("rejection view", "secret") == []
    assert [c["value"] for c in await suggest("rejection view", "acme", world.bob)] == [1]
    # The number picked works as typed.
    picked = await reply(world, world.alice, "rejection view", {"number": newest[-1]["value"]})
    assert picked["embeds"][0]["title"] == "#1 · Acme"


async def test_edit_autocompletes_the_company(world: World, running: RunningBot) -> None:
    for company in ("Globex", "Acme", "Äpfel & Co"):
        await reply(world, world.alice, "rejection log", {"company": company})

    async def suggest(typed: str) -> list[str]:
        choices = await world.emulator.autocomplete(
            world.alice,
            "rejection edit",
            {"number": 1, "company": typed},
            "company",
            guild_id=world.guild_id,
            channel_id=world.channel_id,
        )
        return [choice["value"] for choice in choices]

    assert await suggest("glo") == ["Globex"]
    assert await suggest("Äpf") == ["Äpfel & Co"]  # typed as written, beyond ASCII


async def test_works_in_dms_and_as_a_user_installed_app(world: World, running: RunningBot) -> None:
    await reply(world, world.alice, "rejection log", {"company": "In a DM"}, where="dm")
    await reply(world, world.alice, "rejection log", {"company": "User app"}, where="user_install")
    listing = await reply(world, world.alice, "rejection list", where="guild")
    description = listing["embeds"][0]["description"]
    assert "In a DM" in description and "User app" in description


async def test_daily_limit(world: World, running: RunningBot) -> None:
    # No follow-ups: a day later 90 DMs to one person would only wait on Discord's limits.
    await reply(
        world,
        world.alice,
        "followups settings",
        {"thank_you": False, "feedback_request": False, "check_in": False},
    )
    for number in range(30):
        await reply(world, world.alice, "rejection log", {"company": f"C{number}"})
    refused = await reply(world, world.alice, "rejection log", {"company": "One too many"})
    assert refused["content"].startswith("You've logged 30 recent entries in the last 24 hours")
    # The first of the 30 was logged at the start: the 31st can go in 24 hours after it.
    next_at = int(running.clock.timestamp()) + 24 * 3600
    assert f"<t:{next_at}:R>" in refused["content"]
    assert await entry_count(running, world.alice) == 30
    running.clock.advance(24 * 3600 + 1)
    await reply(world, world.alice, "rejection log", {"company": "Next day"})
    assert await entry_count(running, world.alice) == 31


async def test_older_entries_have_their_own_higher_daily_limit(
    world: World, running: RunningBot
) -> None:
    """Someone starting today can log the search behind them: 30 recent entries a day, and
    200 more dated more than a week ago."""
    await reply(
        world,
        world.alice,
        "followups settings",
        {"thank_you": False, "feedback_request": False, "check_in": False},
    )
    now = int(running.clock.timestamp() * 1000)
    async with running.database.transaction() as tx:
        await tx.execute(
            "INSERT INTO people (user_id, next_entry_number, created_at) VALUES (?, 231, 0) "
            "ON CONFLICT (user_id) DO UPDATE SET next_entry_number = 231",
            (world.alice,),
        )
        # 30 recent ones and 199 older ones, logged over the last few hours.
        await tx.executemany(
            "INSERT INTO entries (user_id, number, company, stage, rejected_on, created_at, "
            "updated_at) VALUES (?, ?, 'Old', 'interview', ?, ?, ?)",
            (
                (world.alice, number, "2027-03-20" if number <= 30 else "2027-01-10", at, at)
                for number in range(1, 230)
                for at in [now - 3_600_000 + number]
            ),
        )
    refused = await reply(world, world.alice, "rejection log", {"company": "Recent"})
    assert refused["content"].startswith("You've logged 30 recent entries")
    assert "dated more than 7 days ago count separately (up to 200 a day)" in refused["content"]
    # 2027-03-17 is 7 days ago: still recent. 2027-03-16 is older.
    refused = await reply(
        world, world.alice, "rejection log", {"company": "A week", "date": "2027-03-17"}
    )
    assert refused["content"].startswith("You've logged 30 recent entries")
    logged = await reply(
        world, world.alice, "rejection log", {"company": "Older", "date": "2027-03-16"}
    )
    assert logged["embeds"][0]["title"] == "#231 · Older"
    refused = await reply(
        world, world.alice, "rejection log", {"company": "One more", "date": "2026-12-01"}
    )
    first = (now - 3_600_000 + 31) // 1000 + 24 * 3600
    assert refused["content"] == templates.LIMIT_BACKLOG.format(
        limit=200, next=first, days=7, backlog=200, recent=30
    )
    assert await entry_count(running, world.alice) == 230


async def test_kept_limit_refuses_the_5001st(world: World, running: RunningBot) -> None:
    async with running.database.transaction() as tx:
        await tx.execute(
            "INSERT INTO people (user_id, next_entry_number, created_at) VALUES (?, 5001, 0)",
            (world.alice,),
        )
        await tx.executemany(
            "INSERT INTO entries (user_id, number, company, stage, rejected_on, created_at, "
            "updated_at) VALUES (?, ?, 'Old', 'interview', '2026-01-01', 0, 0)",
            ((world.alice, number) for number in range(1, 5001)),
        )
    refused = await reply(world, world.alice, "rejection log", {"company": "Too many"})
    assert "5,000 entries" in refused["content"]
    assert await entry_count(running, world.alice) == 5000


async def export(world: World, user: int, limit: int | None = None) -> tuple[str, list[Any]]:
    interaction = await world.emulator.invoke(
        user,
        "privacy export",
        {},
        guild_id=world.guild_id,
        channel_id=world.channel_id,
        attachment_size_limit=limit,
    )
    message = await interaction.wait_followup()
    return message.content, message.files


async def test_export_contains_exactly_what_was_stored(world: World, running: RunningBot) -> None:
    await reply(
        world,
        world.alice,
        "rejection log",
        {"company": "Café Zoë", "role": "Barista", "notes": 'Said "maybe later", 100%'},
    )
    await reply(world, world.alice, "rejection feedback", {"number": 1, "status": "asked"})
    await reply(world, world.bob, "rejection log", {"company": "Not Alice's"})
    content, files = await export(world, world.alice)
    assert content == "Here is everything NextRound stores about you."
    by_name = {file.filename: file.data for file in files}
    assert set(by_name) == {"nextround-export.json", "nextround-export.csv"}
    raw_json = by_name["nextround-export.json"].decode("utf-8")
    assert "Café Zoë" in raw_json  # not ASCII-escaped
    document = json.loads(raw_json)
    stored = await entry_store.list_entries(running.database, world.alice)
    assert [item["company"] for item in document["entries"]] == [e.company for e in stored]
    assert document["entries"][0]["notes"] == 'Said "maybe later", 100%'
    assert document["entries"][0]["feedback_status"] == "asked"
    assert len(document["follow_ups"]) == 3
    assert "Not Alice" not in raw_json
    rows = list(csv.DictReader(io.StringIO(by_name["nextround-export.csv"].decode("utf-8"))))
    assert [row["company"] for row in rows] == ["Café Zoë"]
    assert rows[0]["notes"] == 'Said "maybe later", 100%'


async def test_export_has_one_time_format_string_ids_and_labels_beside_codes(
    world: World, running: RunningBot
) -> None:
    await reply(world, world.alice, "followups pause", {"until": "3 days"})
    await reply(world, world.alice, "rejection log", {"company": "Acme", "stage": "final"})
    await reply(
        world,
        world.alice,
        "rejection feedback",
        {"number": 1, "status": "received", "theme": "technical"},
    )
    _, files = await export(world, world.alice)
    by_name = {file.filename: file.data for file in files}
    document = json.loads(by_name["nextround-export.json"])
    assert document["version"] == 2
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$")
    (settings,) = document["settings"]
    (entry,) = document["entries"]
    times = [
        document["exported_at"],
        settings["created_at"],
        settings["paused_until"],
        entry["logged_at"],
        entry["updated_at"],
    ]
    for follow_up in document["follow_ups"]:
        times += [follow_up["due_at"], follow_up["created_at"]]
        assert isinstance(follow_up["id"], str) and follow_up["id"].isdigit()
        assert follow_up["entry_number"] == 1
    assert all(iso.match(value) for value in times), times
    assert document["user_id"] == str(world.alice)
    assert entry["guild_id"] == str(world.guild_id)
    assert entry["number"] == 1
    assert settings["weekdays_only"] is True
    (row,) = csv.DictReader(io.StringIO(by_name["nextround-export.csv"].decode("utf-8")))
    assert (row["stage"], row["stage_label"]) == ("final", "Final round")
    assert (row["feedback_status"], row["feedback_status_label"]) == ("received", "Received")
    assert (row["feedback_theme"], row["feedback_theme_label"]) == ("technical", "Technical skills")
    assert iso.match(row["logged_at"])


async def test_export_csv_cells_cannot_run_as_spreadsheet_formulas(
    world: World, running: RunningBot
) -> None:
    formula = '=HYPERLINK("https://example.com","Open")'
    await reply(
        world,
        world.alice,
        "rejection log",
        {"company": formula, "role": "+1 engineer", "interviewer": "@Sam", "notes": "-2 points"},
    )
    await reply(
        world,
        world.alice,
        "rejection feedback",
        {"number": 1, "status": "received", "summary": "=1+1"},
    )
    _, files = await export(world, world.alice)
    by_name = {file.filename: file.data for file in files}
    document = json.loads(by_name["nextround-export.json"])
    stored = document["entries"][0]
    assert (stored["company"], stored["role"], stored["interviewer"], stored["notes"]) == (
        formula,
        "+1 engineer",
        "@Sam",
        "-2 points",
    )
    assert stored["feedback_summary"] == "=1+1"
    rows = list(csv.DictReader(io.StringIO(by_name["nextround-export.csv"].decode("utf-8"))))
    row = rows[0]
    assert row["company"] == "'" + formula
    assert row["role"] == "'+1 engineer"
    assert row["interviewer"] == "'@Sam"
    assert row["notes"] == "'-2 points"
    assert row["feedback_summary"] == "'=1+1"
    assert row["number"] == "1" and row["stage"] == "interview"


async def test_export_zips_when_too_large_and_explains_when_still_too_large(
    world: World, running: RunningBot
) -> None:
    for number in range(25):
        await reply(
            world, world.alice, "rejection log", {"company": f"C{number}", "notes": "n" * 900}
        )
    _, files = await export(world, world.alice)
    total = sum(len(file.data) for file in files)
    content, zipped = await export(world, world.alice, limit=total - 1)
    assert [file.filename for file in zipped] == ["nextround-export.zip"]
    with zipfile.ZipFile(io.BytesIO(zipped[0].data)) as archive:
        assert sorted(archive.namelist()) == ["nextround-export.csv", "nextround-export.json"]
    assert "zipped" in content
    content, nothing = await export(world, world.alice, limit=200)
    assert nothing == []
    assert "larger than Discord lets me upload" in content


async def test_privacy_delete_removes_everything_of_one_person(
    world: World, running: RunningBot
) -> None:
    await reply(world, world.alice, "rejection log", {"company": "Acme"})
    await reply(world, world.alice, "followups settings", {"timezone": "Europe/London"})
    await reply(world, world.bob, "rejection log", {"company": "Bob's"})
    message = await ask(world, world.alice, "privacy delete")
    done = (await press(world, world.alice, message, templates.PRIVACY_DELETE_YES))["content"]
    assert "1 entry" in done and "3 follow-ups" in done and "1 settings record" in done
    for table in ("entries", "people", "scheduled_jobs"):
        count = await running.database.fetch_value(
            f"SELECT COUNT(*) FROM {table} WHERE user_id = ?", (world.alice,)
        )
        assert count == 0, table
    assert await entry_count(running, world.bob) == 1
    again = await reply(world, world.alice, "rejection log", {"company": "Fresh start"})
    assert again["embeds"][0]["title"] == "#1 · Fresh start"


async def companies(running: RunningBot, user: int) -> dict[int, str]:
    return {e.number: e.company for e in await entry_store.list_entries(running.database, user)}


async def test_a_stale_delete_confirmation_never_reaches_a_new_entry_with_its_number(
    world: World, running: RunningBot
) -> None:
    for company in ("Old A", "Old B"):
        await reply(world, world.alice, "rejection log", {"company": company})
    stale = await ask(world, world.alice, "rejection delete", {"number": 2})
    also_stale = await ask(world, world.alice, "rejection delete", {"number": 2})
    wipe = await ask(world, world.alice, "privacy delete")
    await press(world, world.alice, wipe, templates.PRIVACY_DELETE_YES)
    for company in ("New A", "New B"):
        await reply(world, world.alice, "rejection log", {"company": company})

    refused = await press(world, world.alice, stale, templates.DELETE_YES)
    assert refused["content"] == templates.fill(templates.ENTRY_GONE)
    assert refused["components"] == []  # the stale buttons are gone
    kept = await press(world, world.alice, also_stale, templates.DELETE_NO)
    assert kept["content"] == templates.fill(templates.ENTRY_GONE)
    assert await companies(running, world.alice) == {1: "New A", 2: "New B"}


async def test_a_delete_confirmation_deletes_the_entry_it_was_shown_for(
    world: World, running: RunningBot
) -> None:
    await reply(world, world.alice, "rejection log", {"company": "Acme"})
    message = await ask(world, world.alice, "rejection delete", {"number": 1})
    stranger = await world.emulator.click(
        world.bob, message, button_id(message, templates.DELETE_YES)
    )
    assert (await stranger.wait_response())["data"]["content"] == templates.NOT_YOUR_BUTTON
    done = await press(world, world.alice, message, templates.DELETE_YES)
    assert done["content"] == "Deleted entry #1 (Acme)."
    assert await entry_count(running, world.alice) == 0


async def test_a_privacy_delete_confirmation_expires(world: World, running: RunningBot) -> None:
    await reply(world, world.alice, "rejection log", {"company": "Acme"})
    message = await ask(world, world.alice, "privacy delete")
    assert "5 minutes" in message.content
    running.clock.advance(5 * 60 + 1)
    refused = await press(world, world.alice, message, templates.PRIVACY_DELETE_YES)
    assert refused["content"] == templates.CONFIRMATION_OUT_OF_DATE.format(
        command=templates.command("privacy delete")
    )
    assert await entry_count(running, world.alice) == 1
    in_time = await ask(world, world.alice, "privacy delete")
    running.clock.advance(5 * 60)
    await press(world, world.alice, in_time, templates.PRIVACY_DELETE_YES)
    assert await entry_count(running, world.alice) == 0


async def test_a_privacy_delete_confirmation_never_reaches_data_logged_after_it(
    world: World, running: RunningBot
) -> None:
    await reply(world, world.alice, "rejection log", {"company": "Acme"})
    first = await ask(world, world.alice, "privacy delete")
    second = await ask(world, world.alice, "privacy delete")
    await press(world, world.alice, first, templates.PRIVACY_DELETE_YES)
    await reply(world, world.alice, "rejection log", {"company": "Fresh start"})
    refused = await press(world, world.alice, second, templates.PRIVACY_DELETE_YES)
    assert refused["content"] == templates.fill(templates.PRIVACY_DELETE_CHANGED)
    assert await companies(running, world.alice) == {1: "Fresh start"}

    # Settings alone are data too: a person recreated by a settings change is not deleted.
    third = await ask(world, world.alice, "privacy delete")
    fourth = await ask(world, world.alice, "privacy delete")
    await press(world, world.alice, third, templates.PRIVACY_DELETE_YES)
    running.clock.advance(1)
    await reply(world, world.alice, "followups settings", {"timezone": "Europe/London"})
    refused = await press(world, world.alice, fourth, templates.PRIVACY_DELETE_YES)
    assert refused["content"] == templates.fill(templates.PRIVACY_DELETE_CHANGED)
    assert await entry_store.person_timezone(running.database, world.alice) == "Europe/London"


async def post_as_before_the_upgrade(
    world: World, running: RunningBot, custom_id: str
) -> RecordedMessage:
    """A message with a button as the previous version wrote its custom_id."""
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(label="Old", custom_id=custom_id))
    with handle_message_parameters(content="Old confirmation", view=view) as params:
        payload = await running.bot.http.send_message(world.channel_id, params=params)
    message = world.emulator.message(int(payload["id"]))
    assert message is not None
    return message


@pytest.mark.parametrize(
    ("old_id", "answer"),
    [
        ("nr:entry-delete:{user}:2:yes", "out_of_date:/rejection delete"),
        ("nr:entry-delete:{user}:2:no", "Kept entry #2; nothing was deleted."),
        ("nr:privacy-delete:{user}:yes", "out_of_date:/privacy delete"),
        ("nr:privacy-delete:{user}:no", templates.PRIVACY_DELETE_CANCELLED),
    ],
)
async def test_confirmations_from_before_the_upgrade_delete_nothing(
    world: World, running: RunningBot, old_id: str, answer: str
) -> None:
    for company in ("A", "B"):
        await reply(world, world.alice, "rejection log", {"company": company})
    message = await post_as_before_the_upgrade(world, running, old_id.format(user=world.alice))
    data = await press(world, world.alice, message, "Old")
    if answer.startswith("out_of_date:"):
        name = answer.split(":", 1)[1].removeprefix("/")
        answer = templates.CONFIRMATION_OUT_OF_DATE.format(command=templates.command(name))
    assert data["content"] == answer
    assert await companies(running, world.alice) == {1: "A", 2: "B"}
