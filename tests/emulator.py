"""An in-process Discord emulator for end-to-end tests and offline runs of the bot.

It is an aiohttp application on 127.0.0.1 that serves the REST API (``/api/v10/...``) and the
gateway websocket (``/gateway``) closely enough for the real discord.py client to log in,
connect, sync application commands and answer interactions. It records every request, can
inject interactions (slash commands, buttons, selects, modals, autocomplete) and faults, and
applies Discord's rules that matter to a bot: the 3 s acknowledgement deadline, one
acknowledgement per interaction, 15-minute follow-up tokens, permission checks, ``enforce_nonce``
de-duplication, per-route and global rate limits with realistic headers, and Discord's JSON
error codes.

The module depends on aiohttp and the standard library only, so it can also run as a separate
process (``python tests/emulator.py --port 8765``) with a small JSON control API.

Connecting discord.py (one bot per process: both settings are process-wide)::

    discord.http.Route.BASE = emu.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(emu.gateway_url)

Public API
----------
``DiscordEmulator(*, token=None, application_id=None, bot_user_id=None, bot_name="NextRound",
host="127.0.0.1", port=0, ack_deadline=3.0, token_ttl=900.0, nonce_window=180.0,
heartbeat_interval_ms=41250, global_rate_limit=50, route_limits=None,
default_route_limit=(50, 1.0), route_limits_enabled=True, attachment_size_limit=10 MiB,
bot_permissions=DEFAULT_BOT_PERMISSIONS, dm_requires_mutual_guild=False,
user_app_followup_limit=5, default_integration_types=(0,), clock=None)``. ``token=None``
accepts any ``Bot <token>``; otherwise a wrong token gets 401 (REST) or close code 4004
(gateway). The application id defaults to the bot user's id, as for current Discord apps. Most
settings are plain attributes that tests may change later (``emu.ack_deadline = 0.2``).

Time: ``clock`` is a function returning seconds (``time.monotonic`` when ``None``). Everything
the emulator times runs on it plus ``advance_time``: the acknowledgement deadline, follow-up
token expiry, the nonce window, the global and per-route rate limits, fault delays, and the
times it reports (snowflakes, timestamps, ``X-RateLimit-Reset``). A clock that stands still
(``clock=lambda: 0.0``) makes all of these move only when the test calls ``advance_time``.
A client still sleeps real time for a 429's ``retry_after``: ``emu.on_rate_limited`` (``None``,
or a function called with ``retry_after`` each time a 429 is served) set to
``emu.advance_time`` makes that much emulator time pass at once, as if the client had waited.

Lifecycle: ``await emu.start()`` (sets ``api_base``, ``gateway_url``, ``base_url``),
``await emu.close()``.

State (synchronous; when a bot is connected the matching gateway event is dispatched):
``add_user(name, *, bot=False, locale="en-US") -> user_id``,
``add_guild(name="Test Server", *, owner_id=None, bot_member=True, locale="en-US",
everyone_permissions=DEFAULT_EVERYONE_PERMISSIONS) -> guild_id``,
``add_text_channel(guild_id, name, type=0, *, parent_id=None, topic=None) -> channel_id``,
``add_category(guild_id, name) -> channel_id``,
``add_role(guild_id, name, permissions=0) -> role_id``,
``add_member(guild_id, user_id, *, roles=(), permissions=None, nick=None)``,
``set_role_permissions(role_id, permissions)``,
``set_channel_overwrite(channel_id, target_id, *, allow=0, deny=0, member=False)``,
``set_bot_channel_permissions(channel_id, *, allow=0, deny=0)``,
``delete_channel(channel_id)``, ``add_bot_to_guild(guild_id)``,
``remove_bot_from_guild(guild_id)``, ``set_dms_closed(user_id, closed=True)``,
``post_user_message(user_id, channel_id, content, **fields) -> RecordedMessage``,
``advance_time(seconds)`` (moves the emulator's clocks forward, e.g. past token expiry).

Inspection: ``messages(channel_id, *, include_ephemeral=False) -> list[RecordedMessage]``,
``dm_messages(user_id)``, ``message(message_id)``, ``dm_channel_id(user_id)``,
``commands(guild_id=None)``, ``sync_count(guild_id=None)``, ``requests`` (every
``RecordedRequest``, oldest first; the older half is dropped past ``max_recorded_requests``),
``requests_matching(method, path_regex)``, ``stats`` (a Counter:
``global_429``, ``route_429``, ``route_429:<route key>``, ``fault``, ``unknown_route``, ...),
``identify_count``, ``resume_count``, ``identify_payloads`` / ``resume_payloads`` (whole
frames, token left out: ``emu.identify_payloads[-1]["d"]["intents"]``),
``gateway_connection_log`` (path and query of each connection), ``open_gateway_connections``,
``interactions`` (by id), ``bot_user_id``, ``application_id``, ``guild_ids``,
``channel_permissions(channel_id, user_id)``, ``base_permissions(guild_id, user_id)``.

Waiting: ``await emu.wait_for(predicate, timeout=5.0, what="...")``,
``await emu.wait_for_message(channel_id, predicate=None, timeout=5.0)``,
``await emu.wait_for_dm(user_id, predicate=None, timeout=5.0)``,
``await emu.wait_for_request(method, path_regex, timeout=5.0)``,
``await emu.wait_until_connected(timeout=5.0)``.

Faults: ``emu.fault(method, path_regex, status=None, *, code=None, message=None,
retry_after=None, global_=False, times=1, delay=None) -> Fault`` (``times=None`` means
forever; ``delay`` holds the request for that many seconds of emulator time; ``status=None``
with ``delay`` only slows the request down), ``emu.clear_faults()``,
``emu.set_route_limit(route_key, limit, per=1.0)`` / ``emu.set_route_limit(route_key, None)``
(route keys look like ``"POST /channels/{channel_id}/messages"``), ``emu.route_limits_enabled``,
``emu.global_rate_limit`` (``None`` disables).

Gateway: ``dispatch(event, data) -> None`` (to every identified session, buffered for RESUME),
``await gateway_reconnect(wait=True, timeout=5.0)`` (op 7),
``await gateway_invalid_session(resumable, wait=True, timeout=5.0)`` (op 9),
``await drop_connection(code=4000, wait=False, timeout=5.0)``, ``hold_gateway()`` /
``release_gateway()`` (new gateway connections wait before HELLO while held).

Interactions (each returns an ``InteractionHandle``; options are typed as the bot synced them):
``await invoke(user_id, "group sub", {"option": value}, *, guild_id=None, channel_id=None,
user_install=False, locale=None, attachment_size_limit=None)`` (no guild and no channel:
the bot's DM with the user; ``user_install=True``: a user-installed app in that guild, whether
or not the bot is a member), ``await invoke_context_menu(user_id, name, target, ...)``,
``await click(user_id, message, custom_id, *, values=None)``,
``await submit_modal(user_id, custom_id, values, *, message=None)``,
``await autocomplete(user_id, command, options, focused, ...) -> list[dict]``.

``InteractionHandle``: ``id``, ``token``, ``type``, ``payload``, ``response`` (the callback body
``{"type", "data"}``), ``response_type``, ``message`` (the original response message),
``followups``, ``modal``, ``await wait_response(timeout=5.0)``,
``await wait_message(timeout=5.0)`` (waits for a deferred response to be completed),
``await wait_followup(count=1, timeout=5.0)``. The first follow-up after a deferred
("thinking") response replaces the loading message, as on Discord; it is then both the
``message`` and ``followups[0]``.

``RecordedMessage``: ``id``, ``channel_id``, ``guild_id``, ``author_id``, ``payload`` (what the API
returns), ``content``, ``embeds``, ``components``, ``flags``, ``ephemeral``, ``files``
(``UploadedFile``: ``filename``, ``data``, ``content_type``), ``deleted``, ``edits`` (earlier
versions), ``interaction_id``; ``msg["content"]`` reads the payload.

Control API for a test driver in another process (JSON): ``GET /_emulator/state``,
``GET /_emulator/requests?method=&path=``, ``GET /_emulator/messages?channel_id=``,
``GET /_emulator/dm_messages?user_id=``, ``GET /_emulator/commands?guild_id=``,
``POST /_emulator/fault``, ``DELETE /_emulator/faults``, ``POST /_emulator/dms_closed``,
``POST /_emulator/users``, ``POST /_emulator/members``, ``POST /_emulator/user_message``,
``POST /_emulator/invoke``, ``POST /_emulator/click``, ``POST /_emulator/submit_modal``,
``POST /_emulator/autocomplete``, ``GET /_emulator/interactions/{id}``,
``POST /_emulator/gateway/reconnect``, ``POST /_emulator/gateway/drop``,
``POST /_emulator/gateway/invalid_session``, ``POST /_emulator/advance_time``,
``GET /_emulator/attachments/{id}/{filename}`` (file bytes; also used as attachment URLs).

Gateway behaviour worth knowing: without the GUILD_MEMBERS intent GUILD_CREATE carries only the
bot's own member; without MESSAGE_CONTENT, other people's guild messages arrive without content
unless they mention the bot; a GUILD_CREATE for a server the bot just joined has no
``unavailable`` key (discord.py then fires ``on_guild_join``); a client that closes with code
1000/1001 ends its session (it must IDENTIFY again), any other close keeps it resumable.
"""

# The waiting helpers take ``timeout=`` on purpose: tests read better with it than with
# asyncio.timeout blocks around every await.
# ruff: noqa: ASYNC109

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime
import hashlib
import json
import math
import mimetypes
import re
import secrets
import signal
import sys
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import BodyPartReader, WSMsgType, web

JSON = dict[str, Any]
T = TypeVar("T")

API_VERSION = 10
DISCORD_EPOCH_MS = 1420070400000
MiB = 1024 * 1024

# --- Permission bits (https://discord.com/developers/docs/topics/permissions) ---------------
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
SEND_TTS_MESSAGES = 1 << 12
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CONNECT = 1 << 20
SPEAK = 1 << 21
CHANGE_NICKNAME = 1 << 26
MANAGE_ROLES = 1 << 28
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
USE_EXTERNAL_STICKERS = 1 << 37
SEND_MESSAGES_IN_THREADS = 1 << 38
SEND_POLLS = 1 << 49
USE_EXTERNAL_APPS = 1 << 50
ALL_PERMISSIONS = (1 << 53) - 1

DEFAULT_EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | CREATE_PRIVATE_THREADS
    | USE_EXTERNAL_STICKERS
    | SEND_MESSAGES_IN_THREADS
    | SEND_POLLS
    | USE_EXTERNAL_APPS
)
DEFAULT_BOT_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_EXTERNAL_EMOJIS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
    | MANAGE_THREADS
    | USE_APPLICATION_COMMANDS
)
# What Discord grants an app where its bot cannot act (bot DMs, user installs elsewhere).
INTERACTION_ONLY_APP_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | MENTION_EVERYONE
    | USE_EXTERNAL_EMOJIS
    | USE_EXTERNAL_STICKERS
    | SEND_POLLS
)

# --- Gateway intents ---------------------------------------------------------------------------
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15

# --- Channel, message, interaction constants ---------------------------------------------------
CHANNEL_TEXT = 0
CHANNEL_DM = 1
CHANNEL_VOICE = 2
CHANNEL_CATEGORY = 4
CHANNEL_NEWS = 5
CHANNEL_NEWS_THREAD = 10
CHANNEL_PUBLIC_THREAD = 11
CHANNEL_PRIVATE_THREAD = 12
THREAD_TYPES = (CHANNEL_NEWS_THREAD, CHANNEL_PUBLIC_THREAD, CHANNEL_PRIVATE_THREAD)
MESSAGEABLE_GUILD_TYPES = (CHANNEL_TEXT, CHANNEL_VOICE, CHANNEL_NEWS, *THREAD_TYPES)

FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_HAS_THREAD = 1 << 5
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_IS_COMPONENTS_V2 = 1 << 15
SETTABLE_MESSAGE_FLAGS = (
    FLAG_SUPPRESS_EMBEDS | FLAG_EPHEMERAL | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_IS_COMPONENTS_V2
)

INTERACTION_PING = 1
INTERACTION_APPLICATION_COMMAND = 2
INTERACTION_MESSAGE_COMPONENT = 3
INTERACTION_AUTOCOMPLETE = 4
INTERACTION_MODAL_SUBMIT = 5

CALLBACK_PONG = 1
CALLBACK_CHANNEL_MESSAGE = 4
CALLBACK_DEFERRED_CHANNEL_MESSAGE = 5
CALLBACK_DEFERRED_UPDATE_MESSAGE = 6
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_AUTOCOMPLETE_RESULT = 8
CALLBACK_MODAL = 9

ALLOWED_CALLBACKS: dict[int, tuple[int, ...]] = {
    INTERACTION_PING: (CALLBACK_PONG,),
    INTERACTION_APPLICATION_COMMAND: (
        CALLBACK_CHANNEL_MESSAGE,
        CALLBACK_DEFERRED_CHANNEL_MESSAGE,
        CALLBACK_MODAL,
    ),
    INTERACTION_MESSAGE_COMPONENT: (
        CALLBACK_CHANNEL_MESSAGE,
        CALLBACK_DEFERRED_CHANNEL_MESSAGE,
        CALLBACK_DEFERRED_UPDATE_MESSAGE,
        CALLBACK_UPDATE_MESSAGE,
        CALLBACK_MODAL,
    ),
    INTERACTION_AUTOCOMPLETE: (CALLBACK_AUTOCOMPLETE_RESULT,),
    INTERACTION_MODAL_SUBMIT: (
        CALLBACK_CHANNEL_MESSAGE,
        CALLBACK_DEFERRED_CHANNEL_MESSAGE,
        CALLBACK_DEFERRED_UPDATE_MESSAGE,
        CALLBACK_UPDATE_MESSAGE,
    ),
}

CONTEXT_GUILD = 0
CONTEXT_BOT_DM = 1
CONTEXT_PRIVATE_CHANNEL = 2
INSTALL_GUILD = 0
INSTALL_USER = 1

OPTION_SUB_COMMAND = 1
OPTION_SUB_COMMAND_GROUP = 2
OPTION_STRING = 3
OPTION_INTEGER = 4
OPTION_BOOLEAN = 5
OPTION_USER = 6
OPTION_CHANNEL = 7
OPTION_ROLE = 8
OPTION_MENTIONABLE = 9
OPTION_NUMBER = 10
OPTION_ATTACHMENT = 11

COMPONENT_ACTION_ROW = 1
COMPONENT_BUTTON = 2
COMPONENT_STRING_SELECT = 3
COMPONENT_TEXT_INPUT = 4
COMPONENT_USER_SELECT = 5
COMPONENT_ROLE_SELECT = 6
COMPONENT_MENTIONABLE_SELECT = 7
COMPONENT_CHANNEL_SELECT = 8
COMPONENT_TEXT_DISPLAY = 10
COMPONENT_LABEL = 18
SELECT_TYPES = (
    COMPONENT_STRING_SELECT,
    COMPONENT_USER_SELECT,
    COMPONENT_ROLE_SELECT,
    COMPONENT_MENTIONABLE_SELECT,
    COMPONENT_CHANNEL_SELECT,
)
BUTTON_STYLE_LINK = 5
BUTTON_STYLE_PREMIUM = 6

COMMAND_NAME_RE = re.compile(r"^[-_'\w]{1,32}$", re.UNICODE)
MAX_INT64 = 2**63 - 1
INT_OPTION_LIMIT = 2**53

# Discord's default per-route buckets that a bot meets in practice; everything else gets
# ``default_route_limit``. Keys are "METHOD /path/{template}" like discord.py's route keys.
DEFAULT_ROUTE_LIMITS: dict[str, tuple[int, float]] = {
    "POST /channels/{channel_id}/messages": (5, 5.0),
    "PATCH /channels/{channel_id}/messages/{message_id}": (5, 5.0),
    "DELETE /channels/{channel_id}/messages/{message_id}": (5, 1.0),
    "POST /webhooks/{webhook_id}/{webhook_token}": (5, 2.0),
    "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}": (5, 2.0),
}


# ===============================================================================================
# Small helpers
# ===============================================================================================


def _dumps(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _iso(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC).isoformat()


def _snowflake_time(snowflake: int) -> float:
    return ((snowflake >> 22) + DISCORD_EPOCH_MS) / 1000.0


def _as_int(value: Any) -> int | None:
    """Parse a snowflake given as int or numeric string; anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _str_or_none(value: int | None) -> str | None:
    return None if value is None else str(value)


def _error_tree(path: Sequence[str | int], code: str, message: str) -> JSON:
    """Nest one validation error the way Discord's 50035 bodies do."""
    node: JSON = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        node = {str(key): node}
    return node


def _merge_trees(target: JSON, extra: JSON) -> None:
    for key, value in extra.items():
        if key in target and isinstance(target[key], dict) and isinstance(value, dict):
            if key == "_errors":
                continue
            _merge_trees(target[key], value)
        elif key == "_errors" and key in target:
            target[key].extend(value)
        else:
            target[key] = value


class ApiError(Exception):
    """An error answered with Discord's JSON error body."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: JSON | None = None,
        headers: Mapping[str, str] | None = None,
        extra: JSON | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.extra = dict(extra or {})
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = dict(headers or {})

    def body(self) -> JSON:
        body: JSON = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class FormErrors:
    """Collects validation errors; raises one 400/50035 ``Invalid Form Body`` at the end."""

    def __init__(self) -> None:
        self.tree: JSON = {}

    def add(self, path: Sequence[str | int], code: str, message: str) -> None:
        _merge_trees(self.tree, _error_tree(path, code, message))

    def raise_if_any(self) -> None:
        if self.tree:
            raise ApiError(400, 50035, "Invalid Form Body", self.tree)


ERROR_MESSAGES: dict[int, str] = {
    10003: "Unknown Channel",
    10004: "Unknown Guild",
    10007: "Unknown Member",
    10008: "Unknown Message",
    10013: "Unknown User",
    10015: "Unknown Webhook",
    10062: "Unknown interaction",
    40060: "Interaction has already been acknowledged.",
    50001: "Missing Access",
    50006: "Cannot send an empty message",
    50007: "Cannot send messages to this user",
    50013: "Missing Permissions",
    50027: "Invalid Webhook Token",
    160004: "A thread has already been created for this message",
}


def _status_message(status: int) -> str:
    reasons = {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        405: "Method Not Allowed",
        429: "Too Many Requests",
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }
    return f"{status}: {reasons.get(status, 'Error')}"


def _unknown(kind: str) -> ApiError:
    codes = {
        "channel": 10003,
        "guild": 10004,
        "member": 10007,
        "message": 10008,
        "role": 10011,
        "user": 10013,
        "webhook": 10015,
        "command": 10063,
    }
    return ApiError(404, codes[kind], f"Unknown {kind.capitalize()}")


def _missing_access() -> ApiError:
    return ApiError(403, 50001, "Missing Access")


def _missing_permissions() -> ApiError:
    return ApiError(403, 50013, "Missing Permissions")


class CommandNotAvailable(LookupError):
    """The user could not run this command here (not synced, wrong context or permissions)."""


class SnowflakeGenerator:
    """Strictly increasing snowflakes that carry the creation time, like Discord's."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._last = 0
        self._increment = 0

    def __call__(self) -> int:
        millis = int(self._clock() * 1000) - DISCORD_EPOCH_MS
        self._increment = (self._increment + 1) & 0xFFF
        value = (millis << 22) | (1 << 17) | (1 << 12) | self._increment
        if value <= self._last:
            value = self._last + 1
        self._last = value
        return value


# ===============================================================================================
# State model
# ===============================================================================================


@dataclass
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    locale: str = "en-US"
    dms_closed: bool = False


@dataclass
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    color: int = 0
    hoist: bool = False
    managed: bool = False
    mentionable: bool = False
    bot_id: int | None = None


@dataclass
class Overwrite:
    id: int
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0


@dataclass
class Channel:
    id: int
    type: int
    name: str = ""
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    recipient_id: int | None = None  # DM channels
    last_message_id: int | None = None
    # Threads
    owner_id: int | None = None
    archived: bool = False
    auto_archive_duration: int = 1440
    created_at: float = 0.0
    message_count: int = 0
    rate_limit_per_user: int = 0


@dataclass
class Member:
    guild_id: int
    user_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: float = 0.0


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    locale: str = "en-US"
    features: list[str] = field(default_factory=list)
    roles: dict[int, Role] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)
    members: dict[int, Member] = field(default_factory=dict)
    bot_present: bool = True
    bot_joined_at: float = 0.0


@dataclass
class UploadedFile:
    filename: str
    data: bytes
    content_type: str = "application/octet-stream"
    attachment_id: int = 0
    description: str | None = None
    # Index of the ``files[n]`` form field an upload arrived in (matches ``attachments[].id``).
    form_index: int | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class RecordedMessage:
    """A message as the emulator stores it; ``payload`` is what the API returns."""

    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    payload: JSON
    files: list[UploadedFile] = field(default_factory=list)
    ephemeral: bool = False
    deleted: bool = False
    interaction_id: int | None = None
    nonce: str | None = None
    edits: list[JSON] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        return self.payload[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.payload.get(key, default)

    @property
    def content(self) -> str:
        return str(self.payload.get("content") or "")

    @property
    def embeds(self) -> list[JSON]:
        return list(self.payload.get("embeds") or [])

    @property
    def components(self) -> list[JSON]:
        return list(self.payload.get("components") or [])

    @property
    def flags(self) -> int:
        return int(self.payload.get("flags") or 0)

    @property
    def loading(self) -> bool:
        return bool(self.flags & FLAG_LOADING)

    def summary(self) -> JSON:
        """JSON-friendly view for the control API (file bytes left out)."""
        return {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "guild_id": None if self.guild_id is None else str(self.guild_id),
            "author_id": str(self.author_id),
            "ephemeral": self.ephemeral,
            "deleted": self.deleted,
            "interaction_id": None if self.interaction_id is None else str(self.interaction_id),
            "payload": self.payload,
            "files": [
                {"filename": f.filename, "size": f.size, "content_type": f.content_type}
                for f in self.files
            ],
            "edit_count": len(self.edits),
        }


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    files: list[str]
    at: float  # emulator monotonic time
    route: str | None = None  # route key, e.g. "POST /channels/{channel_id}/messages"
    status: int = 0
    response: Any = None

    def summary(self) -> JSON:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "json": self.json,
            "headers": self.headers,
            "files": self.files,
            "at": self.at,
            "route": self.route,
            "status": self.status,
            "response": self.response,
        }


@dataclass
class Fault:
    """An injected failure or delay for requests matching ``method`` and ``path_regex``."""

    method: str
    path_regex: str
    status: int | None = None
    code: int | None = None
    message: str | None = None
    retry_after: float | None = None
    global_: bool = False
    times: int | None = 1
    delay: float | None = None
    hits: int = 0
    # Wait for this event before going on (a stalled request the test releases).
    hold: asyncio.Event | None = None
    # Do the request first, then answer with the fault: a response lost after Discord acted.
    after: bool = False

    def matches(self, method: str, path: str, *, after: bool = False) -> bool:
        if self.after != after:
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method not in ("*", method.upper()):
            return False
        return re.search(self.path_regex, path) is not None


@dataclass
class _Bucket:
    limit: int
    per: float
    remaining: int
    reset_at: float  # emulator monotonic time


class _CloseFrame:
    def __init__(self, code: int) -> None:
        self.code = code


@dataclass(eq=False)
class _GatewayConnection:
    ws: web.WebSocketResponse
    path: str
    query: dict[str, str]
    queue: asyncio.Queue[str | _CloseFrame | None] = field(default_factory=asyncio.Queue)
    session: _GatewaySession | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    server_closed: bool = False

    def send(self, payload: JSON) -> None:
        self.queue.put_nowait(_dumps(payload))


@dataclass(eq=False)
class _GatewaySession:
    session_id: str
    intents: int
    shard: list[int]
    connection: _GatewayConnection | None
    seq: int = 0
    buffer: collections.deque[tuple[int, str]] = field(
        default_factory=lambda: collections.deque(maxlen=5000)
    )


class InteractionHandle:
    """An interaction the emulator dispatched, and what the bot answered to it."""

    def __init__(
        self,
        emulator: DiscordEmulator,
        *,
        interaction_id: int,
        token: str,
        type: int,
        payload: JSON,
        user_id: int,
        guild_id: int | None,
        channel_id: int,
        name: str | None,
        created_at: float,
        attachment_size_limit: int,
        interaction_only: bool,
        source_message_id: int | None = None,
    ) -> None:
        self._emulator = emulator
        self.id = interaction_id
        self.token = token
        self.type = type
        self.payload = payload
        self.user_id = user_id
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.name = name
        self.created_at = created_at
        self.attachment_size_limit = attachment_size_limit
        # True when the bot cannot act in that place itself (user install in a foreign server).
        self.interaction_only = interaction_only
        self.source_message_id = source_message_id
        self.response: JSON | None = None
        self.responded_at: float | None = None
        self.original_message_id: int | None = None
        self.followups: list[RecordedMessage] = []
        self.original_edit_count = 0
        self.modal_submitted = False

    def __repr__(self) -> str:
        return (
            f"<InteractionHandle id={self.id} type={self.type} name={self.name!r} "
            f"response_type={self.response_type}>"
        )

    @property
    def response_type(self) -> int | None:
        return None if self.response is None else int(self.response.get("type", 0))

    @property
    def message(self) -> RecordedMessage | None:
        if self.original_message_id is None:
            return None
        return self._emulator.message(self.original_message_id)

    @property
    def modal(self) -> JSON | None:
        if self.response_type != CALLBACK_MODAL or self.response is None:
            return None
        data: JSON = self.response.get("data") or {}
        return data

    @property
    def expired(self) -> bool:
        return self._emulator._mono() - self.created_at > self._emulator.token_ttl

    async def wait_response(self, timeout: float = 5.0) -> JSON:
        """The interaction callback body (``{"type": ..., "data": ...}``)."""
        return await self._emulator.wait_for(
            lambda: self.response, timeout=timeout, what=f"a response to {self!r}"
        )

    async def wait_message(self, timeout: float = 5.0) -> RecordedMessage:
        """The response message once it is complete (not a "thinking" placeholder)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        response = await self.wait_response(timeout)
        kind = int(response.get("type", 0))
        if kind in (CALLBACK_PONG, CALLBACK_AUTOCOMPLETE_RESULT, CALLBACK_MODAL):
            raise ValueError(f"{self!r} was answered with callback type {kind}: no message")

        def ready() -> RecordedMessage | None:
            message = self.message
            if message is None or message.loading:
                return None
            if kind == CALLBACK_DEFERRED_UPDATE_MESSAGE and self.original_edit_count == 0:
                # A deferred update is complete once the source message was edited.
                return None
            return message

        return await self._emulator.wait_for(
            ready, timeout=max(0.0, deadline - loop.time()), what=f"the message of {self!r}"
        )

    async def wait_followup(self, count: int = 1, timeout: float = 5.0) -> RecordedMessage:
        """The ``count``-th follow-up message (1-based) once it exists."""
        return await self._emulator.wait_for(
            lambda: self.followups[count - 1] if len(self.followups) >= count else None,
            timeout=timeout,
            what=f"follow-up #{count} of {self!r}",
        )

    def summary(self) -> JSON:
        message = self.message
        return {
            "id": str(self.id),
            "token": self.token,
            "type": self.type,
            "name": self.name,
            "user_id": str(self.user_id),
            "guild_id": None if self.guild_id is None else str(self.guild_id),
            "channel_id": str(self.channel_id),
            "response": self.response,
            "message": None if message is None else message.summary(),
            "followups": [m.summary() for m in self.followups],
        }


@dataclass
class _Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Callable[[ApiRequest], Awaitable[tuple[int, Any]]]
    auth: bool = True
    rate_limited: bool = True

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"


@dataclass
class ApiRequest:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    files: list[UploadedFile]
    headers: Mapping[str, str]
    record: RecordedRequest

    def json_object(self) -> JSON:
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise ApiError(400, 50109, "The request body contains invalid JSON.")
        return self.body

    def snowflake(self, name: str) -> int:
        return int(self.params[name])


def _template_regex(template: str) -> re.Pattern[str]:
    pattern = re.escape(template)
    for name in re.findall(r"\{(\w+)\}", template):
        if name == "message_id" and template.startswith("/webhooks"):
            sub = r"(?P<message_id>\d+|@original)"
        elif name.endswith("_id"):
            sub = rf"(?P<{name}>\d+)"
        else:
            sub = rf"(?P<{name}>[^/]+)"
        pattern = pattern.replace(re.escape("{" + name + "}"), sub)
    return re.compile(f"^{pattern}$")


# ===============================================================================================
# The emulator
# ===============================================================================================


class DiscordEmulator:
    """Discord's REST API and gateway for one bot application. See the module docstring."""

    def __init__(
        self,
        *,
        token: str | None = None,
        application_id: int | None = None,
        bot_user_id: int | None = None,
        bot_name: str = "NextRound",
        host: str = "127.0.0.1",
        port: int = 0,
        ack_deadline: float = 3.0,
        token_ttl: float = 15 * 60.0,
        nonce_window: float = 180.0,
        heartbeat_interval_ms: int = 41250,
        global_rate_limit: int | None = 50,
        route_limits: Mapping[str, tuple[int, float] | None] | None = None,
        default_route_limit: tuple[int, float] | None = (50, 1.0),
        route_limits_enabled: bool = True,
        attachment_size_limit: int = 10 * MiB,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        dm_requires_mutual_guild: bool = False,
        user_app_followup_limit: int = 5,
        default_integration_types: Sequence[int] = (INSTALL_GUILD,),
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] | None = None,
    ) -> None:
        self.host = host
        # `clock`: seconds for windows and deadlines (default: real monotonic time).
        # `wall_clock`: Unix seconds for snowflakes and timestamps; a test passes the bot's
        # injected clock so that Discord's "now" and the bot's agree, as in production.
        # Windows and deadlines (nonce de-duplication, tokens, rate limits) then also pass as
        # that clock is moved.
        self._wall_clock = wall_clock or time.time
        self._follows_wall_clock = wall_clock is not None
        self._wall_clock_start = self._wall_clock()
        self.port = port
        self.expected_token = token
        self.ack_deadline = ack_deadline
        self.token_ttl = token_ttl
        self.nonce_window = nonce_window
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.global_rate_limit = global_rate_limit
        self.route_limits: dict[str, tuple[int, float] | None] = dict(DEFAULT_ROUTE_LIMITS)
        self.route_limits.update(route_limits or {})
        self.default_route_limit = default_route_limit
        self.route_limits_enabled = route_limits_enabled
        self.attachment_size_limit = attachment_size_limit
        self.bot_permissions = bot_permissions
        self.dm_requires_mutual_guild = dm_requires_mutual_guild
        self.user_app_followup_limit = user_app_followup_limit
        self.default_integration_types = list(default_integration_types)

        self._clock = clock or time.monotonic
        self._time_offset = 0.0
        # Wall time is read off the same clock, so reported times agree with the limits.
        self._wall_origin = time.time() - self._clock()
        self._snowflake = SnowflakeGenerator(self._wall)

        # Identity
        self.bot_user_id = bot_user_id or application_id or self._snowflake()
        self.application_id = application_id or self.bot_user_id
        self.application_owner_id = self._snowflake()
        self.users: dict[int, User] = {
            self.bot_user_id: User(self.bot_user_id, bot_name, bot=True),
            self.application_owner_id: User(self.application_owner_id, "app-owner"),
        }
        self.bot_name = bot_name

        # World state
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self._dm_channel_by_user: dict[int, int] = {}
        self._messages: dict[int, RecordedMessage] = {}
        self._channel_message_ids: dict[int, list[int]] = collections.defaultdict(list)
        self._nonces: dict[tuple[int, str], tuple[int, float]] = {}
        self._attachments: dict[int, UploadedFile] = {}
        self._reactions: list[JSON] = []

        # Application commands per scope (None = global)
        self._commands: dict[int | None, list[JSON]] = {}
        self._command_ids: dict[tuple[int | None, str, int], int] = {}
        self._sync_counts: collections.Counter[int | None] = collections.Counter()
        # (guild id, command name): opened to everyone by a server admin (Integrations settings)
        self._opened_commands: set[tuple[int, str]] = set()

        # Interactions
        self.interactions: dict[int, InteractionHandle] = {}
        self._interactions_by_token: dict[str, InteractionHandle] = {}

        # Recording, limits, faults
        self.requests: list[RecordedRequest] = []
        self.max_recorded_requests = 100_000
        self.stats: collections.Counter[str] = collections.Counter()
        self._faults: list[Fault] = []
        self.on_rate_limited: Callable[[float], None] | None = None
        self._buckets: dict[str, _Bucket] = {}
        self._global_window: collections.deque[float] = collections.deque()

        # Gateway
        self._sessions: dict[str, _GatewaySession] = {}
        self._connections: set[_GatewayConnection] = set()
        self.identify_payloads: list[JSON] = []
        self.resume_payloads: list[JSON] = []
        self.gateway_connection_log: list[JSON] = []
        self.presence_updates: list[JSON] = []
        self._gateway_open = asyncio.Event()
        self._gateway_open.set()

        self._changed_event = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._routes = self._build_routes()
        self.base_url = ""
        self.api_base = ""
        self.gateway_url = ""
        self.resume_gateway_url = ""

    # ------------------------------------------------------------------------------------------
    # Lifecycle
    # ------------------------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * MiB)
        app.router.add_get("/gateway", self._handle_gateway)
        app.router.add_get("/gateway/resume", self._handle_gateway)
        self._add_control_routes(app)
        app.router.add_route("*", r"/api/v{version:\d+}/{tail:.*}", self._handle_api)
        return app

    async def start(self) -> str:
        """Start serving; returns ``api_base``."""
        if self._runner is not None:
            return self.api_base
        self._runner = web.AppRunner(
            self.build_app(), access_log=None, handle_signals=False, shutdown_timeout=2.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])  # the real port when 0 was asked for
        self.base_url = f"http://{self.host}:{self.port}"
        self.api_base = f"{self.base_url}/api/v{API_VERSION}"
        self.gateway_url = f"ws://{self.host}:{self.port}/gateway"
        self.resume_gateway_url = f"ws://{self.host}:{self.port}/gateway/resume"
        return self.api_base

    async def close(self) -> None:
        """Close every gateway connection (close code 1001), then stop the server."""
        self._gateway_open.set()
        connections = list(self._connections)
        for connection in connections:
            connection.queue.put_nowait(_CloseFrame(1001))
        if connections:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(c.closed.wait() for c in connections)), timeout=2.0
                )
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DiscordEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ------------------------------------------------------------------------------------------
    # Clocks and change notification
    # ------------------------------------------------------------------------------------------

    def _wall(self) -> float:
        if self._follows_wall_clock:
            return self._wall_clock() + self._time_offset
        return self._wall_origin + self._mono()

    def _mono(self) -> float:
        moved = self._wall_clock() - self._wall_clock_start if self._follows_wall_clock else 0.0
        return self._clock() + self._time_offset + moved

    def advance_time(self, seconds: float) -> None:
        """Move the emulator's clocks forward (token expiry, nonce window, rate limits)."""
        self._time_offset += seconds
        self._changed()

    async def _sleep(self, seconds: float) -> None:
        """Wait until ``seconds`` of emulator time have passed: real time with the default
        clock; with one that stands still, until the test moves it on."""
        deadline = self._mono() + seconds
        while (remaining := deadline - self._mono()) > 0:
            event = self._changed_event  # advance_time sets it
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def _changed(self) -> None:
        event = self._changed_event
        self._changed_event = asyncio.Event()
        event.set()

    async def wait_for(
        self, predicate: Callable[[], T | None], timeout: float = 5.0, what: str = "condition"
    ) -> T:
        """Wait until ``predicate()`` returns something truthy, re-checking on every change."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}")
            event = self._changed_event
            with contextlib.suppress(asyncio.TimeoutError):
                # Also wake periodically: some predicates depend on time, not on changes.
                await asyncio.wait_for(event.wait(), min(remaining, 0.05))

    async def wait_for_message(
        self,
        channel_id: int,
        predicate: Callable[[RecordedMessage], bool] | None = None,
        timeout: float = 5.0,
        *,
        include_ephemeral: bool = False,
    ) -> RecordedMessage:
        def find() -> RecordedMessage | None:
            for message in reversed(self.messages(channel_id, include_ephemeral=include_ephemeral)):
                if predicate is None or predicate(message):
                    return message
            return None

        return await self.wait_for(find, timeout, f"a message in channel {channel_id}")

    async def wait_for_dm(
        self,
        user_id: int,
        predicate: Callable[[RecordedMessage], bool] | None = None,
        timeout: float = 5.0,
    ) -> RecordedMessage:
        def find() -> RecordedMessage | None:
            for message in reversed(self.dm_messages(user_id)):
                if predicate is None or predicate(message):
                    return message
            return None

        return await self.wait_for(find, timeout, f"a DM to user {user_id}")

    async def wait_for_request(
        self, method: str, path_regex: str, timeout: float = 5.0, *, count: int = 1
    ) -> RecordedRequest:
        def find() -> RecordedRequest | None:
            found = self.requests_matching(method, path_regex)
            return found[count - 1] if len(found) >= count else None

        return await self.wait_for(find, timeout, f"request #{count} {method} {path_regex}")

    async def wait_until_connected(self, timeout: float = 5.0) -> None:
        """Wait until a client has identified (or resumed) and has a live gateway connection."""
        await self.wait_for(
            lambda: any(s.connection is not None for s in self._sessions.values()),
            timeout,
            "a gateway session",
        )

    # ------------------------------------------------------------------------------------------
    # State helpers
    # ------------------------------------------------------------------------------------------

    @property
    def guild_ids(self) -> list[int]:
        return list(self.guilds)

    @property
    def open_gateway_connections(self) -> int:
        return len(self._connections)

    @property
    def identify_count(self) -> int:
        return len(self.identify_payloads)

    @property
    def resume_count(self) -> int:
        return len(self.resume_payloads)

    def add_user(self, name: str, *, bot: bool = False, locale: str = "en-US") -> int:
        user_id = self._snowflake()
        self.users[user_id] = User(user_id, name, global_name=name.title(), bot=bot, locale=locale)
        return user_id

    def add_guild(
        self,
        name: str = "Test Server",
        *,
        owner_id: int | None = None,
        bot_member: bool = True,
        locale: str = "en-US",
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        features: Sequence[str] = (),
    ) -> int:
        """Create a server; its owner is a new user unless ``owner_id`` is given."""
        guild_id = self._snowflake()
        if owner_id is None:
            owner_id = self.add_user(f"{name.lower().replace(' ', '-')}-owner")
        self._require_user(owner_id)
        guild = Guild(guild_id, name, owner_id, locale=locale, features=list(features))
        guild.roles[guild_id] = Role(guild_id, guild_id, "@everyone", everyone_permissions)
        guild.members[owner_id] = Member(guild_id, owner_id, joined_at=self._wall())
        guild.bot_present = False
        self.guilds[guild_id] = guild
        if bot_member:
            self.add_bot_to_guild(guild_id)
        return guild_id

    def add_bot_to_guild(self, guild_id: int) -> None:
        """The bot joins the server (dispatches GUILD_CREATE when connected)."""
        guild = self._require_guild(guild_id)
        if guild.bot_present:
            return
        role_id = next((r.id for r in guild.roles.values() if r.bot_id == self.bot_user_id), None)
        if role_id is None:
            role_id = self._snowflake()
            guild.roles[role_id] = Role(
                role_id,
                guild_id,
                self.bot_name,
                self.bot_permissions,
                position=1,
                managed=True,
                bot_id=self.bot_user_id,
            )
        guild.members[self.bot_user_id] = Member(
            guild_id, self.bot_user_id, roles=[role_id], joined_at=self._wall()
        )
        guild.bot_present = True
        guild.bot_joined_at = self._wall()
        self.dispatch("GUILD_CREATE", self.guild_create_payload(guild_id, joined=True))

    def remove_bot_from_guild(self, guild_id: int) -> None:
        """The bot is removed from the server (dispatches GUILD_DELETE)."""
        guild = self._require_guild(guild_id)
        if not guild.bot_present:
            return
        guild.bot_present = False
        guild.members.pop(self.bot_user_id, None)
        self.dispatch("GUILD_DELETE", {"id": str(guild_id)})

    def add_role(self, guild_id: int, name: str, permissions: int = 0) -> int:
        guild = self._require_guild(guild_id)
        role_id = self._snowflake()
        role = Role(role_id, guild_id, name, permissions, position=len(guild.roles))
        guild.roles[role_id] = role
        if guild.bot_present:
            self.dispatch(
                "GUILD_ROLE_CREATE", {"guild_id": str(guild_id), "role": self.role_payload(role)}
            )
        return role_id

    def set_role_permissions(self, role_id: int, permissions: int) -> None:
        """Change a role's permissions (the @everyone role's id is the guild id)."""
        role = self._require_role(role_id)
        role.permissions = permissions
        if self.guilds[role.guild_id].bot_present:
            self.dispatch(
                "GUILD_ROLE_UPDATE",
                {"guild_id": str(role.guild_id), "role": self.role_payload(role)},
            )

    def add_member(
        self,
        guild_id: int,
        user_id: int,
        *,
        roles: Sequence[int] = (),
        permissions: int | None = None,
        nick: str | None = None,
    ) -> None:
        """Add a user to a server. ``permissions`` adds a personal role with those bits
        (on top of @everyone's)."""
        guild = self._require_guild(guild_id)
        self._require_user(user_id)
        role_ids = list(roles)
        for role_id in role_ids:
            if role_id not in guild.roles:
                raise KeyError(f"role {role_id} is not in guild {guild_id}")
        if permissions is not None:
            role_ids.append(
                self.add_role(guild_id, f"{self.users[user_id].username}-permissions", permissions)
            )
        member = guild.members.get(user_id)
        if member is not None:  # already there (e.g. the owner): give the extra roles
            member.roles = list(dict.fromkeys([*member.roles, *role_ids]))
            member.nick = nick if nick is not None else member.nick
            event = "GUILD_MEMBER_UPDATE"
        else:
            member = Member(guild_id, user_id, roles=role_ids, nick=nick, joined_at=self._wall())
            guild.members[user_id] = member
            event = "GUILD_MEMBER_ADD"
        if guild.bot_present:
            payload = self.member_payload(member)
            payload["guild_id"] = str(guild_id)
            self.dispatch(event, payload)

    def add_text_channel(
        self,
        guild_id: int,
        name: str,
        type: int = CHANNEL_TEXT,
        *,
        parent_id: int | None = None,
        topic: str | None = None,
    ) -> int:
        """Add a channel (0 text, 2 voice, 4 category, 5 announcement)."""
        guild = self._require_guild(guild_id)
        if type not in (CHANNEL_TEXT, CHANNEL_VOICE, CHANNEL_CATEGORY, CHANNEL_NEWS):
            raise ValueError(f"unsupported channel type {type}")
        channel_id = self._snowflake()
        channel = Channel(
            channel_id,
            type,
            name,
            guild_id=guild_id,
            position=len(guild.channel_ids),
            parent_id=parent_id,
            topic=topic,
            created_at=self._wall(),
        )
        self.channels[channel_id] = channel
        guild.channel_ids.append(channel_id)
        if guild.bot_present:
            self.dispatch("CHANNEL_CREATE", self.channel_payload(channel))
        return channel_id

    def add_category(self, guild_id: int, name: str) -> int:
        return self.add_text_channel(guild_id, name, CHANNEL_CATEGORY)

    def set_channel_overwrite(
        self,
        channel_id: int,
        target_id: int,
        *,
        allow: int = 0,
        deny: int = 0,
        member: bool = False,
    ) -> None:
        """Set (replace) one permission overwrite on a guild channel; dispatches CHANNEL_UPDATE."""
        channel = self._require_channel(channel_id)
        if channel.guild_id is None:
            raise ValueError("DM channels have no permission overwrites")
        channel.overwrites = [o for o in channel.overwrites if o.id != target_id]
        if allow or deny:
            channel.overwrites.append(Overwrite(target_id, 1 if member else 0, allow, deny))
        if self.guilds[channel.guild_id].bot_present:
            self.dispatch("CHANNEL_UPDATE", self.channel_payload(channel))

    def set_bot_channel_permissions(
        self, channel_id: int, *, allow: int = 0, deny: int = 0
    ) -> None:
        """A member overwrite for the bot in one channel, e.g. ``deny=SEND_MESSAGES``."""
        self.set_channel_overwrite(
            channel_id, self.bot_user_id, allow=allow, deny=deny, member=True
        )

    def delete_channel(self, channel_id: int) -> None:
        """Delete a guild channel (and its threads); dispatches CHANNEL_DELETE."""
        channel = self._require_channel(channel_id)
        if channel.guild_id is None:
            raise ValueError("cannot delete a DM channel")
        guild = self.guilds[channel.guild_id]
        payload = self.channel_payload(channel)
        removed = {channel_id} | {
            c.id
            for c in self.channels.values()
            if c.parent_id == channel_id and c.type in THREAD_TYPES
        }
        for removed_id in removed:
            self.channels.pop(removed_id, None)
        guild.channel_ids = [c for c in guild.channel_ids if c not in removed]
        if guild.bot_present:
            self.dispatch("CHANNEL_DELETE", payload)

    def set_dms_closed(self, user_id: int, closed: bool = True) -> None:
        """When closed, sending the user a DM answers 403 with code 50007."""
        self._require_user(user_id).dms_closed = closed

    def dm_channel_id(self, user_id: int) -> int:
        """The bot's DM channel with a user (created on first use, then stable)."""
        self._require_user(user_id)
        channel_id = self._dm_channel_by_user.get(user_id)
        if channel_id is None:
            channel_id = self._snowflake()
            self.channels[channel_id] = Channel(
                channel_id, CHANNEL_DM, recipient_id=user_id, created_at=self._wall()
            )
            self._dm_channel_by_user[user_id] = channel_id
        return channel_id

    def post_user_message(
        self, user_id: int, channel_id: int, content: str, **fields: Any
    ) -> RecordedMessage:
        """A user writes in a channel (or in their DM channel with the bot): MESSAGE_CREATE."""
        self._require_user(user_id)
        channel = self._require_channel(channel_id)
        body: JSON = {"content": content, **fields}
        return self._create_message(
            channel, user_id, body, [], size_limit=self.attachment_size_limit
        )

    # ------------------------------------------------------------------------------------------
    # Inspection
    # ------------------------------------------------------------------------------------------

    def message(self, message_id: int) -> RecordedMessage | None:
        return self._messages.get(message_id)

    def messages(
        self, channel_id: int, *, include_ephemeral: bool = False
    ) -> list[RecordedMessage]:
        """Messages in a channel, oldest first (deleted ones left out)."""
        result = []
        for message_id in self._channel_message_ids.get(channel_id, []):
            message = self._messages[message_id]
            if message.deleted or (message.ephemeral and not include_ephemeral):
                continue
            result.append(message)
        return result

    def dm_messages(self, user_id: int) -> list[RecordedMessage]:
        """Messages in the bot's DM channel with this user, oldest first."""
        channel_id = self._dm_channel_by_user.get(user_id)
        return [] if channel_id is None else self.messages(channel_id)

    def commands(self, guild_id: int | None = None) -> list[JSON]:
        """The commands last synced to this scope (None = global), as Discord stores them."""
        return [dict(c) for c in self._commands.get(guild_id, [])]

    def open_command_to_everyone(self, guild_id: int, name: str) -> None:
        """What a server admin can do in Server Settings > Integrations: let every member use a
        command whose `default_member_permissions` would otherwise hide it from them."""
        self._opened_commands.add((guild_id, name))

    def sync_count(self, guild_id: int | None = None) -> int:
        """How many bulk overwrites (PUT) the bot made for this scope."""
        return self._sync_counts[guild_id]

    def requests_matching(self, method: str, path_regex: str) -> list[RecordedRequest]:
        method = method.upper()
        return [
            r for r in self.requests if method in ("*", r.method) and re.search(path_regex, r.path)
        ]

    def fault(
        self,
        method: str,
        path_regex: str,
        status: int | None = None,
        *,
        code: int | None = None,
        message: str | None = None,
        retry_after: float | None = None,
        global_: bool = False,
        times: int | None = 1,
        delay: float | None = None,
        hold: asyncio.Event | None = None,
        after: bool = False,
    ) -> Fault:
        """Make the next ``times`` matching API requests fail with ``status`` (and/or wait
        ``delay`` seconds, or until ``hold`` is set, first). With ``after``, the request is
        carried out first and only its response is replaced by the failure (a response lost
        on the way back). ``path_regex`` is searched in the path without /api/v10."""
        fault = Fault(
            method.upper(),
            path_regex,
            status,
            code,
            message,
            retry_after,
            global_,
            times,
            delay,
            hold=hold,
            after=after,
        )
        self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self._faults.clear()

    def set_route_limit(self, route_key: str, limit: int | None, per: float = 1.0) -> None:
        """Set a route's bucket (``None`` disables limiting for it)."""
        self.route_limits[route_key] = None if limit is None else (limit, per)
        for key in [k for k in self._buckets if k.startswith(route_key + "|")]:
            del self._buckets[key]

    # ------------------------------------------------------------------------------------------
    # Lookups
    # ------------------------------------------------------------------------------------------

    def _require_user(self, user_id: int) -> User:
        try:
            return self.users[user_id]
        except KeyError:
            raise KeyError(f"unknown user {user_id}") from None

    def _require_guild(self, guild_id: int) -> Guild:
        try:
            return self.guilds[guild_id]
        except KeyError:
            raise KeyError(f"unknown guild {guild_id}") from None

    def _require_channel(self, channel_id: int) -> Channel:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise KeyError(f"unknown channel {channel_id}") from None

    def _require_role(self, role_id: int) -> Role:
        for guild in self.guilds.values():
            if role_id in guild.roles:
                return guild.roles[role_id]
        raise KeyError(f"unknown role {role_id}")

    def _find_role(self, role_id: int, guild_id: int | None) -> Role | None:
        if guild_id is None or guild_id not in self.guilds:
            return None
        return self.guilds[guild_id].roles.get(role_id)

    def _live_sessions(self) -> list[_GatewaySession]:
        return list(self._sessions.values())

    # ------------------------------------------------------------------------------------------
    # Permissions (Discord's algorithm: base, then @everyone/role/member overwrites)
    # ------------------------------------------------------------------------------------------

    def base_permissions(self, guild_id: int, user_id: int) -> int:
        guild = self.guilds[guild_id]
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        member = guild.members.get(user_id)
        permissions = guild.roles[guild_id].permissions
        if member is not None:
            for role_id in member.roles:
                role = guild.roles.get(role_id)
                if role is not None:
                    permissions |= role.permissions
        if permissions & ADMINISTRATOR:
            return ALL_PERMISSIONS
        return permissions

    def channel_permissions(self, channel_id: int, user_id: int) -> int:
        """A user's permissions in a guild channel (threads use their parent's overwrites)."""
        channel = self.channels[channel_id]
        if channel.guild_id is None:
            return INTERACTION_ONLY_APP_PERMISSIONS
        guild = self.guilds[channel.guild_id]
        permissions = self.base_permissions(guild.id, user_id)
        if permissions == ALL_PERMISSIONS:
            return ALL_PERMISSIONS
        target = channel
        if channel.type in THREAD_TYPES and channel.parent_id in self.channels:
            target = self.channels[channel.parent_id]
        overwrites = {o.id: o for o in target.overwrites}
        everyone = overwrites.get(guild.id)
        if everyone is not None:
            permissions = (permissions & ~everyone.deny) | everyone.allow
        member = guild.members.get(user_id)
        role_ids = member.roles if member is not None else []
        allow = deny = 0
        for role_id in role_ids:
            overwrite = overwrites.get(role_id)
            if overwrite is not None and overwrite.type == 0:
                allow |= overwrite.allow
                deny |= overwrite.deny
        permissions = (permissions & ~deny) | allow
        personal = overwrites.get(user_id)
        if personal is not None and personal.type == 1:
            permissions = (permissions & ~personal.deny) | personal.allow
        # Implicit rules: no view means nothing; no send removes what depends on sending.
        if not permissions & VIEW_CHANNEL:
            return 0
        if not permissions & SEND_MESSAGES:
            permissions &= ~(SEND_TTS_MESSAGES | MENTION_EVERYONE | EMBED_LINKS | ATTACH_FILES)
        return permissions

    def _bot_can_access(self, channel: Channel) -> int:
        """The bot's permissions in a channel, or raise 50001 where it has no access at all."""
        if channel.guild_id is None:
            return ALL_PERMISSIONS
        guild = self.guilds.get(channel.guild_id)
        if guild is None or not guild.bot_present:
            raise _missing_access()
        permissions = self.channel_permissions(channel.id, self.bot_user_id)
        if not permissions & VIEW_CHANNEL:
            raise _missing_access()
        return permissions

    # ------------------------------------------------------------------------------------------
    # Payload builders (shapes as Discord sends them and discord.py 2.7 parses them)
    # ------------------------------------------------------------------------------------------

    def user_payload(self, user_id: int) -> JSON:
        user = self.users[user_id]
        payload: JSON = {
            "id": str(user.id),
            "username": user.username,
            "discriminator": "0",
            "global_name": user.global_name,
            "avatar": None,
            "avatar_decoration_data": None,
            "public_flags": 0,
        }
        if user.bot:
            payload["bot"] = True
        return payload

    def bot_user_payload(self) -> JSON:
        payload = self.user_payload(self.bot_user_id)
        payload.update(
            {
                "verified": True,
                "mfa_enabled": False,
                "flags": 0,
                "locale": "en-US",
                "email": None,
                "bio": "",
                "banner": None,
                "accent_color": None,
            }
        )
        return payload

    def role_payload(self, role: Role) -> JSON:
        payload: JSON = {
            "id": str(role.id),
            "name": role.name,
            "color": role.color,
            "colors": {
                "primary_color": role.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": role.hoist,
            "icon": None,
            "unicode_emoji": None,
            "position": role.position,
            "permissions": str(role.permissions),
            "managed": role.managed,
            "mentionable": role.mentionable,
            "flags": 0,
        }
        if role.bot_id is not None:
            payload["tags"] = {"bot_id": str(role.bot_id)}
        return payload

    def member_payload(
        self, member: Member, *, with_user: bool = True, permissions: int | None = None
    ) -> JSON:
        payload: JSON = {
            "roles": [str(r) for r in member.roles],
            "nick": member.nick,
            "avatar": None,
            "banner": None,
            "joined_at": _iso(member.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            payload["user"] = self.user_payload(member.user_id)
        if permissions is not None:
            payload["permissions"] = str(permissions)
        return payload

    def _overwrites_payload(self, channel: Channel) -> list[JSON]:
        return [
            {"id": str(o.id), "type": o.type, "allow": str(o.allow), "deny": str(o.deny)}
            for o in channel.overwrites
        ]

    def channel_payload(self, channel: Channel) -> JSON:
        if channel.type == CHANNEL_DM:
            assert channel.recipient_id is not None
            return {
                "id": str(channel.id),
                "type": CHANNEL_DM,
                "last_message_id": _str_or_none(channel.last_message_id),
                "recipients": [self.user_payload(channel.recipient_id)],
                "flags": 0,
            }
        if channel.type in THREAD_TYPES:
            return self.thread_payload(channel)
        payload: JSON = {
            "id": str(channel.id),
            "type": channel.type,
            "guild_id": str(channel.guild_id),
            "name": channel.name,
            "position": channel.position,
            "parent_id": _str_or_none(channel.parent_id),
            "permission_overwrites": self._overwrites_payload(channel),
            "nsfw": False,
            "flags": 0,
        }
        if channel.type in (CHANNEL_TEXT, CHANNEL_NEWS):
            payload.update(
                {
                    "topic": channel.topic,
                    "rate_limit_per_user": channel.rate_limit_per_user,
                    "last_message_id": _str_or_none(channel.last_message_id),
                    "default_auto_archive_duration": 1440,
                }
            )
        elif channel.type == CHANNEL_VOICE:
            payload.update(
                {
                    "bitrate": 64000,
                    "user_limit": 0,
                    "rtc_region": None,
                    "rate_limit_per_user": 0,
                    "last_message_id": _str_or_none(channel.last_message_id),
                }
            )
        return payload

    def thread_payload(self, thread: Channel) -> JSON:
        return {
            "id": str(thread.id),
            "type": thread.type,
            "guild_id": str(thread.guild_id),
            "parent_id": str(thread.parent_id),
            "owner_id": str(thread.owner_id),
            "name": thread.name,
            "last_message_id": _str_or_none(thread.last_message_id),
            "message_count": thread.message_count,
            "member_count": 1,
            "total_message_sent": thread.message_count,
            "rate_limit_per_user": thread.rate_limit_per_user,
            "flags": 0,
            "thread_metadata": {
                "archived": thread.archived,
                "auto_archive_duration": thread.auto_archive_duration,
                "archive_timestamp": _iso(thread.created_at),
                "locked": False,
                "create_timestamp": _iso(thread.created_at),
            },
        }

    def interaction_channel_payload(self, channel: Channel, user_id: int) -> JSON:
        """A channel as interactions carry it: with the invoking user's permissions."""
        payload = self.channel_payload(channel)
        if channel.guild_id is not None:
            payload["guild_id"] = str(channel.guild_id)
            payload["permissions"] = str(self.channel_permissions(channel.id, user_id))
        return payload

    def guild_payload(self, guild_id: int) -> JSON:
        """A guild as REST returns it (no channels or members)."""
        guild = self.guilds[guild_id]
        system_channel = next(
            (c for c in guild.channel_ids if self.channels[c].type == CHANNEL_TEXT), None
        )
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "icon_hash": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [self.role_payload(r) for r in guild.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": list(guild.features),
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": _str_or_none(system_channel),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": guild.locale,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
        }

    def guild_create_payload(self, guild_id: int, *, joined: bool = False) -> JSON:
        """The full GUILD_CREATE payload, members included so discord.py needs no chunking.

        ``joined``: the bot was just added, so ``unavailable`` is left out (discord.py then
        fires ``on_guild_join`` rather than ``on_guild_available``)."""
        guild = self.guilds[guild_id]
        payload = self.guild_payload(guild_id)
        regular = [
            self.channels[c] for c in guild.channel_ids if self.channels[c].type not in THREAD_TYPES
        ]
        threads = [
            c
            for c in self.channels.values()
            if c.guild_id == guild_id and c.type in THREAD_TYPES and not c.archived
        ]
        channels = []
        for channel in regular:
            channel_payload = self.channel_payload(channel)
            channel_payload.pop("guild_id", None)  # Discord leaves it out inside GUILD_CREATE
            channels.append(channel_payload)
        payload.update(
            {
                "joined_at": _iso(guild.bot_joined_at or self._wall()),
                "large": False,
                "unavailable": False,
                "member_count": len(guild.members),
                "voice_states": [],
                "members": [self.member_payload(m) for m in guild.members.values()],
                "channels": channels,
                "threads": [self.thread_payload(t) for t in threads],
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
                "lazy": True,
                "application_command_counts": {},
            }
        )
        if joined:
            del payload["unavailable"]
        return payload

    def application_payload(self) -> JSON:
        return {
            "id": str(self.application_id),
            "name": self.bot_name,
            "icon": None,
            "description": f"{self.bot_name} (emulated)",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": self.user_payload(self.application_owner_id),
            "team": None,
            "verify_key": "0" * 64,
            # GATEWAY_MESSAGE_CONTENT_LIMITED | APPLICATION_COMMAND_BADGE
            "flags": (1 << 19) | (1 << 23),
            "bot": self.user_payload(self.bot_user_id),
            "tags": [],
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "approximate_guild_count": sum(1 for g in self.guilds.values() if g.bot_present),
            "integration_types_config": {"0": {}, "1": {}},
        }

    # ------------------------------------------------------------------------------------------
    # HTTP plumbing: routing, auth, global and per-route limits, faults, recording
    # ------------------------------------------------------------------------------------------

    def _build_routes(self) -> list[_Route]:
        h = self
        table: list[tuple[str, str, Callable[[ApiRequest], Awaitable[tuple[int, Any]]], bool]] = [
            ("GET", "/gateway", h._h_get_gateway, False),
            ("GET", "/gateway/bot", h._h_get_gateway_bot, True),
            ("GET", "/users/@me", h._h_get_me, True),
            ("GET", "/users/@me/guilds", h._h_get_my_guilds, True),
            ("POST", "/users/@me/channels", h._h_create_dm, True),
            ("DELETE", "/users/@me/guilds/{guild_id}", h._h_leave_guild, True),
            ("GET", "/users/{user_id}", h._h_get_user, True),
            ("GET", "/oauth2/applications/@me", h._h_get_application, True),
            ("GET", "/applications/@me", h._h_get_application, True),
            ("GET", "/applications/{application_id}/commands", h._h_get_commands, True),
            ("PUT", "/applications/{application_id}/commands", h._h_put_commands, True),
            (
                "GET",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                h._h_get_commands,
                True,
            ),
            (
                "PUT",
                "/applications/{application_id}/guilds/{guild_id}/commands",
                h._h_put_commands,
                True,
            ),
            (
                "POST",
                "/interactions/{interaction_id}/{interaction_token}/callback",
                h._h_interaction_callback,
                False,
            ),
            ("POST", "/webhooks/{webhook_id}/{webhook_token}", h._h_execute_webhook, False),
            (
                "GET",
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                h._h_get_webhook_message,
                False,
            ),
            (
                "PATCH",
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                h._h_edit_webhook_message,
                False,
            ),
            (
                "DELETE",
                "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
                h._h_delete_webhook_message,
                False,
            ),
            ("GET", "/channels/{channel_id}", h._h_get_channel, True),
            ("GET", "/channels/{channel_id}/messages", h._h_list_messages, True),
            ("POST", "/channels/{channel_id}/messages", h._h_create_message, True),
            ("GET", "/channels/{channel_id}/messages/{message_id}", h._h_get_message, True),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", h._h_edit_message, True),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", h._h_delete_message, True),
            (
                "POST",
                "/channels/{channel_id}/messages/{message_id}/threads",
                h._h_thread_from_message,
                True,
            ),
            ("POST", "/channels/{channel_id}/threads", h._h_thread_without_message, True),
            ("POST", "/channels/{channel_id}/typing", h._h_typing, True),
            (
                "PUT",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                h._h_add_reaction,
                True,
            ),
            (
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                h._h_remove_reaction,
                True,
            ),
            ("GET", "/guilds/{guild_id}", h._h_get_guild, True),
            ("GET", "/guilds/{guild_id}/channels", h._h_get_guild_channels, True),
            ("GET", "/guilds/{guild_id}/roles", h._h_get_guild_roles, True),
            ("GET", "/guilds/{guild_id}/members", h._h_list_members, True),
            ("GET", "/guilds/{guild_id}/members/{user_id}", h._h_get_member, True),
        ]
        routes = []
        for method, template, handler, auth in table:
            routes.append(
                _Route(
                    method,
                    template,
                    _template_regex(template),
                    handler,
                    auth=auth,
                    # Callbacks are one-shot per interaction; Discord does not bucket them.
                    rate_limited=not template.startswith("/interactions/"),
                )
            )
        return routes

    def _match_route(self, method: str, path: str) -> tuple[_Route | None, dict[str, str], bool]:
        """(route, params, path_exists_with_other_method)."""
        other_method = False
        for route in self._routes:
            match = route.regex.match(path)
            if match is None:
                continue
            if route.method != method:
                other_method = True
                continue
            params = {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
            return route, params, other_method
        return None, {}, other_method

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.rel_url.raw_path
        prefix = re.match(r"^/api/v\d+", raw_path)
        path = raw_path[prefix.end() :] if prefix else raw_path
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        method = request.method.upper()
        header_names = ("Content-Type", "User-Agent", "X-Audit-Log-Reason")
        record = RecordedRequest(
            method=method,
            path=path,
            query=dict(request.query),
            json=None,
            headers={k: request.headers[k] for k in header_names if k in request.headers},
            files=[],
            at=self._mono(),
        )
        record.headers["Authorization"] = "present" if "Authorization" in request.headers else ""
        self.requests.append(record)
        if len(self.requests) > self.max_recorded_requests:
            del self.requests[: len(self.requests) // 2]  # long offline runs stay bounded
        self.stats["requests"] += 1
        bucket_headers: dict[str, str] = {}
        try:
            route, params, other_method = self._match_route(method, path)
            if route is None:
                self.stats["unknown_route"] += 1
                if other_method:
                    raise ApiError(405, 0, "405: Method Not Allowed")
                raise ApiError(404, 0, "404: Not Found")
            record.route = route.key
            body, files = await self._read_body(request)
            record.json = body
            record.files = [f.filename for f in files]
            if route.auth:
                self._check_auth(request)
            if route.rate_limited:
                self._check_global_limit()
            await self._apply_faults(method, path)
            bucket_headers = self._take_bucket(route, params)
            api_request = ApiRequest(
                method, path, params, dict(request.query), body, files, request.headers, record
            )
            status, payload = await route.handler(api_request)
            await self._apply_faults(method, path, after=True)
        except ApiError as exc:
            status, payload = exc.status, exc.body()
            bucket_headers = {**bucket_headers, **exc.headers}
        record.status = status
        record.response = payload
        self._changed()
        return self._json_response(status, payload, bucket_headers)

    @staticmethod
    def _json_response(
        status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> web.Response:
        # Content-Type must be exactly application/json: discord.py compares it with ==.
        if payload is None:
            return web.Response(status=status, headers=dict(headers or {}))
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        return web.Response(status=status, body=_dumps(payload).encode(), headers=all_headers)

    async def _read_body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        if request.content_type.startswith("multipart/"):
            body: Any = None
            files: list[UploadedFile] = []
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader):
                    continue
                if part.name == "payload_json":
                    try:
                        body = json.loads(await part.text())
                    except ValueError:
                        raise ApiError(
                            400, 50109, "The request body contains invalid JSON."
                        ) from None
                    continue
                index_match = re.fullmatch(r"files\[(\d+)\]", part.name or "")
                if index_match is None and part.filename is None:
                    continue
                data = bytes(await part.read(decode=False))
                files.append(
                    UploadedFile(
                        filename=part.filename or str(part.name),
                        data=data,
                        content_type=part.headers.get("Content-Type", "application/octet-stream"),
                        form_index=int(index_match.group(1)) if index_match else len(files),
                    )
                )
            return body, files
        raw = await request.read()
        if not raw:
            return None, []
        try:
            return json.loads(raw), []
        except ValueError:
            raise ApiError(400, 50109, "The request body contains invalid JSON.") from None

    def _check_auth(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        token = header[4:] if header.startswith("Bot ") else None
        if not token or (self.expected_token is not None and token != self.expected_token):
            raise ApiError(401, 0, "401: Unauthorized")

    def _rate_limited(
        self, retry_after: float, *, global_: bool, scope: str, headers: JSON | None = None
    ) -> ApiError:
        # discord.py retries a 429 only with a Via header and a JSON body (else: a ban).
        all_headers = {
            **(headers or {}),
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "Via": "1.1 google",
            "X-RateLimit-Scope": scope,
        }
        if global_:
            all_headers["X-RateLimit-Global"] = "true"
        error = ApiError(
            429,
            0,
            "You are being rate limited.",
            headers=all_headers,
            extra={"retry_after": round(retry_after, 3), "global": global_},
        )
        if self.on_rate_limited is not None:
            self.on_rate_limited(retry_after)
        return error

    def _check_global_limit(self) -> None:
        if self.global_rate_limit is None:
            return
        now = self._mono()
        window = self._global_window
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= self.global_rate_limit:
            self.stats["global_429"] += 1
            retry_after = max(0.001, 1.0 - (now - window[0]))
            raise self._rate_limited(retry_after, global_=True, scope="global")
        window.append(now)

    def _take_bucket(self, route: _Route, params: Mapping[str, str]) -> dict[str, str]:
        if not route.rate_limited or not self.route_limits_enabled:
            return {}
        limit = self.route_limits.get(route.key, self.default_route_limit)
        if limit is None:
            return {}
        size, per = limit
        major = (
            params.get("channel_id")
            or params.get("guild_id")
            or (params.get("webhook_id", "") + params.get("webhook_token", ""))
        )
        key = f"{route.key}|{major}"
        now = self._mono()
        bucket = self._buckets.get(key)
        if bucket is None or now >= bucket.reset_at or (bucket.limit, bucket.per) != (size, per):
            bucket = self._buckets[key] = _Bucket(size, per, size, now + per)
        reset_after = max(0.0, bucket.reset_at - now)
        if bucket.remaining <= 0:
            self.stats["route_429"] += 1
            self.stats[f"route_429:{route.key}"] += 1
            headers = self._bucket_headers(route, bucket, reset_after)
            raise self._rate_limited(reset_after, global_=False, scope="user", headers=headers)
        bucket.remaining -= 1
        return self._bucket_headers(route, bucket, reset_after)

    def _bucket_headers(self, route: _Route, bucket: _Bucket, reset_after: float) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(bucket.remaining),
            "X-RateLimit-Reset": f"{self._wall() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": hashlib.md5(route.key.encode()).hexdigest(),
        }

    async def _apply_faults(self, method: str, path: str, *, after: bool = False) -> None:
        # The first matching fault applies to a request, so faults queued for the same route
        # meet successive requests in order.
        for fault in self._faults:
            if not fault.matches(method, path, after=after):
                continue
            fault.hits += 1
            self.stats["fault"] += 1
            if fault.delay:
                await self._sleep(fault.delay)
            if fault.hold is not None:
                await fault.hold.wait()
            if fault.status is None:
                return
            if fault.status == 429:
                retry_after = 0.05 if fault.retry_after is None else fault.retry_after
                raise self._rate_limited(
                    retry_after, global_=fault.global_, scope="global" if fault.global_ else "user"
                )
            code = fault.code if fault.code is not None else 0
            message = fault.message or ERROR_MESSAGES.get(code) or _status_message(fault.status)
            raise ApiError(fault.status, code, message)

    # ------------------------------------------------------------------------------------------
    # REST: identity, gateway, users, guilds
    # ------------------------------------------------------------------------------------------

    async def _h_get_gateway(self, req: ApiRequest) -> tuple[int, Any]:
        return 200, {"url": self.gateway_url}

    async def _h_get_gateway_bot(self, req: ApiRequest) -> tuple[int, Any]:
        return 200, {
            "url": self.gateway_url,
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 1000 - self.identify_count,
                "reset_after": 86_400_000,
                "max_concurrency": 1,
            },
        }

    async def _h_get_me(self, req: ApiRequest) -> tuple[int, Any]:
        return 200, self.bot_user_payload()

    async def _h_get_application(self, req: ApiRequest) -> tuple[int, Any]:
        return 200, self.application_payload()

    async def _h_get_my_guilds(self, req: ApiRequest) -> tuple[int, Any]:
        result = []
        for guild in self.guilds.values():
            if guild.bot_present:
                result.append(
                    {
                        "id": str(guild.id),
                        "name": guild.name,
                        "icon": None,
                        "banner": None,
                        "owner": False,
                        "features": list(guild.features),
                        "permissions": str(self.base_permissions(guild.id, self.bot_user_id)),
                    }
                )
        return 200, result

    async def _h_leave_guild(self, req: ApiRequest) -> tuple[int, Any]:
        guild = self.guilds.get(req.snowflake("guild_id"))
        if guild is None or not guild.bot_present:
            raise _unknown("guild")
        self.remove_bot_from_guild(guild.id)
        return 204, None

    async def _h_get_user(self, req: ApiRequest) -> tuple[int, Any]:
        user_id = req.snowflake("user_id")
        if user_id not in self.users:
            raise _unknown("user")
        return 200, self.user_payload(user_id)

    async def _h_create_dm(self, req: ApiRequest) -> tuple[int, Any]:
        body = req.json_object()
        recipient_id = _as_int(body.get("recipient_id"))
        if recipient_id is None:
            errors = FormErrors()
            errors.add(["recipient_id"], "BASE_TYPE_REQUIRED", "This field is required")
            errors.raise_if_any()
        assert recipient_id is not None
        if recipient_id not in self.users or recipient_id == self.bot_user_id:
            raise _unknown("user")
        channel_id = self.dm_channel_id(recipient_id)
        return 200, self.channel_payload(self.channels[channel_id])

    def _guild_for_bot(self, guild_id: int) -> Guild:
        guild = self.guilds.get(guild_id)
        if guild is None:
            raise _unknown("guild")
        if not guild.bot_present:
            raise _missing_access()
        return guild

    async def _h_get_guild(self, req: ApiRequest) -> tuple[int, Any]:
        guild = self._guild_for_bot(req.snowflake("guild_id"))
        payload = self.guild_payload(guild.id)
        if req.query.get("with_counts") in ("1", "true", "True"):
            payload["approximate_member_count"] = len(guild.members)
            payload["approximate_presence_count"] = 0
        return 200, payload

    async def _h_get_guild_channels(self, req: ApiRequest) -> tuple[int, Any]:
        guild = self._guild_for_bot(req.snowflake("guild_id"))
        return 200, [
            self.channel_payload(self.channels[c])
            for c in guild.channel_ids
            if self.channels[c].type not in THREAD_TYPES
        ]

    async def _h_get_guild_roles(self, req: ApiRequest) -> tuple[int, Any]:
        guild = self._guild_for_bot(req.snowflake("guild_id"))
        return 200, [self.role_payload(r) for r in guild.roles.values()]

    async def _h_list_members(self, req: ApiRequest) -> tuple[int, Any]:
        guild = self._guild_for_bot(req.snowflake("guild_id"))
        limit = _query_int(req.query, "limit", 1, 1, 1000)
        after = _query_int(req.query, "after", 0, 0, MAX_INT64)
        members = sorted(
            (m for m in guild.members.values() if m.user_id > after), key=lambda m: m.user_id
        )
        return 200, [self.member_payload(m) for m in members[:limit]]

    async def _h_get_member(self, req: ApiRequest) -> tuple[int, Any]:
        guild = self._guild_for_bot(req.snowflake("guild_id"))
        member = guild.members.get(req.snowflake("user_id"))
        if member is None:
            raise _unknown("member")
        return 200, self.member_payload(member)

    # ------------------------------------------------------------------------------------------
    # REST: application commands (bulk overwrite keeps ids stable per name and type)
    # ------------------------------------------------------------------------------------------

    def _command_scope(self, req: ApiRequest) -> int | None:
        if req.snowflake("application_id") != self.application_id:
            raise _missing_access()
        if "guild_id" not in req.params:
            return None
        guild_id = req.snowflake("guild_id")
        if guild_id not in self.guilds:
            raise _unknown("guild")
        if not self.guilds[guild_id].bot_present:
            raise _missing_access()
        return guild_id

    async def _h_get_commands(self, req: ApiRequest) -> tuple[int, Any]:
        return 200, self.commands(self._command_scope(req))

    async def _h_put_commands(self, req: ApiRequest) -> tuple[int, Any]:
        scope = self._command_scope(req)
        if not isinstance(req.body, list):
            raise ApiError(
                400,
                50035,
                "Invalid Form Body",
                _error_tree([], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType"),
            )
        validate_commands(req.body)
        stored = []
        for raw in req.body:
            stored.append(self._store_command(scope, raw))
        self._commands[scope] = stored
        self._sync_counts[scope] += 1
        return 200, self.commands(scope)

    def _store_command(self, scope: int | None, raw: JSON) -> JSON:
        command_type = int(raw.get("type", 1))
        key = (scope, str(raw["name"]), command_type)
        command_id = self._command_ids.get(key)
        if command_id is None:
            command_id = self._command_ids[key] = self._snowflake()
        permissions = raw.get("default_member_permissions")
        stored: JSON = {
            "id": str(command_id),
            "application_id": str(self.application_id),
            "version": str(self._snowflake()),
            "type": command_type,
            "name": raw["name"],
            "name_localizations": raw.get("name_localizations"),
            "description": raw.get("description") or "",
            "description_localizations": raw.get("description_localizations"),
            "default_member_permissions": None if permissions is None else str(permissions),
            "nsfw": bool(raw.get("nsfw", False)),
        }
        if scope is None:
            stored["dm_permission"] = raw.get("dm_permission", True)
            stored["contexts"] = raw.get("contexts")
            stored["integration_types"] = raw.get("integration_types") or list(
                self.default_integration_types
            )
        else:
            # Contexts and install types only apply to global commands.
            stored["guild_id"] = str(scope)
            stored["contexts"] = None
            stored["integration_types"] = [INSTALL_GUILD]
        if raw.get("options"):
            stored["options"] = json.loads(_dumps(raw["options"]))
        previous = next((c for c in self._commands.get(scope, []) if c["id"] == stored["id"]), None)
        if previous is not None and _same_definition(previous, stored):
            stored["version"] = previous["version"]
        return stored

    # ------------------------------------------------------------------------------------------
    # REST: channels and messages
    # ------------------------------------------------------------------------------------------

    def _channel_or_404(self, channel_id: int) -> Channel:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise _unknown("channel")
        if channel.type == CHANNEL_DM and channel.recipient_id is None:
            raise _unknown("channel")
        return channel

    def _message_in(self, channel: Channel, message_id: int) -> RecordedMessage:
        message = self._messages.get(message_id)
        if message is None or message.deleted or message.ephemeral:
            raise _unknown("message")
        if message.channel_id != channel.id:
            raise _unknown("message")
        return message

    async def _h_get_channel(self, req: ApiRequest) -> tuple[int, Any]:
        channel = self._channel_or_404(req.snowflake("channel_id"))
        self._bot_can_access(channel)
        return 200, self.channel_payload(channel)

    def _check_bot_can_post(self, channel: Channel, files: Sequence[UploadedFile]) -> None:
        if channel.type == CHANNEL_DM:
            assert channel.recipient_id is not None
            recipient = self.users[channel.recipient_id]
            reachable = not recipient.dms_closed and not recipient.bot
            if reachable and self.dm_requires_mutual_guild:
                reachable = any(
                    g.bot_present and recipient.id in g.members for g in self.guilds.values()
                )
            if not reachable:
                raise ApiError(403, 50007, "Cannot send messages to this user")
            return
        permissions = self._bot_can_access(channel)
        if channel.type not in MESSAGEABLE_GUILD_TYPES:
            raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
        needed = SEND_MESSAGES_IN_THREADS if channel.type in THREAD_TYPES else SEND_MESSAGES
        if not permissions & needed:
            raise _missing_permissions()
        if files and not permissions & ATTACH_FILES:
            raise _missing_permissions()

    async def _h_create_message(self, req: ApiRequest) -> tuple[int, Any]:
        channel = self._channel_or_404(req.snowflake("channel_id"))
        self._check_bot_can_post(channel, req.files)
        body = req.json_object()
        nonce = body.get("nonce")
        if nonce is not None:
            if not _valid_nonce(nonce):
                errors = FormErrors()
                errors.add(
                    ["nonce"],
                    "NONCE_TYPE_INVALID",
                    "Nonce must be an integer or a string of up to 25 characters",
                )
                errors.raise_if_any()
            if body.get("enforce_nonce"):
                seen = self._nonces.get((self.bot_user_id, str(nonce)))
                if seen is not None and self._mono() - seen[1] <= self.nonce_window:
                    original = self._messages[seen[0]]
                    if original.deleted:
                        raise _unknown("message")
                    self.stats["nonce_dedup"] += 1
                    return 200, original.payload
        message = self._create_message(
            channel, self.bot_user_id, body, req.files, size_limit=self.attachment_size_limit
        )
        if nonce is not None:
            self._nonces[(self.bot_user_id, str(nonce))] = (message.id, self._mono())
        return 200, message.payload

    async def _h_list_messages(self, req: ApiRequest) -> tuple[int, Any]:
        channel = self._channel_or_404(req.snowflake("channel_id"))
        permissions = self._bot_can_access(channel)
        if not permissions & READ_MESSAGE_HISTORY:
            return 200, []
        limit = _query_int(req.query, "limit", 50, 1, 100)
        visible = self.messages(channel.id)
        if "before" in req.query:
            before = _query_int(req.query, "before", 0, 0, MAX_INT64)
            chosen = [m for m in visible if m.id < before][-limit:]
        elif "after" in req.query:
            after = _query_int(req.query, "after", 0, 0, MAX_INT64)
            chosen = [m for m in visible if m.id > after][:limit]
        elif "around" in req.query:
            around = _query_int(req.query, "around", 0, 0, MAX_INT64)
            older_count = sum(1 for m in visible if m.id < around)
            start = max(0, older_count - limit // 2)
            chosen = visible[start : start + limit]
        else:
            chosen = visible[-limit:]
        return 200, [m.payload for m in reversed(chosen)]

    async def _h_get_message(self, req: ApiRequest) -> tuple[int, Any]:
        channel = self._channel_or_404(req.snowflake("channel_id"))
        permissions = self._bot_can_access(channel)
        if not permissions & READ_MESSAGE_HISTORY:
            raise _missing_permissions()
        return 200, self._message_in(channel, req.snowflake("message_id")).payload

    async def _h_edit_message(self, req: ApiRequest) -> tuple[int, Any]:
        channel = self._channel_or_404(req.snowflake("channel_id"))
        self._bot_can_access(channel)
        message = self._message_in(channel, req.snowflake("message_id"))
        if message.author_id != self.bot_user_id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        self._edit_message(message, req.json_object(), req.files, self.attachment_size_limit)
        return 200, message.payload

    async def _h_delete_message(self, req: ApiRequest) -> tuple[int, Any]:
        channel = self._channel_or_404(req.snowflake("channel_id"))
        permissions = self._bot_can_access(channel)
        message = self._message_in(channel, req.snowflake("message_id"))
        if message.author_id != self.bot_user_id and (
            channel.type == CHANNEL_DM or not permissions & MANAGE_MESSAGES
        ):
            raise _missing_permissions()
        self._delete_message(message)
        return 204, None

    async def _h_typing(self, req: ApiRequest) -> tuple[int, Any]:
        channel = self._channel_or_404(req.snowflake("channel_id"))
        self._check_bot_can_post(channel, [])
        return 204, None

    async def _h_add_reaction(self, req: ApiRequest) -> tuple[int, Any]:
        channel = self._channel_or_404(req.snowflake("channel_id"))
        permissions = self._bot_can_access(channel)
        message = self._message_in(channel, req.snowflake("message_id"))
        if channel.guild_id is not None and not permissions & ADD_REACTIONS:
            raise _missing_permissions()
        self._reactions.append(
            {"message_id": message.id, "emoji": req.params["emoji"], "user_id": self.bot_user_id}
        )
        return 204, None

    async def _h_remove_reaction(self, req: ApiRequest) -> tuple[int, Any]:
        channel = self._channel_or_404(req.snowflake("channel_id"))
        self._bot_can_access(channel)
        message = self._message_in(channel, req.snowflake("message_id"))
        self._reactions = [
            r
            for r in self._reactions
            if not (r["message_id"] == message.id and r["emoji"] == req.params["emoji"])
        ]
        return 204, None

    async def _h_thread_from_message(self, req: ApiRequest) -> tuple[int, Any]:
        channel = self._channel_or_404(req.snowflake("channel_id"))
        permissions = self._bot_can_access(channel)
        if channel.type not in (CHANNEL_TEXT, CHANNEL_NEWS):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        message = self._message_in(channel, req.snowflake("message_id"))
        if not permissions & CREATE_PUBLIC_THREADS:
            raise _missing_permissions()
        if message.id in self.channels:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        body = req.json_object()
        _validate_thread_body(body)
        thread_type = CHANNEL_NEWS_THREAD if channel.type == CHANNEL_NEWS else CHANNEL_PUBLIC_THREAD
        # A thread started from a message shares the message's id.
        thread = self._create_thread(channel, message.id, thread_type, body)
        message.payload["thread"] = self.thread_payload(thread)
        message.payload["flags"] = message.flags | FLAG_HAS_THREAD
        return 201, self.thread_payload(thread)

    async def _h_thread_without_message(self, req: ApiRequest) -> tuple[int, Any]:
        channel = self._channel_or_404(req.snowflake("channel_id"))
        permissions = self._bot_can_access(channel)
        if channel.type not in (CHANNEL_TEXT, CHANNEL_NEWS):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        body = req.json_object()
        _validate_thread_body(body)
        thread_type = int(body.get("type") or CHANNEL_PRIVATE_THREAD)
        if thread_type not in THREAD_TYPES:
            raise ApiError(
                400,
                50035,
                "Invalid Form Body",
                _error_tree(["type"], "BASE_TYPE_CHOICES", "Value must be a thread type"),
            )
        needed = (
            CREATE_PRIVATE_THREADS
            if thread_type == CHANNEL_PRIVATE_THREAD
            else CREATE_PUBLIC_THREADS
        )
        if not permissions & needed:
            raise _missing_permissions()
        thread = self._create_thread(channel, self._snowflake(), thread_type, body)
        return 201, self.thread_payload(thread)

    def _create_thread(
        self, parent: Channel, thread_id: int, thread_type: int, body: JSON
    ) -> Channel:
        assert parent.guild_id is not None
        thread = Channel(
            thread_id,
            thread_type,
            str(body["name"]),
            guild_id=parent.guild_id,
            parent_id=parent.id,
            owner_id=self.bot_user_id,
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
            rate_limit_per_user=int(body.get("rate_limit_per_user") or 0),
            created_at=self._wall(),
        )
        self.channels[thread_id] = thread
        self.guilds[parent.guild_id].channel_ids.append(thread_id)
        payload = self.thread_payload(thread)
        payload["newly_created"] = True
        payload["member"] = {
            "id": str(thread_id),
            "user_id": str(self.bot_user_id),
            "join_timestamp": _iso(self._wall()),
            "flags": 0,
        }
        self.dispatch("THREAD_CREATE", payload)
        return thread

    # ------------------------------------------------------------------------------------------
    # Message store: create, edit, delete (shared by channel, DM and interaction routes)
    # ------------------------------------------------------------------------------------------

    def _create_message(
        self,
        channel: Channel,
        author_id: int,
        body: JSON,
        files: Sequence[UploadedFile],
        *,
        size_limit: int,
        interaction: InteractionHandle | None = None,
        ephemeral: bool = False,
        loading: bool = False,
    ) -> RecordedMessage:
        errors = FormErrors()
        validate_message_body(body, errors)
        errors.raise_if_any()
        attachments, stored_files = self._build_attachments(
            body.get("attachments"), files, [], [], size_limit, ephemeral
        )
        content = str(body.get("content") or "")
        embeds = [_normalise_embed(e) for e in body.get("embeds") or []]
        components = list(body.get("components") or [])
        if not loading and _is_empty(content, embeds, attachments, components, body):
            raise ApiError(400, 50006, "Cannot send an empty message")
        flags = int(body.get("flags") or 0) & (SETTABLE_MESSAGE_FLAGS & ~FLAG_EPHEMERAL)
        if ephemeral:
            flags |= FLAG_EPHEMERAL
        if loading:
            flags |= FLAG_LOADING
        message_id = self._snowflake()
        now = self._wall()
        mentions, mention_roles = self._mentions(content, channel.guild_id)
        payload: JSON = {
            "id": str(message_id),
            "type": 0,
            "channel_id": str(channel.id),
            "author": self.user_payload(author_id),
            "content": content,
            "embeds": embeds,
            "attachments": attachments,
            "components": components,
            "mentions": mentions,
            "mention_roles": mention_roles,
            "mention_everyone": False,
            "pinned": False,
            "tts": bool(body.get("tts", False)),
            "timestamp": _iso(now),
            "edited_timestamp": None,
            "flags": flags,
            "sticker_items": [],
        }
        if body.get("nonce") is not None:
            payload["nonce"] = body["nonce"]
        if body.get("poll"):
            payload["poll"] = body["poll"]
        reference = body.get("message_reference")
        if isinstance(reference, dict) and reference.get("message_id") is not None:
            self._attach_reference(payload, channel, reference)
        if interaction is not None:
            self._add_interaction_fields(payload, interaction)
        message = RecordedMessage(
            id=message_id,
            channel_id=channel.id,
            guild_id=channel.guild_id,
            author_id=author_id,
            payload=payload,
            files=stored_files,
            ephemeral=ephemeral,
            interaction_id=None if interaction is None else interaction.id,
            nonce=None if body.get("nonce") is None else str(body["nonce"]),
        )
        self._messages[message_id] = message
        self._channel_message_ids[channel.id].append(message_id)
        if not ephemeral:
            channel.last_message_id = message_id
            if channel.type in THREAD_TYPES:
                channel.message_count += 1
        self._dispatch_message("MESSAGE_CREATE", message)
        self._changed()
        return message

    def _attach_reference(self, payload: JSON, channel: Channel, reference: JSON) -> None:
        referenced = self._messages.get(_as_int(reference.get("message_id")) or 0)
        if referenced is None or referenced.deleted or referenced.ephemeral:
            if reference.get("fail_if_not_exists", True):
                raise ApiError(
                    400,
                    50035,
                    "Invalid Form Body",
                    _error_tree(
                        ["message_reference"],
                        "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                        "Unknown message",
                    ),
                )
            return
        payload["type"] = 19  # REPLY
        payload["message_reference"] = {
            "type": 0,
            "message_id": str(referenced.id),
            "channel_id": str(referenced.channel_id),
        }
        if referenced.guild_id is not None:
            payload["message_reference"]["guild_id"] = str(referenced.guild_id)
        nested = dict(referenced.payload)
        nested.pop("referenced_message", None)
        payload["referenced_message"] = nested

    def _add_interaction_fields(self, payload: JSON, interaction: InteractionHandle) -> None:
        data = interaction.payload.get("data") or {}
        is_command = interaction.type == INTERACTION_APPLICATION_COMMAND
        if is_command:
            payload["type"] = 20 if int(data.get("type", 1)) == 1 else 23
        payload["webhook_id"] = str(self.application_id)
        payload["application_id"] = str(self.application_id)
        metadata: JSON = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": self.user_payload(interaction.user_id),
            "authorizing_integration_owners": interaction.payload.get(
                "authorizing_integration_owners", {}
            ),
        }
        if is_command and interaction.name:
            metadata["name"] = interaction.name
            metadata["command_type"] = int(data.get("type", 1))
        if interaction.source_message_id is not None:
            metadata["interacted_message_id"] = str(interaction.source_message_id)
        if interaction.original_message_id is not None:
            metadata["original_response_message_id"] = str(interaction.original_message_id)
        payload["interaction_metadata"] = metadata
        if is_command:
            payload["interaction"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "name": interaction.name or "",
                "user": self.user_payload(interaction.user_id),
            }

    def _mentions(self, content: str, guild_id: int | None) -> tuple[list[JSON], list[str]]:
        users = []
        for raw in dict.fromkeys(re.findall(r"<@!?(\d+)>", content)):
            if int(raw) in self.users:
                users.append(self.user_payload(int(raw)))
        roles = [
            raw
            for raw in dict.fromkeys(re.findall(r"<@&(\d+)>", content))
            if self._find_role(int(raw), guild_id) is not None
        ]
        return users, roles

    def _build_attachments(
        self,
        entries: Any,
        files: Sequence[UploadedFile],
        existing: Sequence[JSON],
        existing_files: Sequence[UploadedFile],
        size_limit: int,
        ephemeral: bool,
    ) -> tuple[list[JSON], list[UploadedFile]]:
        for upload in files:
            if upload.size > size_limit:
                raise ApiError(413, 40005, "Request entity too large")
        payloads: list[JSON] = []
        kept_files: list[UploadedFile] = []
        new_uploads: list[tuple[UploadedFile, JSON]] = []
        if entries is None:
            payloads.extend(existing)
            kept_files.extend(existing_files)
            new_uploads = [(f, {}) for f in files]
        else:
            if not isinstance(entries, list):
                raise ApiError(
                    400,
                    50035,
                    "Invalid Form Body",
                    _error_tree(
                        ["attachments"],
                        "LIST_TYPE_CONVERT",
                        "Only iterables may be used in a ListType",
                    ),
                )
            by_index = {f.form_index: f for f in files}
            existing_by_id = {str(a["id"]): a for a in existing}
            files_by_id = {str(f.attachment_id): f for f in existing_files}
            used: set[int] = set()
            for index, entry in enumerate(entries):
                entry_id = str(entry.get("id")) if isinstance(entry, dict) else ""
                if entry_id in existing_by_id:
                    payloads.append(existing_by_id[entry_id])
                    if entry_id in files_by_id:
                        kept_files.append(files_by_id[entry_id])
                    continue
                form_index = _as_int(entry.get("id")) if isinstance(entry, dict) else None
                found = by_index.get(form_index)
                if found is None or form_index is None:
                    raise ApiError(
                        400,
                        50035,
                        "Invalid Form Body",
                        _error_tree(
                            ["attachments", index, "id"],
                            "ATTACHMENT_NOT_FOUND",
                            "Unknown attachment",
                        ),
                    )
                used.add(form_index)
                new_uploads.append((found, entry))
            # Uploaded files that the payload does not list are still attached, in order.
            new_uploads.extend((f, {}) for f in files if f.form_index not in used)
        for upload, entry in new_uploads:
            attachment_id = self._snowflake()
            filename = str(entry.get("filename") or upload.filename)
            stored = UploadedFile(
                filename=filename,
                data=upload.data,
                content_type=upload.content_type,
                attachment_id=attachment_id,
                description=entry.get("description"),
            )
            self._attachments[attachment_id] = stored
            url = self._attachment_url(attachment_id, filename)
            payload: JSON = {
                "id": str(attachment_id),
                "filename": filename,
                "size": stored.size,
                "url": url,
                "proxy_url": url,
                "content_type": _guess_content_type(filename, upload.content_type),
            }
            if stored.description:
                payload["description"] = stored.description
            if ephemeral:
                payload["ephemeral"] = True
            payloads.append(payload)
            kept_files.append(stored)
        return payloads, kept_files

    def _attachment_url(self, attachment_id: int, filename: str) -> str:
        # Served by the control API, so the bot can download what it (or a user) uploaded.
        quoted = urllib.parse.quote(filename)
        return f"{self.base_url}/_emulator/attachments/{attachment_id}/{quoted}"

    def _edit_message(
        self,
        message: RecordedMessage,
        body: JSON,
        files: Sequence[UploadedFile],
        size_limit: int,
    ) -> None:
        errors = FormErrors()
        validate_message_body(body, errors)
        errors.raise_if_any()
        new = json.loads(_dumps(message.payload))
        if "content" in body:
            new["content"] = str(body["content"] or "")
        if "embeds" in body:
            new["embeds"] = [_normalise_embed(e) for e in body["embeds"] or []]
        if "components" in body:
            new["components"] = list(body["components"] or [])
        if body.get("flags") is not None:
            kept = message.flags & (FLAG_EPHEMERAL | FLAG_HAS_THREAD)
            new["flags"] = kept | (
                int(body["flags"]) & (FLAG_SUPPRESS_EMBEDS | FLAG_IS_COMPONENTS_V2)
            )
        new["flags"] = int(new.get("flags") or 0) & ~FLAG_LOADING
        new_files = message.files
        if "attachments" in body or files:
            new["attachments"], new_files = self._build_attachments(
                body.get("attachments"),
                files,
                message.payload.get("attachments") or [],
                message.files,
                size_limit,
                message.ephemeral,
            )
        if _is_empty(new["content"], new["embeds"], new["attachments"], new["components"], new):
            raise ApiError(400, 50006, "Cannot send an empty message")
        new["mentions"], new["mention_roles"] = self._mentions(new["content"], message.guild_id)
        new["edited_timestamp"] = _iso(self._wall())
        message.edits.append(message.payload)
        message.payload = new
        message.files = list(new_files)
        self._dispatch_message("MESSAGE_UPDATE", message)
        self._changed()

    def _delete_message(self, message: RecordedMessage) -> None:
        message.deleted = True
        if not message.ephemeral:
            payload: JSON = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id is not None:
                payload["guild_id"] = str(message.guild_id)
            if self._bot_sees_channel(message.channel_id):
                self.dispatch("MESSAGE_DELETE", payload)
        self._changed()

    def _bot_sees_channel(self, channel_id: int) -> bool:
        channel = self.channels.get(channel_id)
        if channel is None:
            return False
        if channel.guild_id is None:
            return channel.recipient_id is not None
        guild = self.guilds.get(channel.guild_id)
        return guild is not None and guild.bot_present

    def _dispatch_message(self, event: str, message: RecordedMessage) -> None:
        if message.ephemeral or not self._bot_sees_channel(message.channel_id):
            return
        payload = dict(message.payload)
        if message.guild_id is not None:
            payload["guild_id"] = str(message.guild_id)
            member = self.guilds[message.guild_id].members.get(message.author_id)
            if member is not None:
                payload["member"] = self.member_payload(member, with_user=False)
        self.dispatch(event, payload)

    # ------------------------------------------------------------------------------------------
    # REST: interaction callbacks and follow-up webhooks
    # ------------------------------------------------------------------------------------------

    async def _h_interaction_callback(self, req: ApiRequest) -> tuple[int, Any]:
        interaction = self.interactions.get(req.snowflake("interaction_id"))
        if interaction is None or interaction.token != req.params["interaction_token"]:
            raise ApiError(404, 10062, "Unknown interaction")
        if interaction.response is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if self._mono() - interaction.created_at > self.ack_deadline:
            self.stats["late_ack"] += 1
            raise ApiError(404, 10062, "Unknown interaction")
        body = req.json_object()
        callback_type = body.get("type")
        data = body.get("data") or {}
        if not isinstance(callback_type, int) or callback_type not in ALLOWED_CALLBACKS.get(
            interaction.type, ()
        ):
            raise ApiError(
                400,
                50035,
                "Invalid Form Body",
                _error_tree(
                    ["type"],
                    "INTERACTION_RESPONSE_TYPE_INVALID",
                    f"Response type {callback_type} is not valid for this interaction",
                ),
            )
        if not isinstance(data, dict):
            raise ApiError(
                400,
                50035,
                "Invalid Form Body",
                _error_tree(
                    ["data"], "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
                ),
            )
        source = (
            None
            if interaction.source_message_id is None
            else self._messages.get(interaction.source_message_id)
        )
        if callback_type in (CALLBACK_DEFERRED_UPDATE_MESSAGE, CALLBACK_UPDATE_MESSAGE) and (
            source is None or source.deleted
        ):
            raise ApiError(
                400,
                50035,
                "Invalid Form Body",
                _error_tree(
                    ["type"],
                    "INTERACTION_RESPONSE_TYPE_INVALID",
                    "This interaction has no message to update",
                ),
            )
        channel = self.channels.get(interaction.channel_id)
        if channel is None and callback_type in (
            CALLBACK_CHANNEL_MESSAGE,
            CALLBACK_DEFERRED_CHANNEL_MESSAGE,
        ):
            raise _unknown("channel")

        message: RecordedMessage | None = None
        loading = False
        if callback_type == CALLBACK_CHANNEL_MESSAGE:
            assert channel is not None
            message = self._create_message(
                channel,
                self.bot_user_id,
                data,
                req.files,
                size_limit=interaction.attachment_size_limit,
                interaction=interaction,
                ephemeral=bool(int(data.get("flags") or 0) & FLAG_EPHEMERAL),
            )
        elif callback_type == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
            assert channel is not None
            message = self._create_message(
                channel,
                self.bot_user_id,
                {"flags": int(data.get("flags") or 0)},
                [],
                size_limit=interaction.attachment_size_limit,
                interaction=interaction,
                ephemeral=bool(int(data.get("flags") or 0) & FLAG_EPHEMERAL),
                loading=True,
            )
            loading = True
        elif callback_type == CALLBACK_UPDATE_MESSAGE:
            assert source is not None
            self._edit_message(source, data, req.files, interaction.attachment_size_limit)
            message = source
        elif callback_type == CALLBACK_DEFERRED_UPDATE_MESSAGE:
            message = source
        elif callback_type == CALLBACK_AUTOCOMPLETE_RESULT:
            validate_autocomplete_result(data)
        elif callback_type == CALLBACK_MODAL:
            validate_modal(data)

        interaction.response = {"type": callback_type, "data": data}
        interaction.responded_at = self._mono()
        if message is not None:
            interaction.original_message_id = message.id
        self._changed()
        if req.query.get("with_response", "").lower() not in ("1", "true"):
            return 204, None
        reply: JSON = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "activity_instance_id": None,
                "response_message_id": None if message is None else str(message.id),
                "response_message_loading": loading,
                "response_message_ephemeral": bool(message is not None and message.ephemeral),
            }
        }
        if message is not None and callback_type in (
            CALLBACK_CHANNEL_MESSAGE,
            CALLBACK_UPDATE_MESSAGE,
        ):
            reply["resource"] = {"type": callback_type, "message": message.payload}
        return 200, reply

    def _webhook_interaction(self, req: ApiRequest) -> InteractionHandle:
        if req.snowflake("webhook_id") != self.application_id:
            raise _unknown("webhook")
        interaction = self._interactions_by_token.get(req.params["webhook_token"])
        if interaction is None or interaction.expired:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        # The webhook exists only once the interaction was acknowledged.
        if interaction.response is None or (
            interaction.response_type == CALLBACK_AUTOCOMPLETE_RESULT
        ):
            raise _unknown("webhook")
        return interaction

    def _webhook_message(self, interaction: InteractionHandle, raw_id: str) -> RecordedMessage:
        if raw_id == "@original":
            message_id = interaction.original_message_id
        else:
            message_id = int(raw_id)
            owned = {m.id for m in interaction.followups}
            if interaction.original_message_id is not None:
                owned.add(interaction.original_message_id)
            if message_id not in owned:
                raise _unknown("message")
        message = None if message_id is None else self._messages.get(message_id)
        if message is None or message.deleted:
            raise _unknown("message")
        return message

    async def _h_execute_webhook(self, req: ApiRequest) -> tuple[int, Any]:
        interaction = self._webhook_interaction(req)
        limit = self.user_app_followup_limit
        if interaction.interaction_only and len(interaction.followups) >= limit:
            raise ApiError(
                400, 40094, "This interaction has hit the maximum number of follow up messages"
            )
        body = req.json_object()
        original = interaction.message
        if (
            interaction.response_type == CALLBACK_DEFERRED_CHANNEL_MESSAGE
            and original is not None
            and original.loading
            and not original.deleted
        ):
            # The first follow-up after a "thinking" defer replaces the loading message; its
            # visibility is the one chosen when deferring.
            self._edit_message(
                original,
                {**body, "flags": body.get("flags") or 0},
                req.files,
                interaction.attachment_size_limit,
            )
            interaction.original_edit_count += 1
            message = original
        else:
            channel = self._channel_or_404(interaction.channel_id)
            message = self._create_message(
                channel,
                self.bot_user_id,
                body,
                req.files,
                size_limit=interaction.attachment_size_limit,
                interaction=interaction,
                ephemeral=bool(int(body.get("flags") or 0) & FLAG_EPHEMERAL),
            )
        interaction.followups.append(message)
        self._changed()
        if req.query.get("wait", "").lower() not in ("1", "true"):
            return 204, None
        return 200, message.payload

    async def _h_get_webhook_message(self, req: ApiRequest) -> tuple[int, Any]:
        interaction = self._webhook_interaction(req)
        return 200, self._webhook_message(interaction, req.params["message_id"]).payload

    async def _h_edit_webhook_message(self, req: ApiRequest) -> tuple[int, Any]:
        interaction = self._webhook_interaction(req)
        message = self._webhook_message(interaction, req.params["message_id"])
        self._edit_message(message, req.json_object(), req.files, interaction.attachment_size_limit)
        if message.id == interaction.original_message_id:
            interaction.original_edit_count += 1
        self._changed()
        return 200, message.payload

    async def _h_delete_webhook_message(self, req: ApiRequest) -> tuple[int, Any]:
        interaction = self._webhook_interaction(req)
        message = self._webhook_message(interaction, req.params["message_id"])
        self._delete_message(message)
        return 204, None

    # ------------------------------------------------------------------------------------------
    # Gateway
    # ------------------------------------------------------------------------------------------

    def hold_gateway(self) -> None:
        """New gateway connections wait before HELLO until ``release_gateway()``."""
        self._gateway_open.clear()

    def release_gateway(self) -> None:
        self._gateway_open.set()

    def dispatch(self, event: str, data: JSON) -> None:
        """Send a dispatch (op 0) to every identified session; buffered for RESUME while the
        session has no live connection. A no-op when no bot ever connected."""
        for session in self._live_sessions():
            self._session_dispatch(session, event, data)

    def _session_dispatch(self, session: _GatewaySession, event: str, data: JSON) -> None:
        required = _event_intent(event, data)
        if required and not session.intents & required:
            return
        content_events = ("MESSAGE_CREATE", "MESSAGE_UPDATE")
        if event in content_events and not session.intents & INTENT_MESSAGE_CONTENT:
            data = self._without_content(data)
        if event == "GUILD_CREATE" and not session.intents & INTENT_GUILD_MEMBERS:
            # Without the members intent Discord sends only the bot's own member.
            data = dict(data)
            data["members"] = [
                m for m in data.get("members", []) if m["user"]["id"] == str(self.bot_user_id)
            ]
        session.seq += 1
        frame = _dumps({"op": 0, "t": event, "s": session.seq, "d": data})
        session.buffer.append((session.seq, frame))
        if session.connection is not None:
            session.connection.queue.put_nowait(frame)

    def _without_content(self, data: JSON) -> JSON:
        """Without the message-content intent, others' guild messages arrive without content."""
        author_id = _as_int((data.get("author") or {}).get("id"))
        mentioned = any(_as_int(u.get("id")) == self.bot_user_id for u in data.get("mentions", []))
        if author_id == self.bot_user_id or mentioned or "guild_id" not in data:
            return data
        stripped = dict(data)
        stripped.update({"content": "", "embeds": [], "attachments": [], "components": []})
        return stripped

    async def gateway_reconnect(self, *, wait: bool = True, timeout: float = 5.0) -> None:
        """Send op 7 RECONNECT; with ``wait``, return once every session has resumed."""
        target = self.resume_count + self._send_op_to_sessions(7, None)
        if wait:
            await self.wait_for(lambda: self.resume_count >= target, timeout, "a RESUME")

    async def gateway_invalid_session(
        self, resumable: bool, *, wait: bool = True, timeout: float = 5.0
    ) -> None:
        """Send op 9; non-resumable sessions are forgotten, so the client must IDENTIFY again."""
        identify_target = self.identify_count
        resume_target = self.resume_count
        sessions = [s for s in self._live_sessions() if s.connection is not None]
        for session in sessions:
            assert session.connection is not None
            session.connection.send({"op": 9, "d": resumable})
            if not resumable:
                self._sessions.pop(session.session_id, None)
        if not wait or not sessions:
            return
        if resumable:
            resume_target += len(sessions)
            await self.wait_for(lambda: self.resume_count >= resume_target, timeout, "a RESUME")
        else:
            identify_target += len(sessions)
            await self.wait_for(
                lambda: self.identify_count >= identify_target, timeout, "an IDENTIFY"
            )

    async def drop_connection(
        self, code: int = 4000, *, wait: bool = False, timeout: float = 5.0
    ) -> None:
        """Close every gateway connection with ``code`` (4000: resumable). Events dispatched
        meanwhile are buffered and replayed when the client resumes. With ``wait``, return once
        every dropped session resumed."""
        target = self.resume_count
        for connection in list(self._connections):
            if connection.session is not None:
                connection.session.connection = None
                target += 1
            connection.queue.put_nowait(_CloseFrame(code))
        if wait:
            await self.wait_for(lambda: self.resume_count >= target, timeout, "a RESUME")

    def _send_op_to_sessions(self, op: int, data: Any) -> int:
        count = 0
        for session in self._live_sessions():
            if session.connection is not None:
                session.connection.send({"op": op, "d": data})
                count += 1
        return count

    async def _handle_gateway(self, request: web.Request) -> web.StreamResponse:
        # Query strings such as ?v=10&encoding=json&compress=zlib-stream are accepted; frames
        # go out as plain text, which discord.py reads whatever compression it asked for.
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        connection = _GatewayConnection(ws=ws, path=request.path, query=dict(request.query))
        self._connections.add(connection)
        self.gateway_connection_log.append(
            {"path": request.path, "query": dict(request.query), "at": self._mono()}
        )
        self.stats["gateway_connections"] += 1
        writer = asyncio.create_task(self._gateway_writer(connection))
        try:
            await self._gateway_open.wait()
            connection.send({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    try:
                        payload = json.loads(msg.data)
                    except ValueError:
                        connection.queue.put_nowait(_CloseFrame(4002))  # decode error
                        continue
                    self._gateway_receive(connection, payload)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            session = connection.session
            if session is not None and session.connection is connection:
                session.connection = None
                # A client closing with 1000/1001 ends its session, as on Discord.
                if ws.close_code in (1000, 1001) and not connection.server_closed:
                    self._sessions.pop(session.session_id, None)
            connection.queue.put_nowait(None)
            with contextlib.suppress(Exception):
                await writer
            self._connections.discard(connection)
            connection.closed.set()
            self._changed()
        return ws

    async def _gateway_writer(self, connection: _GatewayConnection) -> None:
        """Sends queued frames in order, so synchronous code can dispatch events."""
        while True:
            item = await connection.queue.get()
            if item is None:
                return
            if isinstance(item, _CloseFrame):
                connection.server_closed = True
                with contextlib.suppress(Exception):
                    await connection.ws.close(code=item.code)
                return
            try:
                await connection.ws.send_str(item)
            except (ConnectionError, RuntimeError):
                return

    def _gateway_receive(self, connection: _GatewayConnection, payload: JSON) -> None:
        op = payload.get("op")
        data = payload.get("d")
        if op == 1:  # HEARTBEAT
            self.stats["heartbeats"] += 1
            connection.send({"op": 11})
        elif op == 2 and isinstance(data, dict):
            self._gateway_identify(connection, data)
        elif op == 6 and isinstance(data, dict):
            self._gateway_resume(connection, data)
        elif op == 3 and isinstance(data, dict):
            self.presence_updates.append(data)
        elif op == 8 and isinstance(data, dict):
            self._gateway_request_members(connection, data)
        else:
            self.stats[f"gateway_op_{op}"] += 1
        self._changed()

    def _gateway_identify(self, connection: _GatewayConnection, data: JSON) -> None:
        if connection.session is not None:
            connection.queue.put_nowait(_CloseFrame(4005))  # already authenticated
            return
        token = str(data.get("token") or "")
        if token.startswith("Bot "):
            token = token[4:]
        if not token or (self.expected_token is not None and token != self.expected_token):
            connection.queue.put_nowait(_CloseFrame(4004))  # authentication failed
            return
        # Kept as the whole frame, token left out.
        self.identify_payloads.append(
            {"op": 2, "d": {k: v for k, v in data.items() if k != "token"}}
        )
        shard = data.get("shard") or [0, 1]
        session = _GatewaySession(
            session_id=secrets.token_hex(16),
            intents=int(data.get("intents") or 0),
            shard=list(shard),
            connection=connection,
        )
        self._sessions[session.session_id] = session
        connection.session = session
        ready_guilds = [
            {"id": str(g.id), "unavailable": True} for g in self.guilds.values() if g.bot_present
        ]
        self._session_dispatch(
            session,
            "READY",
            {
                "v": API_VERSION,
                "user": self.bot_user_payload(),
                "guilds": ready_guilds,
                "session_id": session.session_id,
                "session_type": "normal",
                "resume_gateway_url": self.resume_gateway_url,
                "application": {"id": str(self.application_id), "flags": (1 << 19) | (1 << 23)},
                "shard": session.shard,
                "private_channels": [],
                "relationships": [],
                "presences": [],
                "guild_join_requests": [],
                "geo_ordered_rtc_regions": [],
                "user_settings": {},
                "auth": {},
            },
        )
        for guild in self.guilds.values():
            if guild.bot_present:
                self._session_dispatch(session, "GUILD_CREATE", self.guild_create_payload(guild.id))

    def _gateway_resume(self, connection: _GatewayConnection, data: JSON) -> None:
        session = self._sessions.get(str(data.get("session_id")))
        token = str(data.get("token") or "")
        seq = data.get("seq")
        valid = session is not None and (
            self.expected_token is None
            or token in (self.expected_token, f"Bot {self.expected_token}")
        )
        if session is not None and valid and isinstance(seq, int) and session.buffer:
            # The buffer must still hold every event after the client's last sequence.
            valid = seq >= session.buffer[0][0] - 1
        if not valid or session is None:
            self.stats["resume_rejected"] += 1
            connection.send({"op": 9, "d": False})
            return
        if session.connection is not None and session.connection is not connection:
            session.connection.queue.put_nowait(_CloseFrame(4000))
        session.connection = connection
        connection.session = session
        self.resume_payloads.append({"op": 6, "d": {k: v for k, v in data.items() if k != "token"}})
        last_seen = seq if isinstance(seq, int) else 0
        for number, frame in list(session.buffer):
            if number > last_seen:
                connection.queue.put_nowait(frame)
                self.stats["replayed_events"] += 1
        self._session_dispatch(session, "RESUMED", {})

    def _gateway_request_members(self, connection: _GatewayConnection, data: JSON) -> None:
        session = connection.session
        guild = self.guilds.get(_as_int(data.get("guild_id")) or 0)
        if session is None or guild is None or not guild.bot_present:
            return
        members = list(guild.members.values())
        user_ids = data.get("user_ids")
        if user_ids is not None:
            wanted = {_as_int(u) for u in (user_ids if isinstance(user_ids, list) else [user_ids])}
            members = [m for m in members if m.user_id in wanted]
        query = str(data.get("query") or "").lower()
        if query:
            members = [
                m for m in members if self.users[m.user_id].username.lower().startswith(query)
            ]
        limit = int(data.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunk: JSON = {
            "guild_id": str(guild.id),
            "members": [self.member_payload(m) for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        self._session_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)

    # ------------------------------------------------------------------------------------------
    # Interaction injection
    # ------------------------------------------------------------------------------------------

    async def invoke(
        self,
        user_id: int,
        command: str,
        options: Mapping[str, Any] | None = None,
        *,
        guild_id: int | None = None,
        channel_id: int | None = None,
        user_install: bool = False,
        locale: str | None = None,
        attachment_size_limit: int | None = None,
        validate_options: bool = True,
    ) -> InteractionHandle:
        """A user runs a slash command (``"group sub"`` for subcommands) with typed options.

        Context: ``guild_id``/``channel_id`` given → in that server (the channel defaults to the
        first text channel); neither → in the bot's DM with the user. ``user_install=True``
        models a user-installed app: the command must allow install type 1, and if the bot is
        not in that server the interaction carries only a partial guild.

        ``validate_options=False`` skips the checks Discord makes against the synced limits
        (``min_value``/``max_value``, ``min_length``/``max_length``, ``choices``), to test
        what the bot does when such a value arrives anyway (an old client, a stale sync, a
        forged request). Option types and required options are still checked."""
        return self._inject_command(
            user_id,
            command,
            options or {},
            focused=None,
            guild_id=guild_id,
            channel_id=channel_id,
            user_install=user_install,
            locale=locale,
            attachment_size_limit=attachment_size_limit,
            validate_options=validate_options,
        )

    async def autocomplete(
        self,
        user_id: int,
        command: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        guild_id: int | None = None,
        channel_id: int | None = None,
        user_install: bool = False,
        locale: str | None = None,
        timeout: float = 5.0,
    ) -> list[JSON]:
        """A user types into an autocomplete option; returns the choices the bot offered."""
        interaction = self._inject_command(
            user_id,
            command,
            options,
            focused=focused,
            guild_id=guild_id,
            channel_id=channel_id,
            user_install=user_install,
            locale=locale,
            attachment_size_limit=None,
        )
        response = await interaction.wait_response(timeout)
        return list((response.get("data") or {}).get("choices") or [])

    async def invoke_context_menu(
        self,
        user_id: int,
        name: str,
        target: int | RecordedMessage,
        *,
        guild_id: int | None = None,
        channel_id: int | None = None,
        user_install: bool = False,
        locale: str | None = None,
    ) -> InteractionHandle:
        """Run a user command (``target`` is a user id) or a message command (a message)."""
        command_type = 3 if isinstance(target, RecordedMessage) else 2
        if isinstance(target, RecordedMessage) and channel_id is None:
            channel_id = target.channel_id
        place = self._interaction_place(user_id, guild_id, channel_id, user_install)
        command, scope = self._find_command(name, command_type, place)
        self._check_default_permissions(command, place)
        resolved: JSON = {}
        if isinstance(target, RecordedMessage):
            target_id = target.id
            resolved["messages"] = {str(target.id): target.payload}
        else:
            target_id = target
            self._resolve_user(resolved, target, place["guild_id"])
        data: JSON = {
            "id": command["id"],
            "name": command["name"],
            "type": command_type,
            "target_id": str(target_id),
            "resolved": resolved,
        }
        if scope is not None:
            data["guild_id"] = str(scope)
        return self._dispatch_interaction(
            INTERACTION_APPLICATION_COMMAND,
            data,
            place,
            name=name,
            locale=locale,
            attachment_size_limit=None,
        )

    async def click(
        self,
        user_id: int,
        message: int | RecordedMessage,
        custom_id: str,
        *,
        values: Sequence[Any] | None = None,
        locale: str | None = None,
    ) -> InteractionHandle:
        """A user clicks a button or picks ``values`` in a select on a message."""
        source = self._source_message(message)
        component = _find_component(source.components, custom_id)
        if component is None:
            raise LookupError(f"no component with custom_id {custom_id!r} on message {source.id}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        component_type = int(component["type"])
        data: JSON = {"custom_id": custom_id, "component_type": component_type}
        channel = self._require_channel(source.channel_id)
        place = self._interaction_place(
            user_id,
            channel.guild_id,
            channel.id,
            user_install=not self._bot_sees_channel(channel.id),
        )
        if component_type in SELECT_TYPES:
            data["values"], resolved = self._select_values(component, values, place)
            if resolved:
                data["resolved"] = resolved
        elif values is not None:
            raise ValueError("values are only for select menus")
        return self._dispatch_interaction(
            INTERACTION_MESSAGE_COMPONENT,
            data,
            place,
            name=None,
            locale=locale,
            attachment_size_limit=None,
            source_message=source,
        )

    async def submit_modal(
        self,
        user_id: int,
        custom_id: str,
        values: Mapping[str, Any],
        *,
        message: int | RecordedMessage | None = None,
        locale: str | None = None,
    ) -> InteractionHandle:
        """A user submits the modal the bot last showed them with this ``custom_id``.

        ``values`` maps each input's custom_id to its text (or a list for selects)."""
        opener = self._modal_opener(user_id, custom_id)
        modal = opener.modal
        assert modal is not None
        components = _modal_submission(modal.get("components") or [], values)
        opener.modal_submitted = True
        source = opener.source_message_id if message is None else self._source_message(message).id
        place = self._interaction_place(
            user_id, opener.guild_id, opener.channel_id, user_install=opener.interaction_only
        )
        data: JSON = {"custom_id": custom_id, "components": components}
        source_message = None if source is None else self._messages.get(source)
        return self._dispatch_interaction(
            INTERACTION_MODAL_SUBMIT,
            data,
            place,
            name=None,
            locale=locale,
            attachment_size_limit=None,
            source_message=source_message,
        )

    def _modal_opener(self, user_id: int, custom_id: str) -> InteractionHandle:
        """The latest interaction that showed this user the modal and was not submitted yet."""
        shown = False
        for interaction in reversed(list(self.interactions.values())):
            modal = interaction.modal
            if interaction.user_id == user_id and modal and modal.get("custom_id") == custom_id:
                if not interaction.modal_submitted:
                    return interaction
                shown = True
        if shown:
            raise LookupError(
                f"modal {custom_id!r} was already submitted; the bot must show it again"
            )
        raise LookupError(f"the bot never showed user {user_id} a modal {custom_id!r}")

    def _source_message(self, message: int | RecordedMessage) -> RecordedMessage:
        message_id = message.id if isinstance(message, RecordedMessage) else message
        found = self._messages.get(message_id)
        if found is None or found.deleted:
            raise LookupError(f"unknown message {message_id}")
        return found

    def _interaction_place(
        self,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        user_install: bool,
    ) -> JSON:
        """Where an interaction happens: guild, channel, context and who authorised the app."""
        self._require_user(user_id)
        if channel_id is not None and guild_id is None:
            guild_id = self._require_channel(channel_id).guild_id
        if guild_id is None:
            dm_id = channel_id if channel_id is not None else self.dm_channel_id(user_id)
            owners = {"1": str(user_id)} if user_install else {"0": "0"}
            return {
                "user_id": user_id,
                "guild_id": None,
                "channel_id": dm_id,
                "context": CONTEXT_BOT_DM,
                "owners": owners,
                "interaction_only": False,
                "user_install": user_install,
            }
        guild = self._require_guild(guild_id)
        if channel_id is None:
            channel_id = next(
                (c for c in guild.channel_ids if self.channels[c].type == CHANNEL_TEXT), None
            )
            if channel_id is None:
                raise LookupError(f"guild {guild_id} has no text channel")
        if self._require_channel(channel_id).guild_id != guild_id:
            raise ValueError(f"channel {channel_id} is not in guild {guild_id}")
        if user_id not in guild.members:
            raise LookupError(f"user {user_id} is not a member of guild {guild_id}")
        if not guild.bot_present and not user_install:
            raise CommandNotAvailable(
                f"the bot is not in guild {guild_id}; pass user_install=True for a user install"
            )
        owners = {"1": str(user_id)} if user_install else {"0": str(guild_id)}
        if user_install and guild.bot_present:
            owners["0"] = str(guild_id)
        return {
            "user_id": user_id,
            "guild_id": guild_id,
            "channel_id": channel_id,
            "context": CONTEXT_GUILD,
            "owners": owners,
            "interaction_only": not guild.bot_present,
            "user_install": user_install,
        }

    def _find_command(self, name: str, command_type: int, place: JSON) -> tuple[JSON, int | None]:
        """The synced command a user would see here (guild copy first), with its scope."""
        guild_id = place["guild_id"]
        if guild_id is not None and not place["interaction_only"]:
            for command in self._commands.get(guild_id, []):
                if command["name"] == name and int(command.get("type", 1)) == command_type:
                    return command, guild_id
        for command in self._commands.get(None, []):
            if command["name"] != name or int(command.get("type", 1)) != command_type:
                continue
            contexts = command.get("contexts")
            if contexts is None:
                contexts = [CONTEXT_GUILD, CONTEXT_BOT_DM, CONTEXT_PRIVATE_CHANNEL]
                if command.get("dm_permission") is False:
                    contexts = [CONTEXT_GUILD]
            if place["context"] not in contexts:
                raise CommandNotAvailable(
                    f"/{name} is not available in context {place['context']} (contexts {contexts})"
                )
            installs = command.get("integration_types") or self.default_integration_types
            needed = INSTALL_USER if place["user_install"] else INSTALL_GUILD
            if needed not in installs and not (place["context"] == CONTEXT_BOT_DM and installs):
                raise CommandNotAvailable(
                    f"/{name} does not allow install type {needed} (integration_types {installs})"
                )
            return command, None
        scope = "global" if guild_id is None else f"guild {guild_id} or global"
        raise CommandNotAvailable(f"no synced command {name!r} (type {command_type}) in {scope}")

    def _check_default_permissions(self, command: JSON, place: JSON) -> None:
        required = command.get("default_member_permissions")
        if required is None or place["guild_id"] is None:
            return
        if (place["guild_id"], command["name"]) in self._opened_commands:
            return
        permissions = self.base_permissions(place["guild_id"], place["user_id"])
        if int(required) & ~permissions:
            raise CommandNotAvailable(
                f"/{command['name']} needs permissions {required} the user does not have"
            )

    def _inject_command(
        self,
        user_id: int,
        path: str,
        options: Mapping[str, Any],
        *,
        focused: str | None,
        guild_id: int | None,
        channel_id: int | None,
        user_install: bool,
        locale: str | None,
        attachment_size_limit: int | None,
        validate_options: bool = True,
    ) -> InteractionHandle:
        names = path.split()
        if not names:
            raise ValueError("empty command name")
        place = self._interaction_place(user_id, guild_id, channel_id, user_install)
        command, scope = self._find_command(names[0], 1, place)
        self._check_default_permissions(command, place)
        definitions: list[JSON] = list(command.get("options") or [])
        chain: list[JSON] = []
        for name in names[1:]:
            sub = next(
                (
                    o
                    for o in definitions
                    if o["name"] == name
                    and o.get("type") in (OPTION_SUB_COMMAND, OPTION_SUB_COMMAND_GROUP)
                ),
                None,
            )
            if sub is None:
                raise CommandNotAvailable(f"/{path}: no subcommand {name!r}")
            chain.append(sub)
            definitions = list(sub.get("options") or [])
        subcommand_types = (OPTION_SUB_COMMAND, OPTION_SUB_COMMAND_GROUP)
        if any(o.get("type") in subcommand_types for o in definitions):
            raise ValueError(f"/{path} is a group: name one of its subcommands")
        resolved: JSON = {}
        leaf_options = self._typed_options(
            path, definitions, options, focused, place, resolved, validate=validate_options
        )
        nested: list[JSON] = leaf_options
        for sub in reversed(chain):
            nested = [{"name": sub["name"], "type": sub["type"], "options": nested}]
        data: JSON = {
            "id": command["id"],
            "name": command["name"],
            "type": 1,
            "options": nested,
        }
        if resolved:
            data["resolved"] = resolved
        if scope is not None:
            data["guild_id"] = str(scope)
        kind = INTERACTION_AUTOCOMPLETE if focused is not None else INTERACTION_APPLICATION_COMMAND
        return self._dispatch_interaction(
            kind,
            data,
            place,
            name=" ".join(names),
            locale=locale,
            attachment_size_limit=attachment_size_limit,
        )

    def _typed_options(
        self,
        path: str,
        definitions: Sequence[JSON],
        given: Mapping[str, Any],
        focused: str | None,
        place: JSON,
        resolved: JSON,
        *,
        validate: bool = True,
    ) -> list[JSON]:
        by_name = {o["name"]: o for o in definitions}
        unknown = set(given) - set(by_name)
        if unknown:
            raise ValueError(
                f"/{path} has no option(s) {sorted(unknown)}; it has {sorted(by_name)}"
            )
        if focused is not None and focused not in by_name:
            raise ValueError(f"/{path} has no option {focused!r}")
        if focused is not None and not by_name[focused].get("autocomplete"):
            raise ValueError(f"option {focused!r} of /{path} was not synced with autocomplete")
        result = []
        for definition in definitions:
            name = definition["name"]
            if name == focused:
                # While typing, Discord sends the raw partial input as a string.
                result.append(
                    {
                        "name": name,
                        "type": definition["type"],
                        "value": str(given.get(name, "")),
                        "focused": True,
                    }
                )
                continue
            if name not in given:
                if definition.get("required") and focused is None:
                    raise ValueError(f"/{path}: required option {name!r} is missing")
                continue
            value = self._option_value(
                path,
                definition,
                given[name],
                place,
                resolved,
                check_choices=focused is None and validate,
                check_limits=validate,
            )
            result.append({"name": name, "type": definition["type"], "value": value})
        return result

    def _option_value(
        self,
        path: str,
        definition: JSON,
        value: Any,
        place: JSON,
        resolved: JSON,
        *,
        check_choices: bool,
        check_limits: bool = True,
    ) -> Any:
        kind = int(definition["type"])
        name = definition["name"]
        where = f"/{path} option {name!r}"
        if kind == OPTION_STRING:
            if not isinstance(value, str):
                raise TypeError(f"{where} is a string option, got {value!r}")
            min_length, max_length = definition.get("min_length"), definition.get("max_length")
            if check_limits and min_length is not None and len(value) < min_length:
                raise ValueError(f"{where}: shorter than min_length {min_length}")
            if check_limits and max_length is not None and len(value) > max_length:
                raise ValueError(f"{where}: longer than max_length {max_length}")
        elif kind == OPTION_INTEGER:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{where} is an integer option, got {value!r}")
            if check_limits:
                _check_range(where, value, definition)
        elif kind == OPTION_NUMBER:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{where} is a number option, got {value!r}")
            value = float(value)
            if check_limits:
                _check_range(where, value, definition)
        elif kind == OPTION_BOOLEAN:
            if not isinstance(value, bool):
                raise TypeError(f"{where} is a boolean option, got {value!r}")
        elif kind == OPTION_USER:
            user_id = _as_int(value)
            if user_id is None or user_id not in self.users:
                raise ValueError(f"{where}: unknown user {value!r}")
            self._resolve_user(resolved, user_id, place["guild_id"])
            value = str(user_id)
        elif kind == OPTION_CHANNEL:
            channel_id = _as_int(value)
            if channel_id is None or channel_id not in self.channels:
                raise ValueError(f"{where}: unknown channel {value!r}")
            channel = self.channels[channel_id]
            allowed = definition.get("channel_types")
            if allowed and channel.type not in allowed:
                raise ValueError(f"{where}: channel type {channel.type} not in {allowed}")
            if place["guild_id"] is not None and channel.guild_id != place["guild_id"]:
                raise ValueError(f"{where}: channel {channel_id} is in another server")
            resolved.setdefault("channels", {})[str(channel_id)] = self.interaction_channel_payload(
                channel, place["user_id"]
            )
            value = str(channel_id)
        elif kind == OPTION_ROLE:
            role = self._find_role(_as_int(value) or 0, place["guild_id"])
            if role is None:
                raise ValueError(f"{where}: unknown role {value!r} in this server")
            resolved.setdefault("roles", {})[str(role.id)] = self.role_payload(role)
            value = str(role.id)
        elif kind == OPTION_MENTIONABLE:
            target = _as_int(value) or 0
            role = self._find_role(target, place["guild_id"])
            if role is not None:
                resolved.setdefault("roles", {})[str(role.id)] = self.role_payload(role)
            elif target in self.users:
                self._resolve_user(resolved, target, place["guild_id"])
            else:
                raise ValueError(f"{where}: {value!r} is neither a user nor a role")
            value = str(target)
        elif kind == OPTION_ATTACHMENT:
            value = self._resolve_attachment(where, value, resolved)
        else:
            raise ValueError(f"{where}: unsupported option type {kind}")
        choices = definition.get("choices")
        if check_choices and choices and value not in [c.get("value") for c in choices]:
            raise ValueError(
                f"{where}: {value!r} is not one of the choices {[c.get('value') for c in choices]}"
            )
        return value

    def _resolve_user(self, resolved: JSON, user_id: int, guild_id: int | None) -> None:
        resolved.setdefault("users", {})[str(user_id)] = self.user_payload(user_id)
        guild = self.guilds.get(guild_id) if guild_id is not None else None
        if guild is not None and user_id in guild.members:
            member = self.member_payload(guild.members[user_id], with_user=False)
            member["permissions"] = str(self.base_permissions(guild.id, user_id))
            resolved.setdefault("members", {})[str(user_id)] = member

    def _resolve_attachment(self, where: str, value: Any, resolved: JSON) -> str:
        """``value``: an ``UploadedFile``, a ``(filename, bytes)`` pair or a dict with both."""
        if isinstance(value, UploadedFile):
            upload = value
        elif isinstance(value, tuple) and len(value) == 2:
            upload = UploadedFile(str(value[0]), bytes(value[1]))
        elif isinstance(value, dict) and "filename" in value:
            upload = UploadedFile(str(value["filename"]), bytes(value.get("data", b"")))
        else:
            raise TypeError(f"{where} is an attachment option: pass (filename, bytes)")
        attachment_id = self._snowflake()
        stored = UploadedFile(
            upload.filename,
            upload.data,
            _guess_content_type(upload.filename, upload.content_type),
            attachment_id=attachment_id,
        )
        self._attachments[attachment_id] = stored
        url = self._attachment_url(attachment_id, stored.filename)
        resolved.setdefault("attachments", {})[str(attachment_id)] = {
            "id": str(attachment_id),
            "filename": stored.filename,
            "size": stored.size,
            "url": url,
            "proxy_url": url,
            "content_type": stored.content_type,
            "ephemeral": True,
        }
        return str(attachment_id)

    def _select_values(
        self, component: JSON, values: Sequence[Any] | None, place: JSON
    ) -> tuple[list[str], JSON]:
        if values is None:
            raise ValueError("a select menu needs values=")
        chosen = [str(v) for v in values]
        min_values = int(component.get("min_values", 1))
        max_values = int(component.get("max_values", 1))
        if not min_values <= len(chosen) <= max_values:
            raise ValueError(f"select needs between {min_values} and {max_values} values")
        resolved: JSON = {}
        kind = int(component["type"])
        if kind == COMPONENT_STRING_SELECT:
            allowed = [o.get("value") for o in component.get("options") or []]
            wrong = [v for v in chosen if v not in allowed]
            if wrong:
                raise ValueError(f"select values {wrong} are not among the options {allowed}")
        for raw in chosen:
            target = _as_int(raw)
            if kind == COMPONENT_STRING_SELECT:
                continue
            if target is None:
                raise ValueError(f"select value {raw!r} is not a snowflake")
            role = self._find_role(target, place["guild_id"])
            if kind in (COMPONENT_ROLE_SELECT, COMPONENT_MENTIONABLE_SELECT) and role is not None:
                resolved.setdefault("roles", {})[raw] = self.role_payload(role)
            elif kind in (COMPONENT_USER_SELECT, COMPONENT_MENTIONABLE_SELECT) and (
                target in self.users
            ):
                self._resolve_user(resolved, target, place["guild_id"])
            elif kind == COMPONENT_CHANNEL_SELECT and target in self.channels:
                resolved.setdefault("channels", {})[raw] = self.interaction_channel_payload(
                    self.channels[target], place["user_id"]
                )
            else:
                raise ValueError(f"select value {raw!r} does not fit a type-{kind} select")
        return chosen, resolved

    def _dispatch_interaction(
        self,
        kind: int,
        data: JSON,
        place: JSON,
        *,
        name: str | None,
        locale: str | None,
        attachment_size_limit: int | None,
        source_message: RecordedMessage | None = None,
    ) -> InteractionHandle:
        if not self._sessions:
            raise RuntimeError("no bot is connected to the gateway")
        user_id: int = place["user_id"]
        user = self.users[user_id]
        interaction_id = self._snowflake()
        token = "itk_" + secrets.token_urlsafe(48)
        channel = self.channels[place["channel_id"]]
        limit = (
            self.attachment_size_limit if attachment_size_limit is None else attachment_size_limit
        )
        payload: JSON = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "token": token,
            "version": 1,
            "data": data,
            "channel_id": str(channel.id),
            "channel": self.interaction_channel_payload(channel, user_id),
            "locale": locale or user.locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": place["owners"],
            "context": place["context"],
            "attachment_size_limit": limit,
        }
        guild_id = place["guild_id"]
        if guild_id is not None:
            guild = self.guilds[guild_id]
            member = guild.members[user_id]
            payload["guild_id"] = str(guild_id)
            payload["guild_locale"] = guild.locale
            payload["guild"] = {
                "id": str(guild_id),
                "locale": guild.locale,
                "features": list(guild.features),
            }
            payload["member"] = self.member_payload(
                member, permissions=self.channel_permissions(channel.id, user_id)
            )
            payload["app_permissions"] = str(
                self.channel_permissions(channel.id, self.bot_user_id)
                if guild.bot_present
                else INTERACTION_ONLY_APP_PERMISSIONS
            )
        else:
            payload["user"] = self.user_payload(user_id)
            payload["app_permissions"] = str(INTERACTION_ONLY_APP_PERMISSIONS)
        if source_message is not None:
            payload["message"] = source_message.payload
        handle = InteractionHandle(
            self,
            interaction_id=interaction_id,
            token=token,
            type=kind,
            payload=payload,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel.id,
            name=name,
            created_at=self._mono(),
            attachment_size_limit=limit,
            interaction_only=bool(place["interaction_only"]),
            source_message_id=None if source_message is None else source_message.id,
        )
        self.interactions[interaction_id] = handle
        self._interactions_by_token[token] = handle
        self.dispatch("INTERACTION_CREATE", payload)
        self._changed()
        return handle

    # ------------------------------------------------------------------------------------------
    # Control API for a test driver in another process
    # ------------------------------------------------------------------------------------------

    def _add_control_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/_emulator/state", self._c_state)
        r.add_get("/_emulator/requests", self._c_requests)
        r.add_get("/_emulator/messages", self._c_messages)
        r.add_get("/_emulator/dm_messages", self._c_dm_messages)
        r.add_get("/_emulator/commands", self._c_commands)
        r.add_post("/_emulator/fault", self._c_fault)
        r.add_delete("/_emulator/faults", self._c_clear_faults)
        r.add_post("/_emulator/dms_closed", self._c_dms_closed)
        r.add_post("/_emulator/users", self._c_add_user)
        r.add_post("/_emulator/members", self._c_add_member)
        r.add_post("/_emulator/user_message", self._c_user_message)
        r.add_post("/_emulator/invoke", self._c_invoke)
        r.add_post("/_emulator/autocomplete", self._c_autocomplete)
        r.add_post("/_emulator/click", self._c_click)
        r.add_post("/_emulator/submit_modal", self._c_submit_modal)
        r.add_get("/_emulator/interactions/{interaction_id}", self._c_interaction)
        r.add_post("/_emulator/gateway/reconnect", self._c_gateway_reconnect)
        r.add_post("/_emulator/gateway/drop", self._c_gateway_drop)
        r.add_post("/_emulator/gateway/invalid_session", self._c_gateway_invalid_session)
        r.add_post("/_emulator/advance_time", self._c_advance_time)
        r.add_get("/_emulator/attachments/{attachment_id}/{filename}", self._c_attachment)

    @staticmethod
    def _control_reply(payload: Any, status: int = 200) -> web.Response:
        return web.Response(
            status=status,
            body=_dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )

    @staticmethod
    async def _control_body(request: web.Request) -> JSON:
        raw = await request.read()
        if not raw:
            return {}
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        return body

    async def _control(
        self, request: web.Request, action: Callable[[JSON], Awaitable[Any]]
    ) -> web.Response:
        """Run a control action; mistakes come back as 400 with the reason, not as 500."""
        try:
            body = await self._control_body(request)
            return self._control_reply(await action(body))
        except (LookupError, ValueError, TypeError, TimeoutError, RuntimeError, re.error) as exc:
            return self._control_reply({"error": type(exc).__name__, "detail": str(exc)}, 400)

    async def _c_state(self, request: web.Request) -> web.Response:
        return self._control_reply(
            {
                "api_base": self.api_base,
                "gateway_url": self.gateway_url,
                "application_id": str(self.application_id),
                "bot_user_id": str(self.bot_user_id),
                "users": {
                    str(u.id): {"username": u.username, "bot": u.bot, "dms_closed": u.dms_closed}
                    for u in self.users.values()
                },
                "guilds": {
                    str(g.id): {
                        "name": g.name,
                        "bot_present": g.bot_present,
                        "channels": {
                            str(c): {"name": self.channels[c].name, "type": self.channels[c].type}
                            for c in g.channel_ids
                            if c in self.channels
                        },
                        "members": [str(m) for m in g.members],
                    }
                    for g in self.guilds.values()
                },
                "sync_counts": {
                    str(k) if k is not None else "global": v for k, v in self._sync_counts.items()
                },
                "identify_count": self.identify_count,
                "resume_count": self.resume_count,
                "connected": any(s.connection is not None for s in self._sessions.values()),
                "stats": dict(self.stats),
            }
        )

    async def _c_requests(self, request: web.Request) -> web.Response:
        async def action(body: JSON) -> Any:
            method = request.query.get("method", "*")
            path = request.query.get("path", "")
            return [r.summary() for r in self.requests_matching(method, path)]

        return await self._control(request, action)

    async def _c_messages(self, request: web.Request) -> web.Response:
        async def action(body: JSON) -> Any:
            channel_id = int(request.query["channel_id"])
            include_ephemeral = request.query.get("include_ephemeral") in ("1", "true")
            found = self.messages(channel_id, include_ephemeral=include_ephemeral)
            return [m.summary() for m in found]

        return await self._control(request, action)

    async def _c_dm_messages(self, request: web.Request) -> web.Response:
        async def action(body: JSON) -> Any:
            return [m.summary() for m in self.dm_messages(int(request.query["user_id"]))]

        return await self._control(request, action)

    async def _c_commands(self, request: web.Request) -> web.Response:
        async def action(body: JSON) -> Any:
            raw = request.query.get("guild_id")
            return self.commands(int(raw) if raw else None)

        return await self._control(request, action)

    async def _c_fault(self, request: web.Request) -> web.Response:
        async def action(body: JSON) -> Any:
            fault = self.fault(
                str(body.get("method", "*")),
                str(body["path"]),
                body.get("status"),
                code=body.get("code"),
                message=body.get("message"),
                retry_after=body.get("retry_after"),
                global_=bool(body.get("global", False)),
                times=body.get("times", 1),
                delay=body.get("delay"),
            )
            return {"ok": True, "fault": fault.__dict__}

        return await self._control(request, action)

    async def _c_clear_faults(self, request: web.Request) -> web.Response:
        self.clear_faults()
        return self._control_reply({"ok": True})

    async def _c_dms_closed(self, request: web.Request) -> web.Response:
        async def action(body: JSON) -> Any:
            self.set_dms_closed(int(body["user_id"]), bool(body.get("closed", True)))
            return {"ok": True}

        return await self._control(request, action)

    async def _c_add_user(self, request: web.Request) -> web.Response:
        async def action(body: JSON) -> Any:
            user_id = self.add_user(str(body["name"]), locale=str(body.get("locale", "en-US")))
            guild_id = body.get("guild_id")
            if guild_id is not None:
                self.add_member(int(guild_id), user_id, permissions=body.get("permissions"))
            return {"user_id": str(user_id)}

        return await self._control(request, action)

    async def _c_add_member(self, request: web.Request) -> web.Response:
        async def action(body: JSON) -> Any:
            self.add_member(
                int(body["guild_id"]),
                int(body["user_id"]),
                roles=[int(r) for r in body.get("roles", [])],
                permissions=body.get("permissions"),
            )
            return {"ok": True}

        return await self._control(request, action)

    async def _c_user_message(self, request: web.Request) -> web.Response:
        async def action(body: JSON) -> Any:
            message = self.post_user_message(
                int(body["user_id"]), int(body["channel_id"]), str(body["content"])
            )
            return message.summary()

        return await self._control(request, action)

    def _place_args(self, body: JSON) -> JSON:
        return {
            "guild_id": None if body.get("guild_id") is None else int(body["guild_id"]),
            "channel_id": None if body.get("channel_id") is None else int(body["channel_id"]),
            "user_install": bool(body.get("user_install", False)),
        }

    async def _finish(self, handle: InteractionHandle, body: JSON) -> JSON:
        """Wait for the bot's answer (and a completed message) up to ``timeout`` seconds."""
        timeout = float(body.get("timeout", 5.0))
        with contextlib.suppress(TimeoutError, ValueError):
            response = await handle.wait_response(timeout)
            if int(response.get("type", 0)) in (
                CALLBACK_CHANNEL_MESSAGE,
                CALLBACK_UPDATE_MESSAGE,
                CALLBACK_DEFERRED_CHANNEL_MESSAGE,
            ):
                await handle.wait_message(timeout)
        return handle.summary()

    async def _c_invoke(self, request: web.Request) -> web.Response:
        async def action(body: JSON) -> Any:
            handle = await self.invoke(
                int(body["user_id"]),
                str(body["command"]),
                body.get("options") or {},
                **self._place_args(body),
            )
            return await self._finish(handle, body)

        return await self._control(request, action)

    async def _c_autocomplete(self, request: web.Request) -> web.Response:
        async def action(body: JSON) -> Any:
            choices = await self.autocomplete(
                int(body["user_id"]),
                str(body["command"]),
                body.get("options") or {},
                str(body["focused"]),
                timeout=float(body.get("timeout", 5.0)),
                **self._place_args(body),
            )
            return {"choices": choices}

        return await self._control(request, action)

    async def _c_click(self, request: web.Request) -> web.Response:
        async def action(body: JSON) -> Any:
            handle = await self.click(
                int(body["user_id"]),
                int(body["message_id"]),
                str(body["custom_id"]),
                values=body.get("values"),
            )
            return await self._finish(handle, body)

        return await self._control(request, action)

    async def _c_submit_modal(self, request: web.Request) -> web.Response:
        async def action(body: JSON) -> Any:
            handle = await self.submit_modal(
                int(body["user_id"]), str(body["custom_id"]), body.get("values") or {}
            )
            return await self._finish(handle, body)

        return await self._control(request, action)

    async def _c_interaction(self, request: web.Request) -> web.Response:
        handle = self.interactions.get(int(request.match_info["interaction_id"]))
        if handle is None:
            return self._control_reply({"error": "unknown interaction"}, 404)
        return self._control_reply(handle.summary())

    async def _c_gateway_reconnect(self, request: web.Request) -> web.Response:
        async def action(body: JSON) -> Any:
            await self.gateway_reconnect(timeout=float(body.get("timeout", 5.0)))
            return {"resume_count": self.resume_count}

        return await self._control(request, action)

    async def _c_gateway_drop(self, request: web.Request) -> web.Response:
        async def action(body: JSON) -> Any:
            await self.drop_connection(int(body.get("code", 4000)), wait=bool(body.get("wait")))
            return {"ok": True}

        return await self._control(request, action)

    async def _c_gateway_invalid_session(self, request: web.Request) -> web.Response:
        async def action(body: JSON) -> Any:
            await self.gateway_invalid_session(
                bool(body.get("resumable", False)), timeout=float(body.get("timeout", 5.0))
            )
            return {"identify_count": self.identify_count, "resume_count": self.resume_count}

        return await self._control(request, action)

    async def _c_advance_time(self, request: web.Request) -> web.Response:
        async def action(body: JSON) -> Any:
            self.advance_time(float(body["seconds"]))
            return {"ok": True}

        return await self._control(request, action)

    async def _c_attachment(self, request: web.Request) -> web.Response:
        stored = self._attachments.get(int(request.match_info["attachment_id"]))
        if stored is None:
            return self._control_reply({"error": "unknown attachment"}, 404)
        return web.Response(body=stored.data, headers={"Content-Type": stored.content_type})


# ===============================================================================================
# Validation: the Discord rules a bot most often breaks, answered as 400/50035 like Discord does
# ===============================================================================================


def _check_text(
    errors: FormErrors,
    path: list[str | int],
    value: Any,
    low: int,
    high: int,
    *,
    required: bool = True,
) -> None:
    if value is None:
        if required:
            errors.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        return
    if not isinstance(value, str):
        errors.add(path, "BASE_TYPE_STRING", "Could not interpret value as string.")
    elif len(value) < low:
        errors.add(path, "BASE_TYPE_MIN_LENGTH", f"Must be {low} or more in length.")
    elif len(value) > high:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {high} or fewer in length.")


def _check_command_name(errors: FormErrors, path: list[str | int], name: Any) -> None:
    if not isinstance(name, str) or not COMMAND_NAME_RE.match(name) or name != name.lower():
        errors.add(path, "APPLICATION_COMMAND_INVALID_NAME", f"Command name is invalid: {name!r}")


def validate_commands(commands: Sequence[Any]) -> None:
    """Check a bulk-overwrite body like Discord does (names, descriptions, options, choices)."""
    errors = FormErrors()
    counts = collections.Counter(int(c.get("type", 1)) for c in commands if isinstance(c, dict))
    if counts[1] > 100:
        errors.add([], "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer chat input commands.")
    for kind in (2, 3):
        if counts[kind] > 15:
            errors.add([], "BASE_TYPE_MAX_LENGTH", f"Must be 15 or fewer commands of type {kind}.")
    seen: set[tuple[Any, int]] = set()
    for index, command in enumerate(commands):
        if not isinstance(command, dict):
            errors.add([index], "MODEL_TYPE_CONVERT", "Only dictionaries are accepted")
            continue
        kind = command.get("type", 1)
        if kind not in (1, 2, 3, 4):
            errors.add([index, "type"], "BASE_TYPE_CHOICES", "Value must be one of (1, 2, 3, 4).")
            continue
        name = command.get("name")
        if kind == 1:
            _check_command_name(errors, [index, "name"], name)
            _check_text(errors, [index, "description"], command.get("description"), 1, 100)
            _check_options(errors, [index, "options"], command.get("options"), depth=0)
        else:
            _check_text(errors, [index, "name"], name, 1, 32)
            if command.get("description"):
                errors.add(
                    [index, "description"],
                    "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
                    "Context menu commands cannot have a description",
                )
            if command.get("options"):
                errors.add(
                    [index, "options"],
                    "APPLICATION_COMMAND_CONTEXT_MENU_OPTIONS",
                    "Context menu commands cannot have options",
                )
        if (name, kind) in seen:
            errors.add(
                [index, "name"],
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            )
        seen.add((name, kind))
        permissions = command.get("default_member_permissions")
        if permissions is not None and _as_int(permissions) is None:
            errors.add(
                [index, "default_member_permissions"],
                "NUMBER_TYPE_COERCE",
                f"Value {permissions!r} is not a valid permission bitfield.",
            )
        for key, allowed in (("contexts", (0, 1, 2)), ("integration_types", (0, 1))):
            value = command.get(key)
            if value is not None and (
                not isinstance(value, list) or any(v not in allowed for v in value)
            ):
                errors.add([index, key], "BASE_TYPE_CHOICES", f"Values must be in {allowed}.")
    errors.raise_if_any()


def _check_options(errors: FormErrors, path: list[str | int], options: Any, *, depth: int) -> None:
    """``depth`` 0: a command's options; 1: a group's; 2: a subcommand's."""
    if options is None:
        return
    if not isinstance(options, list):
        errors.add(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return
    if len(options) > 25:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    kinds = [o.get("type") for o in options if isinstance(o, dict)]
    subcommands = [k for k in kinds if k in (OPTION_SUB_COMMAND, OPTION_SUB_COMMAND_GROUP)]
    if subcommands and len(subcommands) != len(kinds):
        errors.add(
            path,
            "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
            "Sub-command and sub-command group option types are mutually exclusive "
            "to all other types",
        )
    names: set[Any] = set()
    optional_seen = False
    for index, option in enumerate(options):
        here: list[str | int] = [*path, index]
        if not isinstance(option, dict):
            errors.add(here, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
            continue
        kind = option.get("type")
        if not isinstance(kind, int) or not 1 <= kind <= 11:
            errors.add([*here, "type"], "BASE_TYPE_CHOICES", "Value must be one of (1..11).")
            continue
        _check_command_name(errors, [*here, "name"], option.get("name"))
        if option.get("name") in names:
            errors.add(
                [*here, "name"],
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            )
        names.add(option.get("name"))
        _check_text(errors, [*here, "description"], option.get("description"), 1, 100)
        if kind in (OPTION_SUB_COMMAND, OPTION_SUB_COMMAND_GROUP):
            nested_ok = depth == 0 or (kind == OPTION_SUB_COMMAND and depth == 1)
            if not nested_ok:
                errors.add(
                    [*here, "type"],
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Sub-commands nest at most two levels (group, then sub-command)",
                )
            children = option.get("options") or []
            if kind == OPTION_SUB_COMMAND_GROUP and any(
                isinstance(c, dict) and c.get("type") != OPTION_SUB_COMMAND for c in children
            ):
                errors.add(
                    [*here, "options"],
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Sub-command groups may only contain sub-commands",
                )
            _check_options(
                errors,
                [*here, "options"],
                children,
                depth=1 if kind == OPTION_SUB_COMMAND_GROUP else 2,
            )
            continue
        required = bool(option.get("required", False))
        if required and optional_seen:
            errors.add(
                [*here, "required"],
                "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                "Required options must be placed before non-required options",
            )
        optional_seen = optional_seen or not required
        choices = option.get("choices")
        if choices:
            if kind not in (OPTION_STRING, OPTION_INTEGER, OPTION_NUMBER):
                errors.add(
                    [*here, "choices"],
                    "APPLICATION_COMMAND_OPTION_CHOICES_INVALID",
                    "Only string, integer and number options can have choices",
                )
            elif not isinstance(choices, list) or len(choices) > 25:
                errors.add(
                    [*here, "choices"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                )
            else:
                for choice_index, choice in enumerate(choices):
                    _check_choice(errors, [*here, "choices", choice_index], choice, kind)
            if option.get("autocomplete"):
                errors.add(
                    [*here, "autocomplete"],
                    "APPLICATION_COMMAND_AUTOCOMPLETE_CHOICES",
                    "Autocomplete and choices are mutually exclusive",
                )
        typed = (OPTION_STRING, OPTION_INTEGER, OPTION_NUMBER)
        if option.get("autocomplete") and kind not in typed:
            errors.add(
                [*here, "autocomplete"],
                "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
                "Only string, integer and number options can autocomplete",
            )
        for key in ("min_length", "max_length"):
            if key in option and (kind != OPTION_STRING or not 0 <= int(option[key]) <= 6000):
                errors.add([*here, key], "BASE_TYPE_BAD_INT", f"{key} must be 0–6000 on strings")
        for key in ("min_value", "max_value"):
            if key in option and kind not in (OPTION_INTEGER, OPTION_NUMBER):
                errors.add([*here, key], "BASE_TYPE_BAD_NUMBER", f"{key} is for numbers only")
        if "channel_types" in option and kind != OPTION_CHANNEL:
            errors.add(
                [*here, "channel_types"],
                "BASE_TYPE_BAD_LIST",
                "channel_types is for channel options only",
            )


def _check_choice(errors: FormErrors, path: list[str | int], choice: Any, kind: int) -> None:
    if not isinstance(choice, dict):
        errors.add(path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
        return
    _check_text(errors, [*path, "name"], choice.get("name"), 1, 100)
    value = choice.get("value")
    if kind == OPTION_STRING:
        _check_text(errors, [*path, "value"], value, 1, 100)
    elif kind == OPTION_INTEGER and (
        isinstance(value, bool) or not isinstance(value, int) or abs(value) > INT_OPTION_LIMIT
    ):
        errors.add([*path, "value"], "NUMBER_TYPE_COERCE", f"Value {value!r} is not int.")
    elif kind == OPTION_NUMBER and (isinstance(value, bool) or not isinstance(value, (int, float))):
        errors.add([*path, "value"], "NUMBER_TYPE_COERCE", f"Value {value!r} is not a number.")


def _check_embed(errors: FormErrors, path: list[str | int], embed: Any) -> int:
    """Validates one embed; returns its character count toward the 6000 total."""
    if not isinstance(embed, dict):
        errors.add(path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
        return 0
    total = 0
    for key, limit in (("title", 256), ("description", 4096)):
        if embed.get(key) is not None:
            _check_text(errors, [*path, key], embed[key], 0, limit)
            total += len(str(embed[key]))
    footer = embed.get("footer") or {}
    if footer.get("text") is not None:
        _check_text(errors, [*path, "footer", "text"], footer["text"], 1, 2048)
        total += len(str(footer["text"]))
    author = embed.get("author") or {}
    if author.get("name") is not None:
        _check_text(errors, [*path, "author", "name"], author["name"], 1, 256)
        total += len(str(author["name"]))
    fields = embed.get("fields") or []
    if len(fields) > 25:
        errors.add([*path, "fields"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    for index, item in enumerate(fields):
        if not isinstance(item, dict):
            errors.add([*path, "fields", index], "MODEL_TYPE_CONVERT", "Only dictionaries")
            continue
        _check_text(errors, [*path, "fields", index, "name"], item.get("name"), 1, 256)
        _check_text(errors, [*path, "fields", index, "value"], item.get("value"), 1, 1024)
        total += len(str(item.get("name") or "")) + len(str(item.get("value") or ""))
    color = embed.get("color")
    if color is not None and (not isinstance(color, int) or not 0 <= color <= 0xFFFFFF):
        errors.add([*path, "color"], "NUMBER_TYPE_MAX", "int value should be <= 16777215.")
    return total


def _check_custom_id(
    errors: FormErrors, path: list[str | int], custom_id: Any, seen: set[str]
) -> None:
    _check_text(errors, [*path, "custom_id"], custom_id, 1, 100)
    if isinstance(custom_id, str):
        if custom_id in seen:
            errors.add(
                [*path, "custom_id"],
                "COMPONENT_CUSTOM_ID_DUPLICATED",
                "Component custom id cannot be duplicated",
            )
        seen.add(custom_id)


def _check_components(
    errors: FormErrors, path: list[str | int], components: Any, *, v2: bool
) -> None:
    if not isinstance(components, list):
        errors.add(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return
    if not v2 and len(components) > 5:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    seen: set[str] = set()
    count = 0

    def walk(items: list[Any], where: list[str | int], top_level: bool) -> None:
        nonlocal count
        for index, component in enumerate(items):
            here: list[str | int] = [*where, index]
            if not isinstance(component, dict):
                errors.add(here, "MODEL_TYPE_CONVERT", "Only dictionaries")
                continue
            count += 1
            kind = component.get("type")
            if top_level and not v2 and kind != COMPONENT_ACTION_ROW:
                errors.add(
                    [*here, "type"],
                    "UNION_TYPE_CHOICES",
                    'Value of field "type" must be one of (1,).',
                )
            if kind == COMPONENT_ACTION_ROW:
                children = component.get("components") or []
                if not children or len(children) > 5:
                    errors.add(
                        [*here, "components"],
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 5 in length.",
                    )
                if len(children) > 1 and any(
                    isinstance(c, dict) and c.get("type") in SELECT_TYPES for c in children
                ):
                    errors.add(
                        [*here, "components"],
                        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                        "The specified component exceeds the maximum width",
                    )
                walk(children, [*here, "components"], False)
            elif kind == COMPONENT_BUTTON:
                style = component.get("style")
                if style not in (1, 2, 3, 4, 5, 6):
                    errors.add([*here, "style"], "BASE_TYPE_CHOICES", "Value must be one of 1–6.")
                if style == BUTTON_STYLE_LINK:
                    _check_text(errors, [*here, "url"], component.get("url"), 1, 512)
                    if "custom_id" in component:
                        errors.add(
                            [*here, "custom_id"],
                            "BUTTON_COMPONENT_CUSTOM_ID_LINK",
                            "A link button cannot have a custom id",
                        )
                elif style != BUTTON_STYLE_PREMIUM:
                    _check_custom_id(errors, here, component.get("custom_id"), seen)
                if component.get("label") is not None:
                    _check_text(errors, [*here, "label"], component["label"], 0, 80)
            elif kind in SELECT_TYPES:
                _check_custom_id(errors, here, component.get("custom_id"), seen)
                if kind == COMPONENT_STRING_SELECT:
                    options = component.get("options") or []
                    if not 1 <= len(options) <= 25:
                        errors.add(
                            [*here, "options"],
                            "BASE_TYPE_BAD_LENGTH",
                            "Must be between 1 and 25 in length.",
                        )
                    for option_index, option in enumerate(options):
                        _check_text(
                            errors,
                            [*here, "options", option_index, "label"],
                            option.get("label"),
                            1,
                            100,
                        )
                        _check_text(
                            errors,
                            [*here, "options", option_index, "value"],
                            option.get("value"),
                            1,
                            100,
                        )
                        if option.get("description") is not None:
                            _check_text(
                                errors,
                                [*here, "options", option_index, "description"],
                                option["description"],
                                0,
                                100,
                            )
                if component.get("placeholder") is not None:
                    _check_text(errors, [*here, "placeholder"], component["placeholder"], 0, 150)
            else:
                for key in ("components", "items"):
                    if isinstance(component.get(key), list):
                        walk(component[key], [*here, key], False)
                for key in ("accessory", "component"):
                    if isinstance(component.get(key), dict):
                        walk([component[key]], [*here, key], False)

    walk(components, path, True)
    if v2 and count > 40:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", "Must be 40 or fewer components in total.")


def validate_message_body(body: JSON, errors: FormErrors) -> None:
    content = body.get("content")
    if content is not None:
        _check_text(errors, ["content"], content, 0, 2000)
    embeds = body.get("embeds")
    if embeds is not None:
        if not isinstance(embeds, list):
            errors.add(["embeds"], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        else:
            if len(embeds) > 10:
                errors.add(["embeds"], "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
            total = sum(_check_embed(errors, ["embeds", i], e) for i, e in enumerate(embeds))
            if total > 6000:
                errors.add(
                    ["embeds"], "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
                )
    flags = body.get("flags")
    if flags is not None and (not isinstance(flags, int) or flags & ~SETTABLE_MESSAGE_FLAGS):
        errors.add(["flags"], "MESSAGE_FLAGS_INVALID", f"Invalid message flags: {flags!r}")
    if body.get("components") is not None:
        v2 = isinstance(flags, int) and bool(flags & FLAG_IS_COMPONENTS_V2)
        _check_components(errors, ["components"], body["components"], v2=v2)
    allowed = body.get("allowed_mentions")
    if allowed is not None:
        if not isinstance(allowed, dict):
            errors.add(["allowed_mentions"], "MODEL_TYPE_CONVERT", "Only dictionaries")
        else:
            parse = allowed.get("parse") or []
            if any(p not in ("users", "roles", "everyone") for p in parse):
                errors.add(
                    ["allowed_mentions", "parse"],
                    "BASE_TYPE_CHOICES",
                    "Values must be users, roles or everyone.",
                )
            for key in ("users", "roles"):
                if key in parse and allowed.get(key):
                    errors.add(
                        ["allowed_mentions", key],
                        "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                        f'parse:["{key}"] and {key}: [ids] are mutually exclusive.',
                    )


def validate_autocomplete_result(data: JSON) -> None:
    errors = FormErrors()
    choices = data.get("choices")
    if not isinstance(choices, list):
        errors.add(["data", "choices"], "BASE_TYPE_REQUIRED", "This field is required")
    elif len(choices) > 25:
        errors.add(["data", "choices"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    else:
        for index, choice in enumerate(choices):
            if not isinstance(choice, dict):
                errors.add(["data", "choices", index], "MODEL_TYPE_CONVERT", "Only dictionaries")
                continue
            _check_text(errors, ["data", "choices", index, "name"], choice.get("name"), 1, 100)
            value = choice.get("value")
            if isinstance(value, str):
                _check_text(errors, ["data", "choices", index, "value"], value, 0, 100)
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                errors.add(
                    ["data", "choices", index, "value"],
                    "BASE_TYPE_REQUIRED",
                    "Choice values are strings or numbers",
                )
    errors.raise_if_any()


def _check_text_input(
    errors: FormErrors,
    path: list[str | int],
    component: JSON,
    seen: set[str],
    *,
    label_required: bool,
) -> None:
    _check_custom_id(errors, path, component.get("custom_id"), seen)
    if component.get("style") not in (1, 2):
        errors.add([*path, "style"], "BASE_TYPE_CHOICES", "Value must be one of (1, 2).")
    if label_required or component.get("label") is not None:
        _check_text(errors, [*path, "label"], component.get("label"), 1, 45)
    for key, low, high in (("min_length", 0, 4000), ("max_length", 1, 4000)):
        value = component.get(key)
        if value is not None and (not isinstance(value, int) or not low <= value <= high):
            errors.add([*path, key], "NUMBER_TYPE_MAX", f"{key} must be {low}–{high}")
    if component.get("value") is not None:
        _check_text(errors, [*path, "value"], component["value"], 0, 4000)
    if component.get("placeholder") is not None:
        _check_text(errors, [*path, "placeholder"], component["placeholder"], 0, 100)


def validate_modal(data: JSON) -> None:
    errors = FormErrors()
    _check_text(errors, ["data", "title"], data.get("title"), 1, 45)
    _check_text(errors, ["data", "custom_id"], data.get("custom_id"), 1, 100)
    components = data.get("components")
    if not isinstance(components, list) or not 1 <= len(components) <= 5:
        errors.add(
            ["data", "components"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
        )
        components = components if isinstance(components, list) else []
    seen: set[str] = set()
    for index, component in enumerate(components):
        here: list[str | int] = ["data", "components", index]
        kind = component.get("type") if isinstance(component, dict) else None
        if kind == COMPONENT_ACTION_ROW:
            children = component.get("components") or []
            if len(children) != 1 or children[0].get("type") != COMPONENT_TEXT_INPUT:
                errors.add(
                    [*here, "components"],
                    "MODAL_ACTION_ROW_INVALID",
                    "An action row in a modal holds exactly one text input",
                )
            else:
                _check_text_input(
                    errors, [*here, "components", 0], children[0], seen, label_required=True
                )
        elif kind == COMPONENT_LABEL:
            _check_text(errors, [*here, "label"], component.get("label"), 1, 45)
            if component.get("description") is not None:
                _check_text(errors, [*here, "description"], component["description"], 0, 100)
            inner = component.get("component")
            if not isinstance(inner, dict):
                errors.add([*here, "component"], "BASE_TYPE_REQUIRED", "This field is required")
            elif inner.get("type") == COMPONENT_TEXT_INPUT:
                _check_text_input(errors, [*here, "component"], inner, seen, label_required=False)
            else:
                _check_custom_id(errors, [*here, "component"], inner.get("custom_id"), seen)
        elif kind != COMPONENT_TEXT_DISPLAY:
            errors.add(
                [*here, "type"],
                "UNION_TYPE_CHOICES",
                "Modal components are action rows, labels or text displays",
            )
    errors.raise_if_any()


def _validate_thread_body(body: JSON) -> None:
    errors = FormErrors()
    _check_text(errors, ["name"], body.get("name"), 1, 100)
    duration = body.get("auto_archive_duration")
    if duration is not None and duration not in (60, 1440, 4320, 10080):
        errors.add(
            ["auto_archive_duration"],
            "BASE_TYPE_CHOICES",
            "Value must be one of (60, 1440, 4320, 10080).",
        )
    errors.raise_if_any()


# ===============================================================================================
# Module helpers used by the emulator
# ===============================================================================================


def _valid_nonce(nonce: Any) -> bool:
    if isinstance(nonce, bool):
        return False
    if isinstance(nonce, int):
        return -(2**63) <= nonce <= MAX_INT64
    return isinstance(nonce, str) and len(nonce) <= 25


def _query_int(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            400,
            50035,
            "Invalid Form Body",
            _error_tree([name], "NUMBER_TYPE_COERCE", f'Value "{raw}" is not int.'),
        ) from None
    if not low <= value <= high:
        raise ApiError(
            400,
            50035,
            "Invalid Form Body",
            _error_tree([name], "NUMBER_TYPE_MAX", f"Must be between {low} and {high}."),
        )
    return value


def _same_definition(previous: JSON, current: JSON) -> bool:
    ignored = ("version",)
    return {k: v for k, v in previous.items() if k not in ignored} == {
        k: v for k, v in current.items() if k not in ignored
    }


def _normalise_embed(embed: Any) -> JSON:
    result = dict(embed) if isinstance(embed, dict) else {}
    result.setdefault("type", "rich")
    return result


def _is_empty(
    content: str,
    embeds: Sequence[Any],
    attachments: Sequence[Any],
    components: Sequence[Any],
    body: Mapping[str, Any],
) -> bool:
    return not (
        content.strip()
        or embeds
        or attachments
        or components
        or body.get("sticker_ids")
        or body.get("poll")
    )


def _guess_content_type(filename: str, given: str) -> str:
    if given and given != "application/octet-stream":
        return given
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


_GUILDS_INTENT_EVENTS = {
    "GUILD_CREATE",
    "GUILD_UPDATE",
    "GUILD_DELETE",
    "GUILD_ROLE_CREATE",
    "GUILD_ROLE_UPDATE",
    "GUILD_ROLE_DELETE",
    "CHANNEL_CREATE",
    "CHANNEL_UPDATE",
    "CHANNEL_DELETE",
    "THREAD_CREATE",
    "THREAD_UPDATE",
    "THREAD_DELETE",
    "THREAD_LIST_SYNC",
}


def _event_intent(event: str, data: Mapping[str, Any]) -> int:
    """The intent a session needs to receive an event (0: always delivered)."""
    if event in _GUILDS_INTENT_EVENTS:
        return INTENT_GUILDS
    if event in ("GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE"):
        return INTENT_GUILD_MEMBERS
    if event.startswith("MESSAGE_"):
        return INTENT_GUILD_MESSAGES if "guild_id" in data else INTENT_DIRECT_MESSAGES
    return 0


def _check_range(where: str, value: int | float, definition: Mapping[str, Any]) -> None:
    low, high = definition.get("min_value"), definition.get("max_value")
    if low is not None and value < low:
        raise ValueError(f"{where}: {value} is below min_value {low}")
    if high is not None and value > high:
        raise ValueError(f"{where}: {value} is above max_value {high}")


def _find_component(components: Iterable[Any], custom_id: str) -> JSON | None:
    for component in components:
        if not isinstance(component, dict):
            continue
        if component.get("custom_id") == custom_id:
            return component
        children: list[Any] = list(component.get("components") or [])
        for key in ("accessory", "component"):
            if isinstance(component.get(key), dict):
                children.append(component[key])
        found = _find_component(children, custom_id)
        if found is not None:
            return found
    return None


def _modal_submission(components: Sequence[JSON], values: Mapping[str, Any]) -> list[JSON]:
    """What Discord sends back when a modal is submitted: the modal's layout with values."""
    known: set[str] = set()

    def collect(items: Iterable[Any]) -> None:
        for item in items:
            if isinstance(item, dict):
                if item.get("custom_id") is not None:
                    known.add(str(item["custom_id"]))
                collect(item.get("components") or [])
                if isinstance(item.get("component"), dict):
                    collect([item["component"]])

    collect(components)
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"the modal has no input(s) {unknown}; it has {sorted(known)}")
    remaining = dict(values)

    def submitted(component: JSON) -> JSON:
        kind = component.get("type")
        custom_id = str(component.get("custom_id"))
        result: JSON = {"type": kind}
        if "id" in component:
            result["id"] = component["id"]
        if kind == COMPONENT_TEXT_INPUT:
            value = remaining.pop(custom_id, component.get("value") or "")
            if not isinstance(value, str):
                raise TypeError(f"text input {custom_id!r} takes a string, got {value!r}")
            if component.get("required", True) and not value:
                raise ValueError(f"text input {custom_id!r} is required")
            min_length, max_length = component.get("min_length"), component.get("max_length")
            if value and min_length is not None and len(value) < min_length:
                raise ValueError(f"text input {custom_id!r} needs at least {min_length} characters")
            if max_length is not None and len(value) > max_length:
                raise ValueError(f"text input {custom_id!r} allows at most {max_length} characters")
            result.update({"custom_id": custom_id, "value": value})
        elif kind in SELECT_TYPES:
            chosen = remaining.pop(custom_id, [])
            if isinstance(chosen, (str, int)):
                chosen = [chosen]
            result.update({"custom_id": custom_id, "values": [str(v) for v in chosen]})
        elif component.get("custom_id") is not None:
            value = remaining.pop(custom_id, None)
            result["custom_id"] = custom_id
            if isinstance(value, list):
                result["values"] = value
            elif value is not None:
                result["value"] = value
        return result

    output: list[JSON] = []
    for component in components:
        kind = component.get("type")
        head: JSON = {"type": kind}
        if "id" in component:
            head["id"] = component["id"]
        if kind == COMPONENT_ACTION_ROW:
            head["components"] = [submitted(c) for c in component.get("components") or []]
            output.append(head)
        elif kind == COMPONENT_LABEL:
            head["component"] = submitted(component["component"])
            output.append(head)
        elif kind == COMPONENT_TEXT_DISPLAY:
            output.append(head)
        else:
            output.append(submitted(component))
    return output


# ===============================================================================================
# Command line: run the emulator as its own process
# ===============================================================================================


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run a Discord emulator for the bot (REST under /api/v10, gateway at /gateway)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--token", default=None, help="expected bot token (default: accept any)")
    parser.add_argument("--application-id", type=int, default=None)
    parser.add_argument("--bot-name", default="NextRound")
    parser.add_argument("--guild", default="Test Server", help="name of the default server")
    parser.add_argument(
        "--channel",
        action="append",
        default=None,
        help="text channel name (repeatable; default: general)",
    )
    parser.add_argument(
        "--user",
        action="append",
        default=None,
        help="member user name (repeatable; default: alice)",
    )
    parser.add_argument("--ack-deadline", type=float, default=3.0)
    parser.add_argument("--heartbeat-interval-ms", type=int, default=41250)
    parser.add_argument(
        "--no-route-limits", action="store_true", help="send no per-route rate-limit buckets"
    )
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    emulator = DiscordEmulator(
        token=args.token,
        application_id=args.application_id,
        bot_name=args.bot_name,
        host=args.host,
        port=args.port,
        ack_deadline=args.ack_deadline,
        heartbeat_interval_ms=args.heartbeat_interval_ms,
        route_limits_enabled=not args.no_route_limits,
    )
    await emulator.start()
    guild_id = emulator.add_guild(args.guild)
    channels = {
        name: emulator.add_text_channel(guild_id, name) for name in (args.channel or ["general"])
    }
    users = {}
    for name in args.user or ["alice"]:
        users[name] = emulator.add_user(name)
        emulator.add_member(guild_id, users[name])
    print(
        json.dumps(
            {
                "base_url": emulator.base_url,
                "api_base": emulator.api_base,
                "gateway_url": emulator.gateway_url,
                "application_id": str(emulator.application_id),
                "bot_user_id": str(emulator.bot_user_id),
                "guild_id": str(guild_id),
                "channels": {k: str(v) for k, v in channels.items()},
                "users": {k: str(v) for k, v in users.items()},
                "env": {
                    "DISCORD_API_BASE_URL": emulator.api_base,
                    "DISCORD_GATEWAY_URL": emulator.gateway_url,
                },
            },
            indent=2,
        ),
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signame in ("SIGINT", "SIGTERM"):
        with contextlib.suppress(NotImplementedError, AttributeError):
            loop.add_signal_handler(getattr(signal, signame), stop.set)
    try:
        await stop.wait()
    finally:
        await emulator.close()


def main(argv: Sequence[str] | None = None) -> None:
    args = _parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main(sys.argv[1:])
