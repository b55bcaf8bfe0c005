"""discord.py on an event loop of its own, in a thread of its own, beside the rest of the process.

The HTTP server (uvicorn) owns the main thread and the task runner owns its pools; the Discord
client gets a third home so that none of them waits on another. `DiscordRunner.start` returns
once the client has logged in (REST works) or the login failed; the gateway keeps connecting and
reconnecting on its own (discord.py does that).
"""

from __future__ import annotations

import asyncio
import logging
import threading

import discord

from handlers.discord.bridge import DiscordBridge

log = logging.getLogger(__name__)


class DiscordRunner:
    """Start and stop one client; `bridge` is how other threads reach it."""

    def __init__(self, client: discord.Client, bridge: DiscordBridge, token: str) -> None:
        self.client = client
        self.bridge = bridge
        self._token = token
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def start(self, login_timeout: float = 30.0) -> None:
        """Log in and connect in the background; raise if the login itself fails."""
        self._thread = threading.Thread(target=self._run, name="discord", daemon=True)
        self._thread.start()
        deadline = login_timeout
        while not self.bridge.wait_attached(0.1):
            deadline -= 0.1
            if self.error is not None:
                raise RuntimeError(f"could not log in to Discord: {self.error}") from self.error
            if deadline <= 0:
                raise TimeoutError(f"no Discord login within {login_timeout:.0f} s")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            try:
                await self.client.start(self._token)
            finally:
                # start() returns as soon as close() begins: let close() finish on this loop.
                await self.client.close()

        try:
            self._loop.run_until_complete(main())
        except BaseException as error:
            self.error = error
            log.error("the Discord client stopped: %r", error)
        finally:
            self.bridge.detach()
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            return
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self.client.close(), self._loop)
        self._thread.join(timeout)
        self._thread = None
