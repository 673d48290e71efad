"""Shipped data (tips, migrations) loads the same from a built wheel as from the checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bot.db.connection import load_migrations
from bot.tip_library import default_library_path, load_tip_library

REPO = Path(__file__).resolve().parent.parent

PROBE = """
import json, bot, bot.tip_library as tips
from bot.db.connection import load_migrations
print(json.dumps({
    "bot": bot.__file__,
    "library": str(tips.default_library_path()),
    "tips": len(tips.load_tip_library()),
    "migrations": {
        dialect: [version for version, _, _ in load_migrations(dialect)]
        for dialect in ("sqlite", "postgresql")
    },
}))
"""


def test_editable_checkout_loads_shipped_data() -> None:
    assert default_library_path().is_file()
    assert len(load_tip_library()) >= 52
    for dialect in ("sqlite", "postgresql"):
        # Both backends at the same versions: a database moves from one to the other.
        assert [version for version, _, _ in load_migrations(dialect)] == list(
            range(1, len(load_migrations("sqlite")) + 1)
        )


@pytest.mark.timeout(120)
def test_built_wheel_carries_tips_and_migrations(tmp_path: Path) -> None:
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
        ],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp_path / "dist").glob("nextround-*.whl")
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(unpacked)
    assert "bot/data/tips.toml" in names
    for dialect in ("sqlite", "postgresql"):
        assert any(name.startswith(f"bot/db/migrations/{dialect}/0001_") for name in names)
    assert not any(name.startswith("tests/") for name in names)
    probe = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**os.environ, "PYTHONPATH": str(unpacked)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    assert found["bot"].startswith(str(unpacked))
    assert found["library"].startswith(str(unpacked))
    assert found["tips"] == len(load_tip_library())
    assert found["migrations"] == {
        dialect: [version for version, _, _ in load_migrations(dialect)]
        for dialect in ("sqlite", "postgresql")
    }
