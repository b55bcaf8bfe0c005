"""The REST pipeline around the route handlers: parse, authenticate, fault, rate limit, log.

Order matters and follows Discord: an unknown route is 404 before anything else, a missing or
wrong bot token is 401 (`{"code": 0, "message": "401: Unauthorized"}`) before any limit, then
injected faults and rate limits, then the handler. Every answer, refusals included, is logged
as an `ApiCall` for tests to assert on.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from urllib.parse import unquote

from aiohttp import BodyPartReader, web

from tests.emulators.discord import (
    errors,
    rest_commands,
    rest_identity,
    rest_interactions,
    rest_messages,
)
from tests.emulators.discord.errors import DiscordError
from tests.emulators.discord.faults import Faults
from tests.emulators.discord.ratelimits import RateLimiter
from tests.emulators.discord.records import ApiCall
from tests.emulators.discord.rest import ApiRequest, Route, UploadedFile, find_route
from tests.emulators.discord.world import World

API_PREFIX = "/api/v10"
ROUTES: list[Route] = [
    *rest_identity.ROUTES,
    *rest_commands.ROUTES,
    *rest_messages.ROUTES,
    *rest_interactions.ROUTES,
]
MAX_BODY = 200 * 1024 * 1024  # above the 25 MiB file limit, so 413 is Discord's, not aiohttp's


def _json_response(status: int, body: Any, headers: dict[str, str]) -> web.Response:
    if status == 204 or body is None:
        return web.Response(status=204, headers=headers)
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        headers={**headers, "Content-Type": "application/json"},
    )


async def _read_body(request: web.Request) -> tuple[Any, list[UploadedFile]]:
    """JSON, or multipart with `payload_json` and `files[n]` parts, as discord.py sends them."""
    if request.content_type == "multipart/form-data":
        payload: Any = None
        files: list[UploadedFile] = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            content = await part.read(decode=True)
            if part.filename is not None:
                content_type = part.headers.get("Content-Type", "application/octet-stream")
                files.append(
                    UploadedFile(part.name or "", part.filename, bytes(content), content_type)
                )
            elif part.name == "payload_json":
                payload = json.loads(bytes(content) or b"null")
        return payload, files
    raw = await request.read()
    if not raw:
        return None, []
    return json.loads(raw), []


class RestApi:
    """The aiohttp handler for everything under /api/v10."""

    def __init__(self, world: World, faults: Faults, limiter: RateLimiter) -> None:
        self.world = world
        self.faults = faults
        self.limiter = limiter

    async def handle(self, request: web.Request) -> web.Response:
        path = request.path[len(API_PREFIX) :] or "/"
        started = time.time()
        record = ApiCall(request.method, path, "", 0, started, headers=dict(request.headers))
        response = await self._answer(request, path, record)
        record.status = response.status
        with self.world.lock:
            self.world.calls.append(record)
            self.world.notify()
        return response

    async def _answer(self, request: web.Request, path: str, record: ApiCall) -> web.Response:
        headers: dict[str, str] = {}
        try:
            route, raw_params = find_route(
                ROUTES, request.method, request.raw_path.split("?")[0][len(API_PREFIX) :]
            )
            params = {k: unquote(v) for k, v in raw_params.items()}
            record.route = route.key
            try:
                body, files = await _read_body(request)
            except ValueError:
                raise DiscordError(400, 50109, "The request body contains invalid JSON.") from None
            record.body = body
            record.files = [f.filename for f in files]
            if route.auth and request.headers.get("Authorization") != f"Bot {self.world.token}":
                raise errors.unauthorized()
            with self.world.lock:
                fault = self.faults.take(route.key, request.method, path)
            if fault is not None and fault.delay > 0:
                await asyncio.sleep(fault.delay)
            if fault is not None and fault.error is not None:
                raise fault.error
            with self.world.lock:
                decision = self.limiter.take(
                    route.key, route.major(params), time.time(), global_exempt=route.global_exempt
                )
                headers.update(decision.headers)
                if decision.refusal is not None:
                    raise decision.refusal
                api_request = ApiRequest(
                    request.method,
                    path,
                    params,
                    dict(request.query),
                    body,
                    files,
                    dict(request.headers),
                )
                reply = route.handler(self.world, api_request)
            return _json_response(reply.status, reply.body, headers)
        except DiscordError as error:
            return _json_response(error.status, error.body(), {**headers, **error.headers})


CONTENT_GONE = b"This content is no longer available."
ERROR_PAGE = (
    b"<!DOCTYPE html><html><head><title>Attention Required!</title></head>"
    b"<body><h1>Sorry, you have been blocked</h1></body></html>"
)
"""What a CDN's edge answers instead of a file when it turns a client away."""


class ForeignHost:
    """Some other host on the internet: answers anything with 200 and bytes, and records who
    asked. A front end that downloads only from Discord's file hosts never reaches it."""

    def __init__(self, world: World) -> None:
        self.world = world

    async def handle(self, request: web.Request) -> web.Response:
        with self.world.lock:
            self.world.foreign_requests.append(
                {
                    "method": request.method,
                    "path": request.path_qs,
                    "headers": dict(request.headers),
                    "time": time.time(),
                }
            )
            self.world.notify()
        return web.Response(body=b'{"messages": []}\n', content_type="application/octet-stream")


class Cdn:
    """`/attachments/{channel}/{attachment}/{filename}?ex=&is=&hm=`: Discord's signed CDN URLs.

    A URL whose signature does not match, or whose `ex` has passed, answers 404 with Discord's
    text, as the real CDN does for unsigned or expired links. No token is needed.
    """

    def __init__(self, world: World) -> None:
        self.world = world

    async def handle(self, request: web.Request) -> web.Response:
        world = self.world
        with world.lock:
            attachment_id = (
                int(request.match_info["attachment_id"])
                if request.match_info["attachment_id"].isdigit()
                else -1
            )
            attachment = world.attachments.get(attachment_id)
            expires_hex = request.query.get("ex", "")
            signature = request.query.get("hm", "")
            valid = (
                attachment is not None
                and str(attachment.channel_id) == request.match_info["channel_id"]
                and attachment.filename == request.match_info["filename"]
                and expires_hex != ""
                and all(c in "0123456789abcdef" for c in expires_hex)
                and signature == world.signature(attachment.id, int(expires_hex, 16))
                and int(expires_hex, 16) > time.time()
            )
            world.downloads.append(
                {
                    "path": request.path_qs,
                    "attachment_id": attachment_id,
                    "ok": valid,
                    "time": time.time(),
                }
            )
            world.notify()
            if not valid or attachment is None:
                return web.Response(status=404, body=CONTENT_GONE, content_type="text/plain")
            if attachment.serve == "redirect":
                location = f"http://{world.foreign_host}{request.path_qs}"
                return web.Response(status=302, headers={"Location": location})
            if attachment.serve == "html":
                return web.Response(status=200, body=ERROR_PAGE, content_type="text/html")
            return web.Response(
                body=attachment.content,
                headers={
                    "Content-Type": attachment.content_type,
                    "Content-Disposition": f'attachment; filename="{attachment.filename}"',
                },
            )
