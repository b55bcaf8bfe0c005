"""The HTTP server: Bolt behind Starlette under uvicorn, plus a health check.

uvicorn is a production-grade ASGI server (h11/httptools, graceful shutdown, signal handling).
Bolt's listeners are synchronous (SQLAlchemy, the OpenAI SDK), so each Slack request is dispatched
on a worker thread: the event loop keeps accepting requests while one is being acknowledged.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

WebhookHandler = Callable[[bytes, dict[str, str]], int]
"""Takes an OpenAI webhook delivery (body, headers) and returns the HTTP status to answer."""


def create_asgi_app(
    slack_app: App | None, openai_webhook: WebhookHandler | None = None
) -> Starlette:
    """`POST /slack/events` (when Slack arrives over HTTP), `POST /openai/webhooks` (when a
    webhook secret is set) and `GET /healthz`."""

    async def slack_events(request: Request) -> Response:
        assert slack_app is not None
        body = await request.body()
        response = await run_in_threadpool(slack_app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(response)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"ok": True})

    async def openai_webhooks(request: Request) -> Response:
        assert openai_webhook is not None
        body = await request.body()
        status = await run_in_threadpool(openai_webhook, body, dict(request.headers))
        return JSONResponse({"ok": status < 300}, status_code=status)

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if slack_app is not None:
        routes.append(Route("/slack/events", slack_events, methods=["POST"]))
    if openai_webhook is not None:
        routes.append(Route("/openai/webhooks", openai_webhooks, methods=["POST"]))
    return Starlette(routes=routes)
