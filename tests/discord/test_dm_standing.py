"""Who counts as an admin when a button is clicked in a DM: a click there carries a user, no
guild and no roles, so only the TUNEBOT_ADMINS ids may decide; the guild's owner or a member
with the Administrator permission is an admin in the guild, not in a DM.

Read from real clicks: the Discord emulator delivers them to a discord.py client, and
tunebot's `person_of` and `policy_refusal` judge the interaction it builds."""

from __future__ import annotations

from collections.abc import Iterator

import discord
import pytest

from finetuning.team import Action, Person, TeamPolicy
from handlers.discord.people import person_of
from handlers.discord.render.team import policy_refusal
from tests.emulators.discord_emulator import ADMIN, ADMINS_ROLE, GENERAL, OWNER, DiscordEmulator
from tests.emulators.discord_harness import BotHarness, running_bot

POLICY = TeamPolicy(admin_roles=[str(ADMINS_ROLE)], admins=[str(ADMIN)])


@pytest.fixture
def bot() -> Iterator[tuple[DiscordEmulator, BotHarness]]:
    with DiscordEmulator("standing-token") as emulator, running_bot(emulator) as harness:
        yield emulator, harness


def clicked_by(emulator: DiscordEmulator, bot: BotHarness, user: int, *, in_dm: bool) -> Person:
    """The person tunebot reads from `user`'s click on a button in their DM or in #general."""
    seen: list[Person] = []

    class Decide(discord.ui.View):
        @discord.ui.button(label="Approve", custom_id="decide")
        async def decide(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
            seen.append(person_of(interaction))
            await interaction.response.edit_message(view=None)

    async def post() -> int:
        place = (
            await bot.client.create_dm(discord.Object(user))
            if in_dm
            else bot.client.get_channel(GENERAL)
        )
        assert isinstance(place, discord.DMChannel | discord.TextChannel)
        return (await place.send("decide", view=Decide(timeout=None))).id

    click = emulator.click(user, bot.run(post()), "decide")
    emulator.wait_for_callback(click.id)
    (person,) = seen
    return person


def test_in_a_dm_only_the_listed_admins_may_decide(bot):
    emulator, harness = bot
    listed = clicked_by(emulator, harness, ADMIN, in_dm=True)
    assert listed == Person(str(ADMIN))
    assert policy_refusal(POLICY, Action.DECIDE, listed, None) is None

    owner = clicked_by(emulator, harness, OWNER, in_dm=True)
    assert owner == Person(str(OWNER)), "no roles and no guild standing in a DM"
    refusal = policy_refusal(POLICY, Action.DECIDE, owner, None)
    assert refusal is not None and "Only tunebot admins" in refusal


def test_in_the_guild_the_owner_is_an_admin_without_being_listed(bot):
    emulator, harness = bot
    owner = clicked_by(emulator, harness, OWNER, in_dm=False)
    assert owner.platform_admin
    assert policy_refusal(POLICY, Action.DECIDE, owner, str(GENERAL)) is None
