"""Completion notices owed to people: the outbox the follower writes and a front end empties.

Delivering has two steps that can each be interrupted by a crash: the message, then (for a
success) its loss chart. The notice records how far it got — `posting` before the message is
sent, `posted` with its timestamp after, `sent` at the end — so a restart knows which step may
already have happened and must be checked on the platform rather than repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload, sessionmaker

from finetuning.jobs.records import JobRecord
from finetuning.platforms import Platform, on_platform
from storage.models import Job, Notice, NoticeStatus
from storage.types import utcnow

MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class OwedNotice:
    """A notice not yet fully delivered, with the job it is about."""

    id: int
    kind: str
    status: str
    message_ts: str | None
    posting_since: datetime | None
    attempts: int
    job: JobRecord


class Outbox:
    """Reads and advances notices; every step is its own committed transaction."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def owed(self, limit: int = 50, *, platform: Platform | None = None) -> list[OwedNotice]:
        """Notices still to deliver, oldest first; `platform`: only those of its workspaces."""
        query = (
            select(Notice)
            .options(joinedload(Notice.job).joinedload(Job.dataset))
            .where(Notice.status != NoticeStatus.SENT.value, Notice.attempts < MAX_ATTEMPTS)
        )
        if platform is not None:
            query = query.join(Notice.job).where(on_platform(Job.workspace_id, platform))
        with self._factory() as session:
            rows = session.scalars(query.order_by(Notice.id).limit(limit))
            return [
                OwedNotice(
                    id=row.id,
                    kind=row.kind,
                    status=row.status,
                    message_ts=row.message_ts,
                    posting_since=row.posting_since,
                    attempts=row.attempts,
                    job=JobRecord.of(row.job),
                )
                for row in rows
            ]

    def begin_posting(self, notice_id: int, from_status: str) -> bool:
        """Claim the notice for posting, if it is still in `from_status`: of two processes that
        see the same notice, only one moves it on (one conditional UPDATE decides)."""
        with self._factory.begin() as session:
            claimed = session.execute(
                update(Notice)
                .where(Notice.id == notice_id, Notice.status == from_status)
                .values(
                    status=NoticeStatus.POSTING.value,
                    posting_since=utcnow(),
                    attempts=Notice.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            rows: int = claimed.rowcount  # type: ignore[attr-defined]
            return rows == 1

    def posted(self, notice_id: int, message_ts: str) -> None:
        self._set(notice_id, status=NoticeStatus.POSTED.value, message_ts=message_ts)

    def sent(self, notice_id: int) -> None:
        self._set(notice_id, status=NoticeStatus.SENT.value, sent_at=utcnow())

    def attempt_failed(self, notice_id: int, error: str) -> None:
        self._set(notice_id, last_error=error[:2000])

    def abandon(self, notice_id: int, reason: str) -> None:
        """Stop owing a notice that can never be delivered (its workspace removed the app): it
        keeps its status and the reason, and is no longer offered by `owed`."""
        self._set(notice_id, attempts=MAX_ATTEMPTS, last_error=reason[:2000])

    def _set(self, notice_id: int, **values: object) -> None:
        with self._factory.begin() as session:
            session.execute(update(Notice).where(Notice.id == notice_id).values(**values))
