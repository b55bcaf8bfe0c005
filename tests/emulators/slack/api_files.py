"""files.*: the files_upload_v2 flow, files.info, and files people share into channels.

Uploads follow Slack's three steps (get an upload URL, POST the bytes there, complete), and
the completed file is shared into the channel or thread as a `file_share` message whose bytes
are served back from the emulator's file host.
"""

from __future__ import annotations

import mimetypes
import secrets
import time

from tests.emulators.slack.api_chat import post_app_message
from tests.emulators.slack.errors import ApiError, invalid_arguments
from tests.emulators.slack.records import JsonDict, Message, StoredFile
from tests.emulators.slack.request import ApiRequest, Method
from tests.emulators.slack.workspace import Workspace

_FILETYPES = {"jsonl": "text", "txt": "text", "md": "markdown", "yml": "yaml"}


def describe_name(name: str) -> tuple[str, str]:
    """(mimetype, filetype) as Slack derives them from a file name."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if extension == "jsonl":
        mimetype = "text/plain"
    return mimetype, _FILETYPES.get(extension, extension or "binary")


def _share(ws: Workspace, stored: StoredFile, message: Message, user: str) -> None:
    channel = ws.channels[message.channel]
    share: JsonDict = {
        "ts": message.ts,
        "channel_name": channel.name,
        "team_id": ws.team_id,
        "share_user_id": user,
        "reply_users": [],
        "reply_count": 0,
    }
    if message.thread_ts:
        share["thread_ts"] = message.thread_ts
    stored.shares.setdefault(channel.id, []).append(share)


def store_user_file(
    ws: Workspace,
    *,
    user: str,
    channel_id: str,
    name: str,
    content: bytes,
    text: str = "",
    thread_ts: str | None = None,
    mimetype: str | None = None,
    download: str = "ok",
) -> tuple[StoredFile, Message]:
    """A person drops a file into a channel: the file, and the `file_share` message with it."""
    guessed_mimetype, filetype = describe_name(name)
    with ws.lock:
        channel = ws.resolve_channel(channel_id)
        ws.user(user)
        stored = StoredFile(
            id=ws.new_id("F"),
            name=name,
            title=name,
            mimetype=mimetype or guessed_mimetype,
            filetype=filetype,
            content=content,
            user=user,
            created=int(time.time()),
            received=True,
            complete=True,
            download=download,
        )
        ws.files[stored.id] = stored
        message = Message(
            channel=channel.id,
            ts=ws.next_ts(),
            text=text,
            thread_ts=ws.thread_root(channel.id, thread_ts),
            user=user,
            subtype="file_share",
            files=[stored.id],
        )
        _share(ws, stored, message, user)
        ws.add_message(message)
        return stored, message


def receive_upload(ws: Workspace, ticket: str, data: bytes) -> tuple[int, str]:
    """The upload URL's answer to the POSTed bytes: Slack's plain-text `OK - <size>`."""
    with ws.lock:
        file_id = ws.upload_tickets.pop(ticket, None)
        if file_id is None:
            return 404, "Not Found"
        stored = ws.files[file_id]
        stored.content = data
        stored.received = True
        ws.notify()
        return 200, f"OK - {len(data)}"


def files_info(req: ApiRequest) -> JsonDict:
    ws = req.workspace
    stored = ws.files.get(req.required("file", "file_not_found"))
    if stored is None or not stored.complete:
        raise ApiError("file_not_found")
    return {
        "ok": True,
        "file": ws.render_file(stored),
        "comments": [],
        "response_metadata": {"next_cursor": ""},
    }


def files_upload(req: ApiRequest) -> JsonDict:
    """Slack retired files.upload; apps must use the external upload flow."""
    raise ApiError("method_deprecated")


def files_get_upload_url_external(req: ApiRequest) -> JsonDict:
    ws = req.workspace
    name = req.required("filename")
    length = req.required("length")
    if not length.isdigit() or int(length) <= 0:
        raise invalid_arguments("length must be a positive integer")
    mimetype, filetype = describe_name(name)
    stored = StoredFile(
        id=ws.new_id("F"),
        name=name,
        title=name,
        mimetype=mimetype,
        filetype=filetype,
        content=b"",
        user=ws.bot_user_id,
        created=int(time.time()),
        uploaded_by_app=True,
        alt_txt=req.text("alt_txt"),
    )
    ticket = secrets.token_urlsafe(12)
    ws.files[stored.id] = stored
    ws.upload_tickets[ticket] = stored.id
    upload_url = f"http://{ws.file_host}/upload/v1/{ticket}"
    return {"ok": True, "upload_url": upload_url, "file_id": stored.id}


def _requested_files(req: ApiRequest) -> list[tuple[StoredFile, str | None]]:
    entries = req.json_value("files")
    if not isinstance(entries, list) or not entries:
        raise invalid_arguments("files must be a non-empty array of {id, title}")
    found: list[tuple[StoredFile, str | None]] = []
    for entry in entries:
        if not isinstance(entry, dict) or "id" not in entry:
            raise invalid_arguments("each file needs an id")
        stored = req.workspace.files.get(str(entry["id"]))
        if stored is None or not stored.uploaded_by_app or stored.complete:
            raise ApiError("file_not_found")
        if not stored.received:
            raise ApiError("file_upload_not_found")
        title = entry.get("title")
        found.append((stored, str(title) if title else None))
    return found


def files_complete_upload_external(req: ApiRequest) -> JsonDict:
    ws = req.workspace
    files = _requested_files(req)
    channels = [c for c in (req.text("channels") or "").split(",") if c]
    if req.text("channel_id"):
        channels.insert(0, req.required("channel_id"))
    thread_ts = req.text("thread_ts")
    if thread_ts and len(channels) != 1:
        raise invalid_arguments("thread_ts needs exactly one channel")
    targets = [ws.postable_channel(c) for c in channels]
    for stored, title in files:
        stored.complete = True
        stored.title = title or stored.name
    for channel in targets:
        message = post_app_message(
            ws,
            channel.id,
            text=req.text("initial_comment") or "",
            blocks=None,
            thread_ts=thread_ts,
            subtype="file_share",
            files=[stored.id for stored, _ in files],
        )
        for stored, _ in files:
            _share(ws, stored, message, ws.bot_user_id)
    ws.notify()
    return {"ok": True, "files": [ws.render_file(stored) for stored, _ in files]}


METHODS: dict[str, Method] = {
    "files.info": files_info,
    "files.upload": files_upload,
    "files.getUploadURLExternal": files_get_upload_url_external,
    "files.completeUploadExternal": files_complete_upload_external,
}
