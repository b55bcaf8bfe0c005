"""The bodies Slack sends to an app: event envelopes, slash commands and interaction payloads.

Shapes follow what Bolt for Python parses, so the real app's listeners match them unchanged.
"""

from __future__ import annotations

import secrets
import time

from tests.emulators.slack.api_chat import message_event
from tests.emulators.slack.records import Ephemeral, JsonDict, Message, View
from tests.emulators.slack.workspace import Workspace

VERIFICATION_TOKEN = "emulator-verification-token"


def event_envelope(ws: Workspace, event: JsonDict) -> JsonDict:
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": ws.team_id,
        "api_app_id": ws.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{ws.new_id('')}{secrets.token_hex(3).upper()}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": ws.team_id,
                "user_id": ws.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{secrets.token_urlsafe(24)}",
    }


def rich_text(text: str) -> list[JsonDict]:
    """The rich_text block Slack's clients attach to what a person types."""
    section = {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
    return [{"type": "rich_text", "block_id": secrets.token_hex(3), "elements": [section]}]


def user_message_event(ws: Workspace, message: Message) -> JsonDict:
    event = message_event(ws, message)
    if message.subtype == "file_share":
        event["upload"] = False
    return event


def app_mention_event(ws: Workspace, message: Message) -> JsonDict:
    event: JsonDict = {
        "type": "app_mention",
        "user": message.user,
        "text": message.text,
        "ts": message.ts,
        "channel": message.channel,
        "event_ts": message.ts,
        "team": ws.team_id,
        "blocks": message.blocks or [],
    }
    if message.thread_ts:
        event["thread_ts"] = message.thread_ts
    return event


def user_identity(ws: Workspace, user_id: str) -> JsonDict:
    name = ws.users[user_id].name if user_id in ws.users else user_id
    return {"id": user_id, "username": name, "name": name, "team_id": ws.team_id}


def slash_command_form(
    ws: Workspace,
    *,
    user: str,
    channel: str,
    command: str,
    text: str,
    response_url: str,
    trigger_id: str,
) -> dict[str, str]:
    channel_record = ws.channels.get(channel)
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": ws.team_id,
        "team_domain": ws.team_domain,
        "channel_id": channel,
        "channel_name": channel_record.name if channel_record else "directmessage",
        "user_id": user,
        "user_name": ws.users[user].name if user in ws.users else user,
        "command": command,
        "text": text,
        "api_app_id": ws.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def find_action(blocks: list[JsonDict] | None, action_id: str) -> tuple[str, JsonDict] | None:
    """(block_id, element) of the interactive element with `action_id`, wherever it sits."""
    for block in blocks or []:
        candidates = list(block.get("elements") or [])
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                candidates.append(block[key])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id") or secrets.token_hex(3)), element
    return None


def action_body(element: JsonDict, block_id: str, value: str | None) -> JsonDict:
    kind = str(element.get("type", "button"))
    action: JsonDict = {
        "action_id": element["action_id"],
        "block_id": block_id,
        "type": kind,
        "action_ts": f"{time.time():.6f}",
    }
    if kind == "button":
        action["text"] = element.get("text", {"type": "plain_text", "text": ""})
        action["value"] = value if value is not None else element.get("value", "")
        if "style" in element:
            action["style"] = element["style"]
    elif kind in {"static_select", "overflow", "radio_buttons"}:
        options = element.get("options") or []
        chosen = next((o for o in options if o.get("value") == value), {"value": value})
        action["selected_option"] = chosen
    else:
        action["value"] = value
    return action


def block_actions_payload(
    ws: Workspace,
    *,
    user: str,
    channel: str,
    action: JsonDict,
    trigger_id: str,
    response_url: str,
    message: Message | None,
    ephemeral: Ephemeral | None,
) -> JsonDict:
    message_ts = message.ts if message else ephemeral.message_ts if ephemeral else ""
    container: JsonDict = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel,
        "is_ephemeral": ephemeral is not None,
    }
    payload: JsonDict = {
        "type": "block_actions",
        "user": user_identity(ws, user),
        "api_app_id": ws.app_id,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id,
        "team": {"id": ws.team_id, "domain": ws.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {
            "id": channel,
            "name": ws.channels[channel].name if channel in ws.channels else "",
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }
    if message is not None:
        payload["message"] = ws.render_message(message)
    return payload


def view_submission_payload(ws: Workspace, *, user: str, view: View, trigger_id: str) -> JsonDict:
    return {
        "type": "view_submission",
        "team": {"id": ws.team_id, "domain": ws.team_domain},
        "user": user_identity(ws, user),
        "api_app_id": ws.app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": view.to_api(team_id=ws.team_id, app_id=ws.app_id, bot_id=ws.bot_id),
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
