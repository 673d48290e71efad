"""Zones as people type them: parsing, the sign trap, offsets, ranking, the zone menu's list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot import templates
from bot.errors import UserError
from bot.zones import (
    describe,
    follows_summer_time,
    likely_zones,
    offset_name,
    parse_zone,
    read_as,
    resolve,
    suggestions,
)

# Wed 2027-03-24 14:00 UTC: New York is on summer time already, Europe not yet.
NOW = datetime(2027, 3, 24, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Europe/London", "Europe/London"),
        ("europe/london", "Europe/London"),
        ("EUROPE/LONDON", "Europe/London"),
        ("  america/new york ", "America/New_York"),
        ("London", "Europe/London"),
        ("new york", "America/New_York"),
        ("New-York", "America/New_York"),
        ("São Paulo", "America/Sao_Paulo"),
        ("sao paulo", "America/Sao_Paulo"),
        ("buenos aires", "America/Argentina/Buenos_Aires"),
        ("London, UK", "Europe/London"),
        ("Bangalore", "Asia/Kolkata"),
        ("Beijing", "Asia/Shanghai"),
        # Old names are read as the zone they now point to.
        ("Asia/Calcutta", "Asia/Kolkata"),
        ("Kiev", "Europe/Kyiv"),
        ("US/Eastern", "America/New_York"),
        # Countries with one zone, or one most people mean.
        ("India", "Asia/Kolkata"),
        ("Japan", "Asia/Tokyo"),
        ("germany", "Europe/Berlin"),
        ("Spain", "Europe/Madrid"),
        # Abbreviations name a place that follows summer time where it does.
        ("EST", "America/New_York"),
        ("edt", "America/New_York"),
        ("CST", "America/Chicago"),
        ("MST", "America/Denver"),
        ("PST", "America/Los_Angeles"),
        ("PT", "America/Los_Angeles"),
        ("GMT", "Europe/London"),
        ("BST", "Europe/London"),
        ("UK", "Europe/London"),
        ("CET", "Europe/Berlin"),
        ("CEST", "Europe/Berlin"),
        ("EET", "Europe/Athens"),
        ("IST", "Asia/Kolkata"),
        ("JST", "Asia/Tokyo"),
        ("AEST", "Australia/Sydney"),
        ("NZST", "Pacific/Auckland"),
        ("utc", "UTC"),
        ("Z", "UTC"),
        ("Etc/UTC", "UTC"),
    ],
)
def test_names_people_type(typed: str, zone: str) -> None:
    assert parse_zone(typed, NOW).name == zone


@pytest.mark.parametrize(
    ("typed", "stored", "offset"),
    [
        ("GMT+1", "UTC+01:00", timedelta(hours=1)),
        ("UTC+5:30", "UTC+05:30", timedelta(hours=5, minutes=30)),
        ("utc +0530", "UTC+05:30", timedelta(hours=5, minutes=30)),
        ("UTC-3", "UTC-03:00", timedelta(hours=-3)),
        ("UTC−3", "UTC-03:00", timedelta(hours=-3)),  # a typographic minus
        ("+9", "UTC+09:00", timedelta(hours=9)),
        ("GMT+0", "UTC", timedelta(0)),
        ("UTC+14", "UTC+14:00", timedelta(hours=14)),
        ("UTC-12", "UTC-12:00", timedelta(hours=-12)),
        # The POSIX names count the other way; kept with their real meaning, stored plainly.
        ("Etc/GMT+1", "UTC-01:00", timedelta(hours=-1)),
        ("etc/gmt-5", "UTC+05:00", timedelta(hours=5)),
    ],
)
def test_offsets_as_a_person_means_them(typed: str, stored: str, offset: timedelta) -> None:
    name = parse_zone(typed, NOW).name
    assert name == stored
    assert NOW.astimezone(resolve(name)).utcoffset() == offset


@pytest.mark.parametrize("typed", ["UTC+15", "GMT-13", "UTC+5:75"])
def test_offsets_no_place_uses_are_refused(typed: str) -> None:
    with pytest.raises(UserError, match="offsets go from"):
        parse_zone(typed, NOW)


def test_refusals_say_what_to_type_instead() -> None:
    with pytest.raises(UserError) as unknown:
        parse_zone("Mars/Olympus", NOW)
    assert unknown.value.message == templates.BAD_TIMEZONE.format(zone="Mars/Olympus")
    with pytest.raises(UserError, match="Did you mean Europe/London"):
        parse_zone("Lond", NOW)
    with pytest.raises(UserError, match="United States has several time zones") as country:
        parse_zone("United States", NOW)
    assert "New York" in country.value.message
    with pytest.raises(UserError):
        parse_zone("   ", NOW)


def test_what_was_read_is_shown_with_its_offset_and_local_time() -> None:
    est = parse_zone("EST", NOW)
    assert read_as(est) == "EST → America/New_York"
    assert read_as(parse_zone("America/New_York", NOW)) is None
    assert read_as(parse_zone("europe/london", NOW)) is None  # only the case differed
    assert read_as(parse_zone("new york", NOW)) is None  # the zone's own city
    assert read_as(parse_zone("Bombay", NOW)) == "Bombay → Asia/Kolkata"
    assert describe(est.name, NOW) == (
        "America/New_York (UTC−04:00, now 10:00, follows summer time)"
    )
    assert describe("Asia/Kolkata", NOW) == "Asia/Kolkata (UTC+05:30, now 19:30, no summer time)"
    assert describe("UTC+05:30", NOW) == "UTC+05:30 (now 19:30; a fixed offset, no summer time)"
    assert follows_summer_time("Europe/London", 2027)
    assert not follows_summer_time("UTC-03:00", 2027)


def test_stored_names_resolve_and_unknown_ones_fall_back_to_utc() -> None:
    assert resolve(None) is UTC
    assert resolve("Not/AZone") is UTC
    assert NOW.astimezone(resolve("UTC-03:30")).utcoffset() == timedelta(hours=-3, minutes=-30)
    assert str(resolve("Europe/London")) == "Europe/London"
    assert offset_name(timedelta(hours=-9, minutes=-30)) == "UTC-09:30"
    assert offset_name(timedelta(0)) == "UTC"


def names(typed: str, locale: str | None = None) -> list[str]:
    return [found.name for found in suggestions(typed, NOW, locale=locale)]


def test_suggestions_rank_what_was_meant_first() -> None:
    assert names("GMT+1")[0] == "UTC+01:00"
    # Then the places on that offset now, which follow summer time for people there.
    assert {"Europe/Berlin", "Europe/Paris", "Africa/Lagos"} <= set(names("GMT+1")[1:8])
    assert names("UTC+5:30")[:2] == ["UTC+05:30", "Asia/Kolkata"]
    assert names("EST") == ["America/New_York"]  # not Budapest or Creston
    assert names("CST")[:2] == ["America/Chicago", "Asia/Shanghai"]
    assert names("IST")[:3] == ["Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"]
    assert names("new york")[0] == "America/New_York"
    assert names("new")[0] == "America/New_York"  # a well-known zone before New Salem
    assert names("lon")[0] == "Europe/London"
    assert names("europe/lon")[0] == "Europe/London"
    assert names("york") == ["America/New_York"]
    assert names("brazil")[0] == "America/Sao_Paulo"
    assert "America/Manaus" in names("brazil")
    assert len(names("a")) == 25
    for typed in ("GMT+1", "gmt", "etc", "UTC-5", "a"):
        assert not any(name.startswith("Etc/") for name in names(typed)), typed


def test_suggestion_labels_show_the_reading_and_the_time_now() -> None:
    (est,) = suggestions("EST", NOW)
    assert est.label == "EST → America/New_York — now 10:00, UTC−04:00, follows summer time"
    assert suggestions("GMT+1", NOW)[0].label == "GMT+1 → UTC+01:00 — now 15:00, no summer time"
    assert suggestions("london", NOW)[0].label.startswith("Europe/London — now 14:00")
    assert all(len(found.label) <= 100 for found in suggestions("a", NOW))


def test_an_empty_search_and_the_zone_menu_follow_the_language() -> None:
    assert names("", locale="de")[:3] == ["Europe/Berlin", "Europe/Vienna", "Europe/Zurich"]
    assert names("", locale="en-US")[0] == "America/New_York"
    assert likely_zones("pt-BR")[0] == "America/Sao_Paulo"
    assert likely_zones("ja") == [
        "Asia/Tokyo",
        "America/New_York",
        "Europe/London",
        "Asia/Kolkata",
        "America/Los_Angeles",
    ]
    assert len(likely_zones("en-US")) == 6
    assert likely_zones(None)[0] == "America/New_York"
    for locale in ("en-US", "en-GB", "de", "es-419", "zh-CN", "xx"):
        for zone in likely_zones(locale):
            assert parse_zone(zone, NOW).name == zone
