"""Tests for the shipped tip library and the rules its loader enforces."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.tip_library import (
    ALLOWED_TAGS,
    BODY_MAX,
    BODY_MIN,
    TITLE_MAX,
    Tip,
    TipLibraryError,
    default_library_path,
    load_tip_library,
    parse_tip_library,
)

SOURCE = "test-tips.toml"
# A readable body comfortably inside the limits (27 characters x 20 = 540).
GOOD_BODY = "Practise one answer aloud. " * 20


def tip_toml(**overrides: str | None) -> str:
    """One [[tip]] table; each value is raw TOML, and None leaves the key out."""
    fields: dict[str, str | None] = {
        "id": '"2"',
        "title": '"Ask for feedback"',
        "tags": '["feedback"]',
        "body": f'"""\n{GOOD_BODY}\n"""',
    }
    fields.update(overrides)
    lines = [f"{key} = {value}" for key, value in fields.items() if value is not None]
    return "[[tip]]\n" + "\n".join(lines) + "\n"


# A valid first tip, so errors in the second one must name tip #2.
FIRST = tip_toml(id='"1"')


# --- The shipped library -------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> tuple[Tip, ...]:
    return load_tip_library()


def test_shipped_library_has_over_a_year_of_tips(shipped: tuple[Tip, ...]) -> None:
    assert len(shipped) >= 52


def test_shipped_tips_are_within_limits(shipped: tuple[Tip, ...]) -> None:
    assert len({tip.id for tip in shipped}) == len(shipped)
    for tip in shipped:
        assert 0 < len(tip.title) <= TITLE_MAX, tip.id
        assert BODY_MIN <= len(tip.body) <= BODY_MAX, tip.id
        assert tip.body == tip.body.strip(), tip.id
        assert tip.tags and set(tip.tags) <= ALLOWED_TAGS, tip.id
        assert len(set(tip.tags)) == len(tip.tags), tip.id


def test_shipped_ids_are_contiguous_from_one(shipped: tuple[Tip, ...]) -> None:
    # Not a loader rule: it is simply how the library ships today. If a tip is
    # ever retired, its id must stay unused, and this test should then be relaxed.
    assert [tip.id for tip in shipped] == [str(n) for n in range(1, len(shipped) + 1)]


def test_default_path_does_not_depend_on_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = default_library_path()
    assert path.is_absolute() and path.is_file()
    assert path.name == "tips.toml"
    assert load_tip_library()


# --- Parsing and validation ------------------------------------------------------


def test_valid_library_parses_and_strips() -> None:
    text = FIRST + tip_toml(title='"  Padded title  "', tags='["mindset", "remote"]')
    tips = parse_tip_library(text, SOURCE)
    assert [tip.id for tip in tips] == ["1", "2"]
    assert tips[1] == Tip(
        id="2", title="Padded title", body=GOOD_BODY.strip(), tags=("mindset", "remote")
    )


def test_limits_are_inclusive() -> None:
    title = "t" * TITLE_MAX
    shortest = tip_toml(id='"1"', title=f'"{title}"', body=f'"""\n{"b" * BODY_MIN}\n"""')
    longest = tip_toml(id='"2"', body=f'"""\n{"b" * BODY_MAX}\n"""')
    tips = parse_tip_library(shortest + longest, SOURCE)
    assert len(tips[0].title) == TITLE_MAX
    assert [len(tip.body) for tip in tips] == [BODY_MIN, BODY_MAX]


def test_error_message_names_file_tip_and_problem() -> None:
    text = FIRST + tip_toml(id='"14"', body=f'"""\n{"b" * 1304}\n"""')
    with pytest.raises(TipLibraryError) as excinfo:
        parse_tip_library(text, "data/tips.toml")
    assert str(excinfo.value) == (
        'data/tips.toml: tip #2 (id "14"): body is 1304 characters; the limit is 1200'
    )


BAD_LIBRARIES = [
    # (case, TOML text, expected fragment of the message after the source name)
    ("invalid toml", FIRST + "title = = 3\n", "not valid TOML"),
    ("empty file", "", "no tips found"),
    ("empty tip array", "tip = []\n", "no tips found"),
    ("tip is not a table array", 'tip = "hello"\n', "array of tables"),
    ("unknown top-level key", 'title = "stray"\n' + FIRST, 'unknown top-level key(s) "title"'),
    ("unknown key", FIRST + tip_toml(author='"me"'), 'tip #2 (id "2"): unknown key(s) "author"'),
    ("missing key", FIRST + tip_toml(tags=None), 'tip #2 (id "2"): missing required key(s) "tags"'),
    ("id not a string", FIRST + tip_toml(id="2"), "tip #2: id must be a string"),
    ("id zero", FIRST + tip_toml(id='"0"'), "id must be a positive whole number"),
    ("id leading zero", FIRST + tip_toml(id='"02"'), "id must be a positive whole number"),
    ("id not numeric", FIRST + tip_toml(id='"s3"'), "id must be a positive whole number"),
    ("id negative", FIRST + tip_toml(id='"-2"'), "id must be a positive whole number"),
    ("id empty", FIRST + tip_toml(id='""'), "tip #2: id must be a positive whole number"),
    ("duplicate id", FIRST + tip_toml(id='"1"'), 'tip #2 (id "1"): duplicate id; tip #1'),
    ("title not a string", FIRST + tip_toml(title="7"), "title must be a string"),
    ("title blank", FIRST + tip_toml(title='"   "'), "title is empty"),
    (
        "title too long",
        FIRST + tip_toml(title=f'"{"t" * (TITLE_MAX + 1)}"'),
        f"title is {TITLE_MAX + 1} characters; the limit is {TITLE_MAX}",
    ),
    ("title two lines", FIRST + tip_toml(title='"One\\nTwo"'), "title must be a single line"),
    ("body not a string", FIRST + tip_toml(body="[1, 2]"), "body must be a string"),
    (
        "body too short",
        # The surrounding newlines do not count towards the length.
        FIRST + tip_toml(body=f'"""\n{"b" * (BODY_MIN - 1)}\n\n"""'),
        f"body is {BODY_MIN - 1} characters; the minimum is {BODY_MIN}",
    ),
    (
        "body too long",
        FIRST + tip_toml(body=f'"""\n{"b" * (BODY_MAX + 1)}\n"""'),
        f"body is {BODY_MAX + 1} characters; the limit is {BODY_MAX}",
    ),
    ("tags not an array", FIRST + tip_toml(tags='"mindset"'), "tags must be an array"),
    ("tags empty", FIRST + tip_toml(tags="[]"), "tags is empty"),
    ("tag not a string", FIRST + tip_toml(tags="[3]"), "tags must contain only strings"),
    ("unknown tag", FIRST + tip_toml(tags='["interviews"]'), 'unknown tag "interviews"'),
    (
        "duplicate tag",
        FIRST + tip_toml(tags='["mindset", "feedback", "mindset"]'),
        'duplicate tag(s) "mindset"',
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [case[1:] for case in BAD_LIBRARIES],
    ids=[case[0] for case in BAD_LIBRARIES],
)
def test_invalid_library_is_rejected_with_a_precise_message(text: str, expected: str) -> None:
    with pytest.raises(TipLibraryError) as excinfo:
        parse_tip_library(text, SOURCE)
    message = str(excinfo.value)
    assert message.startswith(f"{SOURCE}: ")
    assert expected in message


# --- Loading from a file ---------------------------------------------------------


def test_load_reports_the_file_it_read(tmp_path: Path) -> None:
    path = tmp_path / "tips.toml"
    path.write_text(FIRST + tip_toml(tags='["interviews"]'), encoding="utf-8")
    with pytest.raises(TipLibraryError, match="unknown tag") as excinfo:
        load_tip_library(path)
    assert str(excinfo.value).startswith(f"{path}: ")


def test_load_missing_file_raises_library_error(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    with pytest.raises(TipLibraryError, match="cannot read file"):
        load_tip_library(path)
