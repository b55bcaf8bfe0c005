"""The Discord emulator's gateway and rate limits: resuming after drops, RECONNECT and
INVALID_SESSION with discord.py, and the raw protocol (HELLO, heartbeats, close codes,
compression) spoken over a bare websocket."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
import zlib
from collections.abc import Iterator

import aiohttp
import pytest

from tests.emulators.discord_emulator import ALICE, GENERAL, DiscordEmulator
from tests.emulators.discord_harness import BotHarness, running_bot

TOKEN = "gateway-token"
INTENTS = (1 << 0) | (1 << 9) | (1 << 15)  # guilds, guild messages, message content


@pytest.fixture
def emulator() -> Iterator[DiscordEmulator]:
    with DiscordEmulator(TOKEN) as running:
        yield running


@pytest.fixture
def bot(emulator: DiscordEmulator) -> Iterator[BotHarness]:
    with running_bot(emulator) as harness:
        yield harness


def ops(emulator: DiscordEmulator, op: int) -> list[dict]:
    return [o for o in emulator.gateway_ops if o["op"] == op]


# -- discord.py reconnecting ---------------------------------------------------------------------


def test_after_a_dropped_socket_discord_py_resumes_and_gets_what_it_missed(emulator, bot):
    (session,) = emulator.sessions
    assert emulator.drop_gateway() == 1
    missed = emulator.post(ALICE, GENERAL, "sent while you were away")
    emulator.wait_for(lambda: any(m.id == missed.id for m in bot.messages), timeout=15)
    emulator.wait_for(lambda: "RESUMED" in bot.events)  # after the replayed events, as on Discord
    assert bot.events.index("MESSAGE_CREATE") < bot.events.index("RESUMED")
    (resume,) = ops(emulator, 6)
    assert resume["d"]["session_id"] == session["id"] and resume["d"]["seq"] == session["seq"]
    assert len(ops(emulator, 2)) == 1  # no second IDENTIFY
    assert "RESUMED" in bot.events and bot.events.count("READY") == 1
    assert emulator.sessions[0]["resumes"] == 1


def test_a_resumable_close_code_also_resumes(emulator, bot):
    emulator.drop_gateway(4000)
    emulator.wait_for(lambda: emulator.sessions[0]["resumes"] == 1, timeout=15)
    assert 4000 in emulator.close_codes


def test_reconnect_opcode_makes_discord_py_resume(emulator, bot):
    emulator.request_reconnect()
    emulator.wait_for(lambda: "RESUMED" in bot.events, timeout=15)
    assert len(ops(emulator, 6)) == 1


def test_an_invalidated_session_makes_discord_py_identify_again(emulator, bot):
    # discord.py waits 5 s before any IDENTIFY but the first (its identify rate limit).
    emulator.invalidate_sessions()
    emulator.wait_for(
        lambda: len(ops(emulator, 2)) == 2 and bot.events.count("READY") == 2, timeout=15
    )
    assert [s["invalid"] for s in emulator.sessions] == [True, False]
    emulator.post(ALICE, GENERAL, "after the new session")
    emulator.wait_for(lambda: bot.messages and bot.messages[-1].content == "after the new session")


def test_a_server_heartbeat_request_is_answered_at_once(emulator, bot):
    before = len(ops(emulator, 1))
    emulator.gateway.send_op(1)
    emulator.wait_for(lambda: len(ops(emulator, 1)) > before)


# -- rate limits, as discord.py honours them -----------------------------------------------------


def test_a_429_is_waited_out_for_retry_after_then_retried(emulator, bot):
    emulator.inject("POST /channels/{channel_id}/messages", retry_after=0.6)
    sent = bot.run(bot.client.get_channel(GENERAL).send("after the limit"))
    first, second = emulator.calls_to("POST /channels/{channel_id}/messages")
    assert (first.status, second.status) == (429, 200)
    assert second.time - first.time >= 0.55
    assert emulator.message(sent.id).content == "after the limit"


def test_a_global_429_holds_every_route(emulator, bot):
    emulator.inject(pattern=r"^POST /channels/", retry_after=0.5, is_global=True)
    bot.run(bot.client.get_channel(GENERAL).send("global"))
    statuses = [c.status for c in emulator.calls_to("POST /channels/{channel_id}/messages")]
    assert statuses == [429, 200]


def test_bucket_headers_make_discord_py_wait_before_it_is_refused(emulator, bot):
    emulator.rate_limit("POST /channels/{channel_id}/messages", 2, 1.0)
    channel = bot.client.get_channel(GENERAL)

    async def three() -> None:
        for i in range(3):
            await channel.send(f"m{i}")

    bot.run(three())
    calls = emulator.calls_to("POST /channels/{channel_id}/messages")
    assert [c.status for c in calls] == [200, 200, 200]  # never a 429
    assert calls[2].time - calls[0].time >= 0.8
    assert emulator.limiter.refused == 0


def test_429_bodies_and_headers_are_discords(emulator):
    emulator.rate_limit("GET /users/@me", 1, 30.0)
    request = urllib.request.Request(
        emulator.api_url + "/users/@me", headers={"Authorization": f"Bot {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=5) as ok:
        assert ok.headers["X-RateLimit-Limit"] == "1" and ok.headers["X-RateLimit-Remaining"] == "0"
        assert (
            float(ok.headers["X-RateLimit-Reset-After"]) > 29 and ok.headers["X-RateLimit-Bucket"]
        )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    refused = caught.value
    body = json.loads(refused.read())
    assert refused.code == 429 and body["message"] == "You are being rate limited."
    assert body["global"] is False and 29 < body["retry_after"] <= 30
    assert refused.headers["Retry-After"] == "30" and refused.headers["Via"]
    assert refused.headers["X-RateLimit-Scope"] == "user"


def test_an_injected_server_error_is_retried_by_discord_py(emulator, bot):
    emulator.inject("POST /channels/{channel_id}/messages", status=502, count=1)
    bot.run(bot.client.get_channel(GENERAL).send("eventually"))
    statuses = [c.status for c in emulator.calls_to("POST /channels/{channel_id}/messages")]
    assert statuses == [502, 200]


# -- the raw protocol ----------------------------------------------------------------------------


class Raw:
    """A bare gateway client: what discord.py hides, said out loud."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, compressed: bool) -> None:
        self.ws = ws
        self.inflate = zlib.decompressobj() if compressed else None

    async def recv(self, timeout: float = 5.0) -> dict:
        message = await self.ws.receive(timeout=timeout)
        if message.type == aiohttp.WSMsgType.BINARY:
            assert self.inflate is not None and message.data.endswith(b"\x00\x00\xff\xff")
            return json.loads(self.inflate.decompress(message.data))
        if message.type == aiohttp.WSMsgType.TEXT:
            return json.loads(message.data)
        return {"closed": self.ws.close_code}

    async def send(self, payload: dict) -> None:
        await self.ws.send_str(json.dumps(payload))

    async def identify(self, token: str = TOKEN, intents: int = INTENTS) -> None:
        await self.send({"op": 2, "d": {"token": token, "intents": intents, "properties": {}}})


def raw_session(
    emulator: DiscordEmulator, scenario, *, query: str = "v=10&encoding=json&compress=zlib-stream"
):
    async def main():
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"{emulator.gateway_url}?{query}") as ws,
        ):
            return await scenario(Raw(ws, "compress=" in query))

    return asyncio.run(main())


def test_hello_identify_ready_guild_create_and_heartbeat_ack_compressed(emulator):
    async def scenario(raw: Raw):
        hello = await raw.recv()
        await raw.identify()
        ready, guild = await raw.recv(), await raw.recv()
        await raw.send({"op": 1, "d": guild["s"]})
        ack = await raw.recv()
        return hello, ready, guild, ack

    hello, ready, guild, ack = raw_session(emulator, scenario)
    assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 41250
    assert (ready["t"], ready["s"], guild["t"], guild["s"]) == ("READY", 1, "GUILD_CREATE", 2)
    assert ready["d"]["guilds"] == [{"id": str(emulator.guild_id), "unavailable": True}]
    assert ready["d"]["resume_gateway_url"] == emulator.gateway_url
    assert {c["name"] for c in guild["d"]["channels"]} == {"general", "random"}
    assert ack == {"op": 11, "d": None, "s": None, "t": None}


def test_without_compression_frames_are_plain_text(emulator):
    async def scenario(raw: Raw):
        message = await raw.ws.receive(timeout=5)
        return message.type, json.loads(message.data)["op"]

    assert raw_session(emulator, scenario, query="v=10&encoding=json") == (
        aiohttp.WSMsgType.TEXT,
        10,
    )


def test_a_client_that_stops_heartbeating_is_closed_with_4009(emulator):
    emulator.heartbeat_interval = 0.2

    async def scenario(raw: Raw):
        await raw.recv()
        await raw.identify()
        frames = [await raw.recv() for _ in range(2)]
        started = time.monotonic()
        while "closed" not in (frame := await raw.recv()):
            pass
        return frames, frame["closed"], time.monotonic() - started

    frames, code, waited = raw_session(emulator, scenario)
    assert [f["t"] for f in frames] == ["READY", "GUILD_CREATE"]
    assert code == 4009 and waited < 2
    assert emulator.sessions[0]["invalid"] is True


@pytest.mark.parametrize(
    ("steps", "code"),
    [
        ([{"op": 2, "d": {"token": "wrong", "intents": INTENTS}}], 4004),
        ([{"op": 8, "d": {"guild_id": "1"}}], 4003),
        ([{"op": 99, "d": None}], 4001),
        ([{"op": 2, "d": {"token": TOKEN}}], 4013),
        ([{"op": 2, "d": {"token": TOKEN, "intents": 1 << 1}}], 4014),
        (["not json"], 4002),
    ],
)
def test_protocol_mistakes_get_discords_close_codes(emulator, steps, code):
    async def scenario(raw: Raw):
        await raw.recv()
        for step in steps:
            await (raw.ws.send_str(step) if isinstance(step, str) else raw.send(step))
        while "closed" not in (frame := await raw.recv()):
            pass
        return frame["closed"]

    assert raw_session(emulator, scenario) == code


def test_identifying_twice_is_4005(emulator):
    async def scenario(raw: Raw):
        await raw.recv()
        await raw.identify()
        await raw.recv(), await raw.recv()
        await raw.identify()
        while "closed" not in (frame := await raw.recv()):
            pass
        return frame["closed"]

    assert raw_session(emulator, scenario) == 4005


def test_a_wrong_api_version_is_4012(emulator):
    async def scenario(raw: Raw):
        return (await raw.recv())["closed"]

    assert raw_session(emulator, scenario, query="v=6&encoding=json") == 4012


def test_resume_of_an_unknown_session_is_invalid_session_false(emulator):
    async def scenario(raw: Raw):
        await raw.recv()
        await raw.send({"op": 6, "d": {"token": TOKEN, "session_id": "nope", "seq": 3}})
        return await raw.recv()

    assert raw_session(emulator, scenario) == {"op": 9, "d": False, "s": None, "t": None}


def test_raw_resume_replays_missed_events_in_sequence(emulator):
    async def first(raw: Raw):
        await raw.recv()
        await raw.identify()
        ready = await raw.recv()
        await raw.recv()
        return ready["d"]["session_id"]

    session_id = raw_session(emulator, first)
    emulator.post(ALICE, GENERAL, "one")
    emulator.post(ALICE, GENERAL, "two")

    async def second(raw: Raw):
        await raw.recv()
        await raw.send({"op": 6, "d": {"token": TOKEN, "session_id": session_id, "seq": 2}})
        return [await raw.recv() for _ in range(3)]

    one, two, resumed = raw_session(emulator, second)
    assert [(f["t"], f["s"]) for f in (one, two, resumed)] == [
        ("MESSAGE_CREATE", 3),
        ("MESSAGE_CREATE", 4),
        ("RESUMED", 5),
    ]
    assert (one["d"]["content"], two["d"]["content"]) == ("one", "two")


def test_zstd_stream_is_offered_exactly_when_discord_py_would_ask_for_it(emulator):
    import importlib.util

    from discord.utils import _ActiveDecompressionContext

    has_zstandard = importlib.util.find_spec("zstandard") is not None
    assert (_ActiveDecompressionContext.COMPRESSION_TYPE == "zstd-stream") == has_zstandard

    async def scenario(raw: Raw):
        message = await raw.ws.receive(timeout=5)
        if message.type != aiohttp.WSMsgType.BINARY:
            return raw.ws.close_code
        return json.loads(_ActiveDecompressionContext().decompress(message.data))["op"]

    answer = raw_session(emulator, scenario, query="v=10&encoding=json&compress=zstd-stream")
    assert answer == (10 if has_zstandard else 4002)
