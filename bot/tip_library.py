"""The shipped library of "Interview Tip of the Week" posts.

Tips live in ``data/tips.toml`` so that contributors can add or improve them
without touching Python. Because that file is edited by hand, it is validated
in full when the bot starts: a typo, an over-long body, an unknown tag or a
duplicate id stops startup with an error that names the file, the tip and the
exact problem, instead of surfacing weeks later as a broken or missing post.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

TITLE_MAX = 80
BODY_MIN = 300
BODY_MAX = 1200
ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "preparation",
        "during-the-interview",
        "after-a-rejection",
        "feedback",
        "follow-up",
        "mindset",
        "applications",
        "networking",
        "negotiation",
        "remote",
    }
)

_REQUIRED_KEYS: tuple[str, ...] = ("id", "title", "tags", "body")
_PACKAGE = "bot"
# Project root in a source checkout or editable install: <root>/bot/tip_library.py.
_PROJECT_ROOT = Path(__file__).resolve().parent.parent
_REPO_LIBRARY = _PROJECT_ROOT / "data" / "tips.toml"


@dataclass(frozen=True, slots=True)
class Tip:
    """One tip. Shipped tips have ids "1", "2", ...; server-added tips use other ids."""

    id: str
    title: str
    body: str
    tags: tuple[str, ...]


class TipLibraryError(Exception):
    """The tip library is missing, unreadable or invalid; the message says where and why."""


def parse_tip_library(text: str, source: str) -> tuple[Tip, ...]:
    """Parse and validate the TOML text of a tip library.

    ``source`` is only used in error messages, so it should be whatever a
    contributor needs to find the file (for example ``data/tips.toml``).
    Returns the tips in file order; raises ``TipLibraryError`` on the first problem.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TipLibraryError(f"{source}: not valid TOML: {exc}") from exc

    # A stray top-level key is usually a field written above the first [[tip]],
    # which TOML would otherwise silently attach to the document instead of a tip.
    unknown_top = sorted(key for key in document if key != "tip")
    if unknown_top:
        raise TipLibraryError(
            f"{source}: unknown top-level key(s) {_quote_all(unknown_top)}; "
            "only [[tip]] tables are allowed"
        )
    raw_tips = document.get("tip")
    if raw_tips is None:
        raise TipLibraryError(f"{source}: no tips found; add at least one [[tip]] table")
    if not isinstance(raw_tips, list) or not all(isinstance(t, dict) for t in raw_tips):
        raise TipLibraryError(f"{source}: 'tip' must be an array of tables written as [[tip]]")
    if not raw_tips:
        raise TipLibraryError(f"{source}: no tips found; add at least one [[tip]] table")

    tips: list[Tip] = []
    seen_ids: dict[str, int] = {}
    for position, raw in enumerate(raw_tips, start=1):
        tip = _parse_tip(raw, position, source)
        if tip.id in seen_ids:
            raise TipLibraryError(
                f"{source}: {_where(position, tip.id)}: duplicate id; "
                f"tip #{seen_ids[tip.id]} already uses it"
            )
        seen_ids[tip.id] = position
        tips.append(tip)
    return tuple(tips)


def default_library_path() -> Path:
    """Locate the shipped ``tips.toml``, independent of the working directory.

    A built wheel carries the file inside the package (``bot/data/tips.toml``);
    a source checkout or editable install keeps it at ``<root>/data/tips.toml``.
    The packaged location is checked first so an installed bot never picks up
    an unrelated checkout.
    """
    candidates: list[Path] = []
    try:
        packaged = resources.files(_PACKAGE) / "data" / "tips.toml"
    except (ModuleNotFoundError, TypeError):
        packaged = None
    # Only a real file path can be returned as a Path (not, say, a zip member).
    if isinstance(packaged, Path):
        candidates.append(packaged)
    candidates.append(_REPO_LIBRARY)

    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise TipLibraryError(f"tips.toml not found; looked in: {looked}")


def load_tip_library(path: Path | None = None) -> tuple[Tip, ...]:
    """Read and validate a tip library; by default the one shipped with the bot."""
    if path is None:
        path = default_library_path()
    try:
        stat = path.stat()
    except OSError as exc:
        raise TipLibraryError(f"{_display_name(path)}: cannot read file: {exc}") from exc
    # Parsed once per version of the file: every bot started in a process shares it.
    return _load(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int, size: int) -> tuple[Tip, ...]:
    source = _display_name(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TipLibraryError(f"{source}: cannot read file: {exc}") from exc
    return parse_tip_library(text, source)


def _parse_tip(raw: dict[str, Any], position: int, source: str) -> Tip:
    raw_id = raw.get("id")
    # Name the tip by its id when it has a usable one, so errors are easy to find.
    where = _where(position, raw_id if isinstance(raw_id, str) else None)

    def fail(problem: str) -> TipLibraryError:
        return TipLibraryError(f"{source}: {where}: {problem}")

    unknown = sorted(key for key in raw if key not in _REQUIRED_KEYS)
    if unknown:
        raise fail(
            f"unknown key(s) {_quote_all(unknown)}; allowed keys are {_quote_all(_REQUIRED_KEYS)}"
        )
    missing = [key for key in _REQUIRED_KEYS if key not in raw]
    if missing:
        raise fail(f"missing required key(s) {_quote_all(missing)}")

    tip_id = raw["id"]
    if not isinstance(tip_id, str):
        raise fail(f'id must be a string such as "{position}", not {_toml_type(tip_id)}')
    # ASCII digits with no leading zero, so "7", "07" and "٧" can never be different ids.
    if not (tip_id.isascii() and tip_id.isdigit() and not tip_id.startswith("0")):
        raise fail(f'id must be a positive whole number written as a string, such as "{position}"')

    title = raw["title"]
    if not isinstance(title, str):
        raise fail(f"title must be a string, not {_toml_type(title)}")
    title = title.strip()
    if not title:
        raise fail("title is empty")
    if "\n" in title or "\r" in title:
        raise fail("title must be a single line")
    if len(title) > TITLE_MAX:
        raise fail(f"title is {len(title)} characters; the limit is {TITLE_MAX}")

    body = raw["body"]
    if not isinstance(body, str):
        raise fail(f"body must be a string, not {_toml_type(body)}")
    # Multi-line strings carry a newline before the closing quotes; it is not content.
    body = body.strip()
    if len(body) < BODY_MIN:
        raise fail(f"body is {len(body)} characters; the minimum is {BODY_MIN}")
    if len(body) > BODY_MAX:
        raise fail(f"body is {len(body)} characters; the limit is {BODY_MAX}")

    tags = raw["tags"]
    if not isinstance(tags, list):
        raise fail(f"tags must be an array of strings, not {_toml_type(tags)}")
    if not tags:
        raise fail("tags is empty; give at least one tag")
    for tag in tags:
        if not isinstance(tag, str):
            raise fail(f"tags must contain only strings, found {_toml_type(tag)}")
        if tag not in ALLOWED_TAGS:
            raise fail(f'unknown tag "{tag}"; allowed tags are {_quote_all(sorted(ALLOWED_TAGS))}')
    duplicates = sorted({tag for tag in tags if tags.count(tag) > 1})
    if duplicates:
        raise fail(f"duplicate tag(s) {_quote_all(duplicates)}")

    return Tip(id=tip_id, title=title, body=body, tags=tuple(tags))


def _where(position: int, tip_id: str | None) -> str:
    # Position is 1-based in file order, which is what a contributor counts.
    return f'tip #{position} (id "{tip_id}")' if tip_id else f"tip #{position}"


def _quote_all(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def _toml_type(value: object) -> str:
    # Describe values in TOML's vocabulary, since that is what contributors write.
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date or time"


def _display_name(path: Path) -> str:
    # Show the shipped file as "data/tips.toml" (as contributors know it) and
    # anything else in full, so the message always points at the right file.
    resolved = path.resolve()
    if resolved.is_relative_to(_PROJECT_ROOT):
        return resolved.relative_to(_PROJECT_ROOT).as_posix()
    return str(path)
