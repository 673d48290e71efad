"""Follow-up delivery under crashes: exactly once, at the rate Discord allows.

The bot runs as a real process (`python -m bot`) against the Discord emulator (its own process
too) with a backlog of follow-up DMs all due now. It is SIGKILLed at random moments while it
drains the backlog and restarted right after each kill; after the last restart it drains the
rest and is stopped with SIGTERM. Then what people actually received (the DM channels in the
emulator) is compared with the rows:

- delivered / lost / duplicated (target: every row / 0 / 0), counted per row id, which every
  follow-up DM carries in its buttons' custom_ids (`nr:fu:{user}:{row}:{action}`);
- the drain rate: REST requests outside interaction routes (what Discord's global limit of
  50/s counts) from the first to the last follow-up request, restarts included, against that
  limit (target: >= 0.9 of it), with no 429 provoked. Also shown: the same without the restart
  gaps (SIGKILL to the next process's first follow-up request) and the last, uninterrupted run.

Choices:
- one follow-up per person by default (2,000 people): each DM then needs its DM channel opened
  first, two requests, the most a follow-up costs; a kill can land between opening the channel
  and caching it; and no DM channel gets more than one message, so the per-channel bucket
  (5 messages per 5 s) never throttles and the global limit alone is measured. `--users`
  spreads the follow-ups over fewer people, round robin.
- send rate 48/s: its bucket (burst 2) plus a second of refill still stays at 50, and the
  margin above 45/s (0.9 of the limit) absorbs the restarts' cost; at the shipped default of
  45/s the drain cannot reach 0.9 once restarts cost anything.
- kills 0.2 s to a few seconds after each process connected to the gateway (its scheduler
  starts just before), the upper bound chosen so the kills cover about 60% of the expected
  drain: each catches rows claimed, rows with an attempt (nonce) recorded, and rows sent but
  not yet acknowledged, the cases the nonce and the history look-up exist for.

Usage: python bench/followups_reliability.py [--follow-ups 2000] [--kills 20] [--seed N]
       [--rate R] [--users U] [--kill-after MIN MAX] [--quick] [--keep]
       python bench/followups_reliability.py --stall 75 [--stall-rate 18]

`--stall S` is the stalled-process scenario: two processes on the same database, one stopped
with SIGSTOP while it sends, for S seconds (past its 60 s leases) while the other goes on, then
SIGCONT: it carries on holding claims that are no longer its own, and must send none of them.
Each process paces at `--stall-rate`; the drain rate is not judged (a process is stopped).

`--quick` is a smoke run (300 follow-ups, 5 kills): with 5 restarts in a drain of about 15 s
the restart gaps alone cost a tenth of it, so its drain rate is shown but not judged.

The report goes to stdout with a one-line JSON summary last; progress goes to stderr. The exit
status is 1 when a target is missed, 2 when the benchmark could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import itertools
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a plain script: make the project importable without installing it.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.clock import SystemClock  # noqa: E402
from bot.config import DISCORD_GLOBAL_RATE  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.db.jobs import NewJob, insert_jobs  # noqa: E402
from bot.entries import DAILY_LIMIT, Stage  # noqa: E402
from bot.followups import CUSTOM_ID_PATTERN, kind_of  # noqa: E402

EMULATOR_SCRIPT = ROOT / "tests" / "emulator.py"
TOKEN = "reliability-bench-token"
# Fixed, as in a deployment: a restarted process takes back at once the rows its previous run
# held, instead of waiting for their leases to expire.
INSTANCE = "reliability-bench"
STEP = "thank_you"
TARGET_RATIO = 0.9
# Due times spread over the minute before seeding, in row order: "now or slightly past", far
# from the 10 minutes after which a follow-up says it is late.
DUE_SPREAD_MS = 60_000
# The kills should cover about this share of the drain, leaving the rest for the last process.
KILL_SPAN_SHARE = 0.6
MIN_KILL_DELAY = 0.2
STARTUP_TIMEOUT = 60.0
STOP_GRACE = 15.0

OPEN_DM_ROUTE = "POST /users/@me/channels"  # once per person, then cached
SEND_ROUTE = "POST /channels/{channel_id}/messages"  # the DM itself
HISTORY_ROUTE = "GET /channels/{channel_id}/messages"  # the look-up after a longer outage
FOLLOW_UP_ROUTES = frozenset({OPEN_DM_ROUTE, SEND_ROUTE, HISTORY_ROUTE})
FOLLOW_UP_ID = re.compile(CUSTOM_ID_PATTERN)


class BenchError(Exception):
    """The benchmark itself could not run (a process did not start, a timeout in setup)."""


class Interrupted(Exception):
    """SIGTERM: leave through the same clean-up path as Ctrl-C."""


def progress(message: str) -> None:
    print(f"[reliability {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# -- child processes -----------------------------------------------------------------------------


def stop_process(process: subprocess.Popen[bytes], grace: float) -> int:
    """SIGTERM, then SIGKILL after `grace` seconds; returns the exit status."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait()
    return int(process.returncode)


class ControlApi:
    """The emulator's JSON control API, over one kept-alive connection."""

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._connection = http.client.HTTPConnection(host, port, timeout=60)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        payload = None if body is None else json.dumps(body).encode()
        headers = {} if body is None else {"Content-Type": "application/json"}
        for attempt in range(2):
            try:
                self._connection.request(method, path, body=payload, headers=headers)
                response = self._connection.getresponse()
                data = response.read()
            except (http.client.HTTPException, OSError):
                # A kept-alive connection the server closed: reconnect once.
                self._connection.close()
                self._connection = http.client.HTTPConnection(self._host, self._port, timeout=60)
                if attempt:
                    raise
                continue
            if response.status != 200:
                raise BenchError(f"emulator {method} {path}: HTTP {response.status} {data[:200]!r}")
            return json.loads(data)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._connection.close()


class EmulatorProcess:
    """`tests/emulator.py` on a free port of 127.0.0.1, expecting the bench's bot token."""

    def __init__(self, workdir: Path) -> None:
        self.stdout_path = workdir / "emulator.out"
        self.log_path = workdir / "emulator.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}
        self.control: ControlApi | None = None

    def start(self) -> None:
        with self.stdout_path.open("wb") as out, self.log_path.open("wb") as err:
            # Its own session: Ctrl-C reaches only the benchmark, which stops it in order.
            self.process = subprocess.Popen(
                [sys.executable, str(EMULATOR_SCRIPT), "--port", "0", "--token", TOKEN],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"the emulator exited early:\n{tail(self.log_path)}")
            text = self.stdout_path.read_text()
            # The emulator prints one indented JSON object once it listens.
            with contextlib.suppress(ValueError):
                self.info = json.loads(text)
                break
            time.sleep(0.05)
        else:
            raise BenchError("the emulator did not start listening in time")
        url = urllib.parse.urlsplit(self.info["base_url"])
        assert url.hostname is not None and url.port is not None
        self.control = ControlApi(url.hostname, url.port)

    @property
    def api(self) -> ControlApi:
        if self.control is None:
            raise BenchError("the emulator is not running")
        return self.control

    def add_users(self, count: int) -> list[int]:
        return [
            int(self.api.call("POST", "/_emulator/users", {"name": f"person{number}"})["user_id"])
            for number in range(count)
        ]

    def state(self) -> dict[str, Any]:
        return dict(self.api.call("GET", "/_emulator/state"))

    def stop(self) -> None:
        if self.control is not None:
            self.control.close()
        if self.process is not None:
            stop_process(self.process, 5.0)


@dataclass
class Run:
    """One life of the bot process."""

    number: int
    process: subprocess.Popen[bytes]
    log_path: Path
    # time.monotonic(): one system-wide clock, which the emulator's request times also read.
    spawned_at: float
    up_at: float | None = None
    kill_delay: float | None = None
    killed_at: float | None = None
    exit_status: int | None = None
    # Read from the database right after the kill.
    held: list[int] = field(default_factory=list)  # claimed by this process, not acknowledged
    attempted: set[int] = field(default_factory=set)  # of those, with a nonce recorded
    remaining: int = 0  # follow-up rows not yet finished


class BotProcesses:
    """Starts `python -m bot` against the emulator, one process at a time."""

    def __init__(self, workdir: Path, database: Path, emulator: EmulatorProcess, rate: float):
        self.workdir = workdir
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("DISCORD_", "NEXTROUND_"))
            and name not in {"DEV_GUILD_ID", "LOG_LEVEL"}
        }
        python_path = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        self.env = {
            **inherited,
            "PYTHONPATH": os.pathsep.join(python_path),
            "DISCORD_TOKEN": TOKEN,
            "NEXTROUND_DB": str(database),
            "DISCORD_API_BASE_URL": emulator.info["api_base"],
            "DISCORD_GATEWAY_URL": emulator.info["gateway_url"],
            "NEXTROUND_SEND_RATE": f"{rate:g}",
            "NEXTROUND_INSTANCE": INSTANCE,
            "LOG_LEVEL": "WARNING",
        }
        self.runs: list[Run] = []

    def spawn(self, **settings: str) -> Run:
        number = len(self.runs) + 1
        log_path = self.workdir / f"bot-{number:02d}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot"],
                cwd=self.workdir,  # no stray .env is read
                env={**self.env, **settings},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        run = Run(number, process, log_path, spawned_at=time.monotonic())
        self.runs.append(run)
        return run

    def kill(self, run: Run) -> None:
        run.killed_at = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.kill(run.process.pid, signal.SIGKILL)
        run.exit_status = run.process.wait()

    def stop_all(self) -> None:
        for run in self.runs:
            if run.process.poll() is None:
                run.exit_status = stop_process(run.process, STOP_GRACE)


# -- the database ----------------------------------------------------------------------------


async def seed(path: Path, user_ids: Sequence[int], count: int, now: int) -> dict[int, int]:
    """People, entries and one thank-you follow-up per entry, all due now; returns row -> user.

    The schema comes from the project's own migrations and the follow-up rows from its own
    `insert_jobs`; people and entries are plain inserts of what logging an entry stores.
    """
    database = await Database.open(path, SystemClock())
    today = datetime.fromtimestamp(now / 1000, UTC).date().isoformat()
    rows: dict[int, int] = {}
    try:
        async with database.transaction() as tx:
            for user_id in user_ids:
                # Any hour, any day: nothing is held back to a window.
                await tx.execute(
                    "INSERT INTO people (user_id, created_at, timezone, window_start, "
                    "window_end, weekdays_only) VALUES (?, ?, 'UTC', '00:00', '23:59', 0)",
                    (user_id, now),
                )
            numbers: Counter[int] = Counter()
            for index in range(count):
                # Round robin over people, in due order: consecutive DMs go to other channels.
                user_id = user_ids[index % len(user_ids)]
                numbers[user_id] += 1
                entry = await tx.fetch_one(
                    "INSERT INTO entries (user_id, number, company, role, stage, rejected_on, "
                    "interviewer, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "RETURNING id",
                    (
                        user_id,
                        numbers[user_id],
                        f"Company {index + 1}",
                        "Software Engineer",
                        Stage.INTERVIEW.value,
                        today,
                        f"Interviewer {index + 1}",
                        now,
                        now,
                    ),
                )
                assert entry is not None
                job = NewJob(
                    kind_of(STEP),
                    now - DUE_SPREAD_MS + index * DUE_SPREAD_MS // count,
                    payload={"step": STEP},
                    user_id=user_id,
                    subject_id=int(entry["id"]),
                )
                for row_id in await insert_jobs(tx, [job], now):
                    rows[row_id] = user_id
            for user_id, number in numbers.items():
                await tx.execute(
                    "UPDATE people SET next_entry_number = ? WHERE user_id = ?",
                    (number + 1, user_id),
                )
    finally:
        await database.close()
    return rows


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """Plain sqlite3, read-only: the benchmark never writes while the bot owns the file."""
    connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        yield connection
    finally:
        connection.close()


def unfinished(path: Path) -> int:
    with read_only(path) as connection:
        (count,) = connection.execute(
            "SELECT COUNT(*) FROM scheduled_jobs WHERE kind LIKE 'followup:%' "
            "AND state IN ('pending', 'running')"
        ).fetchone()
    return int(count)


def held_rows(path: Path, owner: str | None = None) -> tuple[list[int], set[int], int]:
    """Rows a killed process held (claimed, not acknowledged; by `owner` when given), those
    with an attempt recorded, and how many rows are still unfinished."""
    with read_only(path) as connection:
        rows = connection.execute(
            "SELECT id, nonce IS NOT NULL FROM scheduled_jobs "
            "WHERE kind LIKE 'followup:%' AND state = 'running' "
            "AND (? IS NULL OR lease_owner = ?) ORDER BY id",
            (owner, owner),
        ).fetchall()
    held = [int(row[0]) for row in rows]
    attempted = {int(row[0]) for row in rows if row[1]}
    return held, attempted, unfinished(path)


def final_rows(path: Path) -> dict[int, tuple[str, str | None]]:
    with read_only(path) as connection:
        rows = connection.execute(
            "SELECT id, state, outcome FROM scheduled_jobs WHERE kind LIKE 'followup:%'"
        ).fetchall()
    return {int(row[0]): (str(row[1]), row[2]) for row in rows}


# -- the scenario ----------------------------------------------------------------------------


def wait_until_up(emulator: EmulatorProcess, run: Run, before: int) -> None:
    """Up = the process has identified on the gateway; its scheduler started just before that
    (in `setup_hook`, after login)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if run.process.poll() is not None:
            raise BenchError(
                f"bot run {run.number} exited with {run.process.returncode} while starting:\n"
                f"{tail(run.log_path)}"
            )
        if int(emulator.state()["identify_count"]) > before:
            run.up_at = time.monotonic()
            return
        time.sleep(0.02)
    raise BenchError(f"bot run {run.number} did not connect in {STARTUP_TIMEOUT:.0f} s")


def sleep_while_alive(run: Run, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if run.process.poll() is not None:
            raise BenchError(
                f"bot run {run.number} exited on its own with {run.process.returncode}:\n"
                f"{tail(run.log_path)}"
            )
        time.sleep(min(left, 0.05))


@dataclass
class Outcome:
    drained: bool
    kills: list[Run]
    runs: list[Run]
    final_exit_status: int | None


def run_scenario(
    bots: BotProcesses,
    emulator: EmulatorProcess,
    database: Path,
    *,
    kills: int,
    delay_range: tuple[float, float],
    rng: random.Random,
    timeout: float,
) -> Outcome:
    started = time.monotonic()
    killed: list[Run] = []
    last: Run | None = None
    for number in range(1, kills + 1):
        before = int(emulator.state()["identify_count"])
        run = bots.spawn()
        wait_until_up(emulator, run, before)
        run.kill_delay = rng.uniform(*delay_range)
        sleep_while_alive(run, run.kill_delay)
        if unfinished(database) == 0:
            progress(f"the backlog drained before kill {number}; no more kills")
            last = run
            break
        bots.kill(run)
        run.held, run.attempted, run.remaining = held_rows(database)
        killed.append(run)
        progress(
            f"kill {number:2d}/{kills}: {run.kill_delay:4.2f} s after connecting; held "
            f"{len(run.held):3d} rows ({len(run.attempted)} with a nonce); "
            f"{run.remaining} unfinished"
        )
    if last is None:
        before = int(emulator.state()["identify_count"])
        last = bots.spawn()
        wait_until_up(emulator, last, before)
        progress("last restart up; draining")
    drained = False
    while time.monotonic() - started < timeout:
        if last.process.poll() is not None:
            raise BenchError(f"the last bot run exited on its own:\n{tail(last.log_path)}")
        if unfinished(database) == 0:
            drained = True
            break
        time.sleep(0.1)
    else:
        progress(f"timed out after {timeout:.0f} s with rows unfinished")
    # An orderly stop of the last process (SIGTERM, as systemd would) must also work.
    last.exit_status = stop_process(last.process, STOP_GRACE)
    return Outcome(drained, killed, list(bots.runs), last.exit_status)


def run_stall_scenario(
    bots: BotProcesses,
    emulator: EmulatorProcess,
    database: Path,
    *,
    rate: float,
    stall: float,
    delay_range: tuple[float, float],
    rng: random.Random,
    timeout: float,
) -> tuple[Outcome, Run, dict[str, Any]]:
    """Two processes share the database; one is stopped (SIGSTOP) while it sends, for longer
    than its leases, while the other goes on; then it carries on (SIGCONT) as if nothing
    happened, holding claims that are no longer its own."""
    started = time.monotonic()
    runs: list[Run] = []
    for name in ("a", "b"):
        before = int(emulator.state()["identify_count"])
        run = bots.spawn(NEXTROUND_INSTANCE=f"{INSTANCE}-{name}", NEXTROUND_SEND_RATE=f"{rate:g}")
        wait_until_up(emulator, run, before)
        runs.append(run)
    stalled, other = runs
    stalled.kill_delay = rng.uniform(*delay_range)
    sleep_while_alive(stalled, stalled.kill_delay)
    os.kill(stalled.process.pid, signal.SIGSTOP)
    stopped_at = time.monotonic()
    stalled.killed_at = stopped_at
    stalled.held, stalled.attempted, stalled.remaining = held_rows(database, f"{INSTANCE}-a")
    progress(
        f"stopped process a {stalled.kill_delay:.2f} s after both connected; it held "
        f"{len(stalled.held)} ({len(stalled.attempted)} with a nonce); {stalled.remaining} "
        f"unfinished; process b goes on for {stall:.0f} s"
    )
    sleep_while_alive(other, stall)
    os.kill(stalled.process.pid, signal.SIGCONT)
    resumed_at = time.monotonic()
    progress("process a continues")
    drained = False
    while time.monotonic() - started < timeout:
        for run in runs:
            if run.process.poll() is not None:
                raise BenchError(f"bot run {run.number} exited:\n{tail(run.log_path)}")
        if unfinished(database) == 0:
            drained = True
            break
        time.sleep(0.1)
    else:
        progress(f"timed out after {timeout:.0f} s with rows unfinished")
    time.sleep(2.0)  # let process a finish what it held, so anything it sent is counted
    for run in runs:
        run.exit_status = stop_process(run.process, STOP_GRACE)
    stall_info = {
        "stalled_seconds": round(resumed_at - stopped_at, 1),
        "held_at_stop": len(stalled.held),
        "with_nonce_at_stop": len(stalled.attempted),
        "abandoned_sends": sum(
            1
            for line in stalled.log_path.read_text(errors="replace").splitlines()
            if "not sent:" in line
        ),
    }
    return Outcome(drained, [], runs, other.exit_status), stalled, stall_info


# -- counting ----------------------------------------------------------------------------------


def follow_up_ids(payload: dict[str, Any]) -> tuple[set[int], set[int]]:
    """(row ids, user ids) named by a message's follow-up buttons."""
    rows: set[int] = set()
    users: set[int] = set()
    for action_row in payload.get("components") or []:
        for component in action_row.get("components") or []:
            match = FOLLOW_UP_ID.match(str(component.get("custom_id", "")))
            if match:
                rows.add(int(match["job"]))
                users.add(int(match["user"]))
    return rows, users


@dataclass
class Delivery:
    per_row: Counter[int]
    unrecognised: int  # DMs from the bot that name no follow-up row
    misdirected: int  # DMs whose buttons name another person
    dm_total: int


def count_deliveries(emulator: EmulatorProcess, user_ids: Sequence[int]) -> Delivery:
    """Ground truth: the messages in each person's DM channel with the bot."""
    bot_user = str(emulator.info["bot_user_id"])
    per_row: Counter[int] = Counter()
    unrecognised = misdirected = total = 0
    for user_id in user_ids:
        for message in emulator.api.call("GET", f"/_emulator/dm_messages?user_id={user_id}"):
            if message["author_id"] != bot_user:
                continue
            total += 1
            rows, users = follow_up_ids(message["payload"])
            if not rows:
                unrecognised += 1
                continue
            if users != {user_id}:
                misdirected += 1
            per_row.update(rows)
    return Delivery(per_row, unrecognised, misdirected, total)


def rate_limited(request: dict[str, Any]) -> bool:
    """What the emulator (like Discord) counts towards the global limit: every known route
    except interaction callbacks."""
    route = request.get("route")
    return route is not None and not str(route).startswith("POST /interactions/")


def busiest_second(times: Sequence[float]) -> int:
    """Most requests arriving in any one-second window (the emulator's global limit admits 50;
    a request it refused with 429 is counted here too)."""
    best = start = 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


@dataclass
class Rates:
    requests: int
    seconds: float
    gaps: list[float]
    running_seconds: float
    last_requests: int
    last_seconds: float
    busiest: int
    routes: Counter[str]
    statuses: Counter[int]
    dm_channels_opened: int  # successful opens, the same channel again included
    first_sent_at: dict[int, float]  # row id -> when its DM was first created

    @property
    def overall(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def running(self) -> float:
        return self.requests / self.running_seconds if self.running_seconds > 0 else 0.0

    @property
    def last(self) -> float:
        return self.last_requests / self.last_seconds if self.last_seconds > 0 else 0.0


def measure_rates(requests: Sequence[dict[str, Any]], runs: Sequence[Run]) -> Rates:
    counted = sorted((r for r in requests if rate_limited(r)), key=lambda r: r["at"])
    follow_ups = [r for r in counted if r["route"] in FOLLOW_UP_ROUTES]
    first_sent_at: dict[int, float] = {}
    for request in follow_ups:
        if request["route"] == SEND_ROUTE and request["status"] == 200:
            for row in follow_up_ids(request.get("json") or {})[0]:
                first_sent_at.setdefault(row, float(request["at"]))
    if not follow_ups:
        return Rates(0, 0.0, [], 0.0, 0, 0.0, 0, Counter(), Counter(), 0, first_sent_at)
    start, end = float(follow_ups[0]["at"]), float(follow_ups[-1]["at"])
    window = [r for r in counted if start <= r["at"] <= end]
    # A restart gap: from the SIGKILL to the next process's first follow-up request (process
    # start, login, scheduler start). The next process cannot send before it was spawned.
    gaps: list[float] = []
    for killed, following in itertools.pairwise(runs):
        if killed.killed_at is None:
            continue
        resumed = next(
            (float(r["at"]) for r in follow_ups if r["at"] >= following.spawned_at), None
        )
        if resumed is not None:
            gaps.append(resumed - killed.killed_at)
    last_start = next((float(r["at"]) for r in follow_ups if r["at"] >= runs[-1].spawned_at), end)
    last_window = [r for r in window if r["at"] >= last_start]
    return Rates(
        requests=len(window),
        seconds=end - start,
        gaps=gaps,
        running_seconds=end - start - sum(gaps),
        last_requests=len(last_window),
        last_seconds=end - last_start,
        busiest=busiest_second([float(r["at"]) for r in counted]),
        routes=Counter(str(r["route"]) for r in window),
        statuses=Counter(int(r["status"]) for r in counted),
        dm_channels_opened=sum(
            1 for r in follow_ups if r["route"] == OPEN_DM_ROUTE and r["status"] == 200
        ),
        first_sent_at=first_sent_at,
    )


# -- the report --------------------------------------------------------------------------------


def log_problems(runs: Sequence[Run]) -> list[str]:
    """ERROR lines, tracebacks and the bot's own warnings from every run's log."""
    found: list[str] = []
    for run in runs:
        for line in run.log_path.read_text(errors="replace").splitlines():
            if " ERROR " in line or "Traceback" in line or " WARNING nextround" in line:
                found.append(f"run {run.number}: {line}")
    return found


def mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--follow-ups", type=int, default=None, help="rows due (default 2000)")
    parser.add_argument("--kills", type=int, default=None, help="SIGKILLs (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the kill moments")
    parser.add_argument(
        "--rate",
        type=float,
        default=48.0,
        help="NEXTROUND_SEND_RATE for the bot (default 48; burst + 1 s of refill stays at 50)",
    )
    parser.add_argument(
        "--users",
        type=int,
        default=None,
        help="people the follow-ups go to, round robin (default: one follow-up per person)",
    )
    parser.add_argument(
        "--kill-after",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
        default=None,
        help="seconds after a process connects before it is killed, uniformly "
        "(default: 0.2 s to a maximum that spreads the kills over about 60%% of the drain)",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="give up after (s)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: 300 follow-ups, 5 kills, the drain rate shown but not judged",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, db)")
    parser.add_argument(
        "--stall",
        type=float,
        default=None,
        metavar="SECONDS",
        help="the stalled-process scenario instead of the kills: two processes on one "
        "database, one SIGSTOPped this long while it sends (75 s: past its 60 s leases), then "
        "SIGCONT; each process at --stall-rate",
    )
    parser.add_argument(
        "--stall-rate",
        type=float,
        default=18.0,
        help="NEXTROUND_SEND_RATE of each of the two processes in --stall (default 18: both "
        "buckets' burst plus a second of refill stay at 46, a margin under 50 for requests "
        "that arrive bunched; a budget shared between processes is not part of this)",
    )
    args = parser.parse_args(argv)
    args.follow_ups = args.follow_ups or (300 if args.quick else 2000)
    args.kills = args.kills if args.kills is not None else (5 if args.quick else 20)
    args.users = args.users or args.follow_ups
    if args.follow_ups < 1 or args.kills < 0 or args.users < 1:
        parser.error("--follow-ups and --users must be at least 1, --kills at least 0")
    if not 0 < args.rate <= DISCORD_GLOBAL_RATE:
        parser.error(f"--rate must be above 0 and at most {DISCORD_GLOBAL_RATE:g}")
    if args.users > args.follow_ups or -(-args.follow_ups // args.users) > DAILY_LIMIT:
        parser.error(
            f"--users must be at most --follow-ups, with at most {DAILY_LIMIT} follow-ups "
            "per person (the daily logging limit)"
        )
    return args


def kill_delays(args: argparse.Namespace) -> tuple[float, float]:
    if args.kill_after is not None:
        low, high = sorted(args.kill_after)
        return max(0.0, low), high
    # Expected time the bot spends sending: one request per DM plus one per DM channel opened.
    sending = (args.follow_ups + args.users) / args.rate
    mean = KILL_SPAN_SHARE * sending / max(1, args.kills)
    return MIN_KILL_DELAY, max(1.0, 2 * mean - MIN_KILL_DELAY)


def bucket_burst(rate: float) -> float:
    """The bot's token bucket capacity for this rate (bot/client.py)."""
    return max(1.0, min(5.0, DISCORD_GLOBAL_RATE - rate))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    delay_range = kill_delays(args)
    rng = random.Random(args.seed)

    def on_sigterm(signum: int, frame: Any) -> None:
        raise Interrupted

    signal.signal(signal.SIGTERM, on_sigterm)
    workdir = Path(tempfile.mkdtemp(prefix="nextround-reliability-"))
    database = workdir / "nextround.sqlite3"
    emulator = EmulatorProcess(workdir)
    bots: BotProcesses | None = None
    try:
        progress(f"work folder {workdir}")
        emulator.start()
        progress(f"emulator at {emulator.info['base_url']}; adding {args.users} people")
        user_ids = emulator.add_users(args.users)
        seeded_at = int(time.time() * 1000)
        rows = asyncio.run(seed(database, user_ids, args.follow_ups, seeded_at))
        if len(rows) != args.follow_ups:
            raise BenchError(f"seeded {len(rows)} follow-up rows, expected {args.follow_ups}")
        progress(
            f"seeded {len(rows)} follow-ups due now; {args.kills} kills, "
            f"{delay_range[0]:.1f}-{delay_range[1]:.1f} s after each start"
        )
        bots = BotProcesses(workdir, database, emulator, args.rate)
        stall_info: dict[str, Any] | None = None
        if args.stall is not None:
            outcome, stalled, stall_info = run_stall_scenario(
                bots,
                emulator,
                database,
                rate=args.stall_rate,
                stall=args.stall,
                delay_range=(1.0, 4.0),
                rng=rng,
                timeout=args.timeout,
            )
        else:
            outcome = run_scenario(
                bots,
                emulator,
                database,
                kills=args.kills,
                delay_range=delay_range,
                rng=rng,
                timeout=args.timeout,
            )
        progress("counting what people received")
        delivery = count_deliveries(emulator, user_ids)
        state = emulator.state()
        requests: list[dict[str, Any]] = emulator.api.call("GET", "/_emulator/requests")
        finals = final_rows(database)
        # For digging into a failure with --keep.
        (workdir / "requests.json").write_text(json.dumps(requests))
        (workdir / "emulator-state.json").write_text(json.dumps(state))
        problems = log_problems(outcome.runs)
    except (KeyboardInterrupt, Interrupted):
        progress("interrupted; stopping the bot and the emulator")
        return 130
    except BenchError as error:
        progress(f"could not run: {error}")
        return 2
    finally:
        if bots is not None:
            bots.stop_all()
        emulator.stop()
        if args.keep:
            progress(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    if stall_info is not None:
        return report_stall(args, rows, outcome, stalled, stall_info, delivery, state, requests)
    return report(args, delay_range, rows, outcome, delivery, state, requests, finals, problems)


def report_stall(
    args: argparse.Namespace,
    rows: dict[int, int],
    outcome: Outcome,
    stalled: Run,
    stall_info: dict[str, Any],
    delivery: Delivery,
    state: dict[str, Any],
    requests: list[dict[str, Any]],
) -> int:
    total = len(rows)
    counts = delivery.per_row
    delivered = sum(1 for row in rows if counts[row] >= 1)
    duplicated = sum(count - 1 for row, count in counts.items() if row in rows and count > 1)
    lost = total - delivered
    stats: dict[str, int] = {key: int(value) for key, value in state["stats"].items()}
    rates = measure_rates(requests, outcome.runs)
    sent_before_stop = sum(
        1
        for row in stalled.held
        if row in rates.first_sent_at and rates.first_sent_at[row] < (stalled.killed_at or 0)
    )
    global_429, route_429 = stats.get("global_429", 0), stats.get("route_429", 0)
    checks = {
        "delivered": delivered == total,
        "lost": lost == 0,
        "duplicated": duplicated == 0 and delivery.misdirected == 0,
        "no_429": global_429 == 0 and route_429 == 0 and rates.statuses.get(429, 0) == 0,
        "drained": outcome.drained,
    }
    passed = all(checks.values())
    print(
        f"NextRound follow-up reliability, a stalled process: {total:,} follow-ups due, two "
        f"processes on one database at {args.stall_rate:g}/s each, seed {args.seed}"
    )
    print(
        f"  stall       process a SIGSTOPped {stalled.kill_delay:.2f} s after both connected, "
        f"for {stall_info['stalled_seconds']} s (leases are 60 s), then SIGCONT"
    )
    print(
        f"              at the stop it held {stall_info['held_at_stop']} rows, "
        f"{stall_info['with_nonce_at_stop']} with an attempt (nonce) recorded, "
        f"{sent_before_stop} already delivered but unacknowledged"
    )
    print(
        f"              after SIGCONT it gave up {stall_info['abandoned_sends']} sends whose "
        "lease it had lost"
    )
    print(f"  delivered   {delivered:>6,} / {total:,}   {mark(delivered == total)}")
    print(f"  lost        {lost:>6,}           target 0       {mark(lost == 0)}")
    print(f"  duplicated  {duplicated:>6,}           target 0       {mark(duplicated == 0)}")
    print(
        f"  resends Discord de-duplicated by nonce: {stats.get('nonce_dedup', 0):,}; "
        f"history look-ups: {rates.routes.get(HISTORY_ROUTE, 0):,}"
    )
    print(f"  busiest 1 s {rates.busiest} requests arrived (limit {DISCORD_GLOBAL_RATE:g})")
    print(f"  429s        global {global_429}, per route {route_429}   {mark(checks['no_429'])}")
    failed = [name for name, ok in checks.items() if not ok]
    print()
    print(f"result: {'pass' if passed else 'FAIL (' + ', '.join(failed) + ')'}")
    summary = {
        "benchmark": "followups_reliability_stall",
        "follow_ups": total,
        "send_rate_each": args.stall_rate,
        "seed": args.seed,
        **stall_info,
        "sent_before_stop_unacknowledged": sent_before_stop,
        "delivered": delivered,
        "lost": lost,
        "duplicated": duplicated,
        "nonce_dedup": stats.get("nonce_dedup", 0),
        "history_lookups": rates.routes.get(HISTORY_ROUTE, 0),
        "global_429": global_429,
        "route_429": route_429,
        "busiest_second": rates.busiest,
        "checks": checks,
        "pass": passed,
    }
    print(json.dumps(summary, separators=(",", ":")), flush=True)
    return 0 if passed else 1


def report(
    args: argparse.Namespace,
    delay_range: tuple[float, float],
    rows: dict[int, int],
    outcome: Outcome,
    delivery: Delivery,
    state: dict[str, Any],
    requests: list[dict[str, Any]],
    finals: dict[int, tuple[str, str | None]],
    problems: list[str],
) -> int:
    limit = DISCORD_GLOBAL_RATE
    total = len(rows)
    counts = delivery.per_row
    delivered = sum(1 for row in rows if counts[row] >= 1)
    duplicated = sum(count - 1 for row, count in counts.items() if row in rows and count > 1)
    lost = total - delivered
    unknown_rows = sum(count for row, count in counts.items() if row not in rows)
    stats: dict[str, int] = {key: int(value) for key, value in state["stats"].items()}
    global_429 = stats.get("global_429", 0)
    route_429 = stats.get("route_429", 0)
    route_429_by = {
        key.removeprefix("route_429:"): value
        for key, value in stats.items()
        if key.startswith("route_429:")
    }
    rates = measure_rates(requests, outcome.runs)
    states = Counter(state_ for state_, _ in finals.values())
    outcomes = Counter((outcome_ or "").split(":")[0] for _, outcome_ in finals.values())
    marked_sent = {
        row
        for row, (state_, outcome_) in finals.items()
        if state_ == "done" and outcome_ and outcome_.startswith("sent")
    }
    sent_never_received = sorted(row for row in marked_sent if counts[row] == 0)
    received_not_marked = sorted(row for row in rows if counts[row] and row not in marked_sent)

    held = [len(run.held) for run in outcome.kills]
    with_nonce = sum(len(run.attempted) for run in outcome.kills)
    # Sent before the kill, acknowledgement lost with the process: only the nonce (or the
    # history look-up) stands between these and a second DM.
    unacknowledged = sum(
        sum(
            1
            for row in run.held
            if row in rates.first_sent_at and rates.first_sent_at[row] < (run.killed_at or 0)
        )
        for run in outcome.kills
    )
    history_lookups = rates.routes.get(HISTORY_ROUTE, 0)
    statuses_429 = rates.statuses.get(429, 0)

    ratio = rates.overall / limit
    running_ratio = rates.running / limit
    checks = {
        "delivered": delivered == total,
        "lost": lost == 0,
        "duplicated": duplicated == 0 and unknown_rows == 0 and delivery.misdirected == 0,
        # A quick run is too short for it: 5 restarts cost about a tenth of a 15 s drain.
        "rate": ratio >= TARGET_RATIO or args.quick,
        "no_429": global_429 == 0 and route_429 == 0 and statuses_429 == 0,
        "kills": len(outcome.kills) == args.kills,
        "drained": outcome.drained,
    }
    passed = all(checks.values())

    gaps = rates.gaps
    startups = [run.up_at - run.spawned_at for run in outcome.runs if run.up_at is not None]
    burst = bucket_burst(args.rate)
    print(
        f"NextRound follow-up reliability: {total:,} follow-ups due, {args.kills} SIGKILLs, "
        f"seed {args.seed}{' (quick)' if args.quick else ''}"
    )
    print(
        f"  setup       {args.users:,} people, {total / args.users:g} follow-up(s) each; bot "
        f"send rate {args.rate:g}/s (bucket burst {burst:g}); emulator global limit {limit:g}/s"
    )
    kill_delays_done = [run.kill_delay or 0.0 for run in outcome.kills]
    print(
        f"  kills       {len(outcome.kills)} of {args.kills}, "
        f"{delay_range[0]:.1f}-{delay_range[1]:.1f} s after the process connected "
        f"(median {statistics.median(kill_delays_done) if kill_delays_done else 0:.2f} s)"
    )
    if held:
        print(
            f"              summed over the kills, rows held by the killed process "
            f"{sum(held):,} (per kill {min(held)}-{max(held)}); of those with an attempt "
            f"(nonce) recorded {with_nonce:,}, already delivered but unacknowledged "
            f"{unacknowledged:,}"
        )
    if gaps:
        print(
            f"  restarts    SIGKILL to the next process's first follow-up request: median "
            f"{statistics.median(gaps):.2f} s, max {max(gaps):.2f} s, {sum(gaps):.1f} s in all "
            f"(start to gateway connected: median {statistics.median(startups):.2f} s)"
        )
    print(
        f"  stop        the last process: SIGTERM, exit status {outcome.final_exit_status}"
        + ("" if outcome.drained else "; the backlog did NOT drain before the timeout")
    )
    print()
    print("Delivery, counted from the people's DM channels in the emulator")
    print(
        f"  delivered   {delivered:>6,} / {total:,}   target {total:,}   {mark(delivered == total)}"
    )
    print(f"  lost        {lost:>6,}           target 0       {mark(lost == 0)}")
    print(f"  duplicated  {duplicated:>6,}           target 0       {mark(duplicated == 0)}")
    print(
        f"  resends Discord de-duplicated by nonce: {stats.get('nonce_dedup', 0):,}; "
        f"history look-ups: {history_lookups:,}; DMs in all: {delivery.dm_total:,}"
        + (f"; naming no row: {delivery.unrecognised}" if delivery.unrecognised else "")
        + (f"; to the wrong person: {delivery.misdirected}" if delivery.misdirected else "")
        + (f"; naming unknown rows: {unknown_rows}" if unknown_rows else "")
    )
    print(
        "  rows        "
        + ", ".join(f"{name} {count:,}" for name, count in sorted(states.items()))
        + " (outcomes: "
        + ", ".join(f"{name or '-'} {count:,}" for name, count in sorted(outcomes.items()))
        + ")"
    )
    if sent_never_received or received_not_marked:
        print(
            f"  MISMATCH    marked sent but never received: {sent_never_received[:20]}; "
            f"received but not marked sent: {received_not_marked[:20]}"
        )
    print()
    print("Drain rate: non-interaction REST requests (what the global limit counts),")
    print("first to last follow-up request")
    print(
        f"  overall     {rates.requests:,} requests in {rates.seconds:.1f} s = "
        f"{rates.overall:.1f}/s = {ratio:.3f} of {limit:g}/s   target >= {TARGET_RATIO:.2f}   "
        + ("not judged in a quick run" if args.quick else mark(checks["rate"]))
    )
    print(
        f"              {len(gaps)} restarts included; "
        f"{total / rates.seconds if rates.seconds else 0:.1f} follow-ups/s"
    )
    print(
        f"  no gaps     {rates.running:.1f}/s = {running_ratio:.3f} of {limit:g}/s over "
        f"{rates.running_seconds:.1f} s (restart gaps of {sum(gaps):.1f} s left out)"
    )
    print(
        f"  last run    {rates.last_requests:,} requests in {rates.last_seconds:.1f} s = "
        f"{rates.last:.1f}/s = {rates.last / limit:.3f} of {limit:g}/s (no kill)"
    )
    print(
        f"  per DM      {rates.requests / total if total else 0:.2f} requests per follow-up "
        f"(at least {(total + args.users) / total if total else 0:.2f} here: one DM, plus one "
        f"per DM channel opened); resends {stats.get('nonce_dedup', 0):,}, DM channel opened "
        f"again {max(0, rates.dm_channels_opened - args.users):,}"
    )
    print(f"  busiest 1 s {rates.busiest} requests arrived (limit {limit:g})")
    print(
        f"  429s        global {global_429}, per route {route_429}"
        + (f" {route_429_by}" if route_429_by else "")
        + f"   target 0   {mark(checks['no_429'])}"
    )
    print(
        f"  requests    {stats.get('requests', 0):,} in all; in the drain: "
        + ", ".join(f"{route} {count:,}" for route, count in rates.routes.most_common())
    )
    if len(requests) < stats.get("requests", 0):
        print(
            f"  NOTE        the emulator kept {len(requests):,} of {stats['requests']:,} "
            "requests; the rate figures cover only those"
        )
    other_statuses = {code: n for code, n in rates.statuses.items() if code != 200}
    if other_statuses:
        print(f"  statuses    not 200: {dict(sorted(other_statuses.items()))}")
    if problems:
        print(f"  bot logs    {len(problems)} error/warning line(s); first ones:")
        for line in problems[:10]:
            print(f"    {line}")
    failed = [name for name, ok in checks.items() if not ok]
    print()
    print(f"result: {'pass' if passed else 'FAIL (' + ', '.join(failed) + ')'}")

    summary = {
        "benchmark": "followups_reliability",
        "follow_ups": total,
        "users": args.users,
        "kills": len(outcome.kills),
        "kills_requested": args.kills,
        "seed": args.seed,
        "send_rate": args.rate,
        "delivered": delivered,
        "lost": lost,
        "duplicated": duplicated,
        "nonce_dedup": stats.get("nonce_dedup", 0),
        "history_lookups": history_lookups,
        "held_at_kills": sum(held),
        "unacknowledged_at_kills": unacknowledged,
        "global_429": global_429,
        "route_429": route_429,
        "requests_total": stats.get("requests", 0),
        "drain_requests": rates.requests,
        "drain_seconds": round(rates.seconds, 2),
        "drain_rate": round(rates.overall, 2),
        "drain_ratio": round(ratio, 3),
        "running_rate": round(rates.running, 2),
        "running_ratio": round(running_ratio, 3),
        "last_run_rate": round(rates.last, 2),
        "restart_gap_median_s": round(statistics.median(gaps), 3) if gaps else None,
        "restart_gaps_s": round(sum(gaps), 2),
        "busiest_second": rates.busiest,
        "row_states": dict(states),
        "checks": checks,
        "pass": passed,
    }
    print(json.dumps(summary, separators=(",", ":")), flush=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
