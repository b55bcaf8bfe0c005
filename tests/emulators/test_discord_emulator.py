"""The Discord emulator driven by the real discord.py: login, READY/GUILD_CREATE, messages with
attachments, threads, embeds and buttons, edits, uploads, Discord's error bodies and limits."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from collections.abc import Iterator

import discord
import pytest
from discord.gateway import DiscordWebSocket

from handlers.discord.endpoints import use_discord_api
from tests.emulators.discord_emulator import (
    ALICE,
    BOB,
    BOT_USER_ID,
    FINETUNERS_ROLE,
    GENERAL,
    GUILD_ID,
    PRIVATE,
    RANDOM,
    DiscordEmulator,
)
from tests.emulators.discord_harness import BotHarness, running_bot

TOKEN = "test-bot-token"


@pytest.fixture
def emulator() -> Iterator[DiscordEmulator]:
    with DiscordEmulator(TOKEN) as running:
        yield running


@pytest.fixture
def bot(emulator: DiscordEmulator) -> Iterator[BotHarness]:
    with running_bot(emulator) as harness:
        yield harness


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def http_error(bot: BotHarness, coro) -> discord.HTTPException:
    with pytest.raises(discord.HTTPException) as caught:
        bot.run(coro)
    return caught.value


# -- pointing discord.py at the emulator ---------------------------------------------------------


def test_use_discord_api_points_rest_and_gateway_at_the_emulator_and_back(emulator):
    gateway = use_discord_api(emulator.base_url)
    try:
        assert emulator.api_url == discord.http.Route.BASE
        assert gateway == emulator.gateway_url
        assert str(DiscordWebSocket.DEFAULT_GATEWAY) == emulator.gateway_url
    finally:
        use_discord_api(None)
    assert discord.http.Route.BASE == "https://discord.com/api/v10"
    assert str(DiscordWebSocket.DEFAULT_GATEWAY) == "wss://gateway.discord.gg/"


def test_a_wrong_token_is_refused_at_login_with_discords_401(emulator):
    use_discord_api(emulator.base_url)
    harness = BotHarness(emulator, discord.Intents.default(), token="not-the-token")
    try:
        harness.start()
        emulator.wait_for(lambda: harness.error, timeout=10)
    finally:
        harness.stop()
        use_discord_api(None)
    assert isinstance(harness.error, discord.LoginFailure)
    refused = emulator.calls_to("GET /users/@me")[-1]
    assert refused.status == 401


# -- the gateway as discord.py sees it -----------------------------------------------------------


def test_ready_then_guild_create_fill_discord_py_cache(emulator, bot):
    assert bot.events[:2] == ["READY", "GUILD_CREATE"]
    assert bot.client.user.id == BOT_USER_ID
    assert bot.client.application_id == emulator.application_id
    guild = bot.client.get_guild(GUILD_ID)
    assert guild is not None and guild.name == "tunebot-test"
    assert [c.name for c in guild.text_channels] == ["general", "random"]  # not #private
    assert {r.name for r in guild.roles} >= {"@everyone", "Fine-tuners", "Admins"}
    assert guild.me is not None and guild.me.guild_permissions.create_public_threads
    hello = next(op for op in emulator.gateway_ops if op["op"] == 2)
    assert hello["d"]["token"] == "<redacted>"
    assert hello["d"]["intents"] & (1 << 15)  # message_content asked for
    assert any(op["op"] == 1 for op in emulator.gateway_ops)  # discord.py heartbeats at once


def test_message_with_attachment_downloaded_then_thread_with_embed_and_button(emulator, bot):
    handled: list[discord.Message] = []

    async def on_message(message: discord.Message) -> None:
        if message.author.bot or not message.attachments:
            return
        data = await message.attachments[0].read()
        thread = await message.create_thread(name=f"report {message.attachments[0].filename}")
        embed = discord.Embed(title="Dataset report", description=f"{len(data.splitlines())} lines")
        view = discord.ui.View()
        view.add_item(discord.ui.Button(label="Start fine-tune", custom_id="start:ds-1"))
        handled.append(await thread.send(embed=embed, view=view))

    bot.on(on_message)
    posted = emulator.post(ALICE, GENERAL, "here", files=[("train.jsonl", b'{"a":1}\n{"a":2}\n')])
    emulator.wait_for(lambda: handled)

    (thread,) = emulator.threads(GENERAL)
    assert thread.id == posted.id and thread.name == "report train.jsonl"
    (reply,) = emulator.messages(thread.id)
    assert reply.embeds[0]["title"] == "Dataset report"
    assert reply.embeds[0]["description"] == "2 lines"
    button = reply.components[0]["components"][0]
    assert (button["label"], button["custom_id"]) == ("Start fine-tune", "start:ds-1")
    assert [d["ok"] for d in emulator.downloads] == [True]
    assert emulator.message(posted.id).thread_id == thread.id
    # discord.py saw its own thread and message come back over the gateway.
    emulator.wait_for(lambda: "THREAD_CREATE" in bot.events and bot.client.get_channel(thread.id))


def test_message_content_is_empty_without_the_message_content_intent(emulator):
    with running_bot(emulator, discord.Intents.default()) as bot:
        emulator.post(ALICE, GENERAL, "secret words", files=[("a.txt", b"x")])
        emulator.post(ALICE, GENERAL, f"<@{BOT_USER_ID}> hello bot")
        emulator.wait_for(lambda: len(bot.messages) == 2)
    assert (bot.messages[0].content, bot.messages[0].attachments) == ("", [])
    assert bot.messages[1].content == f"<@{BOT_USER_ID}> hello bot"  # mentions are exempt


def test_a_privileged_intent_the_application_lacks_is_closed_with_4014(emulator):
    intents = discord.Intents.default()
    intents.members = True
    with running_bot(emulator, intents, ready=False) as bot:
        emulator.wait_for(lambda: bot.error, timeout=10)
    assert isinstance(bot.error, discord.PrivilegedIntentsRequired)
    assert 4014 in emulator.close_codes


def test_members_intent_when_enabled_brings_every_member_and_their_roles(emulator):
    from tests.emulators.discord.world import GUILD_MEMBERS, MESSAGE_CONTENT

    emulator.set_privileged_intents(GUILD_MEMBERS | MESSAGE_CONTENT)
    intents = discord.Intents.default()
    intents.members = True
    with running_bot(emulator, intents) as bot:
        guild = bot.client.get_guild(GUILD_ID)
        alice = guild.get_member(ALICE)
        assert alice is not None and [r.id for r in alice.roles[1:]] == [FINETUNERS_ROLE]
        fetched = bot.run(guild.fetch_member(BOB))
    assert fetched.name == "bob"


# -- messages the bot writes ---------------------------------------------------------------------


def test_edits_in_place_are_kept_in_order(emulator, bot):
    channel = bot.client.get_channel(GENERAL)

    async def write() -> int:
        message = await channel.send("step 1/3")
        for step in (2, 3):
            await message.edit(content=f"step {step}/3")
        return message.id

    message_id = bot.run(write())
    message = emulator.message(message_id)
    assert message.content == "step 3/3"
    assert [v.content for v in message.edits] == ["step 1/3", "step 2/3"]
    assert message.edited is not None
    emulator.wait_for(lambda: bot.events.count("MESSAGE_UPDATE") >= 2)


def test_uploaded_file_is_stored_and_served_from_a_signed_cdn_url(emulator, bot):
    channel = bot.client.get_channel(GENERAL)
    chart = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    sent = bot.run(
        channel.send("loss chart", file=discord.File(io.BytesIO(chart), "loss chart.png"))
    )
    (attachment,) = sent.attachments
    assert attachment.filename == "loss_chart.png"  # Discord's filename rules
    assert emulator.attachment_bytes(attachment.id) == chart
    assert fetch(attachment.url) == (200, chart)
    tampered = attachment.url.replace("hm=", "hm=0")
    assert fetch(tampered) == (404, b"This content is no longer available.")
    fetched = bot.run(channel.fetch_message(sent.id))
    assert fetched.attachments[0].size == len(chart)


def test_threads_without_a_message_and_joining_them(emulator, bot):
    channel = bot.client.get_channel(GENERAL)
    thread = bot.run(
        channel.create_thread(name="conversation", type=discord.ChannelType.public_thread)
    )
    bot.run(thread.send("hello in the thread"))
    other = emulator.start_thread(ALICE, RANDOM, "alice's thread")
    seen = emulator.wait_for(lambda: bot.client.get_channel(RANDOM).get_thread(other))
    assert seen.owner_id == ALICE
    bot.run(seen.join())
    assert bot.client.user.id in emulator.channel(other).thread_members
    notice = emulator.messages(GENERAL)[-1]
    assert notice.type == 18 and notice.content == "conversation"  # THREAD_CREATED
    assert [m.content for m in emulator.messages(thread.id)] == ["hello in the thread"]


def test_history_lists_newest_first_and_fetch_finds_one(emulator, bot):
    ids = [emulator.post(ALICE, GENERAL, f"m{i}").id for i in range(5)]
    channel = bot.client.get_channel(GENERAL)

    async def history() -> list[str]:
        return [m.content async for m in channel.history(limit=3)]

    assert bot.run(history()) == ["m4", "m3", "m2"]
    assert bot.run(channel.fetch_message(ids[1])).content == "m1"


def test_an_enforced_nonce_sent_again_answers_the_first_message_and_posts_nothing(emulator, bot):
    channel = bot.client.get_channel(GENERAL)
    first = bot.run(channel.send("the fixed file", nonce="fix-1"))  # discord.py enforces it

    again = bot.run(channel.send("the fixed file, sent again", nonce="fix-1"))

    assert (again.id, again.content, again.nonce) == (first.id, "the fixed file", "fix-1")
    assert [m.content for m in emulator.messages(GENERAL)] == ["the fixed file"]
    assert emulator.calls_to(MESSAGES)[-1].body["enforce_nonce"] is True
    assert "nonce" not in emulator.rendered(first.id), "a fetched message has no nonce"
    other = bot.run(channel.send("another", nonce="fix-2"))
    # Dispatches keep their order: a MESSAGE_CREATE for the repeat would come before this one.
    emulator.wait_for(lambda: any(m.id == other.id for m in bot.messages))
    assert [(m.id, m.nonce) for m in bot.messages] == [(first.id, "fix-1"), (other.id, "fix-2")]


def test_a_nonce_is_only_enforced_when_asked_and_for_a_few_minutes(emulator, bot):
    plain = {"content": "twice", "nonce": "same"}
    ids = {bot.run(bot.client.http.request(_messages_route(), json=plain))["id"] for _ in "ab"}
    assert len(ids) == 2, "without enforce_nonce a nonce only labels the message"
    enforced = {"content": "late", "nonce": "late", "enforce_nonce": True}
    first = bot.run(bot.client.http.request(_messages_route(), json=enforced))
    emulator.nonce_window = 0.0  # as if the few minutes had passed
    later = bot.run(bot.client.http.request(_messages_route(), json=enforced))
    assert later["id"] != first["id"] and later["nonce"] == "late"


def test_a_nonce_over_25_characters_is_50035(emulator, bot):
    error = http_error(bot, bot.client.get_channel(GENERAL).send("hi", nonce="n" * 26))
    assert error.code == 50035 and "In nonce: Must be 25 or fewer in length." in error.text
    assert emulator.messages(GENERAL) == []


# -- Discord's refusals --------------------------------------------------------------------------


def test_unknown_channel_and_message_are_10003_and_10008(emulator, bot):
    error = http_error(bot, bot.client.http.send_message(123, params=_params("hi")))
    assert isinstance(error, discord.NotFound) and error.code == 10003
    error = http_error(bot, bot.client.get_channel(GENERAL).fetch_message(42))
    assert isinstance(error, discord.NotFound) and error.code == 10008
    assert error.text == "Unknown Message"


def test_a_channel_the_bot_cannot_see_is_50001_missing_access(emulator, bot):
    error = http_error(bot, bot.client.http.send_message(PRIVATE, params=_params("hi")))
    assert isinstance(error, discord.Forbidden) and error.code == 50001


def test_content_over_2000_characters_is_50035_with_the_field_path(emulator, bot):
    channel = bot.client.get_channel(GENERAL)
    error = http_error(bot, channel.send("x" * 2001))
    assert error.status == 400 and error.code == 50035
    assert "In content: Must be 2000 or fewer in length." in error.text
    bot.run(channel.send("x" * 2000))  # the limit itself is fine


def test_embed_limits_ten_embeds_and_six_thousand_characters(emulator, bot):
    channel = bot.client.get_channel(GENERAL)
    # discord.py refuses 11 embeds itself, so this one goes out raw, as another client might.
    eleven = {"embeds": [{"title": str(i)} for i in range(11)]}
    error = http_error(bot, bot.client.http.request(_messages_route(), json=eleven))
    assert error.code == 50035 and "In embeds: Must be 10 or fewer in length." in error.text
    big = [discord.Embed(description="d" * 4000), discord.Embed(description="d" * 2001)]
    error = http_error(bot, channel.send(embeds=big))
    assert error.code == 50035 and "Embed size exceeds maximum size of 6000" in error.text


def test_an_empty_message_is_50006(emulator, bot):
    error = http_error(bot, bot.client.http.send_message(GENERAL, params=_params("")))
    assert error.code == 50006 and error.text == "Cannot send an empty message"


def test_a_file_over_25_mib_is_413_40005(emulator, bot):
    channel = bot.client.get_channel(GENERAL)
    huge = discord.File(io.BytesIO(b"\0" * (25 * 1024 * 1024 + 1)), "big.jsonl")
    error = http_error(bot, channel.send(file=huge))
    assert (error.status, error.code) == (413, 40005)
    assert emulator.messages(GENERAL) == []


def test_editing_a_persons_message_is_50005(emulator, bot):
    posted = emulator.post(ALICE, GENERAL, "mine")
    message = bot.run(bot.client.get_channel(GENERAL).fetch_message(posted.id))
    error = http_error(bot, message.edit(content="bot was here"))
    assert isinstance(error, discord.Forbidden) and error.code == 50005
    assert emulator.message(posted.id).content == "mine"


def test_a_second_thread_on_one_message_is_160004(emulator, bot):
    posted = emulator.post(ALICE, GENERAL, "file")
    message = bot.run(bot.client.get_channel(GENERAL).fetch_message(posted.id))
    bot.run(message.create_thread(name="one"))
    error = http_error(bot, message.create_thread(name="two"))
    assert error.code == 160004


def test_unknown_routes_and_missing_tokens_answer_like_discord(emulator):
    status, body = fetch(emulator.api_url + "/no/such/route")
    assert (status, body) == (404, b'{"message": "404: Not Found", "code": 0}')
    status, body = fetch(emulator.api_url + f"/channels/{GENERAL}/messages")
    assert (status, body) == (401, b'{"message": "401: Unauthorized", "code": 0}')


def _params(content: str):
    from discord.http import handle_message_parameters

    return handle_message_parameters(content=content)


MESSAGES = "POST /channels/{channel_id}/messages"


def _messages_route():
    from discord.http import Route

    return Route("POST", "/channels/{channel_id}/messages", channel_id=GENERAL)


def test_the_cdn_can_redirect_answer_a_web_page_or_point_at_a_foreign_host(emulator):
    def url_of(serve: str) -> str:
        posted = emulator.post(ALICE, GENERAL, "", files=[("t.jsonl", b"{}\n")], serve=serve)
        return emulator.attachment(posted.attachment_ids[0])["url"]

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as moved:
        opener.open(url_of("redirect"), timeout=5)
    assert moved.value.code == 302
    assert moved.value.headers["Location"].startswith(f"http://{emulator.foreign_host}/")
    with urllib.request.urlopen(url_of("html"), timeout=5) as page:
        assert page.headers["Content-Type"].startswith("text/html")
    foreign = url_of("foreign")
    assert foreign.startswith(f"http://{emulator.foreign_host}/attachments/")
    assert emulator.foreign_requests == []
    assert fetch(foreign)[0] == 200
    assert [r["path"] for r in emulator.foreign_requests] == ["/" + foreign.split("/", 3)[3]]
    assert [d["ok"] for d in emulator.downloads] == [True, True]
