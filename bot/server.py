"""The HTTP server: Bolt behind Starlette under uvicorn, plus a health check.

uvicorn is a production-grade ASGI server (h11/httptools, graceful shutdown, signal handling).
Bolt's listeners are synchronous (SQLAlchemy, the OpenAI SDK), so each Slack request is dispatched
on a worker thread: the event loop keeps accepting requests while one is being acknowledged.
Installing through OAuth (`GET /slack/install`, `GET /slack/oauth_redirect`) is Bolt's sync
OAuth flow, which reads and writes the database, so it runs on worker threads too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

WebhookHandler = Callable[[bytes, dict[str, str]], int]
"""Takes an OpenAI webhook delivery (body, headers) and returns the HTTP status to answer."""


def create_asgi_app(
    slack_app: App | None,
    openai_webhook: WebhookHandler | None = None,
    *,
    slack_events_over_http: bool = True,
) -> Starlette:
    """`POST /slack/events` (when Slack arrives over HTTP), `GET /slack/install` and
    `GET /slack/oauth_redirect` (when the app installs through OAuth, in either mode),
    `POST /openai/webhooks` (when a webhook secret is set) and `GET /healthz`."""

    async def slack_events(request: Request) -> Response:
        assert slack_app is not None
        body = await request.body()
        response = await run_in_threadpool(slack_app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(response)

    def oauth_route(step: Callable[[BoltRequest], BoltResponse]) -> Callable[..., Any]:
        async def handle(request: Request) -> Response:
            body = await request.body()
            response = await run_in_threadpool(step, to_bolt_request(request, body))
            return to_starlette_response(response)

        return handle

    async def healthz(_: Request) -> Response:
        return JSONResponse({"ok": True})

    async def openai_webhooks(request: Request) -> Response:
        assert openai_webhook is not None
        body = await request.body()
        status = await run_in_threadpool(openai_webhook, body, dict(request.headers))
        return JSONResponse({"ok": status < 300}, status_code=status)

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if slack_app is not None and slack_events_over_http:
        routes.append(Route("/slack/events", slack_events, methods=["POST"]))
    flow = slack_app.oauth_flow if slack_app is not None else None
    if flow is not None:
        routes.append(
            Route(flow.install_path, oauth_route(flow.handle_installation), methods=["GET"])
        )
        routes.append(
            Route(flow.redirect_uri_path, oauth_route(flow.handle_callback), methods=["GET"])
        )
    if openai_webhook is not None:
        routes.append(Route("/openai/webhooks", openai_webhooks, methods=["POST"]))
    return Starlette(routes=routes)
