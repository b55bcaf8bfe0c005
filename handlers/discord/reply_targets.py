"""Where a streamed reply's messages go: a channel (or thread), or an interaction's webhook.

A reply is posted and then edited in place either way; what differs is the call that does it
and what allows the edits. In a channel Discord counts edits per channel (5 per 5 seconds),
so channel targets share the process's `CallBudget`. An ephemeral answer only its asker sees
lives behind the interaction's webhook: it is posted as a followup (the first one fills the
deferred "thinking…" answer) and edited through the webhook, which Discord rate-limits per
webhook and token, not per channel; discord.py waits out those limits (and any 429's
`retry_after`) itself, and the reply's `Pace` keeps it at one edit per update interval.

The webhook only works while the interaction's token lives (15 minutes). Once it is gone the
target goes quiet with a log line: a private answer is never moved into the channel.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import discord

from handlers.common.call_budget import CallBudget
from handlers.discord import calls

log = logging.getLogger(__name__)

EDIT = "edit"
SILENT = discord.AllowedMentions.none()
"""What a model writes is shown, never obeyed: `@everyone`, roles and users are not pinged."""
INVALID_WEBHOOK_TOKEN = 50027
UNKNOWN_WEBHOOK = 10015


class ReplyTarget(Protocol):
    """Posting and editing the messages of one reply, and the allowance its edits count in."""

    async def post(self, client: discord.Client, text: str) -> str | None:
        """A new message showing `text`: its id, or None when it can no longer be shown."""
        ...

    async def edit(self, client: discord.Client, message_id: str, text: str) -> bool:
        """Make the message show `text` (False: it can no longer be shown); `discord.NotFound`
        if the message was deleted."""
        ...

    def reserve(self) -> None:
        """A message was posted that will need one more edit to complete."""
        ...

    def take(self, *, force: bool) -> bool:
        """Whether an edit may go now (`force`: the one that completes a message)."""
        ...


class ChannelTarget:
    """A channel or thread; its edits share the channel's bucket with every other reply."""

    def __init__(self, channel_id: str, budget: CallBudget) -> None:
        self._channel = channel_id
        self._budget = budget

    async def post(self, client: discord.Client, text: str) -> str | None:
        posted = await calls.send(client, self._channel, content=text, allowed_mentions=SILENT)
        return str(posted.id)

    async def edit(self, client: discord.Client, message_id: str, text: str) -> bool:
        await calls.edit(client, self._channel, message_id, content=text, allowed_mentions=SILENT)
        return True

    def reserve(self) -> None:
        self._budget.reserve(self._channel, EDIT)

    def take(self, *, force: bool) -> bool:
        return self._budget.take(self._channel, EDIT, force=force)


class InteractionTarget:
    """Ephemeral messages through an interaction's webhook, shown only to the person who asked.

    Not counted in any channel's bucket (Discord does not); a token that expired (or is about
    to) makes every later call a no-op, logged once, rather than an error that would retry
    the whole answer.
    """

    def __init__(self, ref: dict[str, Any]) -> None:
        self._ref = ref
        self._gone = False

    async def post(self, client: discord.Client, text: str) -> str | None:
        if not self._usable():
            return None
        try:
            sent = await calls.interaction_webhook(client, self._ref).send(
                content=text, ephemeral=True, wait=True, allowed_mentions=SILENT
            )
        except discord.HTTPException as exc:
            if not self._token_refused(exc):
                raise
            return None
        return str(sent.id)

    async def edit(self, client: discord.Client, message_id: str, text: str) -> bool:
        if not self._usable():
            return False
        try:
            await calls.interaction_webhook(client, self._ref).edit_message(
                int(message_id), content=text, allowed_mentions=SILENT
            )
        except discord.HTTPException as exc:
            if not self._token_refused(exc):
                raise
            return False
        return True

    def reserve(self) -> None:
        """Nothing to keep room for: webhook edits are not counted per channel."""

    def take(self, *, force: bool) -> bool:
        return True

    def _usable(self) -> bool:
        if not self._gone and calls.token_alive(self._ref):
            return True
        if not self._gone:
            self._gone = True
            log.warning("a private answer stopped: its interaction token expired")
        return False

    def _token_refused(self, exc: discord.HTTPException) -> bool:
        """A token Discord no longer knows ends the answer quietly; anything else (an unknown
        message, a rate limit, a server error) is the stream's to handle."""
        if exc.code not in (INVALID_WEBHOOK_TOKEN, UNKNOWN_WEBHOOK):
            return False
        self._gone = True
        log.warning("a private answer stopped: Discord refused its interaction token (%s)", exc)
        return True
