"""Who is who and where: auth.test, users.info and the read side of conversations.*."""

from __future__ import annotations

from tests.emulators.slack.errors import ApiError
from tests.emulators.slack.records import JsonDict
from tests.emulators.slack.request import ApiRequest, Method


def auth_test(req: ApiRequest) -> JsonDict:
    ws = req.workspace
    return {
        "ok": True,
        "url": f"http://{ws.file_host}/",
        "team": ws.team_domain,
        "user": ws.users[ws.bot_user_id].name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def users_info(req: ApiRequest) -> JsonDict:
    ws = req.workspace
    user = ws.user(req.required("user", "user_not_found"))
    return {"ok": True, "user": user.to_api(ws.team_id)}


def conversations_info(req: ApiRequest) -> JsonDict:
    ws = req.workspace
    channel = ws.visible_channel(req.required("channel", "channel_not_found"))
    return {"ok": True, "channel": channel.to_api(ws.bot_user_id)}


def conversations_open(req: ApiRequest) -> JsonDict:
    ws = req.workspace
    users = [u for u in (req.text("users") or "").split(",") if u]
    if len(users) != 1:
        raise ApiError("users_list_not_supplied" if not users else "not_supported")
    channel = ws.dm_channel(users[0])
    return {"ok": True, "channel": channel.to_api(ws.bot_user_id)}


def conversations_members(req: ApiRequest) -> JsonDict:
    ws = req.workspace
    channel = ws.visible_channel(req.required("channel", "channel_not_found"))
    return {
        "ok": True,
        "members": sorted(channel.members),
        "response_metadata": {"next_cursor": ""},
    }


def conversations_history(req: ApiRequest) -> JsonDict:
    ws = req.workspace
    channel = ws.visible_channel(req.required("channel", "channel_not_found"))
    if not channel.bot_member:
        raise ApiError("not_in_channel")
    parents = [
        m
        for m in ws.messages.get(channel.id, [])
        if not m.deleted and (m.thread_ts is None or m.thread_ts == m.ts)
    ]
    rendered = [ws.render_message(m) for m in reversed(parents)]
    return {"ok": True, "messages": rendered, "has_more": False}


def conversations_replies(req: ApiRequest) -> JsonDict:
    ws = req.workspace
    channel = ws.visible_channel(req.required("channel", "channel_not_found"))
    ts = req.required("ts")
    parent = ws.find_message(channel.id, ts)
    if parent is None or parent.deleted:
        raise ApiError("thread_not_found")
    root = parent.thread_ts or parent.ts
    thread = [
        m
        for m in ws.messages.get(channel.id, [])
        if not m.deleted and (m.ts == root or m.thread_ts == root)
    ]
    return {"ok": True, "messages": [ws.render_message(m) for m in thread], "has_more": False}


METHODS: dict[str, Method] = {
    "auth.test": auth_test,
    "users.info": users_info,
    "conversations.info": conversations_info,
    "conversations.open": conversations_open,
    "conversations.members": conversations_members,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
}
