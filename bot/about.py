"""What /about says: the version, where the source is, and how long what is kept stays."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import bot

# The project's public home; shown in /about. A placeholder until the project has one.
SOURCE_URL = "https://github.com/nextround-bot/nextround"
_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def version() -> str:
    """The installed package's version; from a checkout that is not installed, pyproject's."""
    try:
        return metadata.version("nextround")
    except metadata.PackageNotFoundError:
        pass
    try:
        with _PYPROJECT.open("rb") as file:
            return str(tomllib.load(file)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return bot.__version__
