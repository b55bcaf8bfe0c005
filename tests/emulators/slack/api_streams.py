"""chat.startStream / appendStream / stopStream: native streaming of a reply into a thread.

The three calls are the ones `slack_sdk.WebClient.chat_stream` makes; text arrives as
`markdown_text` and/or `chunks` of type `markdown_text`, at most 12,000 characters a call and, as
on real Slack, about as much in all for one message. A workspace can be switched to refuse
them all (`Workspace.streaming_error`) so the app's fallback to `chat.update` can be tested.
"""

from __future__ import annotations

from tests.emulators.slack.blocks import (
    MAX_STREAM_MARKDOWN_CHARS,
    MAX_STREAM_MESSAGE_CHARS,
    check_blocks,
)
from tests.emulators.slack.errors import ApiError
from tests.emulators.slack.records import JsonDict, Message
from tests.emulators.slack.request import ApiRequest, Method


def _refuse_if_unsupported(req: ApiRequest) -> None:
    if req.workspace.streaming_error:
        raise ApiError(req.workspace.streaming_error)


def _absorb(req: ApiRequest, message: Message) -> None:
    """Add the call's markdown and chunks to the streaming message."""
    pieces: list[JsonDict] = []
    markdown = req.text("markdown_text")
    if markdown is not None:
        pieces.append({"type": "markdown_text", "text": markdown})
    chunks = req.json_value("chunks", "invalid_chunks")
    if chunks is not None:
        if not isinstance(chunks, list) or not all(isinstance(c, dict) for c in chunks):
            raise ApiError("invalid_chunks")
        pieces.extend(chunks)
    markdown = [
        str(piece.get("text", "")) for piece in pieces if piece.get("type") == "markdown_text"
    ]
    if any(len(text) > MAX_STREAM_MARKDOWN_CHARS for text in markdown):
        raise ApiError("msg_too_long")
    if len(message.text) + sum(len(text) for text in markdown) > MAX_STREAM_MESSAGE_CHARS:
        raise ApiError("msg_too_long")
    for piece in pieces:
        if piece.get("type") == "markdown_text":
            message.text += str(piece.get("text", ""))
        message.stream_chunks.append(piece)


def _streaming_message(req: ApiRequest) -> Message:
    ws = req.workspace
    channel = ws.visible_channel(req.required("channel", "channel_not_found"))
    message = ws.find_message(channel.id, req.required("ts", "message_not_found"))
    if message is None or message.deleted or message.bot_id != ws.bot_id:
        raise ApiError("message_not_found")
    if message.stream_state != "streaming":
        raise ApiError("message_not_in_streaming_state")
    return message


def chat_start_stream(req: ApiRequest) -> JsonDict:
    _refuse_if_unsupported(req)
    ws = req.workspace
    channel = ws.postable_channel(req.required("channel", "channel_not_found"))
    thread_ts = req.required("thread_ts")
    if not channel.is_im:
        if req.text("recipient_team_id") is None:
            raise ApiError("missing_recipient_team_id")
        if req.text("recipient_user_id") is None:
            raise ApiError("missing_recipient_user_id")
    message = Message(
        channel=channel.id,
        ts=ws.next_ts(),
        thread_ts=ws.thread_root(channel.id, thread_ts),
        user=ws.bot_user_id,
        bot_id=ws.bot_id,
        stream_state="streaming",
    )
    _absorb(req, message)
    ws.add_message(message)
    return {"ok": True, "channel": channel.id, "ts": message.ts}


def chat_append_stream(req: ApiRequest) -> JsonDict:
    _refuse_if_unsupported(req)
    message = _streaming_message(req)
    _absorb(req, message)
    req.workspace.notify()
    return {"ok": True, "channel": message.channel, "ts": message.ts}


def chat_stop_stream(req: ApiRequest) -> JsonDict:
    _refuse_if_unsupported(req)
    message = _streaming_message(req)
    blocks = check_blocks(req.json_value("blocks", "invalid_blocks_format"))
    _absorb(req, message)
    if blocks is not None:
        message.blocks = blocks
    metadata = req.json_value("metadata", "invalid_metadata_format")
    if metadata is not None:
        message.metadata = metadata
    message.stream_state = "stopped"
    req.workspace.notify()
    rendered = req.workspace.render_message(message)
    return {"ok": True, "channel": message.channel, "ts": message.ts, "message": rendered}


METHODS: dict[str, Method] = {
    "chat.startStream": chat_start_stream,
    "chat.appendStream": chat_append_stream,
    "chat.stopStream": chat_stop_stream,
}
