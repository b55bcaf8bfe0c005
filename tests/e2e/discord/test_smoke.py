"""`tunebot serve --discord` starts, connects to the gateway, registers /finetune, answers."""

from __future__ import annotations

import httpx

from tests.e2e.discord_deployment import DiscordDeployment
from tests.emulators.discord_emulator import ALICE, GENERAL


def test_the_bot_connects_registers_commands_and_answers_help(discord_stage: DiscordDeployment):
    discord = discord_stage.discord
    assert httpx.get(f"{discord_stage.bot.url}/healthz").json() == {"ok": True}
    (command,) = [c for c in discord.commands(guild=True) if c.name == "finetune"]
    names = {option["name"] for option in command.options}
    assert {"help"} <= names

    asked = discord.run_command(ALICE, GENERAL, "finetune help")
    answered = discord.wait_for_callback(asked.id)
    assert answered.callback is not None
    (reply,) = discord.wait_for(lambda: discord.ephemerals(ALICE) and discord.ephemerals(ALICE))
    assert "status" in reply.embeds[0]["description"]
