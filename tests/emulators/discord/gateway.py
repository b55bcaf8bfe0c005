"""The gateway: a websocket per connection, sessions that outlive connections, and dispatch.

What it does as Discord does:
- HELLO with `heartbeat_interval`; HEARTBEAT (op 1) is answered with HEARTBEAT_ACK (op 11);
  a connection that sends no heartbeat for 1.5 intervals is closed with 4009 (session timed
  out) and its session invalidated.
- IDENTIFY (op 2) checks the token (4004), that it comes once (4005) and first (4003), the
  intents (4013 without, 4014 for a privileged intent the application has not enabled), then
  sends READY (user, application, the guild as unavailable, session_id, resume_gateway_url)
  and GUILD_CREATE (channels, threads, roles, members) when the GUILDS intent is set.
- Every dispatch carries the session's next sequence number and is kept for RESUME (op 6):
  a resumed session gets every event it missed while disconnected, then RESUMED; an unknown
  or invalidated session gets INVALID_SESSION (op 9, d=false), and discord.py identifies anew.
- Intents decide what a session hears: GUILD_MESSAGES for MESSAGE_*, GUILDS for THREAD_CREATE;
  without MESSAGE_CONTENT a message's content, embeds, attachments and components arrive
  empty unless the bot wrote it or is mentioned. INTERACTION_CREATE needs no intent.
- REQUEST_GUILD_MEMBERS (op 8) is answered with GUILD_MEMBERS_CHUNK (needs GUILD_MEMBERS).
- Unknown opcodes close with 4001, undecodable payloads with 4002, a wrong `v` with 4012.

What it does not emulate (see also the package docstring): the `etf` encoding (closed with
4002), identify-level payload compression (`"compress": true` in IDENTIFY is ignored; only
transport compression is offered), sharding beyond one shard, presences and voice, the
identify rate limit (1 per 5 s) and the 120-events-a-minute send limit per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.emulators.discord import compression
from tests.emulators.discord.records import JsonDict
from tests.emulators.discord.render import render_guild, render_member, strip_content
from tests.emulators.discord.rest_identity import application
from tests.emulators.discord.world import (
    GUILD_MEMBERS,
    GUILDS,
    MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
    Event,
    World,
)

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE_UPDATE, VOICE_STATE_UPDATE = 0, 1, 2, 3, 4
RESUME, RECONNECT, REQUEST_GUILD_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 6, 7, 8, 9, 10, 11
KNOWN_OPS = {
    HEARTBEAT,
    IDENTIFY,
    PRESENCE_UPDATE,
    VOICE_STATE_UPDATE,
    RESUME,
    REQUEST_GUILD_MEMBERS,
}
REPLAY_BUFFER = 1000
API_VERSIONS = {"9", "10"}


@dataclass(eq=False)
class Session:
    id: str
    intents: int
    seq: int = 0
    buffer: deque[JsonDict] = field(default_factory=lambda: deque(maxlen=REPLAY_BUFFER))
    connection: Connection | None = None
    invalid: bool = False
    resumes: int = 0


@dataclass(eq=False)
class Connection:
    ws: web.WebSocketResponse
    request: web.Request
    compress: compression.Compressor
    queue: asyncio.Queue[JsonDict | None] = field(default_factory=asyncio.Queue)
    session: Session | None = None
    last_heartbeat: float = field(default_factory=time.monotonic)
    received: list[JsonDict] = field(default_factory=list)


class Gateway:
    """Sessions and live connections. Runs on the server's event loop; `World` events may come
    from any thread and are queued onto the loop in the order they happened."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.loop: asyncio.AbstractEventLoop | None = None
        self.heartbeat_interval_ms = 41_250
        self.ack_heartbeats = True
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        self.ops_received: list[JsonDict] = []  # every op a client sent (tokens redacted)
        self.close_codes: list[int] = []  # codes the gateway closed connections with
        world.listeners.append(self._on_event)

    # -- dispatch ----------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        """Called with the world lock held: number the event for every entitled session."""
        channel = self.world.channels.get(event.channel_id) if event.channel_id else None
        if channel is not None and not self.world.bot_can_view(channel):
            return
        for session in self.sessions.values():
            if session.invalid or (event.intent and not session.intents & event.intent):
                continue
            data = event.data
            if event.content_guarded and not session.intents & MESSAGE_CONTENT:
                data = strip_content(data)
            self._dispatch(session, event.name, data)

    def _dispatch(self, session: Session, name: str, data: JsonDict) -> None:
        session.seq += 1
        frame = {"op": DISPATCH, "t": name, "s": session.seq, "d": data}
        session.buffer.append(frame)
        if session.connection is not None:
            self._send(session.connection, frame)
        self.world.notify()

    def _send(self, connection: Connection, frame: JsonDict | None) -> None:
        if self.loop is None:
            return
        self.loop.call_soon_threadsafe(connection.queue.put_nowait, frame)

    # -- the websocket -----------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        self.loop = asyncio.get_running_loop()
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        query = request.rel_url.query
        try:
            compress = compression.compressor(query.get("compress"))
        except ValueError:
            await self._close_ws(ws, 4002, "Unsupported compression.")
            return ws
        if query.get("encoding", "json") != "json":
            await self._close_ws(ws, 4002, "Only the json encoding is emulated.")
            return ws
        if query.get("v") not in API_VERSIONS:
            await self._close_ws(ws, 4012, "Invalid API version.")
            return ws
        connection = Connection(ws, request, compress)
        with self.world.lock:
            self.connections.add(connection)
        writer = asyncio.create_task(self._write(connection))
        watchdog = asyncio.create_task(self._watch_heartbeats(connection))
        interval = self.heartbeat_interval_ms
        connection.queue.put_nowait(
            {"op": HELLO, "d": {"heartbeat_interval": interval}, "s": None, "t": None}
        )
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT and message.type != WSMsgType.BINARY:
                    break
                await self._receive(connection, message.data)
        finally:
            watchdog.cancel()
            connection.queue.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await writer
            with self.world.lock:
                self.connections.discard(connection)
                if connection.session is not None and connection.session.connection is connection:
                    connection.session.connection = None
                self.world.notify()
        return ws

    async def _write(self, connection: Connection) -> None:
        while (frame := await connection.queue.get()) is not None:
            if connection.ws.closed:
                return
            payload = connection.compress(json.dumps(frame))
            try:
                if isinstance(payload, bytes):
                    await connection.ws.send_bytes(payload)
                else:
                    await connection.ws.send_str(payload)
            except (ConnectionError, RuntimeError):
                return

    async def _watch_heartbeats(self, connection: Connection) -> None:
        while not connection.ws.closed:
            await asyncio.sleep(self.heartbeat_interval_ms / 4000)
            late = time.monotonic() - connection.last_heartbeat
            if late > 1.5 * self.heartbeat_interval_ms / 1000:
                with self.world.lock:
                    if connection.session is not None:
                        connection.session.invalid = True
                await self._close(connection, 4009, "Session timed out.")
                return

    async def _close_ws(self, ws: web.WebSocketResponse, code: int, reason: str) -> None:
        with self.world.lock:
            self.close_codes.append(code)
            self.world.notify()
        await ws.close(code=code, message=reason.encode())

    async def _close(self, connection: Connection, code: int, reason: str) -> None:
        await self._close_ws(connection.ws, code, reason)

    # -- ops ---------------------------------------------------------------------------------

    async def _receive(self, connection: Connection, raw: str | bytes) -> None:
        try:
            payload = json.loads(raw)
            op = payload["op"]
        except (ValueError, KeyError, TypeError):
            await self._close(connection, 4002, "Error while decoding payload.")
            return
        with self.world.lock:
            logged = json.loads(json.dumps(payload))
            if isinstance(logged.get("d"), dict) and "token" in logged["d"]:
                logged["d"]["token"] = "<redacted>"
            self.ops_received.append(logged)
            connection.received.append(logged)
            self.world.notify()
        if op not in KNOWN_OPS:
            await self._close(connection, 4001, "Unknown opcode.")
        elif op == HEARTBEAT:
            connection.last_heartbeat = time.monotonic()
            if self.ack_heartbeats:
                connection.queue.put_nowait({"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
        elif op == IDENTIFY:
            await self._identify(connection, payload.get("d") or {})
        elif op == RESUME:
            await self._resume(connection, payload.get("d") or {})
        elif connection.session is None:
            await self._close(connection, 4003, "Not authenticated.")
        elif op == REQUEST_GUILD_MEMBERS:
            self._members_chunk(connection.session, payload.get("d") or {})

    async def _identify(self, connection: Connection, data: JsonDict) -> None:
        if connection.session is not None:
            await self._close(connection, 4005, "Already authenticated.")
            return
        if data.get("token") != self.world.token:
            await self._close(connection, 4004, "Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0 or intents >= 1 << 26:
            await self._close(connection, 4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.world.enabled_privileged_intents:
            await self._close(connection, 4014, "Disallowed intent(s).")
            return
        with self.world.lock:
            session = Session(secrets.token_hex(16), intents)
            self.sessions[session.id] = session
            session.connection = connection
            connection.session = session
            self._dispatch(session, "READY", self._ready(session))
            if intents & GUILDS:
                guild = render_guild(
                    self.world, full=True, all_members=bool(intents & GUILD_MEMBERS)
                )
                self._dispatch(session, "GUILD_CREATE", guild)

    def _ready(self, session: Session) -> JsonDict:
        world = self.world
        app = application(world)
        return {
            "v": 10,
            "user": world.users[world.bot_user_id].render(),
            "guilds": [{"id": str(world.guild_id), "unavailable": True}],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": world.gateway_url,
            "shard": [0, 1],
            "application": {"id": app["id"], "flags": app["flags"]},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "auth_session_id_hash": "",
        }

    async def _resume(self, connection: Connection, data: JsonDict) -> None:
        with self.world.lock:
            session = self.sessions.get(str(data.get("session_id")))
            usable = (
                session is not None
                and not session.invalid
                and data.get("token") == self.world.token
                and isinstance(data.get("seq"), int | None)
            )
            if not usable or session is None:
                connection.queue.put_nowait(
                    {"op": INVALID_SESSION, "d": False, "s": None, "t": None}
                )
                return
            previous = session.connection
            session.connection = connection
            connection.session = session
            session.resumes += 1
            seq = data.get("seq") or 0
            for frame in session.buffer:
                if frame["s"] > seq:
                    connection.queue.put_nowait(frame)
            self._dispatch(session, "RESUMED", {"_trace": ["emulator"]})
        if previous is not None and previous is not connection:
            await self._close(previous, 4000, "Session resumed elsewhere.")

    def _members_chunk(self, session: Session, data: JsonDict) -> None:
        if not session.intents & GUILD_MEMBERS:
            return
        with self.world.lock:
            wanted = data.get("user_ids")
            ids = [int(u) for u in wanted] if wanted else list(self.world.members)
            members = [render_member(self.world, u) for u in ids if u in self.world.members]
            chunk: JsonDict = {
                "guild_id": str(self.world.guild_id),
                "members": members,
                "chunk_index": 0,
                "chunk_count": 1,
            }
            if data.get("nonce") is not None:
                chunk["nonce"] = data["nonce"]
            self._dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)

    # -- trouble on demand (called from the test thread) -------------------------------------

    def run(self, coro: Any) -> Any:
        """Run a coroutine on the gateway's loop from another thread and wait for it."""
        if self.loop is None:
            raise RuntimeError("no gateway connection was ever made")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    async def _drop_all(self, code: int | None) -> int:
        dropped = 0
        for connection in list(self.connections):
            dropped += 1
            if code is None:
                transport = connection.request.transport
                if transport is not None:
                    transport.abort()  # the network fails: no close frame at all
            else:
                await self._close(connection, code, "Closed by the emulator.")
        return dropped

    def drop(self, code: int | None = None) -> int:
        """Cut every connection (abruptly, or with a close `code`); sessions stay resumable."""
        return int(self.run(self._drop_all(code)))

    def redeliver(self, name: str, data: JsonDict) -> int:
        """Dispatch an event again to every connected session (a new sequence number, as a
        replay after a RESUME from an older one carries); returns how many got it."""
        with self.world.lock:
            live = [s for s in self.sessions.values() if s.connection is not None and not s.invalid]
            for session in live:
                self._dispatch(session, name, data)
            return len(live)

    def send_op(self, op: int, data: Any = None) -> None:
        """Send a bare opcode to every connection: RECONNECT (7), HEARTBEAT (1), or
        INVALID_SESSION (9, which also invalidates the sessions unless `data` is true)."""
        with self.world.lock:
            for connection in self.connections:
                if op == INVALID_SESSION and not data and connection.session is not None:
                    connection.session.invalid = True
                self._send(connection, {"op": op, "d": data, "s": None, "t": None})
