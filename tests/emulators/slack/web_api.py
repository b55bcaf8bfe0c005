"""The Web API front door: authentication, unknown methods, faults, the call log, dispatch."""

from __future__ import annotations

import json
import time

from tests.emulators.slack import api_chat, api_files, api_identity, api_streams, api_views
from tests.emulators.slack.errors import ApiError
from tests.emulators.slack.faults import Faults, Gate
from tests.emulators.slack.records import ApiCall, JsonDict
from tests.emulators.slack.request import ApiRequest, Method
from tests.emulators.slack.workspace import Workspace

METHODS: dict[str, Method] = {
    **api_identity.METHODS,
    **api_chat.METHODS,
    **api_streams.METHODS,
    **api_files.METHODS,
    **api_views.METHODS,
}

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def _gate(ws: Workspace, faults: Faults, method: str, token: str | None) -> Gate:
    if method not in METHODS:
        return Gate(ApiError("unknown_method", status=404, req_method=method))
    if not token:
        return Gate(ApiError("not_authed"))
    if token != ws.bot_token:
        return Gate(ApiError("invalid_auth"))
    return faults.take(method, time.monotonic())


def call_method(
    ws: Workspace, faults: Faults, method: str, params: JsonDict, token: str | None
) -> tuple[int, dict[str, str], bytes]:
    """Run one Web API call; answer (HTTP status, headers, JSON body) as Slack would."""
    started = time.time()
    with ws.lock:
        gate = _gate(ws, faults, method, token)
    refusal = gate.refusal
    if gate.delay > 0:
        time.sleep(gate.delay)  # outside the lock: a slow method must not stall the workspace
    with ws.lock:
        status, headers = 200, dict(JSON_HEADERS)
        body: JsonDict
        if refusal is None:
            try:
                body = METHODS[method](ApiRequest(method, params, token or "", ws))
            except ApiError as error:
                refusal = error
        if refusal is not None:
            status, body = refusal.status, refusal.body()
            headers.update(refusal.headers)
        ws.calls.append(
            ApiCall(
                method=method,
                params=json.loads(json.dumps(params, default=str)),
                time=started,
                token=token,
                status=status,
                ok=refusal is None,
                error=refusal.error if refusal is not None else None,
            )
        )
        ws.notify()
        answer = json.dumps(body).encode("utf-8")
    if gate.late > 0:
        time.sleep(gate.late)  # done and visible already; only the caller hears of it late
    return status, headers, answer
