"""The one way synchronous code (task threads, the follow scheduler) reaches Discord.

discord.py is asyncio-only and runs on its own loop in its own thread (see `runner`). Task
handlers run on the task runner's threads; they hand a coroutine to `DiscordBridge.call`, which
runs it on the client's loop with `asyncio.run_coroutine_threadsafe` and waits for the answer.
Discord's passing failures (rate limits discord.py gave up on, 5xx, a dropped connection, a
client not logged in yet) come back as `RetryLaterError`, so the task runner tries again later;
anything else (a missing permission, an unknown channel) is raised as discord.py raised it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import aiohttp
import discord

from finetuning.tasks import RetryLaterError

T = TypeVar("T")


class DiscordBridge:
    """Runs coroutines against one logged-in `discord.Client` from any thread."""

    def __init__(self, client: discord.Client, *, timeout: float = 60.0) -> None:
        self.client = client
        self._timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called on the client's loop once it has logged in: REST calls may go out now."""
        self._loop = loop
        self._ready.set()

    def detach(self) -> None:
        self._ready.clear()
        self._loop = None

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    def wait_attached(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def call(self, work: Callable[[discord.Client], Awaitable[T]]) -> T:
        """Run `work(client)` on the client's loop and return its result (blocking)."""
        loop = self._loop
        if loop is None or not self._ready.wait(5):
            raise RetryLaterError("not logged in to Discord yet", timedelta(seconds=2))
        if _running_on(loop):
            raise RuntimeError("DiscordBridge.call from the client's own loop would deadlock")

        async def run() -> T:
            return await work(self.client)

        future = asyncio.run_coroutine_threadsafe(run(), loop)
        try:
            return future.result(self._timeout)
        except TimeoutError as exc:
            future.cancel()
            raise RetryLaterError("Discord did not answer in time") from exc
        except discord.HTTPException as exc:
            if is_transient(exc):
                retry_after = getattr(exc, "retry_after", None)
                delay = timedelta(seconds=float(retry_after)) if retry_after else None
                raise RetryLaterError(f"Discord answered {exc.status}", delay) from exc
            raise
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise RetryLaterError(f"Discord unreachable: {exc}") from exc


def is_transient(exc: discord.HTTPException) -> bool:
    """A rate limit or a server error: the same call may succeed later."""
    return exc.status == 429 or exc.status >= 500


def _running_on(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
