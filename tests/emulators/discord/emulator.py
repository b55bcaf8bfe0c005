"""`DiscordEmulator`: a stateful Discord (REST, gateway and CDN) on 127.0.0.1 for tests.

    with DiscordEmulator(token="bot-token") as discord_emulator:
        use_discord_api(discord_emulator.api_url)      # handlers.discord.endpoints
        ... start the bot (discord.py) with "bot-token" ...
        discord_emulator.wait_for(discord_emulator.bot_ready)
        message = discord_emulator.post(ALICE, GENERAL, "", files=[("train.jsonl", data)])
        discord_emulator.wait_for(lambda: discord_emulator.threads(GENERAL))

The bot talks to it through the real discord.py over HTTP and a websocket; the test acts as
the people in the guild (see `GuildActor`) and asserts on copies of what the guild now holds.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from tests.emulators.discord.actor import GuildActor
from tests.emulators.discord.faults import Faults
from tests.emulators.discord.gateway import INVALID_SESSION, RECONNECT, Gateway
from tests.emulators.discord.http_api import API_PREFIX, Cdn, ForeignHost, RestApi
from tests.emulators.discord.payloads import interaction_payload
from tests.emulators.discord.ratelimits import RateLimiter
from tests.emulators.discord.records import (
    ApiCall,
    Channel,
    Command,
    Interaction,
    JsonDict,
    Message,
)
from tests.emulators.discord.render import render_message
from tests.emulators.discord.server import EmulatorServer
from tests.emulators.discord.world import World

T = TypeVar("T")


class DiscordEmulator(GuildActor):
    """One application and its bot in one guild: REST, gateway, CDN and the people in it."""

    def __init__(
        self, token: str = "emulator-bot-token", *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        world = World(token)
        super().__init__(world)
        self.token = token
        self.faults = Faults()
        self.limiter = RateLimiter()
        self.gateway = Gateway(world)
        self._server = EmulatorServer(
            RestApi(world, self.faults, self.limiter),
            Cdn(world),
            self.gateway,
            ForeignHost(world),
            host,
            port,
        )
        world.http_host = self._server.host
        world.foreign_host = self._server.foreign_host
        world.gateway_url = f"ws://{self._server.host}/gateway"

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> DiscordEmulator:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> DiscordEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses and identities ------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What a front end's DISCORD_API_URL is set to: `http://127.0.0.1:PORT/api`."""
        return f"http://{self._server.host}/api"

    @property
    def api_url(self) -> str:
        """The versioned REST base, what discord.py's `Route.BASE` must become."""
        return f"http://{self._server.host}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return self._world.gateway_url

    @property
    def application_id(self) -> int:
        return self._world.application_id

    @property
    def bot_user_id(self) -> int:
        return self._world.bot_user_id

    @property
    def guild_id(self) -> int:
        return self._world.guild_id

    # -- knobs -------------------------------------------------------------------------------

    @property
    def ack_window(self) -> float:
        """Seconds an interaction waits for its callback before it is unknown (Discord: 3)."""
        return self._world.ack_window

    @ack_window.setter
    def ack_window(self, seconds: float) -> None:
        with self._world.lock:
            self._world.ack_window = seconds

    @property
    def token_ttl(self) -> float:
        """Seconds an interaction token accepts webhook calls (Discord: 15 minutes)."""
        return self._world.token_ttl

    @token_ttl.setter
    def token_ttl(self, seconds: float) -> None:
        with self._world.lock:
            self._world.token_ttl = seconds

    @property
    def nonce_window(self) -> float:
        """Seconds a message create's enforced nonce is remembered (Discord: a few minutes)."""
        return self._world.nonce_window

    @nonce_window.setter
    def nonce_window(self, seconds: float) -> None:
        with self._world.lock:
            self._world.nonce_window = seconds

    @property
    def heartbeat_interval(self) -> float:
        """Seconds between heartbeats announced in HELLO to new connections (Discord: 41.25)."""
        return self.gateway.heartbeat_interval_ms / 1000

    @heartbeat_interval.setter
    def heartbeat_interval(self, seconds: float) -> None:
        self.gateway.heartbeat_interval_ms = int(seconds * 1000)

    def set_privileged_intents(self, intents: int) -> None:
        """Which privileged intents the application has switched on (MESSAGE_CONTENT by
        default); an IDENTIFY asking for another one is closed with 4014."""
        with self._world.lock:
            self._world.enabled_privileged_intents = intents

    def rate_limit(self, route: str, limit: int, per: float) -> None:
        """Set a bucket: `rate_limit("POST /channels/{channel_id}/messages", 5, 5.0)`."""
        with self._world.lock:
            self.limiter.set_limit(route, limit, per)

    def global_rate_limit(self, per_second: int | None) -> None:
        with self._world.lock:
            self.limiter.global_per_second = per_second

    def inject(self, route: str | None = None, **fault: Any) -> None:
        """Make the next `count` calls to a route fail and/or answer late; see `Faults.inject`
        (status, code, message, count, delay, retry_after, is_global, pattern)."""
        with self._world.lock:
            self.faults.inject(route, **fault)

    def clear_faults(self) -> None:
        with self._world.lock:
            self.faults.clear()

    def faults_left(self) -> int:
        """Injected faults not met yet: 0 once a delayed call has arrived (and is held)."""
        with self._world.lock:
            return self.faults.left()

    def set_member_roles(self, user: int, role_ids: list[int]) -> None:
        """Change a person's roles (what a guild admin does), for permission tests."""
        with self._world.lock:
            self._world.member(user).role_ids = list(role_ids)
            self._world.notify()

    def refuse_dms(self, user: int, refuse: bool = True) -> None:
        """A person turns direct messages from server members off (or on again): the bot's
        messages to their DM fail with 50007 from then on."""
        with self._world.lock:
            self._world.user(user).accepts_dms = not refuse
            self._world.notify()

    def add_channel(self, channel: Channel) -> None:
        with self._world.lock:
            self._world.channels[channel.id] = channel

    # -- the gateway on demand ---------------------------------------------------------------

    def redeliver_interaction(self, interaction_id: int) -> int:
        """Dispatch an interaction's INTERACTION_CREATE again, same payload and id, to every
        live session: Discord's delivery is at least once (a session resumed from an older
        sequence gets events it had already handled), so a front end must act once per id.
        Returns how many sessions it went to."""
        with self._world.lock:
            interaction = self._world.interactions[interaction_id]
            payload = interaction_payload(self._world, interaction)
            return self.gateway.redeliver("INTERACTION_CREATE", payload)

    def drop_gateway(self, code: int | None = None) -> int:
        """Cut every gateway connection: abruptly (a network failure) or with a close code.
        Sessions stay resumable; returns how many connections were cut."""
        return self.gateway.drop(code)

    def request_reconnect(self) -> None:
        """Send RECONNECT (op 7), as Discord does before it moves a session."""
        self.gateway.send_op(RECONNECT)

    def invalidate_sessions(self, resumable: bool = False) -> None:
        """Send INVALID_SESSION (op 9); unless `resumable`, the sessions can no longer resume."""
        self.gateway.send_op(INVALID_SESSION, resumable)

    def ack_heartbeats(self, enabled: bool) -> None:
        """Stop (or resume) answering heartbeats: a zombied connection, from the bot's side."""
        self.gateway.ack_heartbeats = enabled

    # -- inspection (copies, safe to keep) ---------------------------------------------------

    def _copy(self, value: T) -> T:
        with self._world.lock:
            return copy.deepcopy(value)

    def bot_ready(self) -> bool:
        """True once a gateway session has been sent READY and is connected."""
        with self._world.lock:
            return any(
                s.connection is not None and s.seq > 0 for s in self.gateway.sessions.values()
            )

    def messages(
        self, channel: int, *, include_ephemeral: bool = False, include_deleted: bool = False
    ) -> list[Message]:
        """Messages in a channel or thread, oldest first, each with its `edits` history."""
        with self._world.lock:
            ids = self._world.channel_messages.get(channel, [])
            found = [
                self._world.messages[i]
                for i in ids
                if (include_deleted or not self._world.messages[i].deleted)
                and (include_ephemeral or self._world.messages[i].ephemeral_to is None)
            ]
            return copy.deepcopy(found)

    def bot_messages(self, channel: int, *, include_ephemeral: bool = False) -> list[Message]:
        return [
            m
            for m in self.messages(channel, include_ephemeral=include_ephemeral)
            if m.author_id == self.bot_user_id
        ]

    def ephemerals(self, user: int) -> list[Message]:
        """Messages only `user` sees (interaction answers with the ephemeral flag)."""
        with self._world.lock:
            return copy.deepcopy(
                [
                    m
                    for m in self._world.messages.values()
                    if m.ephemeral_to == user and not m.deleted
                ]
            )

    def message(self, message_id: int) -> Message | None:
        return self._copy(self._world.messages.get(message_id))

    def rendered(self, message_id: int) -> JsonDict:
        """A message exactly as the API would answer it."""
        with self._world.lock:
            return render_message(self._world, self._world.messages[message_id])

    def channel(self, channel_id: int) -> Channel | None:
        return self._copy(self._world.channels.get(channel_id))

    def dm_channel(self, user: int) -> Channel | None:
        """The DM channel the bot opened with a person, if it did."""
        with self._world.lock:
            found = self._world.dm_channels.get(user)
            return copy.deepcopy(self._world.channels[found]) if found is not None else None

    def threads(self, parent: int) -> list[Channel]:
        with self._world.lock:
            return copy.deepcopy(
                [c for c in self._world.channels.values() if c.parent_id == parent]
            )

    def attachment_bytes(self, attachment_id: int) -> bytes:
        with self._world.lock:
            return self._world.attachments[attachment_id].content

    def attachment(self, attachment_id: int) -> JsonDict:
        """An attachment as the API renders it (with its signed CDN `url`)."""
        from tests.emulators.discord.render import render_attachment

        with self._world.lock:
            return render_attachment(self._world, self._world.attachments[attachment_id])

    def interaction(self, interaction_id: int) -> Interaction:
        return self._copy(self._world.interactions[interaction_id])

    @property
    def interactions(self) -> list[Interaction]:
        return self._copy(list(self._world.interactions.values()))

    def commands(self, guild: bool | None = None) -> list[Command]:
        """Registered commands: all, only guild ones (`True`), or only global ones (`False`)."""
        with self._world.lock:
            found = [
                c
                for c in self._world.commands.values()
                if guild is None or (c.guild_id is not None) == guild
            ]
            return copy.deepcopy(found)

    @property
    def calls(self) -> list[ApiCall]:
        return self._copy(self._world.calls)

    def calls_to(self, route: str) -> list[ApiCall]:
        """Calls to one route template: `"PATCH /channels/{channel_id}/messages/{message_id}"`."""
        with self._world.lock:
            return copy.deepcopy([c for c in self._world.calls if c.route == route])

    @property
    def downloads(self) -> list[JsonDict]:
        return self._copy(self._world.downloads)

    @property
    def foreign_host(self) -> str:
        """host:port of the other host attachments served as "redirect"/"foreign" point at."""
        return self._world.foreign_host

    @property
    def foreign_requests(self) -> list[JsonDict]:
        """Every request the foreign host received (none, from a careful front end)."""
        return self._copy(self._world.foreign_requests)

    @property
    def gateway_ops(self) -> list[JsonDict]:
        """Every payload a client sent the gateway (tokens redacted), oldest first."""
        return self._copy(self.gateway.ops_received)

    @property
    def close_codes(self) -> list[int]:
        return self._copy(self.gateway.close_codes)

    @property
    def sessions(self) -> list[JsonDict]:
        with self._world.lock:
            return [
                {
                    "id": s.id,
                    "intents": s.intents,
                    "seq": s.seq,
                    "connected": s.connection is not None,
                    "invalid": s.invalid,
                    "resumes": s.resumes,
                }
                for s in self.gateway.sessions.values()
            ]

    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Block until `predicate()` is truthy and return its value; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout} s")
            with self._world.changed:
                self._world.changed.wait(min(remaining, 0.05))

    def wait_for_callback(self, interaction_id: int, timeout: float = 5.0) -> Interaction:
        """The interaction once the bot has acknowledged it."""
        return self.wait_for(
            lambda: (i := self.interaction(interaction_id)).callback is not None and i, timeout
        )
