"""Turning a create or edit body (JSON or multipart) into message fields, with Discord's checks.

Shared by channel messages, interaction responses and interaction webhooks, which accept the
same message body. Uploads arrive as `files[n]` parts; `attachments` in the body names them by
`id: n` (with a description) and, on an edit, lists the existing attachments to keep by their
real ids: one left out is removed, as on Discord.
"""

from __future__ import annotations

import re
from typing import Any

from tests.emulators.discord import limits
from tests.emulators.discord.records import EPHEMERAL, SUPPRESS_EMBEDS, JsonDict, Message
from tests.emulators.discord.rest import ApiRequest, UploadedFile
from tests.emulators.discord.world import World

MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")
MASS_MENTION = re.compile(r"@(everyone|here)\b")
SETTABLE_FLAGS = EPHEMERAL | SUPPRESS_EMBEDS | (1 << 12)  # ephemeral, no embeds, silent


def mentions_in(world: World, content: str) -> list[int]:
    return [int(m) for m in MENTION.findall(content) if int(m) in world.users]


def pings(content: str, allowed: Any) -> list[str]:
    """Who a message's content notifies, under Discord's allowed_mentions rules: without the
    field everything parsed pings; with it, `parse` names the kinds that may ("everyone" covers
    @here too), `users`/`roles` list ids that may, and anything else is shown but silent."""
    mass = ["everyone" for _ in MASS_MENTION.findall(content)][:1]
    users = [f"user:{u}" for u in MENTION.findall(content)]
    roles = [f"role:{r}" for r in ROLE_MENTION.findall(content)]
    if not isinstance(allowed, dict):
        return mass + users + roles
    parse = set(allowed.get("parse") or [])
    listed_users = {str(u) for u in allowed.get("users") or []}
    listed_roles = {str(r) for r in allowed.get("roles") or []}
    return (
        (mass if "everyone" in parse else [])
        + [u for u in users if "users" in parse or u.removeprefix("user:") in listed_users]
        + [r for r in roles if "roles" in parse or r.removeprefix("role:") in listed_roles]
    )


def _upload(
    world: World, channel_id: int, uploader: int, files: list[UploadedFile], body: JsonDict
) -> dict[int, int]:
    """Store every uploaded file; returns {files[n] index: attachment id}."""
    described = {str(a.get("id")): a for a in body.get("attachments") or [] if isinstance(a, dict)}
    stored: dict[int, int] = {}
    for position, upload in enumerate(files):
        index = upload.index if upload.index is not None else position
        meta = described.get(str(index), {})
        attachment = world.store_attachment(
            channel_id,
            _safe_name(str(meta.get("filename") or upload.filename)),
            upload.content,
            upload.content_type or "application/octet-stream",
            uploader,
            meta.get("description"),
        )
        stored[index] = attachment.id
    return stored


def _safe_name(name: str) -> str:
    """Discord replaces spaces and unusual characters in attachment names with underscores."""
    return re.sub(r"[^\w.\-]", "_", name) or "unknown"


def _embeds(value: Any) -> list[JsonDict]:
    return [dict(e) for e in value or [] if isinstance(e, dict)]


def new_message(
    world: World, request: ApiRequest, channel_id: int, author_id: int, body: JsonDict | None = None
) -> JsonDict:
    """Fields for a new message (content, embeds, components, attachment_ids, flags, mentions)."""
    body = request.body() if body is None else body
    limits.check_file_sizes([len(f.content) for f in request.files], world.attachment_limit)
    limits.check_message(body, files=len(request.files))
    stored = _upload(world, channel_id, author_id, request.files, body)
    content = str(body.get("content") or "")
    return {
        "content": content,
        "embeds": _embeds(body.get("embeds")),
        "components": list(body.get("components") or []),
        "attachment_ids": list(stored.values()),
        "flags": int(body.get("flags") or 0) & SETTABLE_FLAGS,
        "mentions": mentions_in(world, content),
        "allowed_mentions": body.get("allowed_mentions"),
        "pinged": pings(content, body.get("allowed_mentions")),
    }


def edit_changes(
    world: World, request: ApiRequest, message: Message, body: JsonDict | None = None
) -> JsonDict:
    """The changes an edit body asks for; fields it leaves out stay as they are."""
    body = request.body() if body is None else body
    limits.check_file_sizes([len(f.content) for f in request.files], world.attachment_limit)
    limits.check_message(body, files=len(request.files), editing=True)
    changes: JsonDict = {}
    if "content" in body:
        changes["content"] = str(body["content"] or "")
    if "allowed_mentions" in body:
        changes["allowed_mentions"] = body["allowed_mentions"]
    if "embeds" in body:
        changes["embeds"] = _embeds(body["embeds"])
    if "components" in body:
        changes["components"] = list(body["components"] or [])
    stored = _upload(world, message.channel_id, message.author_id, request.files, body)
    if "attachments" in body:
        kept: list[int] = []
        for item in body["attachments"] or []:
            key = int(item.get("id", -1))
            if key in stored:
                kept.append(stored[key])
            elif key in message.attachment_ids:
                kept.append(key)
        changes["attachment_ids"] = kept
    elif stored:
        changes["attachment_ids"] = [*message.attachment_ids, *stored.values()]
    if "flags" in body and body["flags"] is not None:
        # Only SUPPRESS_EMBEDS may be changed on an existing message.
        changes["flags"] = (message.flags & ~SUPPRESS_EMBEDS) | (
            int(body["flags"]) & SUPPRESS_EMBEDS
        )
    return changes
