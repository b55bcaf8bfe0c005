"""Which model answers in a channel, or in one thread of it.

A thread binding wins over its channel's: a team can try a new model in one thread while the
channel keeps answering with the one it trusts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import SYSTEM, AuditLog
from finetuning.conversations.settings import ReplySettings
from storage.models import ChannelBinding
from storage.types import utcnow

WHOLE_CHANNEL = ""
"""The `thread_ts` of a binding that covers the whole channel."""


@dataclass(frozen=True)
class Binding:
    """A model bound to a channel (`thread_ts` "") or to one thread."""

    workspace_id: str
    channel_id: str
    thread_ts: str
    model: str
    settings: ReplySettings
    created_by: str | None
    created_at: datetime

    @property
    def whole_channel(self) -> bool:
        return self.thread_ts == WHOLE_CHANNEL

    @classmethod
    def of(cls, row: ChannelBinding) -> Binding:
        return cls(
            workspace_id=row.workspace_id,
            channel_id=row.channel_id,
            thread_ts=row.thread_ts,
            model=row.model,
            settings=ReplySettings(row.system_prompt, row.temperature, row.max_tokens),
            created_by=row.created_by,
            created_at=row.created_at,
        )


class BindingStore:
    """Bindings of every workspace, each call scoped to one."""

    def __init__(self, factory: sessionmaker[Session], *, audit: AuditLog) -> None:
        self._factory = factory
        self._audit = audit

    def bind(
        self,
        workspace_id: str,
        channel_id: str,
        model: str,
        settings: ReplySettings,
        *,
        thread_ts: str = WHOLE_CHANNEL,
        by: str | None = None,
    ) -> Binding:
        """Bind the model, replacing whatever was bound to the same place."""
        for _ in range(2):
            try:
                with self._factory.begin() as session:
                    row = self._row(session, workspace_id, channel_id, thread_ts)
                    if row is None:
                        row = ChannelBinding(
                            workspace_id=workspace_id, channel_id=channel_id, thread_ts=thread_ts
                        )
                        session.add(row)
                    elif _same(row, model, settings, by):
                        return Binding.of(row)  # a repeated request: nothing changes
                    row.model = model
                    row.system_prompt = settings.system_prompt
                    row.temperature = settings.temperature
                    row.max_tokens = settings.max_tokens
                    # A new binding replaces the old one: it is created now, by whoever bound it.
                    row.created_by = by
                    row.created_at = utcnow()
                    session.flush()
                    bound = Binding.of(row)
                    self._audit.record_in(
                        session,
                        workspace_id,
                        by or SYSTEM,
                        "binding.set",
                        _place(channel_id, thread_ts),
                        detail={
                            "model": model,
                            "system_prompt": settings.system_prompt,
                            "temperature": settings.temperature,
                            "max_tokens": settings.max_tokens,
                        },
                    )
                    return bound
            except IntegrityError:
                continue  # another request bound the same place first: update theirs
        raise RuntimeError("could not bind: the binding kept changing underneath")

    def unbind(
        self,
        workspace_id: str,
        channel_id: str,
        *,
        thread_ts: str = WHOLE_CHANNEL,
        by: str | None = None,
    ) -> Binding | None:
        """Remove the binding of exactly this place; the removed binding, or None."""
        with self._factory.begin() as session:
            row = self._row(session, workspace_id, channel_id, thread_ts)
            if row is None:
                return None
            removed = Binding.of(row)
            session.execute(delete(ChannelBinding).where(ChannelBinding.id == row.id))
            self._audit.record_in(
                session,
                workspace_id,
                by or SYSTEM,
                "binding.removed",
                _place(channel_id, thread_ts),
                detail={"model": removed.model},
            )
            return removed

    def lookup(self, workspace_id: str, channel_id: str, thread_ts: str | None) -> Binding | None:
        """The binding that applies to a message: its thread's, else its channel's."""
        places = [WHOLE_CHANNEL] if not thread_ts else [WHOLE_CHANNEL, thread_ts]
        with self._factory() as session:
            row = session.scalar(
                select(ChannelBinding)
                .where(
                    ChannelBinding.workspace_id == workspace_id,
                    ChannelBinding.channel_id == channel_id,
                    ChannelBinding.thread_ts.in_(places),
                )
                # A thread's ts sorts after "", so the thread binding comes first.
                .order_by(ChannelBinding.thread_ts.desc())
                .limit(1)
            )
            return Binding.of(row) if row is not None else None

    def for_channel(self, workspace_id: str, channel_id: str) -> list[Binding]:
        """The channel's binding first (if any), then its threads', oldest thread first."""
        with self._factory() as session:
            rows = session.scalars(
                select(ChannelBinding)
                .where(
                    ChannelBinding.workspace_id == workspace_id,
                    ChannelBinding.channel_id == channel_id,
                )
                .order_by(ChannelBinding.thread_ts)
            )
            return [Binding.of(row) for row in rows]

    @staticmethod
    def _row(
        session: Session, workspace_id: str, channel_id: str, thread_ts: str
    ) -> ChannelBinding | None:
        return session.scalar(
            select(ChannelBinding).where(
                ChannelBinding.workspace_id == workspace_id,
                ChannelBinding.channel_id == channel_id,
                ChannelBinding.thread_ts == thread_ts,
            )
        )


def _place(channel_id: str, thread_ts: str) -> str:
    """The audit subject: the channel, or one thread of it."""
    return f"{channel_id}/{thread_ts}" if thread_ts else channel_id


def _same(row: ChannelBinding, model: str, settings: ReplySettings, by: str | None) -> bool:
    """Whether a bind repeats the current binding (a retried task, a second click): it then
    changes nothing, keeps its date and is not logged again."""
    return (row.model, row.system_prompt, row.temperature, row.max_tokens, row.created_by) == (
        model,
        settings.system_prompt,
        settings.temperature,
        settings.max_tokens,
        by,
    )
