"""Text that shows nothing counts as empty; the ends of stored text lose what shows nothing."""

from __future__ import annotations

import pytest

from bot.entries import clean_optional, clean_required
from bot.errors import UserError
from bot.text import has_visible_character, visible_text
from bot.tips import clean_tip_text

# Each shows nothing on its own in Discord's clients.
INVISIBLE = [
    "\u200b",  # zero width space
    "\u200c",  # zero width non-joiner
    "\u200d",  # zero width joiner
    "\u200e",  # left-to-right mark
    "\ufeff",  # byte order mark
    "\u00ad",  # soft hyphen
    "\u2060",  # word joiner
    "\u2061",
    "\u2062",
    "\u2063",
    "\u2064",
    "\u180e",  # Mongolian vowel separator
    "\u2800",  # braille pattern blank
    "\u3164",  # Hangul filler
    "\u115f",  # Hangul choseong filler
    "\u1160",  # Hangul jungseong filler
    "\uffa0",  # halfwidth Hangul filler
    "\u3000",  # ideographic space
    "\t \n",
]
# These belong to the character before them, so they show nothing only with nothing before.
MODIFIERS = [
    "\u034f",  # combining grapheme joiner
    "\ufe0f",  # variation selector-16
    "\u0301",  # a combining accent
    "\U000e0041",  # a tag character
]


@pytest.mark.parametrize("char", INVISIBLE + MODIFIERS)
def test_text_of_only_invisible_characters_has_nothing_visible(char: str) -> None:
    assert not has_visible_character(char * 3)
    assert visible_text(char * 3) == ""
    assert visible_text("\u200b\u200d\ufeff" + char) == ""


@pytest.mark.parametrize("char", INVISIBLE)
def test_invisible_characters_at_the_ends_go(char: str) -> None:
    assert visible_text(f"{char}\u200bAcme{char}") == "Acme"


@pytest.mark.parametrize("char", MODIFIERS)
def test_a_modifier_goes_at_the_start_and_stays_with_its_character_at_the_end(char: str) -> None:
    assert visible_text(f"{char}Acme{char}") == f"Acme{char}"


@pytest.mark.parametrize(
    "text",
    [
        "Acme",
        "\u0600\u0661",  # an Arabic number sign before its digit shows
        "\U0001f469\u200d\U0001f4bb",  # woman technologist: a joiner inside an emoji
        "Caf\u00e9",
        "Cafe\u0301",  # the accent sits on the e and stays
        "I \u2764\ufe0f",  # the variation selector makes the heart an emoji and stays
        "1\ufe0f\u20e3",  # keycap one
        "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # Scotland
        "\U0001fae8",  # an emoji newer than some Unicode databases
    ],
)
def test_visible_text_is_kept_exactly(text: str) -> None:
    assert has_visible_character(text)
    assert visible_text(text) == text


def test_inside_text_is_untouched() -> None:
    assert visible_text(" a\u200bb ") == "a\u200bb"
    assert visible_text("Acme \u0301") == "Acme"  # an accent on trailing space goes with it


def test_required_and_optional_fields_treat_invisible_text_as_empty() -> None:
    with pytest.raises(UserError, match="Please fill in `company:`"):
        clean_required("\u200b\u200d\ufeff", "`company:`", 100)
    assert clean_required("\u2800 Acme \u3164", "company name", 100) == "Acme"
    assert clean_optional("\u115f\u1160\uffa0", "role", 100) is None
    assert clean_optional("\u2060Designer\u2064", "role", 100) == "Designer"


def test_tip_title_and_body_treat_invisible_text_as_empty() -> None:
    with pytest.raises(UserError, match="title can't be empty"):
        clean_tip_text("\u200b\u2800", "A tip body that is long enough to keep.")
    with pytest.raises(UserError, match="must be 20"):
        clean_tip_text("A title", "\u3164" * 30)
    assert clean_tip_text(
        "\ufeffA  title\u200b", "\u2800A tip body that is long enough.\u200b"
    ) == (
        "A title",
        "A tip body that is long enough.",
    )
