"""Attachments posted in a guild channel: a durable intake task per message.

Nothing is downloaded here: the listener only writes the task (keyed by the message id, so a
gateway replay after a RESUME is harmless) and returns to the event loop. The bot's own and
other bots' messages are ignored.
"""

from __future__ import annotations

import asyncio
import logging

import discord

from finetuning.platforms import discord_workspace
from handlers.discord.client import TunebotClient
from handlers.discord.deps import DiscordDeps
from handlers.discord.files import is_dataset_name
from handlers.discord.people import place_of
from handlers.discord.tasks import INTAKE

log = logging.getLogger(__name__)


def register(client: TunebotClient, deps: DiscordDeps) -> None:
    async def on_message(message: discord.Message) -> None:
        if message.author.bot or message.guild is None:
            return
        if not any(is_dataset_name(a.filename) for a in message.attachments):
            return
        channel, thread = place_of(message.channel)
        payload = {
            "workspace": discord_workspace(message.guild.id),
            "channel": channel,
            "thread": thread,
            "message": str(message.id),
            "user": str(message.author.id),
        }
        created = await asyncio.to_thread(
            deps.enqueue, INTAKE, f"discord:intake:{message.id}", payload
        )
        if not created:
            log.info("message %s was delivered before; its intake already exists", message.id)

    client.on_messages(on_message)
