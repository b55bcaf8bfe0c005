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
    assert {"start", "status", "list", "cancel", "pause", "resume", "events", "models"} <= names
    assert {"delete", "budget", "audit", "key", "help"} <= names

    asked = discord.run_command(ALICE, GENERAL, "finetune help")
    answered = discord.wait_for_callback(asked.id)
    assert answered.callback is not None
    assert answered.callback.data["flags"] & 64, "help is private"
    assert "status" in answered.callback.data["embeds"][0]["description"]
