"""The Discord calls tasks and the notifier make, as coroutines for `DiscordBridge.call`.

Small and few on purpose: posting, editing and reading back messages in a channel or thread,
and answering an interaction through its webhook after the acknowledgement.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import discord

log = logging.getLogger(__name__)

TOKEN_LIFETIME_S = 15 * 60
TOKEN_MARGIN_S = 30
"""An interaction token older than 14½ minutes is not tried: the answer goes to the channel."""


Place = discord.TextChannel | discord.Thread | discord.DMChannel


async def channel(client: discord.Client, channel_id: int | str) -> Place:
    """A text channel, thread or DM by id, from the cache or else from the API."""
    found = client.get_channel(int(channel_id))
    if found is None:
        found = await client.fetch_channel(int(channel_id))
    if not isinstance(found, Place):
        raise TypeError(f"channel {channel_id} is not a text channel, thread or DM")
    return found


async def open_dm(client: discord.Client, user_id: int | str) -> discord.DMChannel:
    """The bot's DM channel with a person: Discord keeps one per pair, so this is the same
    channel every time (whether they take DMs shows only when something is sent)."""
    return await client.create_dm(discord.Object(int(user_id)))


async def send(client: discord.Client, channel_id: int | str, **kwargs: Any) -> discord.Message:
    return await (await channel(client, channel_id)).send(**kwargs)


async def edit(
    client: discord.Client, channel_id: int | str, message_id: int | str, **kwargs: Any
) -> None:
    target = (await channel(client, channel_id)).get_partial_message(int(message_id))
    await target.edit(**kwargs)


async def find_mine(
    client: discord.Client,
    channel_id: int | str,
    matches: Any,
    *,
    after: int | None = None,
    limit: int = 100,
) -> discord.Message | None:
    """The bot's own message in a channel or thread for which `matches(message)` holds."""
    place = await channel(client, channel_id)
    since = discord.Object(after) if after is not None else None
    async for message in place.history(limit=limit, after=since):
        if client.user is not None and message.author.id == client.user.id and matches(message):
            found: discord.Message = message
            return found
    return None


def interaction_webhook(client: discord.Client, ref: dict[str, Any]) -> discord.Webhook:
    """The followup webhook of an interaction a listener acknowledged, rebuilt from its id and
    token as discord.py builds `Interaction.followup` (a task has no Interaction object)."""
    payload: Any = {"id": int(ref["application_id"]), "type": 3, "token": ref["token"]}
    return discord.Webhook.from_state(data=payload, state=client._connection)


def token_alive(ref: dict[str, Any] | None) -> bool:
    if not ref:
        return False
    return time.time() - float(ref.get("created") or 0) < TOKEN_LIFETIME_S - TOKEN_MARGIN_S


async def answer(
    client: discord.Client,
    ref: dict[str, Any] | None,
    fallback_channel: int | str | None,
    *,
    content: str | None = None,
    embeds: Sequence[discord.Embed] = (),
    files: Sequence[discord.File] = (),
    ephemeral: bool = True,
    mention: int | str | None = None,
) -> None:
    """Answer through the interaction (first followup fills the "thinking…" message); when
    its token is gone, post in the channel instead, naming the person, unless the answer was
    private (then it is dropped with a log line: a channel must not see it)."""
    if token_alive(ref):
        assert ref is not None
        try:
            await interaction_webhook(client, ref).send(
                content=content or discord.utils.MISSING,
                embeds=list(embeds),
                files=list(files),
                ephemeral=ephemeral,
                wait=True,
            )
            return
        except discord.NotFound as exc:
            log.info("interaction answer not possible (%s); answering in the channel", exc)
        except discord.HTTPException as exc:
            if exc.status == 429 or exc.status >= 500:
                raise
            log.info("interaction answer refused (%s); answering in the channel", exc)
    if fallback_channel is None or (ephemeral and files):
        log.warning("a private answer could not be delivered: its interaction expired")
        return
    prefix = f"<@{mention}> " if mention else ""
    await send(
        client,
        fallback_channel,
        content=(prefix + (content or "")).strip() or None,
        embeds=list(embeds),
        allowed_mentions=discord.AllowedMentions(users=True, everyone=False, roles=False),
    )
