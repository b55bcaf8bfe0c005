"""Direct messages through the Discord emulator and the real discord.py: the bot opens a DM
with a person (one channel per pair), posts there with buttons, the person's click arrives as
a DM interaction (a `user`, no guild), and Discord's refusals: 50007 for a person who takes no
DMs, 10013 for nobody at all."""

from __future__ import annotations

from collections.abc import Iterator

import discord
import pytest

from tests.emulators.discord_emulator import ADMIN, ALICE, BOB, DiscordEmulator
from tests.emulators.discord_harness import BotHarness, running_bot

NOBODY = 900000000000009999


@pytest.fixture
def emulator() -> Iterator[DiscordEmulator]:
    with DiscordEmulator("dm-token") as running:
        yield running


@pytest.fixture
def bot(emulator: DiscordEmulator) -> Iterator[BotHarness]:
    with running_bot(emulator) as harness:
        yield harness


def open_dm(bot: BotHarness, user: int) -> int:
    """The DM channel id Discord answers `POST /users/@me/channels` with (no client cache)."""

    async def opened() -> int:
        data = await bot.client.http.start_private_message(user)
        assert data["type"] == 1 and "guild_id" not in data
        assert [int(r["id"]) for r in data["recipients"]] == [user]
        return int(data["id"])

    return bot.run(opened())


def test_opening_a_dm_twice_gives_the_same_channel_and_no_guild_sees_it(emulator, bot):
    first = open_dm(bot, ALICE)
    assert open_dm(bot, ALICE) == first
    assert open_dm(bot, BOB) != first
    channel = emulator.dm_channel(ALICE)
    assert channel is not None and channel.id == first and channel.recipient_id == ALICE

    async def guild_channel_ids() -> set[int]:
        guild = await bot.client.fetch_guild(emulator.guild_id)
        return {c.id for c in await guild.fetch_channels()}

    assert first not in bot.run(guild_channel_ids())


def test_a_click_in_a_dm_reaches_the_bot_as_a_dm_interaction(emulator, bot):
    seen: list[discord.Interaction] = []

    class Decide(discord.ui.View):
        @discord.ui.button(label="Approve", custom_id="approve:7")
        async def approve(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
            seen.append(interaction)
            await interaction.response.edit_message(content="Approved", view=None)

    async def post() -> tuple[int, int]:
        dm = await bot.client.create_dm(discord.Object(ADMIN))
        message = await dm.send("job-7 needs approval", view=Decide(timeout=None))
        return dm.id, message.id

    dm_id, message_id = bot.run(post())
    (posted,) = emulator.bot_messages(dm_id)
    assert posted.id == message_id and posted.guild_id is None and posted.components
    assert bot.run(bot.client.fetch_channel(dm_id)).type is discord.ChannelType.private

    with pytest.raises(LookupError):
        emulator.click(ALICE, message_id, "approve:7")  # not her DM
    click = emulator.click(ADMIN, message_id, "approve:7")
    answered = emulator.wait_for_callback(click.id)

    assert answered.callback is not None and answered.callback.type == 7
    (interaction,) = seen
    assert interaction.guild_id is None and interaction.guild is None
    assert not isinstance(interaction.user, discord.Member) and interaction.user.id == ADMIN
    assert isinstance(interaction.channel, discord.DMChannel)
    assert interaction.context.dm_channel and not interaction.context.guild
    shown = emulator.message(message_id)
    assert shown is not None and shown.content == "Approved" and not shown.components


def test_a_person_who_takes_no_dms_cannot_be_messaged_until_they_do(emulator, bot):
    emulator.refuse_dms(BOB)

    async def send(user: int) -> None:
        dm = await bot.client.create_dm(discord.Object(user))
        await dm.send("hello")

    with pytest.raises(discord.Forbidden) as refused:
        bot.run(send(BOB))
    assert refused.value.code == 50007
    assert refused.value.text == "Cannot send messages to this user"
    assert emulator.bot_messages(open_dm(bot, BOB)) == []

    emulator.refuse_dms(BOB, refuse=False)
    bot.run(send(BOB))
    assert [m.content for m in emulator.bot_messages(open_dm(bot, BOB))] == ["hello"]


def test_a_dm_with_nobody_is_unknown_user(emulator, bot):
    with pytest.raises(discord.NotFound) as unknown:
        bot.run(bot.client.create_dm(discord.Object(NOBODY)))
    assert unknown.value.code == 10013
