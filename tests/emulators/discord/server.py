"""One aiohttp server on 127.0.0.1 for REST (/api/v10), the CDN (/attachments) and the gateway
(/gateway), on its own event loop in a background thread, so synchronous tests and a bot in
another process or thread can all reach it.

aiohttp is what discord.py itself is built on, so it adds no dependency, and it serves plain
HTTP and websockets from one port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading

from aiohttp import web

from tests.emulators.discord import errors
from tests.emulators.discord.gateway import Gateway
from tests.emulators.discord.http_api import API_PREFIX, MAX_BODY, Cdn, ForeignHost, RestApi


async def _not_found(request: web.Request) -> web.Response:
    return web.Response(
        status=404, body=json.dumps(errors.not_found().body()), content_type="application/json"
    )


def _listening(host: str, port: int) -> socket.socket:
    found = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    found.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    found.bind((host, port))
    found.listen(128)
    return found


class EmulatorServer:
    """Discord on one port; on a second one, `ForeignHost`: "some other host" that a download
    may be pointed or redirected at, to show that a front end never fetches from it."""

    def __init__(
        self,
        rest: RestApi,
        cdn: Cdn,
        gateway: Gateway,
        foreign: ForeignHost,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._rest = rest
        self._cdn = cdn
        self._gateway = gateway
        self._foreign = foreign
        self._socket = _listening(host, port)
        self._foreign_socket = _listening(host, 0)
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._foreign_runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def host(self) -> str:
        address = self._socket.getsockname()
        return f"{address[0]}:{address[1]}"

    @property
    def foreign_host(self) -> str:
        address = self._foreign_socket.getsockname()
        return f"{address[0]}:{address[1]}"

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest.handle)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._cdn.handle)
        app.router.add_get("/gateway", self._gateway.handle)
        app.router.add_get("/gateway/", self._gateway.handle)
        app.router.add_route("*", "/{tail:.*}", _not_found)
        return app

    async def _start(self) -> None:
        self._gateway.loop = asyncio.get_running_loop()
        self._runner = web.AppRunner(
            self._app(), handle_signals=False, access_log=None, shutdown_timeout=0.5
        )
        await self._runner.setup()
        await web.SockSite(self._runner, self._socket).start()
        foreign = web.Application()
        foreign.router.add_route("*", "/{tail:.*}", self._foreign.handle)
        self._foreign_runner = web.AppRunner(
            foreign, handle_signals=False, access_log=None, shutdown_timeout=0.5
        )
        await self._foreign_runner.setup()
        await web.SockSite(self._foreign_runner, self._foreign_socket).start()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="discord-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the Discord emulator did not start")

    async def _stop(self) -> None:
        for connection in list(self._gateway.connections):
            with contextlib.suppress(Exception):
                await connection.ws.close(code=1001, message=b"Emulator stopping.")
        for runner in (self._runner, self._foreign_runner):
            if runner is not None:
                await runner.cleanup()
        current = asyncio.current_task()
        leftovers = [t for t in asyncio.all_tasks() if t is not current]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    def stop(self) -> None:
        if self._thread is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._socket.close()
        self._foreign_socket.close()
        self._thread = None
