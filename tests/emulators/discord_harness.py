"""A small discord.py bot for the emulator's own tests: not tunebot code.

It runs the real `discord.Client` on its own event loop in a thread, so a synchronous test can
act as people through the emulator and call the bot's coroutines with `run()`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import discord
from discord import app_commands

from handlers.discord.endpoints import use_discord_api
from tests.emulators.discord_emulator import DiscordEmulator

T = TypeVar("T")


class BotHarness:
    """One discord.py client connected to the emulator, and what it heard."""

    def __init__(
        self,
        emulator: DiscordEmulator,
        intents: discord.Intents,
        *,
        token: str | None = None,
        **options: Any,
    ) -> None:
        self.emulator = emulator
        self.token = token or emulator.token
        self.loop = asyncio.new_event_loop()
        # discord.py waits `guild_ready_timeout` (2 s) after the last GUILD_CREATE before
        # on_ready; one guild needs no such wait in tests.
        options.setdefault("guild_ready_timeout", 0.1)
        self.client = discord.Client(intents=intents, loop=self.loop, **options)
        self.tree = app_commands.CommandTree(self.client)
        self.events: list[str] = []  # every dispatch name the gateway delivered, in order
        self.messages: list[discord.Message] = []
        self.disconnects = 0
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        client = self.client

        @client.event
        async def on_socket_event_type(event_type: str) -> None:
            self.events.append(event_type)
            self._nudge()

        @client.event
        async def on_message(message: discord.Message) -> None:
            self.messages.append(message)
            self._nudge()

        @client.event
        async def on_disconnect() -> None:
            self.disconnects += 1

    def _nudge(self) -> None:
        with self.emulator._world.lock:
            self.emulator._world.notify()

    def on(self, handler: Callable[..., Coroutine[Any, Any, None]]) -> None:
        """Register an extra event handler (by its function name, like `@client.event`)."""
        self.client.event(handler)

    def start(self) -> BotHarness:
        async def main() -> None:
            try:
                await self.client.start(self.token)
            finally:
                # start() returns as soon as close() begins: let close() finish on this loop.
                await self.client.close()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            try:
                self.loop.run_until_complete(main())
            except BaseException as error:  # kept for the test to assert on
                self.error = error
                self._nudge()
            finally:
                # discord.py leaves a few tasks (e.g. its ready delay) behind after close().
                pending = asyncio.all_tasks(self.loop)
                for task in pending:
                    task.cancel()
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))

        self._thread = threading.Thread(target=run, name="discord-py-bot", daemon=True)
        self._thread.start()
        return self

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run a coroutine on the bot's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def wait_ready(self, timeout: float = 10.0) -> None:
        self.emulator.wait_for(lambda: self.client.is_ready() or self.error, timeout)
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        if self._thread is None:
            return
        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(self.client.close(), self.loop)
        self._thread.join(timeout=10)
        self.loop.close()
        self._thread = None


def default_intents() -> discord.Intents:
    intents = discord.Intents.default()
    intents.message_content = True
    return intents


@contextmanager
def running_bot(
    emulator: DiscordEmulator,
    intents: discord.Intents | None = None,
    *,
    ready: bool = True,
    **options: Any,
) -> Iterator[BotHarness]:
    """A connected bot for the duration of a `with` block; discord.py pointed back at
    discord.com afterwards."""
    use_discord_api(emulator.base_url)
    harness = BotHarness(emulator, intents or default_intents(), **options)
    try:
        harness.start()
        if ready:
            harness.wait_ready()
        yield harness
    finally:
        harness.stop()
        use_discord_api(None)
