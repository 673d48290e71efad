"""Scheduler benchmark: memory, startup, claim+dispatch rate against a raw loop, lateness.

For each backlog size (pending rows due over the next 30 days, kind "noop") it measures:

1. RSS growth from just before `Scheduler.start()` to after the first `settle()`, after a few
   seconds of running, and after the lateness probe (target: under 10 MiB at 1,000,000 rows);
2. startup time: `Scheduler(...)` + `start()` until the first `settle()` returns;
3. claim+dispatch rate with a no-op handler for N rows due now, against a raw loop that runs
   the same claim and acknowledgement SQL in the same transactions with no scheduler code
   (target: scheduler/raw >= 0.75), with the scheduler's per-row log line enabled (INFO, records
   discarded) and disabled (WARNING);
4. firing lateness of 1,000 rows due at random instants in the next 10 s of real time, on top
   of the backlog (target: p99 < 50 ms).

Usage: python bench/scheduler_bench.py [--rows 100000,1000000] [--quick]

The figures table goes to stdout and the last stdout line is a one-line JSON summary; progress
goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

# Run as a plain script: make the project importable without installing it.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.clock import SystemClock  # noqa: E402
from bot.db import Database  # noqa: E402
from bot.db import jobs as job_store  # noqa: E402
from bot.db.connection import now_ms  # noqa: E402
from bot.db.jobs import DONE, Ack, Job, NewJob  # noqa: E402
from bot.scheduler import Scheduler  # noqa: E402

MIB = 1024 * 1024
DAY_MS = 86_400_000
# The backlog starts an hour out, so no backlog row falls due while a phase is measured.
BACKLOG_LEAD_MS = 3_600_000
BACKLOG_SPAN_MS = 30 * DAY_MS
SEED_CHUNK = 100_000
SEED = 20_240_601

TARGET_RSS_MIB = 10.0
TARGET_RSS_AT_ROWS = 1_000_000
TARGET_RATIO = 0.75
TARGET_P99_MS = 50.0

SCHEDULER_LOG = logging.getLogger("nextround.scheduler")


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def quiet_scheduler_log(level: int) -> None:
    """Keep the per-row log line's cost (record creation) but write nothing anywhere."""
    SCHEDULER_LOG.handlers = [logging.NullHandler()]
    SCHEDULER_LOG.propagate = False
    SCHEDULER_LOG.setLevel(level)


# -- process memory ----------------------------------------------------------------------------


def rss_bytes() -> int:
    """Current resident set size (not the peak, which never comes down)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS missing from /proc/self/status")


def hwm_bytes() -> int | None:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def reset_hwm() -> bool:
    """Reset the peak RSS so a transient spike during startup shows up (Linux 4.0+)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def settled_rss() -> int:
    gc.collect()
    return rss_bytes()


# -- seeding -----------------------------------------------------------------------------------


async def create_schema(path: Path) -> None:
    """The schema always comes from the project's own migrations."""
    database = await Database.open(path, SystemClock())
    await database.close()


def insert_rows(path: Path, rows: Iterator[tuple[Any, ...]]) -> None:
    """Bulk insert with plain sqlite3 in large transactions; seeding speed is not measured."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-262144")
        while True:
            chunk = [row for _, row in zip(range(SEED_CHUNK), rows, strict=False)]
            if not chunk:
                break
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(job_store.INSERT_SQL, chunk)
            connection.execute("COMMIT")
        # Leave one self-contained file behind, so a plain file copy is a faithful clone.
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def noop_row(due_at: int, created_at: int) -> tuple[Any, ...]:
    """Parameters for `INSERT_SQL`: kind, due_at, payload, user, guild, subject, key, created."""
    return ("noop", due_at, "{}", None, None, None, None, created_at)


def backlog_rows(count: int, origin_ms: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    # Random order, as reminders are created: the pending index is not built in due order.
    start = origin_ms + BACKLOG_LEAD_MS
    for _ in range(count):
        yield noop_row(start + rng.randrange(BACKLOG_SPAN_MS), origin_ms)


def due_rows(count: int, origin_ms: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    # Overdue by up to an hour: every one is due whenever a phase runs.
    for _ in range(count):
        yield noop_row(origin_ms - 1000 - rng.randrange(3_600_000), origin_ms)


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# -- phase 1, 2 and 4: memory, startup and lateness in a fresh process -------------------------


async def noop(job: Job) -> None:
    return None


async def probe(
    path: Path, lateness_rows: int, window_s: float, running_s: float
) -> dict[str, Any]:
    """Run in a child process, so memory freed by seeding or earlier phases cannot hide growth."""
    quiet_scheduler_log(logging.INFO)
    clock = SystemClock()
    database = await Database.open(path, clock)
    lateness: list[float] = []
    all_fired = asyncio.Event()

    async def record_lateness(job: Job) -> None:
        lateness.append(clock.timestamp() * 1000 - job.due_at)
        if len(lateness) >= lateness_rows:
            all_fired.set()

    try:
        started = time.perf_counter()
        scheduler = Scheduler(database, clock)
        scheduler.register("noop", noop)
        scheduler.register("probe", record_lateness)
        build_s = time.perf_counter() - started

        baseline = settled_rss()
        hwm_reset = reset_hwm()
        started = time.perf_counter()
        await scheduler.start()
        await scheduler.settle()
        start_s = time.perf_counter() - started
        peak = hwm_bytes() if hwm_reset else None
        after_settle = settled_rss()

        await asyncio.sleep(running_s)
        after_running = settled_rss()

        # Due instants start a second out, so the time spent inserting them is not counted
        # as lateness.
        rng = random.Random(SEED + 1)
        origin = now_ms(clock)
        lead_ms = 1000
        batch = [
            NewJob("probe", origin + lead_ms + rng.randrange(int(window_s * 1000) - lead_ms))
            for _ in range(lateness_rows)
        ]
        inserted = time.perf_counter()
        await scheduler.schedule(batch)
        insert_s = time.perf_counter() - inserted
        async with asyncio.timeout(window_s + 30):
            await all_fired.wait()
            await scheduler.settle()
        after_lateness = settled_rss()
        await scheduler.stop()
        counts = await job_store.count_by_state(database)
    finally:
        await database.close()

    ordered = sorted(lateness)
    return {
        "build_ms": build_s * 1000,
        "start_to_settle_ms": start_s * 1000,
        "startup_ms": (build_s + start_s) * 1000,
        "rss_baseline_mib": baseline / MIB,
        "rss_growth_settled_mib": (after_settle - baseline) / MIB,
        "rss_growth_running_mib": (after_running - baseline) / MIB,
        "rss_growth_after_lateness_mib": (after_lateness - baseline) / MIB,
        "rss_peak_growth_startup_mib": None if peak is None else (peak - baseline) / MIB,
        "running_s": running_s,
        "lateness_rows": lateness_rows,
        "lateness_window_s": window_s,
        "lateness_insert_ms": insert_s * 1000,
        "lateness_p50_ms": percentile(ordered, 50),
        "lateness_p99_ms": percentile(ordered, 99),
        "lateness_max_ms": ordered[-1],
        "lateness_min_ms": ordered[0],
        "counts": counts,
    }


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def run_probe(path: Path, lateness_rows: int, window_s: float, running_s: float) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--probe",
        str(path),
        "--probe-rows",
        str(lateness_rows),
        "--probe-window",
        str(window_s),
        "--probe-running",
        str(running_s),
    ]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# -- phase 3: claim+dispatch rate ---------------------------------------------------------------

# A phase returns its rate (rows/s) and the batch size it claimed and acknowledged with.
Phase = Callable[[Path, int], Coroutine[Any, Any, tuple[float, int]]]


async def scheduler_phase(path: Path, expected: int, level: int) -> tuple[float, int]:
    """The real Scheduler from construction until every due row is acknowledged."""
    quiet_scheduler_log(level)
    clock = SystemClock()
    database = await Database.open(path, clock)
    try:
        gc.collect()
        started = time.perf_counter()
        scheduler = Scheduler(database, clock)
        scheduler.register("noop", noop)
        await scheduler.start()
        async with asyncio.timeout(900):
            await scheduler.settle()
        elapsed = time.perf_counter() - started
        executed = scheduler.executed
        await scheduler.stop()
        counts = await job_store.count_by_state(database)
    finally:
        await database.close()
    check_counts(counts, executed, expected)
    return expected / elapsed, scheduler.batch_size


async def raw_phase(path: Path, expected: int) -> tuple[float, int]:
    """The same SQL in the same transactions and batch size, the handler called inline."""
    quiet_scheduler_log(logging.WARNING)
    clock = SystemClock()
    database = await Database.open(path, clock)
    # Built only to read its defaults, so the raw loop cannot drift from the scheduler's.
    defaults = Scheduler(database, clock)
    batch_size, lease_ms, owner = defaults.batch_size, defaults.lease_ms, "raw-loop"
    executed = 0
    try:
        gc.collect()
        started = time.perf_counter()
        while True:
            now = now_ms(clock)
            claimed = await job_store.claim_due(
                database, owner=owner, now=now, lease_until=now + lease_ms, limit=batch_size
            )
            if not claimed:
                break
            acks: list[Ack] = []
            for job in claimed:
                await noop(job)
                acks.append(Ack(job.id, job.claim, DONE, "done"))
            await job_store.acknowledge(database, acks, owner=owner, finished_at=now_ms(clock))
            executed += len(acks)
        elapsed = time.perf_counter() - started
        counts = await job_store.count_by_state(database)
    finally:
        await database.close()
    check_counts(counts, executed, expected)
    return expected / elapsed, batch_size


def check_counts(counts: dict[str, int], executed: int, expected: int) -> None:
    if executed != expected or counts.get(DONE) != expected or counts.get("running"):
        raise RuntimeError(f"phase ran {executed} rows, expected {expected}; states {counts}")


PHASES: dict[str, Phase] = {
    "raw": raw_phase,
    "scheduler_info": lambda path, n: scheduler_phase(path, n, logging.INFO),
    "scheduler_warning": lambda path, n: scheduler_phase(path, n, logging.WARNING),
}


def rate_order(rounds: int) -> list[str]:
    """ABC then CBA: every variant runs early and late equally often."""
    forward = list(PHASES)
    order: list[str] = []
    for number in range(rounds):
        order += forward if number % 2 == 0 else forward[::-1]
    return order


def measure_rates(
    template: Path, workdir: Path, due: int, rounds: int
) -> tuple[dict[str, list[float]], int]:
    runs: dict[str, list[float]] = {name: [] for name in PHASES}
    batch_sizes: set[int] = set()
    for name in rate_order(rounds):
        # Every phase gets a fresh clone of the same data.
        copy = workdir / "phase.sqlite3"
        remove_database(copy)
        shutil.copyfile(template, copy)
        rate, batch_size = asyncio.run(PHASES[name](copy, due))
        remove_database(copy)
        runs[name].append(rate)
        batch_sizes.add(batch_size)
        progress(f"  {name:<18} {rate:>10,.0f} rows/s")
    if len(batch_sizes) != 1:
        raise RuntimeError(f"phases used different batch sizes: {sorted(batch_sizes)}")
    return runs, batch_sizes.pop()


# -- one backlog size ----------------------------------------------------------------------------


def bench_rows(
    rows: int,
    workdir: Path,
    *,
    due: int,
    rounds: int,
    window_s: float,
    lateness_rows: int,
    running_s: float,
) -> dict[str, Any]:
    origin = int(time.time() * 1000)
    rng = random.Random(SEED)
    backlog = workdir / f"backlog-{rows}.sqlite3"
    rate_template = workdir / f"rate-{rows}.sqlite3"

    progress(f"{rows:,} pending rows: seeding")
    started = time.perf_counter()
    asyncio.run(create_schema(backlog))
    insert_rows(backlog, backlog_rows(rows, origin, rng))
    seed_s = time.perf_counter() - started
    shutil.copyfile(backlog, rate_template)
    insert_rows(rate_template, due_rows(due, origin, rng))
    size_mib = backlog.stat().st_size / MIB
    progress(f"  seeded in {seed_s:.1f} s ({size_mib:.0f} MiB file); {due:,} due rows added")

    progress("  memory, startup and lateness (fresh process)")
    probed = run_probe(backlog, lateness_rows, window_s, running_s)
    remove_database(backlog)

    progress(f"  claim+dispatch rate, {due:,} due rows, order {' '.join(rate_order(rounds))}")
    runs, batch_size = measure_rates(rate_template, workdir, due, rounds)
    remove_database(rate_template)

    best = {name: max(values) for name, values in runs.items()}
    return {
        "seed_s": seed_s,
        "db_file_mib": size_mib,
        **probed,
        "due_rows": due,
        "batch_size": batch_size,
        "rounds": rounds,
        "rate_order": rate_order(rounds),
        "rate_runs": runs,
        "raw_rows_s": best["raw"],
        "scheduler_info_rows_s": best["scheduler_info"],
        "scheduler_warning_rows_s": best["scheduler_warning"],
        "ratio_info": best["scheduler_info"] / best["raw"],
        "ratio_warning": best["scheduler_warning"] / best["raw"],
    }


def verdict(rows: int, figures: dict[str, Any]) -> dict[str, bool]:
    growth = max(
        figures["rss_growth_settled_mib"],
        figures["rss_growth_running_mib"],
        figures["rss_growth_after_lateness_mib"],
    )
    return {
        # The memory target is stated at 1,000,000 rows; smaller backlogs must meet it too.
        "rss": growth < TARGET_RSS_MIB if rows <= TARGET_RSS_AT_ROWS else True,
        "ratio": figures["ratio_info"] >= TARGET_RATIO,
        "lateness": figures["lateness_p99_ms"] < TARGET_P99_MS,
    }


# -- reporting ------------------------------------------------------------------------------------


def print_table(rows: int, figures: dict[str, Any], passed: dict[str, bool]) -> None:
    def ok(flag: bool) -> str:
        return "pass" if flag else "FAIL"

    def runs(name: str) -> str:
        return ", ".join(f"{rate:,.0f}" for rate in figures["rate_runs"][name])

    peak = figures["rss_peak_growth_startup_mib"]
    lines = [
        f"== {rows:,} pending rows (kind 'noop', due over the next 30 days) ==",
        f"  seeding (not part of any figure)     {figures['seed_s']:9.1f} s   "
        f"({figures['db_file_mib']:.0f} MiB file)",
        f"  startup: Scheduler()+start()->settle {figures['startup_ms']:9.1f} ms  "
        f"(construct {figures['build_ms']:.2f} ms)",
        f"  RSS before start()                   {figures['rss_baseline_mib']:9.1f} MiB",
        f"  RSS growth after first settle()      {figures['rss_growth_settled_mib']:9.2f} MiB",
        f"  RSS growth after {figures['running_s']:.0f} s running          "
        f"{figures['rss_growth_running_mib']:9.2f} MiB",
        f"  RSS growth after lateness probe      "
        f"{figures['rss_growth_after_lateness_mib']:9.2f} MiB   "
        f"[target < {TARGET_RSS_MIB:.0f} MiB: {ok(passed['rss'])}]",
        "  peak RSS growth during startup       "
        + ("      n/a" if peak is None else f"{peak:9.2f} MiB"),
        f"  claim+dispatch, {figures['due_rows']:,} rows due now, no-op handler, "
        f"batch {figures['batch_size']}:",
        f"    run order {', '.join(figures['rate_order'])};",
        f"    each run on a fresh copy of the same data; best of {figures['rounds']} reported",
        f"    raw loop (same SQL, same batches)  {figures['raw_rows_s']:9,.0f} rows/s  "
        f"[{runs('raw')}]",
        f"    scheduler, log INFO (discarded)    {figures['scheduler_info_rows_s']:9,.0f} rows/s  "
        f"[{runs('scheduler_info')}]",
        f"    scheduler, log WARNING             "
        f"{figures['scheduler_warning_rows_s']:9,.0f} rows/s  [{runs('scheduler_warning')}]",
        f"    ratio scheduler(INFO)/raw          {figures['ratio_info']:9.2f}       "
        f"[target >= {TARGET_RATIO}: {ok(passed['ratio'])}]",
        f"    ratio scheduler(WARNING)/raw       {figures['ratio_warning']:9.2f}",
        f"  firing lateness, {figures['lateness_rows']:,} rows due within "
        f"{figures['lateness_window_s']:.0f} s (inserted in "
        f"{figures['lateness_insert_ms']:.0f} ms):",
        f"    p50 {figures['lateness_p50_ms']:.2f} ms   p99 {figures['lateness_p99_ms']:.2f} ms   "
        f"max {figures['lateness_max_ms']:.2f} ms   min {figures['lateness_min_ms']:.2f} ms   "
        f"[target p99 < {TARGET_P99_MS:.0f} ms: {ok(passed['lateness'])}]",
        "",
    ]
    print("\n".join(lines), flush=True)


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return value


# -- entry point ----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", help="comma-separated backlog sizes (default 100000,1000000)")
    parser.add_argument("--quick", action="store_true", help="100,000 rows, short phases")
    parser.add_argument("--due", type=int, help="rows due now in the rate phases")
    parser.add_argument("--rounds", type=int, default=2, help="rate rounds (ABC, CBA, ...)")
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--probe-rows", type=int, default=1000, help=argparse.SUPPRESS)
    parser.add_argument("--probe-window", type=float, default=10.0, help=argparse.SUPPRESS)
    parser.add_argument("--probe-running", type=float, default=2.0, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if args.probe is not None:
        figures = asyncio.run(
            probe(args.probe, args.probe_rows, args.probe_window, args.probe_running)
        )
        print(json.dumps(figures))
        return 0

    default_rows = "100000" if args.quick else "100000,1000000"
    sizes = [int(part.replace("_", "")) for part in (args.rows or default_rows).split(",")]
    window_s, running_s = (5.0, 1.0) if args.quick else (10.0, 2.0)

    print(
        f"scheduler benchmark: Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs{', quick' if args.quick else ''}",
        flush=True,
    )
    results: dict[str, Any] = {}
    verdicts: dict[str, dict[str, bool]] = {}
    with tempfile.TemporaryDirectory(prefix="scheduler-bench-") as directory:
        for rows in sizes:
            # Each rate phase should run a few seconds at roughly 20k rows/s.
            due = args.due or (20_000 if args.quick else min(200_000, max(100_000, rows // 5)))
            figures = bench_rows(
                rows,
                Path(directory),
                due=due,
                rounds=args.rounds,
                window_s=window_s,
                lateness_rows=1000,
                running_s=running_s,
            )
            verdicts[str(rows)] = verdict(rows, figures)
            results[str(rows)] = {**figures, "pass": verdicts[str(rows)]}
            print_table(rows, figures, verdicts[str(rows)])

    passed = all(all(flags.values()) for flags in verdicts.values())
    print(f"overall: {'pass' if passed else 'FAIL'}", flush=True)
    summary = {
        "benchmark": "scheduler",
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "quick": args.quick,
        "rows": rounded(results),
        "targets": {
            "rss_growth_mib_below": TARGET_RSS_MIB,
            "rss_target_at_rows": TARGET_RSS_AT_ROWS,
            "scheduler_to_raw_ratio_at_least": TARGET_RATIO,
            "lateness_p99_ms_below": TARGET_P99_MS,
        },
        "pass": passed,
    }
    print(json.dumps(summary, separators=(",", ":")), flush=True)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
