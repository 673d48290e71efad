"""Tip of the Week benchmark: N servers with the same weekly slot, all posted once.

The real bot (scheduler, tip handler, token bucket, discord.py's HTTP client) runs against the
Discord emulator, which enforces Discord's global limit of 50 requests per second (a rolling
second) and answers 429 above it. The clock is the real one, shifted so the run starts just
before a Monday 09:00 UTC slot that every server shares.

Measured: the time from the slot to the last post, against the bound the global limit sets
(requests needed / 50 per second), their ratio (target <= 1.1), the 429s provoked (target 0),
and that every server got exactly one post numbered #1.

Usage: python bench/tips_bench.py [--servers 1000] [--rate 48] [--threads]

The rate defaults to 48 sends per second (NEXTROUND_SEND_RATE=48): the bot sizes its token
bucket's burst as 50 - rate, so 48/s with a burst of 2 can never put more than 50 requests in
any second, and of the rates that guarantee it, 48 measured fastest. At 49 or 50 the burst
shrinks to 1, every late wake-up of a sender loses its token for good, and the run is slower.
The shipped default, 45/s, keeps 5 requests a second free for other traffic and cannot reach
the 1.1 target: 1,000 posts take at least (1,000 - 5) / 45 = 22.1 s against a 20 s bound.

The figures go to stdout and the last stdout line is a one-line JSON summary; progress goes to
stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a plain script: make the project importable without installing it.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.client import NextRoundBot, apply_discord_endpoints  # noqa: E402
from bot.config import DISCORD_GLOBAL_RATE, Settings  # noqa: E402
from bot.db import Database  # noqa: E402
from tests.emulator import DiscordEmulator  # noqa: E402

TOKEN = "bench-token"
SLOT = datetime(2027, 3, 22, 9, 0, tzinfo=UTC)  # a Monday
LEAD_SECONDS = 2.0  # the clock is moved to this long before the slot once all is set up
TARGET_RATIO = 1.1
GLOBAL_LIMIT = 50


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class ShiftedClock:
    """The real clock, shifted into the future; it can jump forward, never back."""

    def __init__(self, start: datetime) -> None:
        self._offset = start.timestamp() - time.time()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def timestamp(self) -> float:
        return time.time() + self._offset

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def jump_to(self, instant: datetime) -> None:
        offset = instant.timestamp() - time.time()
        if offset < self._offset:
            raise ValueError("the clock never moves backwards")
        self._offset = offset

    def real_time_of(self, instant: datetime) -> float:
        """The `time.monotonic()` reading at which this clock shows `instant`."""
        return time.monotonic() + (instant.timestamp() - self.timestamp())


def quiet_logs() -> None:
    # Keep the per-row log lines' cost (INFO, as in production) but write them nowhere.
    for name in ("nextround", "discord"):
        logger = logging.getLogger(name)
        logger.handlers = [logging.NullHandler()]
        logger.propagate = False
    logging.getLogger("nextround").setLevel(logging.INFO)
    logging.getLogger("discord").setLevel(logging.ERROR)


async def run(servers: int, rate: float, threads: bool) -> dict[str, Any]:
    emulator = DiscordEmulator(token=TOKEN, global_rate_limit=GLOBAL_LIMIT)
    await emulator.start()
    admin = emulator.add_user("admin")
    channels: dict[int, int] = {}
    for number in range(servers):
        guild_id = emulator.add_guild(f"Server {number}", owner_id=admin)
        channels[guild_id] = emulator.add_text_channel(guild_id, "tips")
    progress(f"emulator up with {servers} servers")

    clock = ShiftedClock(datetime(2027, 3, 22, 8, 0, tzinfo=UTC))
    with tempfile.TemporaryDirectory(prefix="nextround-tips-bench-") as folder:
        settings = Settings(
            token=TOKEN,
            database_path=Path(folder) / "bench.sqlite3",
            dev_guild_id=None,
            log_level="INFO",
            api_base_url=emulator.api_base,
            gateway_url=emulator.gateway_url,
            max_sleep_seconds=30.0,
            send_rate_per_second=rate,
            force_sync=False,
            instance_name="bench",
        )
        apply_discord_endpoints(settings)
        database = await Database.open(settings.database_path, clock)
        bot = NextRoundBot(settings, database, clock, guild_ready_timeout=0.5)
        task = asyncio.create_task(bot.start(settings.token))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), 60)
            progress("bot connected")
            for guild_id, channel_id in channels.items():
                await bot.tips.setup(
                    guild_id,
                    channel_id=channel_id,
                    weekday="monday",
                    time_text="09:00",
                    timezone="UTC",
                    role_id=None,
                )
                if threads:
                    await bot.tips.set_threads(guild_id, True)
            progress(f"{servers} schedules set up for {SLOT.isoformat()}")
            await bot.scheduler.settle()  # the daily purge row, if due, runs before measuring

            baseline_requests = len(emulator.requests)
            baseline_429 = emulator.stats["global_429"] + emulator.stats["route_429"]
            clock.jump_to(datetime.fromtimestamp(SLOT.timestamp() - LEAD_SECONDS, UTC))
            bot.scheduler.wake()
            slot_at = clock.real_time_of(SLOT)
            progress("waiting for the slot")
            deadline = time.monotonic() + LEAD_SECONDS + servers / 5 + 60
            posted = 0
            while posted < servers:
                # A cheap look at the bot's own record, a few times a second.
                await asyncio.sleep(0.1)
                posted = int(
                    await database.fetch_value(
                        "SELECT COUNT(*) FROM tip_posts WHERE message_id IS NOT NULL"
                    )
                )
                if time.monotonic() > deadline:
                    raise TimeoutError(f"only {posted} of {servers} posts after the deadline")
            await bot.scheduler.settle()
            settled_at = time.monotonic()

            burst = emulator.requests[baseline_requests:]
            # What counts against the global limit: every request but interaction callbacks.
            needed_requests = [
                r
                for r in burst
                if not r.path.startswith("/interactions/")
                and r.status is not None
                and 200 <= r.status < 300
            ]
            sends = [
                r for r in needed_requests if r.method == "POST" and r.path.endswith("/messages")
            ]
            provoked_429 = emulator.stats["global_429"] + emulator.stats["route_429"]
            provoked_429 -= baseline_429
            needed = len(needed_requests)
            bound = needed / GLOBAL_LIMIT
            # Arrival of the last request the work needed (the emulator records it on arrival).
            elapsed = max(r.at for r in needed_requests) - slot_at
            first_send = min(r.at for r in sends)
            last_send = max(r.at for r in sends)
            peak = peak_per_second([r.at for r in needed_requests])
            numbers = {
                message.embeds[0]["title"].split(" — ")[0]
                for channel_id in channels.values()
                for message in emulator.messages(channel_id)
                if message.embeds
            }
            per_channel = {len(emulator.messages(c)) for c in channels.values()}
            rows = await database.fetch_all(
                "SELECT state, COUNT(*) AS n FROM scheduled_jobs WHERE kind = 'tip:post' "
                "GROUP BY state"
            )
            states = {row["state"]: row["n"] for row in rows}
            exactly_once = (
                per_channel == {1}
                and numbers == {"Interview Tip of the Week #1"}
                and states == {"done": servers, "pending": servers}
            )
            return {
                "servers": servers,
                "threads": threads,
                "send_rate": rate,
                "token_bucket_capacity": bot.send_limiter.capacity,
                "requests_needed": needed,
                "bound_s": round(bound, 3),
                "elapsed_s": round(elapsed, 3),
                "ratio": round(elapsed / bound, 4),
                "target_ratio": TARGET_RATIO,
                "first_to_last_send_s": round(last_send - first_send, 3),
                "first_send_after_slot_s": round(first_send - slot_at, 3),
                "settled_after_s": round(settled_at - slot_at, 3),
                "peak_requests_in_any_second": peak,
                "global_limit": GLOBAL_LIMIT,
                "provoked_429": provoked_429,
                "posts_per_channel": sorted(per_channel),
                "post_numbers": sorted(numbers),
                "slot_rows": states,
                "exactly_once": exactly_once,
            }
        finally:
            await bot.close()
            await asyncio.wait_for(task, 30)
            await database.close()
            await emulator.close()


def peak_per_second(instants: list[float]) -> int:
    """The most requests inside any rolling one-second window (what the emulator limits)."""
    ordered = sorted(instants)
    best = start = 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument(
        "--rate",
        type=float,
        default=48.0,
        help="scheduled sends per second (NEXTROUND_SEND_RATE; the bot's default is 45)",
    )
    parser.add_argument("--threads", action="store_true", help="open a thread under each post")
    args = parser.parse_args(argv)
    if not 0 < args.rate <= DISCORD_GLOBAL_RATE:
        parser.error(f"--rate must be above 0 and at most {DISCORD_GLOBAL_RATE:g}")
    quiet_logs()
    summary = asyncio.run(run(args.servers, args.rate, args.threads))
    ratio = summary["ratio"]
    rate, burst = summary["send_rate"], summary["token_bucket_capacity"]
    rows = [
        ("servers, one slot", summary["servers"]),
        ("threads", "on" if summary["threads"] else "off"),
        ("send rate / bucket burst", f"{rate:g}/s / {burst:g}"),
        ("requests needed", summary["requests_needed"]),
        (f"bound at {GLOBAL_LIMIT} requests/s", f"{summary['bound_s']:.2f} s"),
        ("slot to last request", f"{summary['elapsed_s']:.2f} s"),
        (f"ratio (target <= {TARGET_RATIO})", f"{ratio:.3f}"),
        ("peak requests in a second", summary["peak_requests_in_any_second"]),
        ("429s provoked (target 0)", summary["provoked_429"]),
        ("posts per channel", summary["posts_per_channel"]),
        ("post numbers", ", ".join(summary["post_numbers"])),
        ("each server posted once", "yes" if summary["exactly_once"] else "NO"),
    ]
    for label, value in rows:
        print(f"{label:<28}{value}")
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
