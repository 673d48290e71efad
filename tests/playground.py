"""Try NextRound without Discord: the real bot against the emulator, driven from a terminal.

    .venv/bin/python -m tests.playground

starts the Discord emulator on 127.0.0.1 and NextRound against it, in one process, with no
token and no network. A small server ("Job Seekers": #general and #interview-tips; members
alice and bob, and admin with Manage Server) is ready, and you act as one of its members:

    alice> /rejection log company:Acme stage:Final round interviewer:Sam Lee
    alice> click Delete                   a button on the last message, by its label
    alice> choose Europe/London           an option of a menu on the last message
    alice> submit Company=Acme Notes=...  the form NextRound opened, by field labels
    alice> dms                            your DMs from NextRound
    alice> posts #interview-tips          what NextRound posted in a channel
    alice> wait +2h                       move the clock on (+90m, +3d, to Monday 09:00)
    alice> as admin                       act as someone else
    alice> help | quit

The clock stands still unless you move it, so follow-ups and the weekly tip arrive exactly
when you say; what they deliver is printed as it happens. Options are typed as on Discord
(`name:value`); a choice can be given by its label (`stage:Final round`). Times in replies
are shown in UTC, as `<t:…>` timestamps would be for a reader in UTC.

`--start 2027-03-24T14:00` sets where the clock starts (UTC); `--db PATH` keeps the database
(by default a temporary one, deleted at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import shlex
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot import templates
from bot.client import NextRoundBot, apply_discord_endpoints
from bot.clock import ManualClock
from bot.config import Settings
from bot.db import Database
from bot.db import jobs as job_store
from tests.emulator import DiscordEmulator, InteractionHandle, RecordedMessage

TOKEN = "playground-token"
DEFAULT_START = "2027-03-24T14:00"  # a Wednesday afternoon
MANAGE_GUILD = 1 << 5
EPHEMERAL = 1 << 6
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
HELP = """\
  /command sub option:value ...   run a slash command in #general (prefix `dm ` for the DM)
  click LABEL                     press a button on the last message shown
  choose LABEL                    pick an option of a menu on the last message shown
  submit Label=value ...          fill in and send the form NextRound opened
  dms                             your DMs from NextRound
  posts [#channel]                what NextRound posted (default #interview-tips)
  wait +2h | +90m | +3d | to Monday 09:00 | to 2027-03-29 09:00
  as NAME                         act as another member (alice, bob, admin)
  time                            the clock
  help, quit"""

OPTION_STRING, OPTION_INTEGER, OPTION_BOOLEAN = 3, 4, 5
OPTION_USER, OPTION_CHANNEL, OPTION_ROLE, OPTION_NUMBER = 6, 7, 8, 10
BUTTON, TEXT_INPUT, LABEL = 2, 4, 18
SELECTS = {3, 5, 6, 7, 8}


class PlaygroundError(Exception):
    """Something the person typed cannot be done; the message says what to type instead."""


@dataclass
class Playground:
    emulator: DiscordEmulator
    bot: NextRoundBot
    clock: ManualClock
    members: dict[str, int]
    channels: dict[str, int]
    guild_id: int
    me: str = "alice"
    last: RecordedMessage | None = None
    modal: tuple[str, dict[str, Any]] | None = None  # (custom_id, modal) awaiting `submit`
    seen: set[int] = field(default_factory=set)  # message ids already shown
    database: Database | None = None
    runner: asyncio.Task[None] | None = None

    # -- running one line --------------------------------------------------------------------

    async def run(self, line: str) -> list[str]:
        words = line.strip()
        if not words:
            return []
        verb, _, rest = words.partition(" ")
        rest = rest.strip()
        if words.startswith("/") or words.startswith("dm /"):
            return await self.command(words)
        if verb == "click":
            return await self.press(rest, select=False)
        if verb == "choose":
            return await self.press(rest, select=True)
        if verb == "submit":
            return await self.submit(rest)
        if verb == "dms":
            return self.show(self.emulator.dm_messages(self.members[self.me]), everything=True)
        if verb == "posts":
            name = rest.lstrip("#") or "interview-tips"
            if name not in self.channels:
                raise PlaygroundError(f"there is no #{name}; channels: {self.channel_list()}")
            posts = [
                message
                for message in self.emulator.messages(self.channels[name])
                if message.author_id == self.emulator.bot_user_id
            ]
            return self.show(posts, everything=True) or [f"  (nothing in #{name} yet)"]
        if verb == "wait":
            return await self.wait(rest)
        if verb == "as":
            if rest not in self.members:
                raise PlaygroundError(f"no member {rest!r}; members: {', '.join(self.members)}")
            self.me, self.last, self.modal = rest, None, None
            return [f"  (you are {rest} now)"]
        if verb == "time":
            return [f"  {self.render('<t:' + str(int(self.clock.timestamp())) + ':F>')}"]
        if verb == "help":
            return HELP.splitlines()
        raise PlaygroundError("type a slash command, or help")

    async def command(self, text: str) -> list[str]:
        in_dm = text.startswith("dm ")
        name, options = self.parse_command(text.removeprefix("dm ").removeprefix("/"))
        user = self.members[self.me]
        if in_dm:
            handle = await self.emulator.invoke(user, name, options)
        else:
            handle = await self.emulator.invoke(
                user, name, options, guild_id=self.guild_id, channel_id=self.channels["general"]
            )
        return await self.answer(handle)

    async def press(self, label: str, *, select: bool) -> list[str]:
        if self.last is None:
            raise PlaygroundError("there is no message to use; run a command first")
        wanted = label.strip().strip("\"'").lower()
        for row in self.last.components:
            for component in row.get("components", []):
                if select and component.get("type") in SELECTS:
                    for option in component.get("options", []):
                        if wanted in (str(option["label"]).lower(), str(option["value"]).lower()):
                            handle = await self.emulator.click(
                                self.members[self.me],
                                self.last,
                                component["custom_id"],
                                values=[option["value"]],
                            )
                            return await self.answer(handle)
                is_button = not select and component.get("type") == BUTTON
                if is_button and str(component.get("label", "")).lower() == wanted:
                    if component.get("disabled"):
                        raise PlaygroundError(f"{component['label']!r} can't be pressed now")
                    handle = await self.emulator.click(
                        self.members[self.me], self.last, component["custom_id"]
                    )
                    return await self.answer(handle)
        kind = "menu option" if select else "button"
        raise PlaygroundError(f"no {kind} {label!r} on the last message")

    async def submit(self, text: str) -> list[str]:
        if self.modal is None:
            raise PlaygroundError("no form is open; a button or command opens one")
        custom_id, modal = self.modal
        inputs = form_inputs(modal)
        values: dict[str, Any] = {}
        for pair in shlex.split(text):
            label, sep, value = pair.partition("=")
            match = next((i for i in inputs if i["label"].lower() == label.lower()), None)
            if not sep or match is None:
                fields = ", ".join(i["label"] for i in inputs)
                raise PlaygroundError(f"fields are {fields}; type Label=value")
            values[match["custom_id"]] = [value] if match["select"] else value
        handle = await self.emulator.submit_modal(self.members[self.me], custom_id, values)
        self.modal = None
        return await self.answer(handle)

    async def wait(self, text: str) -> list[str]:
        target = self.when(text)
        if target <= self.clock.now():
            raise PlaygroundError("the clock only moves forward")
        before = {message.id for message in self.delivered()}
        # From one due row to the next, so what falls due on the way happens in order, each
        # at its own time.
        while self.clock.now() < target:
            due = await job_store.next_due_at(self.bot.database)
            step = target if due is None else min(target, datetime.fromtimestamp(due / 1000, UTC))
            self.clock.set(max(step, self.clock.now()))
            await self.bot.scheduler.settle()
            await self.quiet()
            if self.clock.now() >= target:
                break
            if due is not None and datetime.fromtimestamp(due / 1000, UTC) <= self.clock.now():
                # Still due after settling (a retry planned for now): let time move on.
                self.clock.advance(1)
        lines = [f"  (it is {self.render('<t:' + str(int(target.timestamp())) + ':F>')})"]
        new = [message for message in self.delivered() if message.id not in before]
        return lines + self.show(new, everything=False, announce=True)

    # -- what arrives ------------------------------------------------------------------------

    async def answer(self, handle: InteractionHandle) -> list[str]:
        response = await handle.wait_response()
        kind = response.get("type")
        if kind == 9:  # a form
            modal = response.get("data") or {}
            self.modal = (str(modal.get("custom_id")), modal)
            return self.render_modal(modal)
        if kind == 5:  # deferred: the answer is the first follow-up
            message = await handle.wait_followup()
        else:
            await self.quiet()
            message = handle.message  # type: ignore[assignment]
        lines = self.render_message(message) if message is not None else []
        for extra in handle.followups:
            if message is None or extra.id != message.id:
                lines += self.render_message(extra)
        await self.quiet()
        return lines

    async def quiet(self) -> None:
        """Let the bot finish what a step set off (a follow-up message, a scheduled send)."""
        for _ in range(2):
            await asyncio.sleep(0.02)

    def delivered(self) -> list[RecordedMessage]:
        """Every DM and channel post from NextRound, oldest first."""
        found: list[RecordedMessage] = []
        for user_id in self.members.values():
            found += self.emulator.dm_messages(user_id)
        for channel_id in self.channels.values():
            found += [
                message
                for message in self.emulator.messages(channel_id)
                if message.author_id == self.emulator.bot_user_id
            ]
        return sorted(found, key=lambda message: message.id)

    def show(
        self, messages: Sequence[RecordedMessage], *, everything: bool, announce: bool = False
    ) -> list[str]:
        lines: list[str] = []
        for message in messages:
            if not everything and message.id in self.seen:
                continue
            if announce:
                lines.append(f"  {self.where(message)}:")
            lines += self.render_message(message)
        return lines

    def where(self, message: RecordedMessage) -> str:
        if message.guild_id is None:
            to = next(
                (
                    name
                    for name, user_id in self.members.items()
                    if any(dm.id == message.id for dm in self.emulator.dm_messages(user_id))
                ),
                "someone",
            )
            return f"a DM to {to}"
        name = next((n for n, c in self.channels.items() if c == message.channel_id), "?")
        return f"a post in #{name}"

    # -- reading input -----------------------------------------------------------------------

    def parse_command(self, text: str) -> tuple[str, dict[str, Any]]:
        first_option = re.search(r"(?:^|\s)[a-z_]+:", text)
        head = text[: first_option.start()] if first_option else text
        name = " ".join(head.split())
        definition = self.find(name)
        known = {option["name"]: option for option in definition.get("options", [])}
        options: dict[str, Any] = {}
        if first_option:
            pattern = r"(?:^|\s)(" + "|".join(map(re.escape, known)) + r"):"
            parts = re.split(pattern, text[first_option.start() :])
            if parts[0].strip() or len(parts) < 3:
                raise PlaygroundError(f"/{name} has the options {', '.join(known) or 'none'}")
            for index in range(1, len(parts), 2):
                option = known[parts[index]]
                options[option["name"]] = self.typed(option, parts[index + 1].strip())
        return name, options

    def find(self, name: str) -> dict[str, Any]:
        words = name.split()
        for command in self.emulator.commands():
            if not words or command["name"] != words[0]:
                continue
            if len(words) == 1:
                return dict(command)
            for sub in command.get("options", []):
                if sub["name"] == " ".join(words[1:]) and sub.get("type") == 1:
                    return dict(sub)
            subs = ", ".join(
                sub["name"] for sub in command.get("options", []) if sub.get("type") == 1
            )
            raise PlaygroundError(f"/{words[0]} has {subs}")
        raise PlaygroundError(f"there is no /{name}; try /help")

    def typed(self, option: dict[str, Any], value: str) -> Any:
        kind = option.get("type")
        value = value.strip().strip("\"'") if kind != OPTION_STRING else value.strip()
        if option.get("choices"):
            for choice in option["choices"]:
                if value.lower() in (str(choice["name"]).lower(), str(choice["value"]).lower()):
                    return choice["value"]
            names = ", ".join(str(choice["name"]) for choice in option["choices"])
            raise PlaygroundError(f"{option['name']}: one of {names}")
        if kind == OPTION_INTEGER:
            try:
                return int(value)
            except ValueError:
                raise PlaygroundError(f"{option['name']}: a whole number") from None
        if kind == OPTION_NUMBER:
            return float(value)
        if kind == OPTION_BOOLEAN:
            return value.lower() in ("true", "yes", "on", "1")
        if kind == OPTION_CHANNEL:
            name = value.lstrip("#")
            if name not in self.channels:
                raise PlaygroundError(f"{option['name']}: one of {self.channel_list()}")
            return self.channels[name]
        if kind == OPTION_USER:
            if value.lstrip("@") not in self.members:
                raise PlaygroundError(f"{option['name']}: one of {', '.join(self.members)}")
            return self.members[value.lstrip("@")]
        if kind == OPTION_ROLE:
            raise PlaygroundError(f"{option['name']}: roles can't be given here")
        return value

    def when(self, text: str) -> datetime:
        now = self.clock.now()
        value = " ".join(text.lower().split())
        if match := re.fullmatch(r"\+(\d+)\s*(m|min|h|d)", value):
            unit = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days"}[match[2]]
            return now + timedelta(**{unit: int(match[1])})
        if match := re.fullmatch(r"to (\w+) (\d{1,2}):(\d{2})", value):
            day, hour, minute = match[1], int(match[2]), int(match[3])
            if day in WEEKDAYS:
                ahead = (WEEKDAYS.index(day) - now.weekday()) % 7
                target = (now + timedelta(days=ahead)).replace(hour=hour, minute=minute)
                return target if target > now else target + timedelta(days=7)
        if match := re.fullmatch(r"to (\d{4}-\d{2}-\d{2}) (\d{1,2}:\d{2})", value):
            hours, minutes = match[2].split(":")
            return datetime.fromisoformat(f"{match[1]}T{int(hours):02d}:{minutes}").replace(
                tzinfo=UTC
            )
        raise PlaygroundError("wait +2h, +90m, +3d, to Monday 09:00 or to 2027-03-29 09:00")

    def channel_list(self) -> str:
        return ", ".join(f"#{name}" for name in self.channels)

    # -- showing output ------------------------------------------------------------------------

    def render_message(self, message: RecordedMessage) -> list[str]:
        self.seen.add(message.id)
        self.last = message
        lines: list[str] = []
        if message.flags & EPHEMERAL:
            lines.append("  (only you can see this)")
        if message.content:
            lines += [f"  {line}" for line in self.render(message.content).splitlines()]
        for embed in message.embeds:
            if embed.get("title"):
                lines.append(f"  ## {self.render(embed['title'])}")
            if embed.get("description"):
                lines += [f"  {line}" for line in self.render(embed["description"]).splitlines()]
            for item in embed.get("fields", []):
                value = self.render(str(item.get("value", ""))).splitlines() or [""]
                lines.append(f"  {item.get('name')}: {value[0]}")
                lines += [f"    {line}" for line in value[1:]]
            if embed.get("footer", {}).get("text"):
                lines.append(f"  ({self.render(embed['footer']['text'])})")
        for row in message.components:
            lines += self.render_components(row.get("components", []))
        return lines

    def render_components(self, components: Sequence[dict[str, Any]]) -> list[str]:
        buttons = [
            f"[{c.get('label', '')}]" + (" (used)" if c.get("disabled") else "")
            for c in components
            if c.get("type") == BUTTON
        ]
        lines = [f"  {' '.join(buttons)}"] if buttons else []
        for menu in (c for c in components if c.get("type") in SELECTS):
            lines.append(f"  menu: {menu.get('placeholder') or 'choose'}")
            lines += [f"    - {option['label']}" for option in menu.get("options", [])]
        return lines

    def render_modal(self, modal: dict[str, Any]) -> list[str]:
        lines = [f"  form: {modal.get('title', '')}"]
        for entry in form_inputs(modal):
            filled = f" = {entry['value']}" if entry["value"] else ""
            lines.append(f"    {entry['label']}{filled}")
        lines.append("  (fill it in with: submit Label=value ...)")
        return lines

    def render(self, text: str) -> str:
        """Discord markup as a reader in UTC would see it."""
        now = self.clock.now()

        def timestamp(match: re.Match[str]) -> str:
            instant = datetime.fromtimestamp(int(match[1]), UTC)
            style = match[2] or "f"
            if style == "R":
                return relative(instant, now)
            formats = {
                "t": "%H:%M",
                "T": "%H:%M:%S",
                "d": "%Y-%m-%d",
                "D": "%d %B %Y",
                "f": "%d %B %Y %H:%M",
                "F": "%A %d %B %Y %H:%M",
            }
            return instant.strftime(formats.get(style, formats["f"])) + (
                "" if style in ("d", "D") else " UTC"
            )

        text = re.sub(r"<t:(-?\d+)(?::([tTdDfFR]))?>", timestamp, text)
        text = re.sub(r"</([^:>]+):\d+>", r"/\1", text)
        names = {channel_id: name for name, channel_id in self.channels.items()}
        text = re.sub(r"<#(\d+)>", lambda m: "#" + names.get(int(m[1]), "channel"), text)
        return text.replace("\u200b", "")


def relative(instant: datetime, now: datetime) -> str:
    seconds = (instant - now).total_seconds()
    span = abs(seconds)
    for size, unit in ((86_400, "day"), (3_600, "hour"), (60, "minute")):
        if span >= size:
            count = round(span / size)
            words = templates.plural(count, unit)
            return f"in {words}" if seconds > 0 else f"{words} ago"
    return "now"


def form_inputs(modal: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields of a form: label, custom_id, pre-filled value, whether it is a menu."""
    found: list[dict[str, Any]] = []

    def walk(items: Sequence[dict[str, Any]], label: str | None) -> None:
        for item in items:
            kind = item.get("type")
            if kind == LABEL:
                walk([item["component"]], item.get("label"))
            elif kind == TEXT_INPUT:
                found.append(
                    {
                        "label": label or item.get("label", ""),
                        "custom_id": item["custom_id"],
                        "value": item.get("value") or "",
                        "select": False,
                    }
                )
            elif kind in SELECTS:
                chosen = [o["label"] for o in item.get("options", []) if o.get("default")]
                found.append(
                    {
                        "label": label or item.get("placeholder", ""),
                        "custom_id": item["custom_id"],
                        "value": ", ".join(chosen),
                        "select": True,
                    }
                )
            elif "components" in item:
                walk(item["components"], label)

    walk(modal.get("components") or [], None)
    return found


# -- starting everything ---------------------------------------------------------------------


async def start(start_at: datetime, database_path: Path) -> Playground:
    clock = ManualClock(start_at)
    emulator = DiscordEmulator(token=TOKEN, wall_clock=clock.timestamp)
    await emulator.start()
    admin = emulator.add_user("admin")
    guild_id = emulator.add_guild("Job Seekers", owner_id=admin)
    channels = {
        "general": emulator.add_text_channel(guild_id, "general"),
        "interview-tips": emulator.add_text_channel(guild_id, "interview-tips"),
    }
    members = {"alice": emulator.add_user("alice"), "bob": emulator.add_user("bob")}
    for user_id in members.values():
        emulator.add_member(guild_id, user_id)
    emulator.add_member(guild_id, admin, permissions=MANAGE_GUILD)
    members["admin"] = admin
    settings = Settings(
        token=TOKEN,
        database_path=database_path,
        dev_guild_id=None,
        log_level="WARNING",
        api_base_url=emulator.api_base,
        gateway_url=emulator.gateway_url,
        max_sleep_seconds=30.0,
        send_rate_per_second=45.0,
        force_sync=False,
        instance_name="playground",
    )
    apply_discord_endpoints(settings)
    database = await Database.open(database_path, clock)
    bot = NextRoundBot(settings, database, clock, guild_ready_timeout=0.05)
    runner = asyncio.create_task(bot.start(TOKEN))
    ready = asyncio.create_task(bot.wait_until_ready())
    await asyncio.wait({runner, ready}, return_when=asyncio.FIRST_COMPLETED)
    if runner.done():
        runner.result()
    return Playground(
        emulator, bot, clock, members, channels, guild_id, database=database, runner=runner
    )


async def stop(playground: Playground) -> None:
    await playground.bot.close()
    if playground.runner is not None:
        with contextlib.suppress(Exception):
            await playground.runner
    if playground.database is not None:
        await playground.database.close()
    await playground.emulator.close()


async def read_line(prompt: str) -> str | None:
    interactive = sys.stdin.isatty()
    try:
        line = await asyncio.to_thread(input, prompt if interactive else "")
    except EOFError:
        return None
    if not interactive:
        print(f"{prompt}{line}", flush=True)  # a piped session reads like a typed one
    return line


async def session(start_at: datetime, database_path: Path) -> None:
    playground = await start(start_at, database_path)
    print(
        "NextRound is running against a local Discord emulator (no token, no network).\n"
        "Server Job Seekers: #general, #interview-tips; members alice, bob and admin "
        "(Manage Server).\n"
        f"The clock: {playground.render('<t:' + str(int(start_at.timestamp())) + ':F>')}, "
        "standing still until you wait. Type help for what you can do.",
        flush=True,
    )
    try:
        while True:
            line = await read_line(f"{playground.me}> ")
            if line is None or line.strip() in ("quit", "exit"):
                break
            try:
                for output in await playground.run(line):
                    print(output, flush=True)
            except PlaygroundError as problem:
                print(f"  ? {problem}", flush=True)
            except (LookupError, ValueError, TypeError) as problem:
                print(f"  ? the emulator refused that: {problem}", flush=True)
            except TimeoutError:
                print("  ? no answer came from NextRound", flush=True)
    finally:
        await stop(playground)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.playground", description=__doc__)
    parser.add_argument("--start", default=DEFAULT_START, help="where the clock starts (UTC)")
    parser.add_argument("--db", type=Path, default=None, help="keep the database in this file")
    args = parser.parse_args(argv)
    start_at = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="nextround-playground-") as folder:
        database = args.db or Path(folder) / "nextround.sqlite3"
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(session(start_at, database))


if __name__ == "__main__":
    main()
