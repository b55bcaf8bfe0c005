"""Named leases in the database: one holder at a time, taken over when the holder stops renewing.

Chosen over PostgreSQL advisory locks because it works the same on SQLite, survives connection
pool churn (an advisory lock lives and dies with one connection), and expiry is explicit: a
process that hangs without dying loses the lease too.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Lease
from storage.types import utcnow


class LeaseStore:
    """Try to hold, renew and release named leases."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def acquire(self, name: str, holder: str, ttl: timedelta) -> bool:
        """Take or renew the lease; True while `holder` has it.

        One conditional UPDATE (or the INSERT of a new row) decides, so two processes racing
        for an expired lease cannot both win.
        """
        now = utcnow()
        with self._factory.begin() as session:
            taken = session.execute(
                update(Lease)
                .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
                .values(holder=holder, expires_at=now + ttl)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return True
        try:
            with self._factory.begin() as session:
                session.add(Lease(name=name, holder=holder, expires_at=now + ttl))
            return True
        except IntegrityError:
            return False

    def release(self, name: str, holder: str) -> None:
        """Give the lease up at once (on shutdown), so another process need not wait."""
        with self._factory.begin() as session:
            session.execute(
                update(Lease)
                .where(Lease.name == name, Lease.holder == holder)
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )

    def holder(self, name: str) -> str | None:
        with self._factory() as session:
            lease = session.get(Lease, name)
            return lease.holder if lease is not None and lease.expires_at > utcnow() else None
