"""What the emulated Discord holds: people, a guild, channels, threads, messages, files,
commands and interactions. Plain records; `world.World` owns them under one lock, and tests
get deep copies to assert on (what a person in the guild would see)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]

# Channel types (https://discord.com/developers/docs/resources/channel#channel-object-channel-types)
GUILD_TEXT = 0
DM = 1
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
THREAD_TYPES = frozenset({PUBLIC_THREAD, PRIVATE_THREAD})

# Message types
DEFAULT = 0
THREAD_CREATED = 18
REPLY = 19
CHAT_INPUT_COMMAND = 20
THREAD_STARTER_MESSAGE = 21

# Message flags
EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_EMBEDS = 1 << 2

# Interaction types
PING = 1
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
APPLICATION_COMMAND_AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

# Interaction callback types
PONG = 1
CHANNEL_MESSAGE_WITH_SOURCE = 4
DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9


@dataclass
class User:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    # False: the person turned off direct messages from server members (or blocked the bot);
    # the bot's messages to them fail with 50007, as do those to someone sharing no server.
    accepts_dms: bool = True

    def render(self) -> JsonDict:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
        }


@dataclass
class Role:
    id: int
    name: str
    permissions: int
    position: int = 0
    color: int = 0

    def render(self) -> JsonDict:
        return {
            "id": str(self.id),
            "name": self.name,
            "color": self.color,
            "colors": {
                "primary_color": self.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }


@dataclass
class Member:
    user_id: int
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = "2024-01-01T00:00:00+00:00"


@dataclass
class Channel:
    id: int
    guild_id: int | None  # None: a DM, which belongs to no guild
    name: str
    type: int = GUILD_TEXT
    position: int = 0
    topic: str | None = None
    parent_id: int | None = None
    # False: the bot's role cannot see it (REST answers 50001, the gateway stays silent).
    bot_can_view: bool = True
    # Threads only.
    owner_id: int | None = None
    thread_members: set[int] = field(default_factory=set)
    archived: bool = False
    auto_archive_duration: int = 1440
    starter_message_id: int | None = None
    created: float = field(default_factory=time.time)
    last_message_id: int | None = None
    message_count: int = 0
    # DMs only: the person the bot talks to there.
    recipient_id: int | None = None

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    @property
    def is_dm(self) -> bool:
        return self.type == DM


@dataclass
class Attachment:
    id: int
    channel_id: int
    filename: str
    content: bytes
    content_type: str
    uploader_id: int
    description: str | None = None
    expires: float = 0.0  # the signed CDN URL stops working after this (epoch seconds)
    # How the CDN serves it: "file"; or, for a front end's download rules, "redirect" (a 302
    # to the foreign host), "html" (a 200 HTML page, as a proxy's or CDN's error page), or
    # "foreign" (its URL names the foreign host, as a rewritten or forged URL would).
    serve: str = "file"

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class MessageVersion:
    """One earlier state of an edited message, kept so tests can see every edit in order."""

    content: str
    embeds: list[JsonDict]
    components: list[JsonDict]
    attachment_ids: list[int]
    flags: int
    time: float


@dataclass
class Message:
    id: int
    channel_id: int
    guild_id: int | None
    author_id: int
    content: str = ""
    embeds: list[JsonDict] = field(default_factory=list)
    components: list[JsonDict] = field(default_factory=list)
    attachment_ids: list[int] = field(default_factory=list)
    type: int = DEFAULT
    flags: int = 0
    created: float = field(default_factory=time.time)
    edited: float | None = None
    edits: list[MessageVersion] = field(default_factory=list)
    deleted: bool = False
    thread_id: int | None = None  # the thread started from this message
    message_reference: JsonDict | None = None
    interaction_id: int | None = None  # set on a message that answers an interaction
    ephemeral_to: int | None = None  # only this user sees it (flag 64)
    webhook_id: int | None = None  # interaction responses come from the application's webhook
    mentions: list[int] = field(default_factory=list)
    reactions: set[str] = field(default_factory=set)  # emoji the bot reacted with
    allowed_mentions: JsonDict | None = None  # as the last create or edit sent it
    pinged: list[str] = field(default_factory=list)  # "everyone", "user:ID", "role:ID" notified
    nonce: str | int | None = None  # as sent; only the create's answer and MESSAGE_CREATE show it

    def snapshot(self) -> MessageVersion:
        return MessageVersion(
            self.content,
            [dict(e) for e in self.embeds],
            [dict(c) for c in self.components],
            list(self.attachment_ids),
            self.flags,
            self.edited or self.created,
        )


@dataclass
class Command:
    id: int
    application_id: int
    name: str
    description: str
    guild_id: int | None = None  # None: a global command
    type: int = 1
    options: list[JsonDict] = field(default_factory=list)
    version: int = 1
    extra: JsonDict = field(default_factory=dict)  # everything else the app sent, kept verbatim

    def render(self) -> JsonDict:
        body: JsonDict = {
            **self.extra,
            "id": str(self.id),
            "application_id": str(self.application_id),
            "name": self.name,
            "description": self.description,
            "type": self.type,
            "options": self.options,
            "version": str(self.version),
            "default_member_permissions": self.extra.get("default_member_permissions"),
            "dm_permission": self.extra.get("dm_permission", True),
            "nsfw": self.extra.get("nsfw", False),
        }
        if self.guild_id is not None:
            body["guild_id"] = str(self.guild_id)
        return body


@dataclass
class Callback:
    """One answer the app gave an interaction through `/callback`."""

    type: int
    data: JsonDict
    time: float


@dataclass
class Interaction:
    id: int
    token: str
    type: int
    user_id: int
    channel_id: int
    guild_id: int | None
    data: JsonDict
    created: float = field(default_factory=time.time)
    message_id: int | None = None  # the message a component sits on
    callback: Callback | None = None  # the one accepted acknowledgement
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    modal: JsonDict | None = None  # the modal this interaction opened
    refused_callbacks: list[tuple[int, int]] = field(default_factory=list)  # (type, error code)

    @property
    def acknowledged(self) -> bool:
        return self.callback is not None

    @property
    def choices(self) -> list[JsonDict] | None:
        """The autocomplete choices the app answered, if it did."""
        if self.callback is None or self.callback.type != AUTOCOMPLETE_RESULT:
            return None
        return list(self.callback.data.get("choices") or [])


@dataclass
class ApiCall:
    """One REST request as the emulator received it, and how it answered."""

    method: str
    path: str
    route: str  # the route template, e.g. "POST /channels/{channel_id}/messages"
    status: int
    time: float
    body: Any = None
    files: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
