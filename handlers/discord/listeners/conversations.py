"""Messages that talk to a bound model: a mention at the top of a channel, a mention in a
thread, or any message in a thread that is already a conversation.

The listener only writes a durable task (keyed by the message id, so a gateway replay after a
RESUME is a no-op) before anything else; the task starts the thread and streams the reply. A
crash after the write loses nothing: the sweep runs the task after the restart. Other bots and
the bot's own messages never start or continue a conversation (two bots answering each other
would loop until a rate limit stopped them); messages carrying a dataset file are intake's.
"""

from __future__ import annotations

import asyncio
import logging
import re

import discord

from finetuning.platforms import discord_workspace
from handlers.discord.client import TunebotClient
from handlers.discord.files import is_dataset_name
from handlers.discord.people import place_of
from handlers.discord.talk_deps import TalkDeps
from handlers.discord.tasks import TALK
from handlers.discord.tasks.talk import talk_payload

log = logging.getLogger(__name__)


def register(client: TunebotClient, deps: TalkDeps) -> None:
    async def on_message(message: discord.Message) -> None:
        if message.author.bot or message.guild is None or client.user is None:
            return
        if any(is_dataset_name(a.filename) for a in message.attachments):
            return
        me = client.user.id
        mentioned = me in message.raw_mentions
        channel, thread = place_of(message.channel)
        if channel is None or (thread is None and not mentioned):
            return
        workspace = discord_workspace(message.guild.id)
        if thread is not None and not mentioned:
            talking = await asyncio.to_thread(
                deps.conversations.is_conversation, workspace, channel, thread
            )
            if not talking:
                return
        payload = talk_payload(
            workspace=workspace,
            channel=channel,
            thread=thread,
            message=str(message.id),
            user=str(message.author.id),
            text=without_mention(message.content, me),
        )
        created = await asyncio.to_thread(
            deps.base.enqueue, TALK, f"discord:talk:{message.id}", payload
        )
        if not created:
            log.info("message %s was delivered before; it is answered once", message.id)

    client.on_messages(on_message)


def without_mention(text: str, user_id: int) -> str:
    return re.sub(rf"<@!?{user_id}>", "", text).strip()
