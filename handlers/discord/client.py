"""The Discord client tunebot runs: intents, the command tree, and where listeners plug in.

Listeners live in `handlers.discord.listeners` (one module per kind, each with `register`);
this class only owns what discord.py wants on the client itself: the tree, `setup_hook`, and the
event methods that fan out to registered handlers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import discord
from discord import app_commands

from handlers.discord.bridge import DiscordBridge

log = logging.getLogger(__name__)

MessageHandler = Callable[[discord.Message], Awaitable[None]]
InteractionHandler = Callable[[discord.Interaction], Awaitable[bool]]
"""Returns True when it handled the interaction (a modal submission by custom_id)."""


def tunebot_intents() -> discord.Intents:
    """Guilds and messages, plus the privileged Message Content intent: without it Discord
    sends other people's messages with empty content and no attachments."""
    intents = discord.Intents.default()
    intents.message_content = True
    return intents


class TunebotClient(discord.Client):
    """A `discord.Client` with the `/finetune` tree and hooks for tunebot's listeners."""

    def __init__(self, *, guild_ids: tuple[int, ...] = (), **options: object) -> None:
        options.setdefault("intents", tunebot_intents())
        # Nobody is pinged by what the bot writes: model names and file names are not mentions.
        options.setdefault("allowed_mentions", discord.AllowedMentions(everyone=False, roles=False))
        super().__init__(**options)  # type: ignore[arg-type]
        self.tree = app_commands.CommandTree(self)
        self.bridge = DiscordBridge(self)
        self.guild_ids = guild_ids
        self._message_handlers: list[MessageHandler] = []
        self._interaction_handlers: list[InteractionHandler] = []

    def on_messages(self, handler: MessageHandler) -> None:
        self._message_handlers.append(handler)

    def on_interactions(self, handler: InteractionHandler) -> None:
        """Handlers for interactions discord.py has no object waiting for (modals submitted
        after a restart: discord.py keeps open modals only in memory)."""
        self._interaction_handlers.append(handler)

    async def setup_hook(self) -> None:
        """Logged in, gateway not yet connected: let other threads in, register commands."""
        self.bridge.attach(asyncio.get_running_loop())
        try:
            if self.guild_ids:
                for guild_id in self.guild_ids:
                    guild = discord.Object(guild_id)
                    self.tree.copy_global_to(guild=guild)
                    await self.tree.sync(guild=guild)
            else:
                await self.tree.sync()
        except discord.HTTPException as exc:
            # Commands registered by an earlier run keep working; the next start tries again.
            log.warning("could not register the slash commands: %s", exc)

    async def on_message(self, message: discord.Message) -> None:
        for handler in self._message_handlers:
            try:
                await handler(message)
            except Exception:
                log.exception("message %s could not be handled", message.id)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        for handler in self._interaction_handlers:
            try:
                if await handler(interaction):
                    return
            except Exception:
                log.exception("interaction %s could not be handled", interaction.id)
                return
