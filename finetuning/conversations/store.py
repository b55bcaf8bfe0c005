"""Conversations: one per thread, with every turn said in it, each stored once.

The thread is the unit because that is where a chat platform keeps a back-and-forth; turns are
keyed by their chat message, so a redelivered event or a retried reply never shows up twice in
what the model is shown next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Literal, cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from finetuning.conversations.settings import ReplySettings
from finetuning.provider import Usage
from storage.models import Conversation as ConversationRow
from storage.models import ConversationTurn

TurnRole = Literal["user", "assistant"]


@dataclass(frozen=True)
class Conversation:
    """A thread talking with a model, and how the model answers there."""

    id: int
    workspace_id: str
    channel_id: str
    thread_ts: str
    model: str
    settings: ReplySettings
    created_by: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: ConversationRow) -> Conversation:
        return cls(
            id=row.id,
            workspace_id=row.workspace_id,
            channel_id=row.channel_id,
            thread_ts=row.thread_ts,
            model=row.model,
            settings=ReplySettings(row.system_prompt, row.temperature, row.max_tokens),
            created_by=row.created_by,
            created_at=row.created_at,
        )


@dataclass(frozen=True)
class Turn:
    """One message of a conversation. `reply_to_ts` is set on replies (the message answered);
    `model` and the token counts only on replies."""

    role: TurnRole
    content: str
    message_ts: str
    reply_to_ts: str | None = None
    author: str | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    created_at: datetime | None = None

    @classmethod
    def of(cls, row: ConversationTurn) -> Turn:
        return cls(
            role=cast(TurnRole, row.role),
            content=row.content,
            message_ts=row.message_ts,
            reply_to_ts=row.reply_to_ts,
            author=row.author,
            model=row.model,
            prompt_tokens=row.prompt_tokens,
            completion_tokens=row.completion_tokens,
            created_at=row.created_at,
        )


class ConversationStore:
    """Conversations of every workspace; turns are addressed by conversation id."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def open(
        self,
        workspace_id: str,
        channel_id: str,
        thread_ts: str,
        model: str,
        settings: ReplySettings,
        by: str | None = None,
    ) -> Conversation:
        """The thread's conversation, created on first call; a later call with another model or
        other settings switches the thread to them (its turns stay)."""
        for _ in range(2):
            try:
                with self._factory.begin() as session:
                    row = self._row(session, workspace_id, channel_id, thread_ts)
                    if row is None:
                        row = ConversationRow(
                            workspace_id=workspace_id,
                            channel_id=channel_id,
                            thread_ts=thread_ts,
                            created_by=by,
                        )
                        session.add(row)
                    row.model = model
                    row.system_prompt = settings.system_prompt
                    row.temperature = settings.temperature
                    row.max_tokens = settings.max_tokens
                    session.flush()
                    return Conversation.of(row)
            except IntegrityError:
                continue  # opened by a concurrent delivery: update that one
        raise RuntimeError("could not open the conversation: it kept changing underneath")

    def find(self, workspace_id: str, channel_id: str, thread_ts: str) -> Conversation | None:
        with self._factory() as session:
            row = self._row(session, workspace_id, channel_id, thread_ts)
            return Conversation.of(row) if row is not None else None

    def is_conversation(self, workspace_id: str, channel_id: str, thread_ts: str) -> bool:
        """Whether the thread is a conversation: one indexed lookup of one column, cheap
        enough to ask for every thread message before acknowledging the platform."""
        with self._factory() as session:
            found = session.scalar(
                select(ConversationRow.id)
                .where(
                    ConversationRow.workspace_id == workspace_id,
                    ConversationRow.channel_id == channel_id,
                    ConversationRow.thread_ts == thread_ts,
                )
                .limit(1)
            )
            return found is not None

    def add_user_turn(
        self, conversation_id: int, message_ts: str, text: str, author: str | None = None
    ) -> bool:
        """Store a person's message; False when it was already stored (a redelivery)."""
        return self._add(
            ConversationTurn(
                conversation_id=conversation_id,
                role="user",
                content=text,
                message_ts=message_ts,
                author=author,
            )
        )

    def add_assistant_turn(
        self,
        conversation_id: int,
        reply_to_ts: str,
        text: str,
        message_ts: str,
        model: str,
        usage: Usage | None = None,
    ) -> bool:
        """Store the model's reply (message `message_ts`) to the message `reply_to_ts`; False
        when that reply message was already stored."""
        return self._add(
            ConversationTurn(
                conversation_id=conversation_id,
                role="assistant",
                content=text,
                message_ts=message_ts,
                reply_to_ts=reply_to_ts,
                model=model,
                prompt_tokens=usage.prompt_tokens if usage else None,
                completion_tokens=usage.completion_tokens if usage else None,
            )
        )

    def answered(self, conversation_id: int, message_ts: str) -> bool:
        """Whether a reply to the message is stored: a retried task must not answer twice."""
        with self._factory() as session:
            found = session.scalar(
                select(ConversationTurn.id)
                .where(
                    ConversationTurn.conversation_id == conversation_id,
                    ConversationTurn.role == "assistant",
                    ConversationTurn.reply_to_ts == message_ts,
                )
                .limit(1)
            )
            return found is not None

    def history(self, conversation_id: int, up_to_ts: str) -> list[Turn]:
        """The person's messages up to and including `up_to_ts`, oldest first, each followed by
        the replies to it. Replies to later messages are left out, so replaying an older message
        shows the model what it saw then."""
        with self._factory() as session:
            rows = session.scalars(
                select(ConversationTurn).where(ConversationTurn.conversation_id == conversation_id)
            )
            turns = [Turn.of(row) for row in rows]
        limit = message_order(up_to_ts)
        asked = sorted(
            (t for t in turns if t.role == "user" and message_order(t.message_ts) <= limit),
            key=lambda t: message_order(t.message_ts),
        )
        replies: dict[str, list[Turn]] = {}
        for turn in sorted(turns, key=lambda t: message_order(t.message_ts)):
            if turn.role == "assistant" and turn.reply_to_ts is not None:
                replies.setdefault(turn.reply_to_ts, []).append(turn)
        ordered: list[Turn] = []
        for turn in asked:
            ordered.append(turn)
            ordered.extend(replies.get(turn.message_ts, []))
        return ordered

    def _add(self, turn: ConversationTurn) -> bool:
        try:
            with self._factory.begin() as session:
                if self._has_turn(session, turn):
                    return False
                session.add(turn)
            return True
        except IntegrityError:
            # Raced with a concurrent delivery of the same message; anything else (an unknown
            # conversation) is a bug to surface, not a duplicate to swallow.
            with self._factory() as session:
                if self._has_turn(session, turn):
                    return False
            raise

    @staticmethod
    def _has_turn(session: Session, turn: ConversationTurn) -> bool:
        found = session.scalar(
            select(ConversationTurn.id).where(
                ConversationTurn.conversation_id == turn.conversation_id,
                ConversationTurn.role == turn.role,
                ConversationTurn.message_ts == turn.message_ts,
            )
        )
        return found is not None

    @staticmethod
    def _row(
        session: Session, workspace_id: str, channel_id: str, thread_ts: str
    ) -> ConversationRow | None:
        return session.scalar(
            select(ConversationRow).where(
                ConversationRow.workspace_id == workspace_id,
                ConversationRow.channel_id == channel_id,
                ConversationRow.thread_ts == thread_ts,
            )
        )


def message_order(ts: str) -> tuple[Decimal, str]:
    """A sort key for message ids: Slack's "1700000000.000100" and Discord's snowflakes are
    numbers, and compare wrongly as text once their lengths differ."""
    try:
        number = Decimal(ts)
    except InvalidOperation:
        number = Decimal("Infinity")
    if not number.is_finite():
        number = Decimal("Infinity")
    return number, ts
