"""chat.* and reactions.*: posting, editing and deleting messages as the app.

The helpers `post_app_message`, `update_app_message` and `delete_app_message` are shared with
response_url handling and file uploads, so every path that changes a channel leaves the same
trail: the message, its edit history and the events Slack would send about it.
"""

from __future__ import annotations

import copy

from tests.emulators.slack.blocks import check_blocks, check_text
from tests.emulators.slack.errors import ApiError
from tests.emulators.slack.records import Edit, Ephemeral, JsonDict, Message
from tests.emulators.slack.request import ApiRequest, Method
from tests.emulators.slack.workspace import Workspace


def message_event(ws: Workspace, message: Message) -> JsonDict:
    """The `message` event Slack sends to subscribed apps about a message."""
    channel = ws.channels[message.channel]
    return {
        **ws.render_message(message),
        "channel": message.channel,
        "event_ts": message.ts,
        "channel_type": channel.channel_type,
    }


def post_app_message(
    ws: Workspace,
    channel_id: str,
    *,
    text: str,
    blocks: list[JsonDict] | None,
    thread_ts: str | None = None,
    subtype: str | None = None,
    files: list[str] | None = None,
    metadata: JsonDict | None = None,
) -> Message:
    message = Message(
        channel=channel_id,
        ts=ws.next_ts(),
        text=text,
        blocks=blocks,
        thread_ts=ws.thread_root(channel_id, thread_ts),
        user=ws.bot_user_id,
        bot_id=ws.bot_id,
        subtype=subtype,
        files=list(files or []),
        metadata=metadata,
    )
    ws.add_message(message)
    ws.emit_app_event(message_event(ws, message))
    return message


def update_app_message(
    ws: Workspace, message: Message, *, text: str | None, blocks: list[JsonDict] | None
) -> None:
    before = message_event(ws, message)
    message.edits.append(Edit(message.text, copy.deepcopy(message.blocks), ws.next_ts()))
    if text is not None:
        message.text = text
    if blocks is not None:
        message.blocks = blocks
    ws.notify()
    channel = ws.channels[message.channel]
    ws.emit_app_event(
        {
            "type": "message",
            "subtype": "message_changed",
            "hidden": True,
            "channel": message.channel,
            "channel_type": channel.channel_type,
            "message": ws.render_message(message),
            "previous_message": before,
            "ts": message.edits[-1].replaced_at,
            "event_ts": message.edits[-1].replaced_at,
        }
    )


def delete_app_message(ws: Workspace, message: Message) -> None:
    message.deleted = True
    ws.notify()
    event_ts = ws.next_ts()
    ws.emit_app_event(
        {
            "type": "message",
            "subtype": "message_deleted",
            "hidden": True,
            "channel": message.channel,
            "channel_type": ws.channels[message.channel].channel_type,
            "deleted_ts": message.ts,
            "previous_message": ws.render_message(message),
            "ts": event_ts,
            "event_ts": event_ts,
        }
    )


def _own_message(ws: Workspace, channel_id: str, ts: str, refusal: str) -> Message:
    message = ws.find_message(channel_id, ts)
    if message is None or message.deleted:
        raise ApiError("message_not_found")
    if message.bot_id != ws.bot_id:
        raise ApiError(refusal)
    return message


def _content(req: ApiRequest) -> tuple[str | None, list[JsonDict] | None]:
    text = req.text("text")
    check_text(text)
    blocks = check_blocks(req.json_value("blocks", "invalid_blocks_format"))
    return text, blocks


def chat_post_message(req: ApiRequest) -> JsonDict:
    ws = req.workspace
    channel = ws.postable_channel(req.required("channel", "channel_not_found"))
    text, blocks = _content(req)
    if text is None and blocks is None and not req.json_value("attachments"):
        raise ApiError("no_text")
    metadata = req.json_value("metadata", "invalid_metadata_format")
    message = post_app_message(
        ws,
        channel.id,
        text=text or "",
        blocks=blocks,
        thread_ts=req.text("thread_ts"),
        metadata=metadata,
    )
    return {
        "ok": True,
        "channel": channel.id,
        "ts": message.ts,
        "message": message_event(ws, message),
    }


def chat_update(req: ApiRequest) -> JsonDict:
    ws = req.workspace
    channel = ws.visible_channel(req.required("channel", "channel_not_found"))
    message = _own_message(
        ws, channel.id, req.required("ts", "message_not_found"), "cant_update_message"
    )
    text, blocks = _content(req)
    if text is None and blocks is None and not req.json_value("attachments"):
        raise ApiError("no_text")
    update_app_message(ws, message, text=text, blocks=blocks)
    return {
        "ok": True,
        "channel": channel.id,
        "ts": message.ts,
        "text": message.text,
        "message": ws.render_message(message),
    }


def chat_delete(req: ApiRequest) -> JsonDict:
    ws = req.workspace
    channel = ws.visible_channel(req.required("channel", "channel_not_found"))
    ts = req.required("ts", "message_not_found")
    delete_app_message(ws, _own_message(ws, channel.id, ts, "cant_delete_message"))
    return {"ok": True, "channel": channel.id, "ts": ts}


def chat_post_ephemeral(req: ApiRequest) -> JsonDict:
    ws = req.workspace
    channel = ws.postable_channel(req.required("channel", "channel_not_found"))
    user = ws.user(req.required("user", "user_not_found"))
    if user.id not in channel.members:
        raise ApiError("user_not_in_channel")
    text, blocks = _content(req)
    if text is None and blocks is None and not req.json_value("attachments"):
        raise ApiError("no_text")
    ephemeral = Ephemeral(
        channel=channel.id,
        user=user.id,
        text=text or "",
        blocks=blocks,
        message_ts=ws.next_ts(),
        thread_ts=ws.thread_root(channel.id, req.text("thread_ts")),
        source="chat.postEphemeral",
    )
    ws.ephemerals.append(ephemeral)
    ws.notify()
    return {"ok": True, "message_ts": ephemeral.message_ts}


def chat_get_permalink(req: ApiRequest) -> JsonDict:
    ws = req.workspace
    channel = ws.visible_channel(req.required("channel", "channel_not_found"))
    ts = req.required("message_ts", "message_not_found")
    if ws.find_message(channel.id, ts) is None:
        raise ApiError("message_not_found")
    link = f"http://{ws.file_host}/archives/{channel.id}/p{ts.replace('.', '')}"
    return {"ok": True, "channel": channel.id, "permalink": link}


def _reaction_target(req: ApiRequest) -> tuple[Message, str]:
    ws = req.workspace
    channel = ws.visible_channel(req.required("channel", "channel_not_found"))
    if not channel.bot_member:
        raise ApiError("not_in_channel")
    name = req.text("name")
    if not name:
        raise ApiError("invalid_name")
    message = ws.find_message(channel.id, req.required("timestamp", "no_item_specified"))
    if message is None or message.deleted:
        raise ApiError("message_not_found")
    return message, name.strip(":")


def reactions_add(req: ApiRequest) -> JsonDict:
    message, name = _reaction_target(req)
    users = message.reactions.setdefault(name, [])
    if req.workspace.bot_user_id in users:
        raise ApiError("already_reacted")
    users.append(req.workspace.bot_user_id)
    req.workspace.notify()
    return {"ok": True}


def reactions_remove(req: ApiRequest) -> JsonDict:
    message, name = _reaction_target(req)
    users = message.reactions.get(name, [])
    if req.workspace.bot_user_id not in users:
        raise ApiError("no_reaction")
    users.remove(req.workspace.bot_user_id)
    if not users:
        del message.reactions[name]
    req.workspace.notify()
    return {"ok": True}


METHODS: dict[str, Method] = {
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.getPermalink": chat_get_permalink,
    "reactions.add": reactions_add,
    "reactions.remove": reactions_remove,
}
