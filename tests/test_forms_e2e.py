"""A refused form keeps what was typed: "Edit and try again" opens it again filled in, also
after a restart, only for the person who typed it, and for a limited time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot import templates
from bot.clock import ManualClock
from bot.forms import DRAFT_MINUTES
from tests.conftest import BotFactory, RunningBot, World
from tests.emulator import InteractionHandle, RecordedMessage

pytestmark = pytest.mark.timeout(30)

EPHEMERAL = 1 << 6
MODAL = 9
NOTES = "Panel of three. They asked about window functions and a migration I led. " * 8


# Sat 2027-03-20 12:00 UTC; the tip posts Monday 09:00 London.
@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2027, 3, 20, 12, tzinfo=UTC))


async def tip_post(world: World, running: RunningBot) -> RecordedMessage:
    setup = await world.emulator.invoke(
        world.admin,
        "tips setup",
        {
            "channel": world.channel_id,
            "weekday": "monday",
            "time": "09:00",
            "timezone": "Europe/London",
        },
        guild_id=world.guild_id,
        channel_id=world.channel_id,
    )
    await setup.wait_response()
    running.clock.set(datetime(2027, 3, 22, 9, tzinfo=UTC))
    await running.bot.scheduler.settle()
    await running.bot.scheduler.settle()
    (post,) = [
        message
        for message in world.emulator.messages(world.channel_id)
        if message.author_id == world.emulator.bot_user_id and message.components
    ]
    return post


def inputs(modal: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The modal's inputs by custom_id (text inputs in rows, selects in labels)."""
    found: dict[str, dict[str, Any]] = {}
    for component in modal["components"]:
        for item in component.get("components") or [component.get("component") or {}]:
            if "custom_id" in item:
                found[item["custom_id"]] = item
    return found


async def open_log_form(world: World, user: int, post: RecordedMessage) -> InteractionHandle:
    click = await world.emulator.click(user, post, post.components[0]["components"][0]["custom_id"])
    assert (await click.wait_response())["type"] == MODAL
    return click


async def submit(
    world: World, user: int, shown: InteractionHandle, values: dict[str, Any]
) -> InteractionHandle:
    """Submit the form `shown` showed; returns the submission, answered."""
    assert shown.modal is not None
    handle = await world.emulator.submit_modal(user, shown.modal["custom_id"], values)
    await handle.wait_response()
    return handle


def answer(submitted: InteractionHandle) -> dict[str, Any]:
    assert submitted.response is not None
    data: dict[str, Any] = submitted.response["data"]
    assert data["flags"] & EPHEMERAL
    return data


async def refused_reply(
    world: World, running: RunningBot, user: int, post: RecordedMessage
) -> RecordedMessage:
    """Fill in the log form with a date it refuses; returns the reply with the button."""
    shown = await open_log_form(world, user, post)
    submitted = await submit(
        world,
        user,
        shown,
        {
            "company": "Acme",
            "role": "Data analyst",
            "date": "last tuesday",
            "notes": NOTES,
            "stage": ["final"],
        },
    )
    data = answer(submitted)
    assert data["content"].startswith("I couldn't read the date 'last tuesday'.")
    assert f"kept for {DRAFT_MINUTES} minutes" in data["content"]
    return await submitted.wait_message()


def retry_id(message: RecordedMessage) -> str:
    (button,) = message.components[0]["components"]
    assert button["label"] == templates.FORM_RETRY
    return str(button["custom_id"])


async def entries_of(running: RunningBot, user: int) -> list[dict[str, Any]]:
    rows = await running.database.fetch_all("SELECT * FROM entries WHERE user_id = ?", (user,))
    return [dict(row) for row in rows]


async def drafts(running: RunningBot) -> int:
    return int(await running.database.fetch_value("SELECT COUNT(*) FROM form_drafts") or 0)


async def test_a_refused_form_opens_again_filled_in_and_then_logs(
    world: World, running: RunningBot
) -> None:
    post = await tip_post(world, running)
    reply = await refused_reply(world, running, world.alice, post)
    assert await entries_of(running, world.alice) == []
    assert await drafts(running) == 1

    again = await world.emulator.click(world.alice, reply, retry_id(reply))
    assert (await again.wait_response())["type"] == MODAL  # the button's answer is the form
    assert again.modal is not None
    shown = inputs(again.modal)
    assert shown["company"]["value"] == "Acme"
    assert shown["role"]["value"] == "Data analyst"
    assert shown["date"]["value"] == "last tuesday"
    assert shown["notes"]["value"] == NOTES  # as typed
    assert [o["value"] for o in shown["stage"]["options"] if o.get("default")] == ["final"]

    data = answer(
        await submit(world, world.alice, again, {"date": "yesterday", "stage": ["final"]})
    )
    assert data["embeds"][0]["title"] == "#1 · Acme"
    (entry,) = await entries_of(running, world.alice)
    assert (entry["role"], entry["stage"], entry["rejected_on"]) == (
        "Data analyst",
        "final",
        "2027-03-21",
    )
    assert entry["notes"] == NOTES.strip()
    assert await drafts(running) == 0  # used, so gone


async def test_what_was_typed_survives_a_restart(world: World, start_bot: BotFactory) -> None:
    running = await start_bot()
    post = await tip_post(world, running)
    reply = await refused_reply(world, running, world.alice, post)
    await running.stop()

    running = await start_bot()
    again = await world.emulator.click(world.alice, reply, retry_id(reply))
    assert (await again.wait_response())["type"] == MODAL
    assert again.modal is not None
    assert inputs(again.modal)["notes"]["value"].startswith("Panel of three.")
    await running.stop()

    # The form opened by one process is answered by the next: nothing of it lived in memory.
    running = await start_bot()
    data = answer(
        await submit(world, world.alice, again, {"date": "2027-03-19", "stage": ["final"]})
    )
    assert data["embeds"][0]["title"] == "#1 · Acme"
    assert len(await entries_of(running, world.alice)) == 1


async def test_only_the_person_who_typed_it_can_open_it(world: World, running: RunningBot) -> None:
    post = await tip_post(world, running)
    reply = await refused_reply(world, running, world.alice, post)
    stranger = await world.emulator.click(world.bob, reply, retry_id(reply))
    response = await stranger.wait_response()
    assert response["data"]["content"] == templates.NOT_YOUR_BUTTON
    assert stranger.modal is None


async def test_refused_again_keeps_one_draft_and_it_expires(
    world: World, running: RunningBot
) -> None:
    post = await tip_post(world, running)
    reply = await refused_reply(world, running, world.alice, post)
    again = await world.emulator.click(world.alice, reply, retry_id(reply))
    await again.wait_response()
    data = answer(await submit(world, world.alice, again, {"date": "someday", "stage": ["final"]}))
    assert "someday" in data["content"]
    assert await drafts(running) == 1  # the same draft, updated

    running.clock.advance(DRAFT_MINUTES * 60 + 1)
    late = await world.emulator.click(world.alice, reply, retry_id(reply))
    response = await late.wait_response()
    assert response["data"]["content"] == templates.FORM_DRAFT_GONE.format(minutes=DRAFT_MINUTES)
    # The daily purge removes what expired.
    running.clock.advance(2 * 86_400)
    await running.bot.scheduler.settle()
    assert await drafts(running) == 0


async def test_a_refusal_in_a_form_names_the_box_not_an_option(
    world: World, running: RunningBot
) -> None:
    post = await tip_post(world, running)
    shown = await open_log_form(world, world.bob, post)
    data = answer(await submit(world, world.bob, shown, {"company": "\u200b\u200b"}))
    assert data["content"].startswith("Please fill in **Company**;")


async def tips_form(world: World, command: str, options: dict[str, Any]) -> InteractionHandle:
    interaction = await world.emulator.invoke(
        world.admin, command, options, guild_id=world.guild_id, channel_id=world.channel_id
    )
    assert (await interaction.wait_response())["type"] == MODAL
    return interaction


async def test_a_refused_tip_keeps_its_text_and_edits_the_same_tip(
    world: World, running: RunningBot
) -> None:
    added = answer(
        await submit(
            world,
            world.admin,
            await tips_form(world, "tips add", {}),
            {"title": "Ask one real question", "body": "Bring one question you care about."},
        )
    )
    assert added["content"].startswith("Added tip s1")
    editing = await tips_form(world, "tips edit", {"tip": "s1"})
    body = "A much longer text for the tip, which the admin does not want to type again."
    submitted = await submit(world, world.admin, editing, {"title": "\u200b", "body": body})
    refused = answer(submitted)
    assert refused["content"].startswith(templates.TIPS_TITLE_EMPTY)
    reply = await submitted.wait_message()
    again = await world.emulator.click(world.admin, reply, retry_id(reply))
    await again.wait_response()
    assert again.modal is not None
    assert again.modal["title"] == "Edit tip s1"
    assert inputs(again.modal)["body"]["value"] == body
    saved = answer(await submit(world, world.admin, again, {"title": "Ask one good question"}))
    assert saved["content"] == "Saved tip s1 — Ask one good question."


async def test_drafts_are_exported_and_deleted_with_everything_else(
    world: World, running: RunningBot
) -> None:
    post = await tip_post(world, running)
    await refused_reply(world, running, world.alice, post)
    export = await world.emulator.invoke(world.alice, "privacy export", {})
    message = await export.wait_followup()
    document = json.loads({f.filename: f.data for f in message.files}["nextround-export.json"])
    (draft,) = document["form_drafts"]
    assert draft["form"] == "tip-log"
    assert draft["fields"]["date"] == "last tuesday"
    assert draft["expires_at"].endswith("+00:00")
    question = await world.emulator.invoke(world.alice, "privacy delete", {})
    await question.wait_response()
    confirm = await question.wait_message()
    yes = next(
        c["custom_id"]
        for row in confirm.components
        for c in row["components"]
        if c["label"] == templates.PRIVACY_DELETE_YES
    )
    done = await (await world.emulator.click(world.alice, confirm, yes)).wait_response()
    assert "1 unsent form" in done["data"]["content"]
    assert await drafts(running) == 0


async def test_a_refused_rejection_log_keeps_its_options_in_a_form(
    world: World, running: RunningBot
) -> None:
    """Discord clears a slash command's options once sent: a refusal keeps them too."""
    typed = {
        "company": "Acme",
        "stage": "assessment",
        "date": "last tuesday",
        "interviewer": "Sam Lee",
        "notes": NOTES[:1000],
    }
    interaction = await world.emulator.invoke(
        world.alice, "rejection log", typed, guild_id=world.guild_id, channel_id=world.channel_id
    )
    data = answer_of(await interaction.wait_response())
    assert data["content"].startswith("I couldn't read the date 'last tuesday'.")
    reply = await interaction.wait_message()
    again = await world.emulator.click(world.alice, reply, retry_id(reply))
    assert (await again.wait_response())["type"] == MODAL
    assert again.modal is not None
    shown = inputs(again.modal)
    assert {name: shown[name]["value"] for name in ("company", "date", "interviewer")} == {
        "company": "Acme",
        "date": "last tuesday",
        "interviewer": "Sam Lee",
    }
    assert shown["notes"]["value"] == NOTES[:1000]
    assert "value" not in shown["role"]  # left empty, stays empty
    logged = answer(await submit(world, world.alice, again, {"date": "3 days ago"}))
    assert logged["embeds"][0]["title"] == "#1 · Acme"
    (entry,) = await entries_of(running, world.alice)
    assert (entry["stage"], entry["interviewer"], entry["rejected_on"]) == (
        "assessment",
        "Sam Lee",
        "2027-03-17",
    )


def answer_of(response: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = response["data"]
    assert data["flags"] & EPHEMERAL
    return data
