"""Discord listeners: each module answers one kind of event within Discord's 3 seconds and
hands the work to a durable task (`handlers.discord.tasks`)."""

from __future__ import annotations

from handlers.discord.client import TunebotClient
from handlers.discord.deps import DiscordDeps
from handlers.discord.listeners import commands


def register_all(client: TunebotClient, deps: DiscordDeps) -> None:
    """Every listener of the Discord front end, on one client."""
    commands.register(client, deps)
