"""`/finetune`: one application-command group with typed options and autocomplete.

Answers read from the database (status, list, budget, help) go out in the acknowledgement;
everything that calls OpenAI or may take longer is acknowledged ("thinking…") and becomes a
durable task, answered through the interaction's webhook.
"""

from __future__ import annotations

import discord
from discord import app_commands

from handlers.discord.client import TunebotClient
from handlers.discord.deps import DiscordDeps
from handlers.discord.render.help import help_embed

RESERVED = ("use", "ask", "compare")
"""Subcommands for talking to models, registered by `handlers.discord.listeners.talk`."""


def build_group(deps: DiscordDeps) -> app_commands.Group:
    group = app_commands.Group(
        name=deps.command.removeprefix("/"),
        description="Fine-tune OpenAI models from this server",
        guild_only=True,
    )

    @group.command(name="help", description="What tunebot can do")
    async def help_command(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(embed=help_embed(deps.command), ephemeral=True)

    return group


def register(client: TunebotClient, deps: DiscordDeps) -> None:
    client.tree.add_command(build_group(deps))
