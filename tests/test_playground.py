"""The README's "Try it without Discord" transcript, run as written: the README cannot drift.

Lines the README shows after a prompt (`alice> …`) are typed into the tool; everything else it
shows must come out, in order, where a line `...` stands for any number of lines.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parent.parent
MARKER = "<!-- the transcript below is run as a test"
PROMPT_NAMES = ("alice> ", "bob> ", "admin> ")


def readme_transcript() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    after = text.split(MARKER, 1)[1]
    block = after.split("```text\n", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    assert lines[0] == "$ .venv/bin/python -m tests.playground"
    return lines[1:]


def matches(expected: list[str], actual: list[str]) -> str | None:
    """None when `actual` is `expected` with each `...` standing for any lines; else why not."""
    position = 0
    pending_gap = False
    for wanted in expected:
        if wanted.strip() == "...":
            pending_gap = True
            continue
        if pending_gap:
            while position < len(actual) and actual[position] != wanted:
                position += 1
        if position >= len(actual) or actual[position] != wanted:
            got = actual[position] if position < len(actual) else "(the end)"
            return f"expected {wanted!r}, got {got!r}"
        position += 1
        pending_gap = False
    if not pending_gap and position != len(actual):
        return f"more output than the README shows, from {actual[position]!r}"
    return None


async def test_the_readme_transcript_is_what_the_tool_prints(tmp_path: Path) -> None:
    expected = readme_transcript()
    typed = [line.split("> ", 1)[1] for line in expected if line.startswith(PROMPT_NAMES)]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.playground",
        "--db",
        str(tmp_path / "nextround.sqlite3"),
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(
        process.communicate(("\n".join(typed) + "\n").encode()), timeout=50
    )
    actual = output.decode().splitlines()
    assert process.returncode == 0, output.decode()
    problem = matches(expected, actual)
    assert problem is None, problem + "\n\n" + output.decode()


def test_the_matcher_reads_gaps() -> None:
    assert matches(["a", "...", "d"], ["a", "b", "c", "d"]) is None
    assert matches(["a", "..."], ["a", "b"]) is None
    assert matches(["a", "c"], ["a", "b"]) is not None
    assert matches(["a"], ["a", "b"]) is not None
