"""/_emulator/...: the test controls over HTTP, for an emulator running in another process.

No API key is needed: these paths do not exist on the real service, so no client under test
can reach them by accident.
"""

from __future__ import annotations

from typing import Any

from .app import Application
from .httpio import JsonResponse, Request, Route
from .script import JobScript

JOB = r"/_emulator/jobs/(?P<job_id>[^/]+)"
SETTABLE = (
    "speed",
    "chat_reply",
    "tokens_per_second",
    "stream_error_after",
    "context_window",
    "max_file_bytes",
    "webhook_url",
    "webhook_secret",
    "webhooks_enabled",
    "webhook_duplicate",
    "webhook_timeout",
)


def requests(app: Application, request: Request) -> JsonResponse:
    return JsonResponse({"data": [list(entry) for entry in app.log.snapshot()]})


def reset_log(app: Application, request: Request) -> JsonResponse:
    app.log.reset()
    return JsonResponse({"ok": True})


def set_script(app: Application, request: Request) -> JsonResponse:
    app.state.config.script = JobScript.from_dict(request.json())
    return JsonResponse({"ok": True})


def set_config(app: Application, request: Request) -> JsonResponse:
    body = request.json()
    for key in SETTABLE:
        if key in body:
            setattr(app.state.config, key, body[key])
    if "webhook_retry_delays" in body:
        app.state.config.webhook_retry_delays = tuple(body["webhook_retry_delays"])
    return JsonResponse({"ok": True})


def webhooks(app: Application, request: Request) -> JsonResponse:
    return JsonResponse({"data": [list(entry) for entry in app.webhooks.deliveries]})


def create_jobs(app: Application, request: Request) -> JsonResponse:
    body = request.json()
    script = body.get("script")
    try:
        ids = app.create_jobs(
            body.get("n", 1),
            model=body.get("model", "gpt-4o-mini-2024-07-18"),
            training_file=body.get("training_file"),
            status=body.get("status", "queued"),
            script=JobScript.from_dict(script) if script is not None else None,
            metadata=body.get("metadata"),
        )
    except ValueError as problem:
        return JsonResponse({"error": str(problem)}, 400)
    return JsonResponse({"ids": ids})


def set_status(app: Application, request: Request) -> JsonResponse:
    body = request.json()
    script = body.get("script")
    try:
        status = app.set_status(
            request.params["job_id"],
            body["status"],
            JobScript.from_dict(script) if script is not None else None,
        )
    except ValueError as problem:
        return JsonResponse({"error": str(problem)}, 400)
    return JsonResponse({"status": status})


def inject(app: Application, request: Request) -> JsonResponse:
    body: dict[str, Any] = request.json()
    app.inject(
        body["path_regex"],
        status=body.get("status", 500),
        count=body.get("count", 1),
        retry_after=body.get("retry_after"),
        body=body.get("body"),
        method=body.get("method"),
        delay=body.get("delay", 0.0),
    )
    return JsonResponse({"ok": True})


def advance(app: Application, request: Request) -> JsonResponse:
    return JsonResponse({"status": app.advance(request.params["job_id"])})


def finish(app: Application, request: Request) -> JsonResponse:
    body = request.json()
    job = app.finish(request.params["job_id"], body.get("outcome", "succeeded"), body.get("error"))
    return JsonResponse(job)


ROUTES = [
    Route("GET", r"/_emulator/requests", requests),
    Route("POST", r"/_emulator/reset_log", reset_log),
    Route("POST", r"/_emulator/script", set_script),
    Route("POST", r"/_emulator/config", set_config),
    Route("POST", r"/_emulator/faults", inject),
    Route("GET", r"/_emulator/webhooks", webhooks),
    Route("POST", r"/_emulator/jobs", create_jobs),
    Route("POST", JOB + "/status", set_status),
    Route("POST", JOB + "/advance", advance),
    Route("POST", JOB + "/finish", finish),
]
