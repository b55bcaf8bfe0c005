"""views.*: modals opened from a trigger, stacked, updated by id or hash, and App Home tabs.

A trigger_id opens one view within a few seconds of the click or command that issued it; the
emulator holds the app to that, which is why slow handlers fail here as they do on Slack.
"""

from __future__ import annotations

import copy
import secrets
import time

from tests.emulators.slack.blocks import MAX_VIEW_BLOCKS, check_blocks
from tests.emulators.slack.errors import ApiError, invalid_arguments
from tests.emulators.slack.records import JsonDict, View
from tests.emulators.slack.request import ApiRequest, Method
from tests.emulators.slack.workspace import Workspace

MAX_MODAL_STACK = 3
MAX_TITLE_CHARS = 24


def _view_hash() -> str:
    return f"{int(time.time())}.{secrets.token_hex(4)}"


def _view_payload(req: ApiRequest, expected_type: str) -> JsonDict:
    payload = req.json_value("view")
    if not isinstance(payload, dict):
        raise invalid_arguments("missing required field: view")
    if payload.get("type") != expected_type:
        raise invalid_arguments(f"view.type must be {expected_type} [json-pointer:/view/type]")
    if expected_type == "modal":
        title = payload.get("title")
        if not isinstance(title, dict) or not title.get("text"):
            raise invalid_arguments("missing required field: title [json-pointer:/view/title]")
        if len(str(title["text"])) > MAX_TITLE_CHARS:
            limit = MAX_TITLE_CHARS + 1
            raise invalid_arguments(
                f"must be less than {limit} characters [json-pointer:/view/title/text]"
            )
    try:
        check_blocks(payload.get("blocks", []), limit=MAX_VIEW_BLOCKS)
    except ApiError as refusal:
        messages = refusal.extra.get("errors") or [refusal.error]
        raise invalid_arguments("; ".join(messages)) from refusal
    return copy.deepcopy(payload)


def _render(ws: Workspace, view: View) -> JsonDict:
    return {"ok": True, "view": view.to_api(team_id=ws.team_id, app_id=ws.app_id, bot_id=ws.bot_id)}


def create_view(
    ws: Workspace, user: str, payload: JsonDict, root: str | None, previous: str | None
) -> View:
    view_id = ws.new_id("V")
    view = View(
        id=view_id,
        user=user,
        type=str(payload["type"]),
        payload=payload,
        hash=_view_hash(),
        root_view_id=root or view_id,
        previous_view_id=previous,
        external_id=str(payload.get("external_id", "")),
    )
    ws.views[view_id] = view
    ws.notify()
    return view


def views_open(req: ApiRequest) -> JsonDict:
    ws = req.workspace
    trigger_id = req.required("trigger_id")
    payload = _view_payload(req, "modal")
    trigger = ws.exchange_trigger(trigger_id)
    for view_id in ws.modal_stacks.get(trigger.user, []):
        ws.views[view_id].is_open = False
    view = create_view(ws, trigger.user, payload, None, None)
    ws.modal_stacks[trigger.user] = [view.id]
    return _render(ws, view)


def views_push(req: ApiRequest) -> JsonDict:
    ws = req.workspace
    trigger_id = req.required("trigger_id")
    payload = _view_payload(req, "modal")
    trigger = ws.exchange_trigger(trigger_id)
    stack = ws.modal_stacks.get(trigger.user, [])
    if not stack:
        raise ApiError("not_found")
    if len(stack) >= MAX_MODAL_STACK:
        raise ApiError("push_limit_reached")
    view = create_view(ws, trigger.user, payload, stack[0], stack[-1])
    stack.append(view.id)
    return _render(ws, view)


def replace_view(ws: Workspace, view: View, payload: JsonDict, expected_hash: str | None) -> None:
    """What views.update and a submission's `response_action: update` both do: a new version
    with a new hash, the errors gone, and the new view's external id if it names one."""
    if expected_hash is not None and expected_hash != view.hash:
        raise ApiError("hash_conflict")
    view.versions.append(view.payload)
    view.payload = payload
    view.hash = _view_hash()
    view.errors = {}
    if payload.get("external_id"):
        view.external_id = str(payload["external_id"])
    ws.notify()


def views_update(req: ApiRequest) -> JsonDict:
    ws = req.workspace
    view_id, external_id = req.text("view_id"), req.text("external_id")
    if view_id is None and external_id is None:
        raise invalid_arguments("either view_id or external_id is required")
    payload = _view_payload(req, "modal")
    found = [
        v
        for v in ws.views.values()
        if (view_id and v.id == view_id) or (external_id and v.external_id == external_id)
    ]
    if not found or not found[0].is_open:
        raise ApiError("not_found")
    replace_view(ws, found[0], payload, req.text("hash"))
    return _render(ws, found[0])


def views_publish(req: ApiRequest) -> JsonDict:
    ws = req.workspace
    user = ws.user(req.required("user_id", "user_not_found"))
    payload = _view_payload(req, "home")
    existing = ws.home_views.get(user.id)
    if existing is not None:
        view = ws.views[existing]
        replace_view(ws, view, payload, req.text("hash"))
        return _render(ws, view)
    view = create_view(ws, user.id, payload, None, None)
    ws.home_views[user.id] = view.id
    return _render(ws, view)


METHODS: dict[str, Method] = {
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
}
