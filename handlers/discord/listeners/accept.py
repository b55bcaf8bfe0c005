"""Acknowledge an interaction and hand its work to a durable task, losing neither.

The task row is written first, in its own transaction, but started only after Discord has the
acknowledgement: a task that ran before the ack could not answer through the interaction yet.
A crash between the write and the ack leaves a task the sweep runs after the restart (it then
answers in the channel, the interaction being unknown); a crash before the write leaves
nothing, and Discord tells the person the interaction failed. The key (the interaction id) makes
a replayed interaction a no-op.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import discord
from sqlalchemy.exc import IntegrityError

from handlers.discord.deps import DiscordDeps

log = logging.getLogger(__name__)


def interaction_ref(interaction: discord.Interaction) -> dict[str, Any]:
    """What a task needs to answer through the interaction's webhook (valid 15 minutes)."""
    return {
        "application_id": interaction.application_id,
        "token": interaction.token,
        "created": time.time(),
    }


async def accept(
    deps: DiscordDeps,
    interaction: discord.Interaction,
    kind: str,
    payload: dict[str, Any],
    *,
    ephemeral: bool,
    key: str | None = None,
) -> bool:
    """Write the task, defer the interaction ("thinking…"), start the task. False when the
    interaction was seen before (then nothing is answered: Discord has its answer)."""
    key = key or f"discord:{kind}:{interaction.id}"
    start = await asyncio.to_thread(_write, deps, kind, key, payload)
    if start is None:
        log.info("interaction %s was delivered before; not run again", interaction.id)
        return False
    try:
        await interaction.response.defer(ephemeral=ephemeral, thinking=True)
    except discord.HTTPException as exc:
        log.warning("could not acknowledge interaction %s: %s", interaction.id, exc)
    start()
    return True


def _write(
    deps: DiscordDeps, kind: str, key: str, payload: dict[str, Any]
) -> Callable[[], None] | None:
    try:
        with deps.factory.begin() as session:
            return deps.enqueue_in(session, kind, key, payload)
    except IntegrityError:
        return None
