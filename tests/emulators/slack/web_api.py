"""The Web API front door: which workspace a token opens, unknown methods, faults, the call
log, dispatch."""

from __future__ import annotations

import json
import time

from tests.emulators.slack import api_chat, api_files, api_identity, api_streams, api_views
from tests.emulators.slack.errors import ApiError
from tests.emulators.slack.faults import Gate
from tests.emulators.slack.records import ApiCall, JsonDict
from tests.emulators.slack.request import ApiRequest, Method
from tests.emulators.slack.tenants import ACCESS, Tenants
from tests.emulators.slack.workspace import Workspace

METHODS: dict[str, Method] = {
    **api_identity.METHODS,
    **api_chat.METHODS,
    **api_streams.METHODS,
    **api_files.METHODS,
    **api_views.METHODS,
}

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def _gate(
    tenants: Tenants, method: str, params: JsonDict, token: str | None
) -> tuple[Workspace, Gate]:
    """The workspace the call is about (by its token, or for an OAuth exchange by its code)
    and what happens to the call: Slack checks the method, then the token, then its limits."""
    primary = tenants.primary
    if method not in METHODS and method != ACCESS:
        return primary, Gate(ApiError("unknown_method", status=404, req_method=method))
    if method == ACCESS:
        grant = tenants.grant_of(params.get("code"))
        ws = tenants.team(grant.team_id) if grant is not None else None
        return ws or primary, Gate()
    ws, refusal = tenants.resolve(token)
    if ws is None or refusal is not None:
        return ws or primary, Gate(refusal)
    return ws, ws.faults.take(method, time.monotonic())


def call_method(
    tenants: Tenants,
    method: str,
    params: JsonDict,
    token: str | None,
    client_auth: tuple[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Run one Web API call; answer (HTTP status, headers, JSON body) as Slack would. The call
    is logged in the workspace it was about (a token nobody has: the first workspace)."""
    started = time.time()
    with tenants.lock:
        ws, gate = _gate(tenants, method, params, token)
    refusal = gate.refusal
    if gate.delay > 0:
        time.sleep(gate.delay)  # outside the lock: a slow method must not stall the workspace
    with tenants.lock:
        status, headers = 200, dict(JSON_HEADERS)
        body: JsonDict
        if refusal is None:
            try:
                if method == ACCESS:
                    body = tenants.access(params, client_auth)
                else:
                    body = METHODS[method](ApiRequest(method, params, token or "", ws))
            except ApiError as error:
                refusal = error
        if refusal is not None:
            status, body = refusal.status, refusal.body()
            headers.update(refusal.headers)
        logged = {k: v for k, v in params.items() if k != "client_secret"}
        ws.calls.append(
            ApiCall(
                method=method,
                params=json.loads(json.dumps(logged, default=str)),
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
