"""The emulated Discord's state: one application, its bot, one guild, and everything in it.

Every change goes through a method here so it happens once, under one lock, and produces the
gateway event a real guild would send (through `emit`, which the gateway subscribes to).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from tests.emulators.discord import errors, seed
from tests.emulators.discord.records import (
    DM,
    PUBLIC_THREAD,
    THREAD_CREATED,
    ApiCall,
    Attachment,
    Channel,
    Command,
    Interaction,
    JsonDict,
    Member,
    Message,
    Role,
    User,
)
from tests.emulators.discord.snowflakes import Snowflakes

# Gateway intents (https://discord.com/developers/docs/events/gateway#gateway-intents)
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT

CDN_URL_TTL = 24 * 3600.0
SERVE_MODES = ("file", "redirect", "html", "foreign")


@dataclass
class Event:
    """A gateway dispatch waiting to be sent to every session entitled to it.

    `intent` is the intent a session needs (0: always sent, as INTERACTION_CREATE is);
    `channel_id` hides events from channels the bot cannot view; `content_user` is the author
    of a message whose content the MESSAGE_CONTENT intent guards (None: not guarded).
    """

    name: str
    data: JsonDict
    intent: int = 0
    channel_id: int | None = None
    content_guarded: bool = False


class World:
    """Everything the emulated Discord knows. Callers hold `lock` while they read or change."""

    def __init__(self, token: str, *, bot_name: str = "tunebot") -> None:
        self.token = token
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.ids = Snowflakes()
        self.http_host = ""  # host:port, set once the server listens
        self.foreign_host = ""  # host:port of "some other host" (see `EmulatorServer`)
        self.foreign_requests: list[JsonDict] = []
        self.gateway_url = ""  # ws://host:port/gateway, likewise
        self.cdn_secret = secrets.token_bytes(16)
        self.application_id = seed.APP_ID
        self.bot_user_id = seed.BOT_USER_ID
        self.guild_id = seed.GUILD_ID
        self.guild_name = "tunebot-test"
        self.owner_id = seed.OWNER
        self.users: dict[int, User] = {u.id: u for u in seed.seed_users(bot_name)}
        self.roles: dict[int, Role] = {r.id: r for r in seed.seed_roles()}
        self.members: dict[int, Member] = {m.user_id: m for m in seed.seed_members()}
        self.channels: dict[int, Channel] = {c.id: c for c in seed.seed_channels()}
        self.dm_channels: dict[int, int] = {}  # a person's id to their DM channel with the bot
        self.messages: dict[int, Message] = {}
        self.channel_messages: dict[int, list[int]] = {}
        self.attachments: dict[int, Attachment] = {}
        self.commands: dict[int, Command] = {}
        self.interactions: dict[int, Interaction] = {}
        self.interactions_by_token: dict[str, int] = {}
        self.calls: list[ApiCall] = []
        self.downloads: list[JsonDict] = []
        # Privileged intents switched on for the application in the developer portal.
        self.enabled_privileged_intents = MESSAGE_CONTENT
        self.ack_window = 3.0  # seconds an interaction may wait for its callback
        self.token_ttl = 15 * 60.0  # seconds an interaction token accepts webhook calls
        self.attachment_limit = 25 * 1024 * 1024
        # Seconds a message create's enforced nonce is remembered (Discord: "a few minutes").
        self.nonce_window = 300.0
        self.listeners: list[Callable[[Event], None]] = []

    # -- notification ------------------------------------------------------------------------

    def notify(self) -> None:
        self.changed.notify_all()

    def emit(self, event: Event) -> None:
        """Hand a dispatch to the gateway (called with the lock held, so order is kept)."""
        for listener in list(self.listeners):
            listener(event)
        self.notify()

    # -- lookups that refuse like Discord ----------------------------------------------------

    def channel(self, channel_id: int | str, *, for_bot: bool = True) -> Channel:
        try:
            found = self.channels.get(int(channel_id))
        except ValueError:
            found = None
        if found is None:
            raise errors.unknown("Channel", errors.UNKNOWN_CHANNEL)
        if for_bot and not self.bot_can_view(found):
            raise errors.missing_access()
        return found

    def bot_can_view(self, channel: Channel) -> bool:
        if channel.parent_id is not None:
            return self.bot_can_view(self.channels[channel.parent_id])
        return channel.bot_can_view

    def message(self, channel: Channel, message_id: int | str) -> Message:
        try:
            found = self.messages.get(int(message_id))
        except ValueError:
            found = None
        if found is None or found.deleted or found.channel_id != channel.id:
            raise errors.unknown("Message", errors.UNKNOWN_MESSAGE)
        return found

    def sent_with_nonce(self, author_id: int, nonce: str | int) -> Message | None:
        """The author's message created with `nonce` within `nonce_window` seconds, if any."""
        since = time.time() - self.nonce_window
        for message in reversed(self.messages.values()):
            if message.created < since:
                break
            if message.nonce == nonce and message.author_id == author_id:
                return message
        return None

    def user(self, user_id: int | str) -> User:
        try:
            found = self.users.get(int(user_id))
        except ValueError:
            found = None
        if found is None:
            raise errors.unknown("User", errors.UNKNOWN_USER)
        return found

    def member(self, user_id: int | str) -> Member:
        try:
            found = self.members.get(int(user_id))
        except ValueError:
            found = None
        if found is None:
            raise errors.unknown("Member", errors.UNKNOWN_MEMBER)
        return found

    def permissions(self, user_id: int) -> int:
        """Guild-level permissions: the owner has all, Administrator means all, else the union
        of @everyone and the member's roles (channel overwrites are not emulated)."""
        if user_id == self.owner_id:
            return seed.ALL_PERMISSIONS
        member = self.members.get(user_id)
        value = self.roles[seed.EVERYONE_ROLE].permissions
        for role_id in member.role_ids if member else []:
            value |= self.roles[role_id].permissions
        return seed.ALL_PERMISSIONS if value & seed.ADMINISTRATOR else value

    def open_dm(self, user_id: int | str) -> Channel:
        """The DM channel between the bot and a person: created on first use, the same one
        after (Discord keeps one per pair). 10013 for nobody Discord knows."""
        user = self.user(user_id)
        known = self.dm_channels.get(user.id)
        if known is not None:
            return self.channels[known]
        channel = Channel(self.ids.next(), None, "", type=DM, recipient_id=user.id)
        self.channels[channel.id] = channel
        self.dm_channels[user.id] = channel.id
        self.notify()
        return channel

    def check_bot_may_message(self, channel: Channel) -> None:
        """50007 for a DM whose person does not take them: DMs off or blocked, or no server
        shared with the bot (not a member of its guild)."""
        if not channel.is_dm or channel.recipient_id is None:
            return
        user = self.users[channel.recipient_id]
        if not user.accepts_dms or user.id not in self.members:
            raise errors.cannot_message_user()

    # -- changes -----------------------------------------------------------------------------

    def add_message(self, message: Message) -> Message:
        """Store a new message and dispatch MESSAGE_CREATE (ephemeral ones are never sent)."""
        self.messages[message.id] = message
        self.channel_messages.setdefault(message.channel_id, []).append(message.id)
        channel = self.channels[message.channel_id]
        if message.ephemeral_to is None:
            channel.last_message_id = message.id
            if channel.is_thread:
                channel.message_count += 1
            self.emit(self._message_event("MESSAGE_CREATE", message))
        self.notify()
        return message

    def edit_message(self, message: Message, changes: JsonDict) -> Message:
        """Apply an edit (content, embeds, components, attachments, flags) and dispatch it."""
        message.edits.append(message.snapshot())
        for key in ("content", "embeds", "components"):
            if key in changes and changes[key] is not None:
                setattr(message, key, changes[key])
            elif key in changes:
                setattr(message, key, "" if key == "content" else [])
        if "attachment_ids" in changes:
            message.attachment_ids = list(changes["attachment_ids"])
        if "flags" in changes:
            message.flags = int(changes["flags"])
        if "allowed_mentions" in changes:
            message.allowed_mentions = changes["allowed_mentions"]
        message.edited = time.time()
        if message.ephemeral_to is None:
            self.emit(self._message_event("MESSAGE_UPDATE", message))
        self.notify()
        return message

    def delete_message(self, message: Message) -> None:
        message.deleted = True
        if message.ephemeral_to is None:
            data: JsonDict = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id:
                data["guild_id"] = str(message.guild_id)
            self.emit(Event("MESSAGE_DELETE", data, GUILD_MESSAGES, message.channel_id))
        self.notify()

    def _message_event(self, name: str, message: Message) -> Event:
        from tests.emulators.discord.render import render_message

        data = render_message(self, message, gateway=True, nonce=name == "MESSAGE_CREATE")
        if self.channels[message.channel_id].is_dm:
            # DMs come with DIRECT_MESSAGES, their content without MESSAGE_CONTENT.
            return Event(name, data, DIRECT_MESSAGES, message.channel_id)
        guarded = message.author_id != self.bot_user_id and self.bot_user_id not in message.mentions
        return Event(name, data, GUILD_MESSAGES, message.channel_id, content_guarded=guarded)

    def create_thread(
        self,
        parent: Channel,
        name: str,
        owner_id: int,
        *,
        starter: Message | None = None,
        type_: int = PUBLIC_THREAD,
        auto_archive_duration: int = 1440,
    ) -> Channel:
        """A thread on a message (same id as the message) or a standalone one, which Discord
        announces with a THREAD_CREATED system message in the parent channel."""
        if starter is not None and starter.thread_id is not None:
            raise errors.thread_already_created()
        if parent.is_thread:
            raise errors.invalid_form(
                ("channel_id",), "CHANNEL_TYPE_INVALID", "Cannot create a thread in a thread"
            )
        thread_id = starter.id if starter is not None else self.ids.next()
        thread = Channel(
            thread_id,
            parent.guild_id,
            name,
            type=type_,
            parent_id=parent.id,
            owner_id=owner_id,
            thread_members={owner_id},
            auto_archive_duration=auto_archive_duration,
            starter_message_id=starter.id if starter else None,
        )
        self.channels[thread.id] = thread
        if starter is not None:
            starter.thread_id = thread.id
        from tests.emulators.discord.render import render_channel

        data = render_channel(self, thread)
        data["newly_created"] = True
        self.emit(Event("THREAD_CREATE", data, GUILDS, parent.id))
        if starter is not None:
            self.emit(self._message_event("MESSAGE_UPDATE", starter))
        else:
            self.add_message(
                Message(
                    self.ids.next(),
                    parent.id,
                    parent.guild_id,
                    owner_id,
                    content=name,
                    type=THREAD_CREATED,
                    message_reference={
                        "channel_id": str(thread.id),
                        "guild_id": str(parent.guild_id),
                    },
                )
            )
        self.notify()
        return thread

    def store_attachment(
        self,
        channel_id: int,
        filename: str,
        content: bytes,
        content_type: str,
        uploader_id: int,
        description: str | None = None,
        serve: str = "file",
    ) -> Attachment:
        if serve not in SERVE_MODES:
            raise ValueError(f"serve must be one of {SERVE_MODES}, not {serve!r}")
        attachment = Attachment(
            self.ids.next(),
            channel_id,
            filename,
            content,
            content_type,
            uploader_id,
            description,
            expires=time.time() + CDN_URL_TTL,
            serve=serve,
        )
        self.attachments[attachment.id] = attachment
        return attachment

    # -- the CDN -----------------------------------------------------------------------------

    def signature(self, attachment_id: int, expires: int) -> str:
        return hmac.new(
            self.cdn_secret, f"{attachment_id}:{expires:x}".encode(), hashlib.sha256
        ).hexdigest()

    def cdn_url(self, attachment: Attachment) -> str:
        """A signed URL like Discord's (`?ex=&is=&hm=`): altered or expired, it stops working."""
        expires = int(attachment.expires)
        issued = expires - int(CDN_URL_TTL)
        sig = self.signature(attachment.id, expires)
        host = self.foreign_host if attachment.serve == "foreign" else self.http_host
        return (
            f"http://{host}/attachments/{attachment.channel_id}/{attachment.id}/"
            f"{attachment.filename}?ex={expires:x}&is={issued:x}&hm={sig}&"
        )
