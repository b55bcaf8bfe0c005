"""What talking to models from Discord needs beside the front end's shared `DiscordDeps`.

Kept apart so the conversation side (bindings, stored turns, the core's `Talk`, the per-channel
edit allowance) grows without touching what intake and jobs use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from finetuning.conversations import BindingStore, ConversationStore, ModelResolver, Talk
from handlers.common.call_budget import CallBudget
from handlers.discord.deps import DiscordDeps
from handlers.discord.reply_targets import InteractionTarget
from handlers.discord.streaming import DiscordReplyStream


@dataclass(frozen=True)
class TalkDeps:
    base: DiscordDeps
    conversations: ConversationStore
    resolver: ModelResolver
    talk: Talk
    edits: CallBudget
    """Discord's per-channel edit bucket, shared by every reply and comparison."""
    update_seconds: float

    @property
    def bindings(self) -> BindingStore:
        return self.base.bindings

    def stream(self, channel_id: str) -> DiscordReplyStream:
        """A new reply in a channel or thread."""
        return DiscordReplyStream.in_channel(
            self.base.bridge, self.edits, channel_id, interval=self.update_seconds
        )

    def private_stream(self, interaction: dict[str, Any], max_messages: int) -> DiscordReplyStream:
        """A new reply only the person who asked sees, through the interaction's webhook."""
        return DiscordReplyStream(
            self.base.bridge,
            InteractionTarget(interaction),
            interval=self.update_seconds,
            max_messages=max_messages,
        )
