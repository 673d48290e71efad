"""Time zones as people type them, and the one place a stored zone becomes a `tzinfo`.

A zone is stored as one canonical string: an IANA name (`Europe/London`) or a fixed offset
(`UTC+05:30`, `UTC-03:00`; `UTC` for zero). People type other things: `london`, `New York`,
`europe/london`, `EST`, `UK`, `GMT+1`, `UTC+5:30`, `India`. `parse_zone` reads those the way
the person means them and says what it read (`EST → America/New_York`); `suggestions` ranks
autocomplete choices with what was meant first; `resolve` turns a stored string into a
`tzinfo`.

Pure: no Discord, no database. The zone lists come from the shipped tz database (`tzdata`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import cache, lru_cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot import templates
from bot.errors import UserError

UTC_NAME = "UTC"
MAX_TYPED = 60  # of what a person typed, quoted back in a refusal
OFFSET_MIN = timedelta(hours=-12)
OFFSET_MAX = timedelta(hours=14)

# What people write for a zone: the zone we choose and, for the ambiguous ones, the others the
# autocomplete also offers. A person in the US typing EST in July still means New York's clock,
# so abbreviations name the place (which follows summer time), never a fixed offset.
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "est": ("America/New_York",),
    "edt": ("America/New_York",),
    "et": ("America/New_York",),
    "eastern": ("America/New_York",),
    "cst": ("America/Chicago", "Asia/Shanghai", "America/Havana"),
    "cdt": ("America/Chicago",),
    "ct": ("America/Chicago",),
    "central": ("America/Chicago",),
    "mst": ("America/Denver", "America/Phoenix"),
    "mdt": ("America/Denver",),
    "mt": ("America/Denver",),
    "mountain": ("America/Denver",),
    "pst": ("America/Los_Angeles", "Asia/Manila"),
    "pdt": ("America/Los_Angeles",),
    "pt": ("America/Los_Angeles",),
    "pacific": ("America/Los_Angeles",),
    "akst": ("America/Anchorage",),
    "akdt": ("America/Anchorage",),
    "hst": ("Pacific/Honolulu",),
    "ast": ("America/Halifax", "Asia/Riyadh"),
    "adt": ("America/Halifax",),
    "nst": ("America/St_Johns",),
    "ndt": ("America/St_Johns",),
    "gmt": ("Europe/London", UTC_NAME),
    "bst": ("Europe/London", "Asia/Dhaka"),
    "uk": ("Europe/London",),
    "gb": ("Europe/London",),
    "wet": ("Europe/Lisbon",),
    "west": ("Europe/Lisbon",),
    "cet": ("Europe/Berlin", "Europe/Paris"),
    "cest": ("Europe/Berlin", "Europe/Paris"),
    "mez": ("Europe/Berlin",),
    "eet": ("Europe/Athens", "Europe/Helsinki", "Europe/Kyiv"),
    "eest": ("Europe/Athens", "Europe/Helsinki", "Europe/Kyiv"),
    "msk": ("Europe/Moscow",),
    "ist": ("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"),
    "pkt": ("Asia/Karachi",),
    "wib": ("Asia/Jakarta",),
    "sgt": ("Asia/Singapore",),
    "hkt": ("Asia/Hong_Kong",),
    "pht": ("Asia/Manila",),
    "jst": ("Asia/Tokyo",),
    "kst": ("Asia/Seoul",),
    "awst": ("Australia/Perth",),
    "acst": ("Australia/Adelaide", "Australia/Darwin"),
    "acdt": ("Australia/Adelaide",),
    "aest": ("Australia/Sydney", "Australia/Brisbane"),
    "aedt": ("Australia/Sydney",),
    "nzst": ("Pacific/Auckland",),
    "nzdt": ("Pacific/Auckland",),
    "sast": ("Africa/Johannesburg",),
    "wat": ("Africa/Lagos",),
    "cat": ("Africa/Maputo",),
    "eat": ("Africa/Nairobi",),
    "brt": ("America/Sao_Paulo",),
    "art": ("America/Argentina/Buenos_Aires",),
    "utc": (UTC_NAME,),
    "z": (UTC_NAME,),
    "zulu": (UTC_NAME,),
}
# Big cities the tz database does not name (it names one city per region).
CITY_ALIASES: dict[str, str] = {
    "beijing": "Asia/Shanghai",
    "shenzhen": "Asia/Shanghai",
    "mumbai": "Asia/Kolkata",
    "bombay": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata",
    "bengaluru": "Asia/Kolkata",
    "hyderabad": "Asia/Kolkata",
    "chennai": "Asia/Kolkata",
    "pune": "Asia/Kolkata",
    "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "portland": "America/Los_Angeles",
    "san diego": "America/Los_Angeles",
    "boston": "America/New_York",
    "washington": "America/New_York",
    "washington dc": "America/New_York",
    "philadelphia": "America/New_York",
    "atlanta": "America/New_York",
    "miami": "America/New_York",
    "austin": "America/Chicago",
    "dallas": "America/Chicago",
    "houston": "America/Chicago",
    "minneapolis": "America/Chicago",
    "salt lake city": "America/Denver",
    "vancouver": "America/Vancouver",
    "montreal": "America/Toronto",
    "ottawa": "America/Toronto",
    "manchester": "Europe/London",
    "edinburgh": "Europe/London",
    "birmingham": "Europe/London",
    "munich": "Europe/Berlin",
    "frankfurt": "Europe/Berlin",
    "hamburg": "Europe/Berlin",
    "cologne": "Europe/Berlin",
    "barcelona": "Europe/Madrid",
    "milan": "Europe/Rome",
    "geneva": "Europe/Zurich",
    "krakow": "Europe/Warsaw",
    "saint petersburg": "Europe/Moscow",
    "st petersburg": "Europe/Moscow",
    "osaka": "Asia/Tokyo",
    "rio de janeiro": "America/Sao_Paulo",
    "cape town": "Africa/Johannesburg",
    "abuja": "Africa/Lagos",
    "tel aviv": "Asia/Jerusalem",
    "dubai": "Asia/Dubai",
    "abu dhabi": "Asia/Dubai",
    "hanoi": "Asia/Bangkok",
    "saigon": "Asia/Ho_Chi_Minh",
    "canberra": "Australia/Sydney",
    "wellington": "Pacific/Auckland",
    "kiev": "Europe/Kyiv",
}
# A country with several zones, where one clearly is the one most people mean.
COUNTRY_MAIN_ZONE = {
    "CN": "Asia/Shanghai",
    "ES": "Europe/Madrid",
    "PT": "Europe/Lisbon",
    "UA": "Europe/Kyiv",
    "CL": "America/Santiago",
    "EC": "America/Guayaquil",
    "NZ": "Pacific/Auckland",
    "DE": "Europe/Berlin",
    "MY": "Asia/Kuala_Lumpur",
}
COUNTRY_ALIASES = {
    "usa": "US",
    "us": "US",
    "united states of america": "US",
    "america": "US",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "britain": "GB",
    "great britain": "GB",
    "united kingdom": "GB",
    "south korea": "KR",
    "korea": "KR",
    "north korea": "KP",
    "czechia": "CZ",
    "holland": "NL",
    "the netherlands": "NL",
    "uae": "AE",
    "russia": "RU",
}
# Asked most; they rank first among equal matches and fill an empty search.
POPULAR = (
    "America/New_York",
    "Europe/London",
    "America/Los_Angeles",
    "America/Chicago",
    "Europe/Berlin",
    "Asia/Kolkata",
    "America/Denver",
    "Europe/Paris",
    "America/Toronto",
    "America/Sao_Paulo",
    "America/Mexico_City",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Asia/Shanghai",
    "Africa/Lagos",
    "Europe/Madrid",
    "Europe/Amsterdam",
    "Asia/Manila",
    "Africa/Johannesburg",
)
# Discord sends the client's language with every interaction; the zones its speakers most
# often live in. `en-US` is also the language many people elsewhere never change, hence the
# far-away entries.
LOCALE_ZONES: dict[str, tuple[str, ...]] = {
    "en-US": (
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
        "Europe/London",
        "Asia/Kolkata",
    ),
    "en-GB": (
        "Europe/London",
        "Europe/Dublin",
        "Europe/Berlin",
        "Asia/Kolkata",
        "Australia/Sydney",
        "Pacific/Auckland",
    ),
    "bg": ("Europe/Sofia",),
    "cs": ("Europe/Prague",),
    "da": ("Europe/Copenhagen",),
    "de": ("Europe/Berlin", "Europe/Vienna", "Europe/Zurich"),
    "el": ("Europe/Athens", "Asia/Nicosia"),
    "es-ES": ("Europe/Madrid", "Atlantic/Canary"),
    "es-419": (
        "America/Mexico_City",
        "America/Bogota",
        "America/Lima",
        "America/Santiago",
        "America/Argentina/Buenos_Aires",
    ),
    "fi": ("Europe/Helsinki",),
    "fr": ("Europe/Paris", "Europe/Brussels", "America/Toronto", "Africa/Abidjan"),
    "hi": ("Asia/Kolkata",),
    "hr": ("Europe/Zagreb",),
    "hu": ("Europe/Budapest",),
    "id": ("Asia/Jakarta", "Asia/Makassar"),
    "it": ("Europe/Rome",),
    "ja": ("Asia/Tokyo",),
    "ko": ("Asia/Seoul",),
    "lt": ("Europe/Vilnius",),
    "nl": ("Europe/Amsterdam", "Europe/Brussels"),
    "no": ("Europe/Oslo",),
    "pl": ("Europe/Warsaw",),
    "pt-BR": ("America/Sao_Paulo", "America/Manaus", "Europe/Lisbon"),
    "ro": ("Europe/Bucharest", "Europe/Chisinau"),
    "ru": ("Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Europe/Minsk"),
    "sv-SE": ("Europe/Stockholm",),
    "th": ("Asia/Bangkok",),
    "tr": ("Europe/Istanbul",),
    "uk": ("Europe/Kyiv",),
    "vi": ("Asia/Ho_Chi_Minh",),
    "zh-CN": ("Asia/Shanghai",),
    "zh-TW": ("Asia/Taipei",),
}
# Filled up to this many places in the zone prompt, after the language's own zones.
LIKELY_COUNT = 5
LIKELY_FILL = ("America/New_York", "Europe/London", "Asia/Kolkata", "America/Los_Angeles")

# `UTC+5:30`, `GMT-3`, `utc +0530`, `+1`; the minus may be a typographic one.
_OFFSET = re.compile(
    r"^(?:utc|gmt)?\s*(?P<sign>[+\-−–])\s*(?P<hours>\d{1,2})(?:[:.h]?(?P<minutes>\d{2}))?$",
    re.IGNORECASE,
)
_CANONICAL_OFFSET = re.compile(r"^UTC(?P<sign>[+-])(?P<hours>\d{2}):(?P<minutes>\d{2})$")
# The POSIX-style names count the other way: Etc/GMT+1 is one hour *behind* UTC.
_ETC_GMT = re.compile(r"^etc/gmt(?P<sign>[+-])(?P<hours>\d{1,2})$", re.IGNORECASE)
# Names of UTC itself, stored as plain UTC.
UTC_ALIASES = frozenset({"UTC", "Etc/UTC", "Etc/GMT"})


@dataclass(frozen=True, slots=True)
class ZoneMatch:
    """What `parse_zone` read: the canonical name, and what was typed when it was not that
    name itself (an abbreviation, a city, a country, an offset), for "EST → America/New_York"."""

    name: str
    typed: str | None = None


@dataclass(frozen=True, slots=True)
class ZoneFacts:
    """What a person checks a zone by: its offset now, the local time now, summer time."""

    name: str
    offset: str  # "UTC−04:00"
    local_time: str  # "10:12"
    summer_time: bool


# -- resolving stored names -----------------------------------------------------------------


@lru_cache(maxsize=1024)
def resolve(name: str | None) -> tzinfo:
    """The `tzinfo` of a stored zone; UTC for none or for a name this tz database lacks."""
    if not name:
        return UTC
    if match := _CANONICAL_OFFSET.match(name):
        sign = -1 if match["sign"] == "-" else 1
        delta = timedelta(hours=int(match["hours"]), minutes=int(match["minutes"]))
        return timezone(sign * delta, name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def offset_name(delta: timedelta) -> str:
    """The canonical stored form of a fixed offset: `UTC+05:30`, `UTC-03:00`, `UTC`."""
    if not delta:
        return UTC_NAME
    sign = "-" if delta < timedelta(0) else "+"
    minutes = abs(int(delta.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02}:{minutes % 60:02}"


def offset_text(delta: timedelta) -> str:
    """An offset as people read it: `UTC+05:30`, `UTC−04:00` (a real minus), `UTC+00:00`."""
    sign = "−" if delta < timedelta(0) else "+"
    minutes = abs(int(delta.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02}:{minutes % 60:02}"


def is_fixed_offset(name: str) -> bool:
    return name == UTC_NAME or bool(_CANONICAL_OFFSET.match(name))


@lru_cache(maxsize=1024)
def follows_summer_time(name: str, year: int) -> bool:
    zone = resolve(name)
    winter = datetime(year, 1, 15, 12, tzinfo=UTC).astimezone(zone).utcoffset()
    summer = datetime(year, 7, 15, 12, tzinfo=UTC).astimezone(zone).utcoffset()
    return winter != summer


def facts(name: str, now: datetime) -> ZoneFacts:
    # Every log reply of a person without a zone shows a few of these: one per zone a minute.
    return _facts(name, int(now.timestamp()) // 60)


@lru_cache(maxsize=4096)
def _facts(name: str, minute: int) -> ZoneFacts:
    local = datetime.fromtimestamp(minute * 60, UTC).astimezone(resolve(name))
    return ZoneFacts(
        name=name,
        offset=offset_text(local.utcoffset() or timedelta(0)),
        local_time=local.strftime("%H:%M"),
        summer_time=follows_summer_time(name, local.year),
    )


def describe(name: str, now: datetime) -> str:
    """`America/New_York (UTC−04:00, now 10:12, follows summer time)`: enough to see it is
    right without doing sums."""
    found = facts(name, now)
    if is_fixed_offset(name):
        return templates.ZONE_DESCRIPTION_FIXED.format(name=name, time=found.local_time)
    return templates.ZONE_DESCRIPTION.format(
        name=name,
        offset=found.offset,
        time=found.local_time,
        summer=templates.ZONE_SUMMER if found.summer_time else templates.ZONE_NO_SUMMER,
    )


def city_of(name: str) -> str:
    """The place a zone is named after, as a person writes it: `New York`, `Buenos Aires`."""
    if is_fixed_offset(name):
        return name
    return name.rsplit("/", 1)[-1].replace("_", " ")


# -- the tz database, indexed once ----------------------------------------------------------


def _key(text: str) -> str:
    """Lower case, no accents, `_` and `-` as spaces, one space between words."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in plain if not unicodedata.combining(char))
    plain = plain.lower().replace("_", " ").replace("-", " ").replace("’", "'")
    plain = re.sub(r"\s*/\s*", "/", plain)
    return " ".join(plain.split())


@dataclass(frozen=True, slots=True)
class _Index:
    all_names: dict[str, str]  # key of every IANA name → the name
    canonical: tuple[str, ...]  # zones people live in (zone.tab), for suggestions
    cities: dict[str, tuple[str, ...]]  # key of the city → zones named after it
    countries: dict[str, str]  # key of a country name → ISO code
    country_names: dict[str, str]  # ISO code → the country's name
    country_zones: dict[str, tuple[str, ...]]  # ISO code → its zones, in zone.tab order


def _tz_lines(filename: str) -> list[str]:
    """Lines of a file shipped with the tz database; none if it is not there (the zone lists
    then fall back to the plain names)."""
    try:
        text = resources.files("tzdata").joinpath("zoneinfo", filename).read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return []
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def _tz_table(filename: str) -> list[list[str]]:
    return [line.split("\t") for line in _tz_lines(filename)]


@cache
def _index() -> _Index:
    names = {
        name
        for name in available_timezones()
        if name not in ("localtime", "Factory") and not name.startswith(("posix", "right"))
    }
    names.add(UTC_NAME)
    country_zones: dict[str, list[str]] = {}
    for row in _tz_table("zone.tab"):
        if len(row) >= 3 and row[2] in names:
            country_zones.setdefault(row[0], []).append(row[2])
    canonical = tuple(sorted({zone for zones in country_zones.values() for zone in zones}))
    if not canonical:  # no table shipped: every regional name, without the Etc ones
        canonical = tuple(sorted(n for n in names if "/" in n and not n.startswith("Etc/")))
    # Old names kept for compatibility (Asia/Calcutta, Europe/Kiev, US/Eastern, GB) are read as
    # the zone they now point to; a link that is a region's own name (America/Montserrat) is
    # one people live in and stays itself.
    links: dict[str, str] = {}
    for line in _tz_lines("tzdata.zi"):
        parts = line.split()
        if len(parts) == 3 and parts[0] == "L" and parts[2] not in canonical:
            links[parts[2]] = parts[1]
    preferred = {name: links.get(name, name) for name in names}
    cities: dict[str, list[str]] = {}
    # Zones people live in first, so a city named by both a zone and an old link means the zone.
    for name in (*canonical, *sorted(names - set(canonical))):
        if "/" in name and not name.startswith(("Etc/", "SystemV/")):
            target = preferred[name]
            found = cities.setdefault(_key(city_of(name)), [])
            if target not in found:
                found.append(target)
    country_names = {row[0]: row[1] for row in _tz_table("iso3166.tab") if len(row) >= 2}
    countries: dict[str, str] = {}
    for code, country in country_names.items():
        countries[_key(country)] = code
        bare = _key(re.sub(r"\(.*?\)", "", country))
        if bare and bare not in countries:
            countries[bare] = code
    countries.update({alias: code for alias, code in COUNTRY_ALIASES.items()})
    return _Index(
        all_names={_key(name): preferred[name] for name in names},
        canonical=canonical,
        cities={key: tuple(zones) for key, zones in cities.items()},
        countries={key: code for key, code in countries.items() if code in country_zones},
        country_names=country_names,
        country_zones={code: tuple(zones) for code, zones in country_zones.items()},
    )


def _country_zone(code: str) -> str | None:
    """The zone a country's name means: its only one, its main one, or None (ask)."""
    zones = _index().country_zones.get(code, ())
    if len(zones) == 1:
        return zones[0]
    return COUNTRY_MAIN_ZONE.get(code)


# -- reading what a person typed ------------------------------------------------------------


def _offset_of(text: str) -> timedelta | None:
    match = _OFFSET.match(text.strip())
    if match is None:
        return None
    minutes = int(match["minutes"] or 0)
    if minutes >= 60:
        raise UserError(templates.BAD_OFFSET.format(zone=text.strip()[:MAX_TYPED]))
    delta = timedelta(hours=int(match["hours"]), minutes=minutes)
    if match["sign"] != "+":
        delta = -delta
    if not OFFSET_MIN <= delta <= OFFSET_MAX:
        raise UserError(templates.BAD_OFFSET.format(zone=text.strip()[:MAX_TYPED]))
    return delta


def _exact(text: str) -> ZoneMatch | None:
    """What the text names without guessing, or None."""
    stripped = " ".join(text.split())
    key = _key(stripped)
    index = _index()
    delta = _offset_of(stripped)
    if delta is not None:
        return ZoneMatch(offset_name(delta), stripped)
    if key in ABBREVIATIONS:
        return ZoneMatch(ABBREVIATIONS[key][0], stripped)
    if etc := _ETC_GMT.match(stripped):
        # Kept with its real meaning, stored in the form that cannot be misread.
        hours = int(etc["hours"])
        if hours <= 14:
            return ZoneMatch(
                offset_name(timedelta(hours=hours if etc["sign"] == "-" else -hours)), stripped
            )
    name = index.all_names.get(key)
    if name in UTC_ALIASES:
        return ZoneMatch(UTC_NAME, None if stripped == UTC_NAME else stripped)
    if name is not None and "/" in name:
        return ZoneMatch(name, None if name == stripped else stripped)
    if key in index.cities:
        return ZoneMatch(index.cities[key][0], stripped)
    if key in CITY_ALIASES:
        return ZoneMatch(CITY_ALIASES[key], stripped)
    if key in index.countries:
        zone = _country_zone(index.countries[key])
        if zone is not None:
            return ZoneMatch(zone, stripped)
    if name is not None:  # an old name without a region, like "Cuba" or "EST5EDT"
        return ZoneMatch(name, None if name == stripped else stripped)
    return None


def parse_zone(text: str, now: datetime | None = None) -> ZoneMatch:
    """The zone a person means by `text`, or a `UserError` saying what to type instead."""
    stripped = " ".join(text.split())
    if not stripped:
        raise UserError(templates.BAD_TIMEZONE.format(zone=""))
    found = _exact(stripped)
    if found is None and "," in stripped:  # "London, UK", "Austin, TX"
        found = _exact(stripped.split(",", 1)[0])
        if found is not None:
            found = ZoneMatch(found.name, stripped)
    if found is not None:
        return found
    index = _index()
    code = index.countries.get(_key(stripped))
    if code is not None:
        zones = [city_of(zone) for zone in _popular_first(list(index.country_zones[code]))[:3]]
        raise UserError(
            templates.ZONE_COUNTRY_AMBIGUOUS.format(
                country=index.country_names.get(code, stripped), cities=", ".join(zones)
            )
        )
    ranked = suggestions(stripped, now or datetime.now(UTC), limit=1)
    if ranked:
        raise UserError(
            templates.BAD_TIMEZONE_DID_YOU_MEAN.format(
                zone=stripped[:MAX_TYPED], suggestion=ranked[0].name
            )
        )
    raise UserError(templates.BAD_TIMEZONE.format(zone=stripped[:MAX_TYPED]))


def read_as(found: ZoneMatch) -> str | None:
    """`EST → America/New_York` when the person typed something other than the zone's name
    or its own city (`London` needs no explaining)."""
    if found.typed is None or _key(found.typed) in (_key(found.name), _key(city_of(found.name))):
        return None
    return templates.ZONE_READ_AS.format(typed=found.typed[:MAX_TYPED], name=found.name)


# -- ranking suggestions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Suggestion:
    name: str  # the value the option sends: a canonical zone name
    label: str  # what the person reads (at most 100 characters)


def _popular_first(zones: list[str]) -> list[str]:
    rank = {zone: number for number, zone in enumerate(POPULAR)}
    return sorted(zones, key=lambda zone: (rank.get(zone, len(POPULAR)), zone))


def _label(name: str, now: datetime, typed: str | None = None) -> str:
    found = facts(name, now)
    summer = templates.ZONE_SUMMER if found.summer_time else templates.ZONE_NO_SUMMER
    head = templates.ZONE_READ_AS.format(typed=typed, name=name) if typed else name
    if is_fixed_offset(name):
        label = templates.ZONE_OPTION_FIXED.format(name=head, time=found.local_time)
    else:
        label = templates.ZONE_OPTION.format(
            name=head, time=found.local_time, offset=found.offset, summer=summer
        )
    return label[:100]


def _ranked_names(typed: str, now: datetime, locale: str | None) -> tuple[list[str], str | None]:
    """Zone names, best first, and the abbreviation or alias the first one was read from."""
    stripped = " ".join(typed.split())
    key = _key(stripped)
    index = _index()
    if not key:
        return [*likely_zones(locale), *POPULAR, UTC_NAME], None
    ordered: list[str] = []
    shown_as: str | None = None
    try:
        exact = _exact(stripped)
    except UserError:
        exact = None
    if exact is not None:
        ordered.append(exact.name)
        if read_as(exact) is not None:
            shown_as = stripped[:20]
        if key in ABBREVIATIONS:
            ordered.extend(ABBREVIATIONS[key][1:])
        delta = _offset_of(stripped) if _OFFSET.match(stripped) else None
        if delta is not None:
            # A person who types UTC+1 in winter may well live in Berlin: offer the places
            # on that offset now too, which then follow summer time for them.
            same = [z for z in index.canonical if now.astimezone(resolve(z)).utcoffset() == delta]
            ordered.extend(_popular_first(same))
    code = index.countries.get(key)
    if code is not None:
        ordered.extend(_popular_first(list(index.country_zones[code])))
    canonical = index.canonical
    # After an exact reading, only names that start with the text: "EST" is not a search for
    # every name containing "est" (Budapest, Creston).
    tiers: list[list[str]] = [[], [], [], []]
    for name in (*canonical, UTC_NAME):
        city = _key(city_of(name))
        full = _key(name)
        if city.startswith(key):
            tiers[0].append(name)
        elif full.startswith(key) or f"/{key}" in full:
            tiers[1].append(name)
        elif any(word.startswith(key) for word in city.split()):
            tiers[2].append(name)
        elif key in full:
            tiers[3].append(name)
    tiers[0].extend(zone for alias, zone in CITY_ALIASES.items() if alias.startswith(key))
    for tier in tiers[:2] if exact is not None else tiers:
        ordered.extend(_popular_first(tier))
    if exact is None and len(key) >= 3:
        for country in sorted({c for name, c in index.countries.items() if name.startswith(key)}):
            ordered.extend(_popular_first(list(index.country_zones[country])))
    return ordered, shown_as


def suggestions(
    typed: str, now: datetime, *, locale: str | None = None, limit: int = 25
) -> list[Suggestion]:
    """Autocomplete choices for a zone option: what the person most likely meant first.

    An exact reading (an abbreviation, a city, an IANA name in any case, an offset) comes
    first, labelled with what it was read as; then zones whose city, name or country starts
    with the text, well-known zones before the rest; then any name containing it."""
    names, shown_as = _ranked_names(typed, now, locale)
    seen: set[str] = set()
    result: list[Suggestion] = []
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        result.append(Suggestion(name, _label(name, now, shown_as if not result else None)))
        if len(result) >= limit:
            break
    return result


def likely_zones(locale: str | None) -> list[str]:
    """Zones a person with this Discord language likely lives in, for the zone prompt."""
    wanted = LOCALE_ZONES.get(locale or "", ())
    if not wanted and locale:
        wanted = LOCALE_ZONES.get(locale.split("-", 1)[0], ())
    zones = list(wanted)
    for zone in LIKELY_FILL:
        if len(zones) >= max(LIKELY_COUNT, len(wanted)):
            break
        if zone not in zones:
            zones.append(zone)
    return zones
