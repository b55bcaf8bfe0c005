"""What the emulated workspace remembers: users, channels, messages, files, views and logs.

Tests read these records (as copies) to assert on what the app did, so they carry the history a
person in the channel would have seen: edits, deletions, replaced ephemerals, closed views.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]


@dataclass
class User:
    id: str
    name: str
    is_admin: bool = False
    is_owner: bool = False
    is_bot: bool = False
    deleted: bool = False
    tz: str = "UTC"

    def to_api(self, team_id: str) -> JsonDict:
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "real_name": self.name.title(),
            "deleted": self.deleted,
            "tz": self.tz,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_primary_owner": self.is_owner,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": {
                "real_name": self.name.title(),
                "display_name": self.name,
                "email": f"{self.name}@example.com",
                "team": team_id,
            },
        }


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    is_archived: bool = False
    bot_member: bool = True
    members: set[str] = field(default_factory=set)
    created: int = 1_700_000_000

    @property
    def channel_type(self) -> str:
        """The `channel_type` of message events: what Bolt's `message.im` routing looks at."""
        if self.is_im:
            return "im"
        return "group" if self.is_private else "channel"

    def to_api(self, bot_user_id: str) -> JsonDict:
        if self.is_im:
            user = next(iter(self.members - {bot_user_id}), "")
            return {"id": self.id, "is_im": True, "user": user, "created": self.created}
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": self.name == "general",
            "is_member": self.bot_member,
            "created": self.created,
            "num_members": len(self.members),
        }


@dataclass
class Edit:
    """One earlier version of a message, kept so tests can see how a reply evolved."""

    text: str
    blocks: list[JsonDict] | None
    replaced_at: str


@dataclass
class Message:
    channel: str
    ts: str
    text: str = ""
    blocks: list[JsonDict] | None = None
    thread_ts: str | None = None
    user: str | None = None
    bot_id: str | None = None
    subtype: str | None = None
    files: list[str] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    edits: list[Edit] = field(default_factory=list)
    deleted: bool = False
    metadata: JsonDict | None = None
    stream_state: str | None = None  # None, "streaming" or "stopped"
    stream_chunks: list[JsonDict] = field(default_factory=list)

    @property
    def by_app(self) -> bool:
        return self.bot_id is not None

    def to_api(self, *, team_id: str, app_id: str, files: list[JsonDict]) -> JsonDict:
        body: JsonDict = {"type": "message", "ts": self.ts, "text": self.text, "team": team_id}
        if self.user:
            body["user"] = self.user
        if self.bot_id:
            body["bot_id"] = self.bot_id
            body["app_id"] = app_id
        if self.subtype:
            body["subtype"] = self.subtype
        if self.blocks is not None:
            body["blocks"] = copy.deepcopy(self.blocks)
        if self.thread_ts:
            body["thread_ts"] = self.thread_ts
        if files:
            body["files"] = files
            body["upload"] = self.by_app
            body["display_as_bot"] = False
        if self.reactions:
            body["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in self.reactions.items()
            ]
        if self.edits:
            body["edited"] = {"user": self.user or "", "ts": self.edits[-1].replaced_at}
        if self.metadata is not None:
            body["metadata"] = copy.deepcopy(self.metadata)
        return body


@dataclass
class StoredFile:
    id: str
    name: str
    title: str
    mimetype: str
    filetype: str
    content: bytes
    user: str
    created: int
    uploaded_by_app: bool = False
    received: bool = False  # the bytes reached the upload URL
    complete: bool = False  # files.completeUploadExternal (or a user's share) made it a file
    download: str = "ok"  # "ok", "redirect" (to a foreign host) or "html" (login page)
    alt_txt: str | None = None
    shares: dict[str, list[JsonDict]] = field(default_factory=dict)  # channel -> [{ts,...}]

    def url_path(self, team_id: str) -> str:
        return f"/files-pri/{team_id}-{self.id}/{self.name}"

    def download_path(self, team_id: str) -> str:
        return f"/files-pri/{team_id}-{self.id}/download/{self.name}"

    def to_api(self, *, team_id: str, file_host: str, is_private: dict[str, bool]) -> JsonDict:
        public = {c: s for c, s in self.shares.items() if not is_private.get(c, False)}
        private = {c: s for c, s in self.shares.items() if is_private.get(c, False)}
        return {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.name,
            "title": self.title,
            "mimetype": self.mimetype,
            "filetype": self.filetype,
            "pretty_type": self.filetype.upper(),
            "user": self.user,
            "user_team": team_id,
            "editable": False,
            "size": len(self.content),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": bool(public),
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"http://{file_host}{self.url_path(team_id)}",
            "url_private_download": f"http://{file_host}{self.download_path(team_id)}",
            "permalink": f"http://{file_host}/files/{self.user}/{self.id}/{self.name}",
            "permalink_public": f"http://{file_host}/{team_id}-{self.id}-public",
            "channels": sorted(public),
            "groups": sorted(private),
            "ims": [],
            "shares": {
                "public": copy.deepcopy(public),
                "private": copy.deepcopy(private),
            },
            "comments_count": 0,
            "has_rich_preview": False,
            "file_access": "visible",
            **({"alt_txt": self.alt_txt} if self.alt_txt else {}),
        }

    def partial(self) -> JsonDict:
        """What Slack sometimes puts in a `file_share` event instead of the full file object."""
        return {"id": self.id, "mode": "file_access", "file_access": "check_file_info"}


@dataclass
class View:
    id: str
    user: str
    type: str
    payload: JsonDict
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    external_id: str = ""
    is_open: bool = True
    state_values: JsonDict = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    versions: list[JsonDict] = field(default_factory=list)

    @property
    def callback_id(self) -> str:
        return str(self.payload.get("callback_id", ""))

    @property
    def blocks(self) -> list[JsonDict]:
        return list(self.payload.get("blocks", []))

    @property
    def private_metadata(self) -> str:
        return str(self.payload.get("private_metadata", ""))

    def to_api(self, *, team_id: str, app_id: str, bot_id: str) -> JsonDict:
        return {
            "id": self.id,
            "team_id": team_id,
            "type": self.type,
            "blocks": copy.deepcopy(self.payload.get("blocks", [])),
            "private_metadata": self.private_metadata,
            "callback_id": self.callback_id,
            "state": {"values": copy.deepcopy(self.state_values)},
            "hash": self.hash,
            "title": copy.deepcopy(self.payload.get("title")),
            "submit": copy.deepcopy(self.payload.get("submit")),
            "close": copy.deepcopy(self.payload.get("close")),
            "clear_on_close": bool(self.payload.get("clear_on_close", False)),
            "notify_on_close": bool(self.payload.get("notify_on_close", False)),
            "previous_view_id": self.previous_view_id,
            "root_view_id": self.root_view_id,
            "app_id": app_id,
            "external_id": self.external_id,
            "app_installed_team_id": team_id,
            "bot_id": bot_id,
        }


@dataclass
class Ephemeral:
    """A message only one user sees; `source` tells whether it came by API or response_url."""

    channel: str
    user: str
    text: str
    blocks: list[JsonDict] | None
    message_ts: str
    thread_ts: str | None
    source: str
    edits: list[Edit] = field(default_factory=list)
    deleted: bool = False


@dataclass
class Trigger:
    id: str
    user: str
    issued_at: float
    used: bool = False


@dataclass
class ResponseTarget:
    """A response_url handed to the app, and the interaction it answers."""

    id: str
    kind: str  # "command" or "block_actions"
    channel: str
    user: str
    message_ts: str | None = None
    ephemeral: bool = False
    uses: int = 0


@dataclass
class ResponsePost:
    """One thing the app posted to a response_url (or answered inline to a slash command)."""

    target_id: str
    kind: str
    channel: str
    user: str
    body: JsonDict
    outcome: str  # "ephemeral", "in_channel", "replaced", "deleted"
    time: float


@dataclass
class ApiCall:
    method: str
    params: JsonDict
    time: float
    token: str | None
    status: int
    ok: bool
    error: str | None = None


@dataclass
class Delivery:
    """One HTTP request the workspace sent to the app, and how the app answered it."""

    kind: str  # "event", "command", "interaction", "url_verification"
    key: str  # event_id, command text or payload type: what retries share
    retry_num: int
    started_at: float
    latency: float
    status: int | None
    response_body: str
    failure: str | None  # None or Slack's retry reason ("http_timeout", ...)
    headers: dict[str, str]
    body: str
