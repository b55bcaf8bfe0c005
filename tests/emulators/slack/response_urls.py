"""response_url: how the app answers a slash command or a button after its 3-second ack.

What the app posts there becomes what a person would see: an ephemeral note, a message in the
channel, or a replaced or deleted original. Slack allows five posts per URL.
"""

from __future__ import annotations

import copy
import time

from tests.emulators.slack.api_chat import delete_app_message, post_app_message, update_app_message
from tests.emulators.slack.blocks import check_blocks, check_text
from tests.emulators.slack.errors import ApiError
from tests.emulators.slack.records import Edit, Ephemeral, JsonDict, ResponsePost, ResponseTarget
from tests.emulators.slack.workspace import Workspace

MAX_USES = 5


def new_target(
    ws: Workspace,
    *,
    kind: str,
    channel: str,
    user: str,
    message_ts: str | None = None,
    ephemeral: bool = False,
) -> ResponseTarget:
    with ws.lock:
        target = ResponseTarget(ws.new_id("R"), kind, channel, user, message_ts, ephemeral)
        ws.response_targets[target.id] = target
        return target


def target_url(ws: Workspace, target: ResponseTarget) -> str:
    return f"http://{ws.file_host}/response/{target.id}"


def post_to_url(ws: Workspace, target_id: str, body: JsonDict) -> tuple[int, JsonDict]:
    """A POST to a response_url: (HTTP status, JSON answer)."""
    with ws.lock:
        target = ws.response_targets.get(target_id)
        if target is None:
            return 404, {"ok": False, "error": "expired_url"}
        if target.uses >= MAX_USES:
            return 404, {"ok": False, "error": "used_url"}
        target.uses += 1
        try:
            apply_response(ws, target, body)
        except ApiError as refusal:
            return 400, refusal.body()
        return 200, {"ok": True}


def _find_ephemeral(ws: Workspace, target: ResponseTarget) -> Ephemeral | None:
    for ephemeral in ws.ephemerals:
        if ephemeral.message_ts == target.message_ts and ephemeral.user == target.user:
            return ephemeral
    return None


def apply_response(ws: Workspace, target: ResponseTarget, body: JsonDict) -> str:
    """Show the app's answer the way Slack would; return what happened to it."""
    text = body.get("text")
    check_text(text)
    blocks = check_blocks(body.get("blocks"))
    original = ws.find_message(target.channel, target.message_ts) if target.message_ts else None
    ephemeral_original = _find_ephemeral(ws, target) if target.ephemeral else None
    if body.get("delete_original") and (original or ephemeral_original):
        if ephemeral_original is not None:
            ephemeral_original.deleted = True
        elif original is not None:
            delete_app_message(ws, original)
        outcome = "deleted"
    elif body.get("replace_original") and (original or ephemeral_original):
        if ephemeral_original is not None:
            ephemeral_original.edits.append(
                Edit(ephemeral_original.text, ephemeral_original.blocks, ws.next_ts())
            )
            ephemeral_original.text = str(text or "")
            ephemeral_original.blocks = blocks
        elif original is not None:
            update_app_message(ws, original, text=text, blocks=blocks)
        outcome = "replaced"
    elif body.get("response_type") == "in_channel":
        post_app_message(
            ws,
            ws.resolve_channel(target.channel).id,
            text=str(text or ""),
            blocks=blocks,
            thread_ts=body.get("thread_ts"),
        )
        outcome = "in_channel"
    else:
        ws.ephemerals.append(
            Ephemeral(
                channel=target.channel,
                user=target.user,
                text=str(text or ""),
                blocks=blocks,
                message_ts=ws.next_ts(),
                thread_ts=body.get("thread_ts"),
                source="response_url",
            )
        )
        outcome = "ephemeral"
    ws.response_posts.append(
        ResponsePost(
            target.id,
            target.kind,
            target.channel,
            target.user,
            copy.deepcopy(body),
            outcome,
            time.time(),
        )
    )
    ws.notify()
    return outcome
