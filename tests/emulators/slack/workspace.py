"""The emulated workspace's state and the lookups every Web API method shares.

Everything lives behind one re-entrant lock: HTTP handler threads, the delivery thread and the
test thread all touch it, and one lock makes every method call atomic the way Slack's are.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable, Iterator

from tests.emulators.slack.errors import ApiError
from tests.emulators.slack.faults import Faults
from tests.emulators.slack.records import (
    ApiCall,
    Channel,
    Delivery,
    Ephemeral,
    JsonDict,
    Message,
    ResponsePost,
    ResponseTarget,
    StoredFile,
    Trigger,
    User,
    View,
)

BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0APP"
ADMIN = "U0ADMIN"
OWNER = "U0OWNER"
ALICE = "U0ALICE"
BOB = "U0BOB"
GENERAL = "C0GENERAL"
RANDOM = "C0RANDOM"
PRIVATE = "G0PRIVATE"


class Workspace:
    """One team with its people, channels and everything posted there.

    `installed` says whether the app is in the workspace, that is whether `bot_token` opens its
    Web API; a workspace that installs the app through OAuth starts without it.
    """

    def __init__(
        self,
        *,
        bot_token: str,
        team_id: str,
        team_domain: str = "tunebot-test",
        bot_user_id: str = BOT_USER_ID,
        bot_id: str = BOT_ID,
        installed: bool = True,
        ids: Iterator[int] | None = None,
        lock: threading.RLock | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.team_id = team_id
        self.team_domain = team_domain
        self.team_name = f"{team_domain} ({team_id})"
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = APP_ID
        self.installed = installed
        self.faults = Faults()
        # Ids (files, views, response URLs...) come from one counter per emulator, so that two
        # workspaces on one server never hand out the same one, as on Slack.
        self.ids = ids if ids is not None else itertools.count(1)
        # Workspaces on one server share one lock: a call resolves its workspace, then runs in
        # it, and one lock keeps that atomic without an order to take two in.
        self.lock = lock if lock is not None else threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.messages: dict[str, list[Message]] = {}
        self.files: dict[str, StoredFile] = {}
        self.upload_tickets: dict[str, str] = {}
        self.views: dict[str, View] = {}
        self.modal_stacks: dict[str, list[str]] = {}
        self.home_views: dict[str, str] = {}
        self.triggers: dict[str, Trigger] = {}
        self.trigger_ttl = 3.0
        self.ephemerals: list[Ephemeral] = []
        self.response_targets: dict[str, ResponseTarget] = {}
        self.response_posts: list[ResponsePost] = []
        self.calls: list[ApiCall] = []
        self.deliveries: list[Delivery] = []
        self.downloads: list[JsonDict] = []
        self.foreign_requests: list[JsonDict] = []
        self.file_host = ""
        self.foreign_host = ""
        self.streaming_error: str | None = None
        self.app_event_sink: Callable[[JsonDict], None] | None = None
        self._last_ts_us = 0
        self._seed()

    def _seed(self) -> None:
        self.add_user(User(self.bot_user_id, "tunebot", is_bot=True))
        self.add_user(User(ADMIN, "ada", is_admin=True))
        self.add_user(User(OWNER, "olga", is_admin=True, is_owner=True))
        self.add_user(User(ALICE, "alice"))
        self.add_user(User(BOB, "bob"))
        people = {ADMIN, OWNER, ALICE, BOB}
        self.add_channel(Channel(GENERAL, "general", members=people | {self.bot_user_id}))
        self.add_channel(Channel(RANDOM, "random", bot_member=False, members=set(people)))
        self.add_channel(
            Channel(PRIVATE, "ml-private", is_private=True, bot_member=False, members={ALICE})
        )

    # -- identifiers -------------------------------------------------------------------------

    def next_ts(self) -> str:
        """A message timestamp: unique and increasing, as Slack's are within a channel."""
        with self.lock:
            now_us = int(time.time() * 1_000_000)
            self._last_ts_us = max(now_us, self._last_ts_us + 1)
            return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self.ids):08d}"

    def notify(self) -> None:
        """Wake `wait_for` callers: something they may be waiting on has changed."""
        with self.changed:
            self.changed.notify_all()

    # -- people and places -------------------------------------------------------------------

    def add_user(self, user: User) -> None:
        with self.lock:
            self.users[user.id] = user

    def add_channel(self, channel: Channel) -> None:
        with self.lock:
            if channel.bot_member:
                channel.members.add(self.bot_user_id)
            self.channels[channel.id] = channel
            self.messages.setdefault(channel.id, [])

    def user(self, user_id: str) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise ApiError("user_not_found")
        return user

    def dm_channel(self, user_id: str) -> Channel:
        """The app's direct-message channel with a person, opened on first use."""
        self.user(user_id)
        channel_id = "D" + user_id[1:]
        if channel_id not in self.channels:
            self.add_channel(
                Channel(channel_id, user_id, is_im=True, members={user_id, self.bot_user_id})
            )
        return self.channels[channel_id]

    def resolve_channel(self, channel_id: str) -> Channel:
        """A channel by id; a user id means the DM with that user, as in chat.postMessage."""
        if channel_id.startswith(("U", "W")) and channel_id in self.users:
            return self.dm_channel(channel_id)
        channel = self.channels.get(channel_id)
        if channel is None:
            raise ApiError("channel_not_found")
        return channel

    def visible_channel(self, channel_id: str) -> Channel:
        """A channel the bot can see: private ones it is not in do not exist for it."""
        channel = self.resolve_channel(channel_id)
        if channel.is_private and not channel.bot_member:
            raise ApiError("channel_not_found")
        return channel

    def postable_channel(self, channel_id: str) -> Channel:
        channel = self.visible_channel(channel_id)
        if not channel.bot_member:
            raise ApiError("not_in_channel")
        if channel.is_archived:
            raise ApiError("is_archived")
        return channel

    # -- messages ----------------------------------------------------------------------------

    def add_message(self, message: Message) -> Message:
        with self.lock:
            self.messages.setdefault(message.channel, []).append(message)
            self.notify()
            return message

    def find_message(self, channel_id: str, ts: str) -> Message | None:
        for message in self.messages.get(channel_id, []):
            if message.ts == ts:
                return message
        return None

    def thread_root(self, channel_id: str, thread_ts: str | None) -> str | None:
        """Slack files a reply to a reply under the thread's parent; so does the emulator."""
        if not thread_ts:
            return None
        parent = self.find_message(channel_id, thread_ts)
        if parent is not None and parent.thread_ts:
            return parent.thread_ts
        return thread_ts

    def render_message(self, message: Message) -> JsonDict:
        files = [self.render_file(self.files[f]) for f in message.files if f in self.files]
        body = message.to_api(team_id=self.team_id, app_id=self.app_id, files=files)
        replies = [
            m
            for m in self.messages.get(message.channel, [])
            if m.thread_ts == message.ts and m.ts != message.ts and not m.deleted
        ]
        if replies:
            body["thread_ts"] = message.ts
            body["reply_count"] = len(replies)
            body["latest_reply"] = replies[-1].ts
        return body

    def render_file(self, stored: StoredFile) -> JsonDict:
        privacy = {cid: c.is_private or c.is_im for cid, c in self.channels.items()}
        return stored.to_api(team_id=self.team_id, file_host=self.file_host, is_private=privacy)

    def emit_app_event(self, event: JsonDict) -> None:
        """Hand an event caused by the app's own API call to whoever echoes events back."""
        if self.app_event_sink is not None:
            self.app_event_sink(event)

    # -- triggers ----------------------------------------------------------------------------

    def issue_trigger(self, user_id: str) -> str:
        with self.lock:
            trigger_id = f"{self.new_id('')}.{self.team_id[1:]}.{secrets.token_hex(16)}"
            self.triggers[trigger_id] = Trigger(trigger_id, user_id, time.monotonic())
            return trigger_id

    def exchange_trigger(self, trigger_id: str | None) -> Trigger:
        """Spend a trigger_id: each opens one view, and only within its short life."""
        trigger = self.triggers.get(trigger_id or "")
        if trigger is None:
            raise ApiError("invalid_trigger_id")
        if trigger.used:
            raise ApiError("exchanged_trigger_id")
        if time.monotonic() - trigger.issued_at > self.trigger_ttl:
            raise ApiError("expired_trigger_id")
        trigger.used = True
        return trigger
