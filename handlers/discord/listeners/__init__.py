"""Discord listeners: each module answers one kind of event within Discord's 3 seconds and
hands the work to a durable task (`handlers.discord.tasks`)."""

from __future__ import annotations

from handlers.discord.client import TunebotClient
from handlers.discord.deps import DiscordDeps
from handlers.discord.listeners import (
    commands,
    components,
    conversations,
    messages,
    talk_commands,
    workspace_key,
)
from handlers.discord.talk_deps import TalkDeps


def register_all(client: TunebotClient, deps: DiscordDeps) -> None:
    """Every listener of the Discord front end, on one client."""
    messages.register(client, deps)
    commands.register(client, deps)
    components.register(client, deps)
    workspace_key.register(client, deps)


def register_talk(client: TunebotClient, deps: TalkDeps) -> None:
    """Talking to models: after `register_all`, whose `/finetune` group it extends."""
    conversations.register(client, deps)
    talk_commands.register(client, deps)
