"""Monthly budgets: what a workspace (and each person in it) has spent, committed and has left.

Money counts as soon as it is committed, not when the invoice comes: a job that is waiting,
queued or running will cost about its estimate, so two people cannot each start a job that fits
the budget alone and overrun it together. When a job ends, its estimate gives way to what it
actually cost (booked by the follower from the trained tokens). A month is a calendar month in
UTC; jobs still running from last month stay committed until they end.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Job, JobStatus
from storage.types import utcnow

COMMITTED_STATUSES = frozenset(
    {
        JobStatus.PENDING.value,
        JobStatus.AWAITING_APPROVAL.value,
        JobStatus.VALIDATING_FILES.value,
        JobStatus.QUEUED.value,
        JobStatus.RUNNING.value,
        JobStatus.PAUSED.value,
    }
)
"""Jobs whose money is spoken for but not yet known: their estimate counts."""
_CENTS = Decimal("0.0001")


def to_usd(value: Decimal | float | int | str | None) -> Decimal:
    """An amount as the database stores it (4 decimal places); None is nothing."""
    if value is None:
        return Decimal(0)
    return Decimal(str(value)).quantize(_CENTS, rounding=ROUND_HALF_UP)


class Scope(StrEnum):
    WORKSPACE = "workspace"
    USER = "user"


@dataclass(frozen=True)
class BudgetLimits:
    """Monthly caps in USD; None = no cap."""

    workspace_usd: Decimal | None = None
    user_usd: Decimal | None = None

    @property
    def any(self) -> bool:
        return self.workspace_usd is not None or self.user_usd is not None


@dataclass(frozen=True)
class Spending:
    """One scope's month: actual cost of ended jobs, estimates of unfinished ones, the cap."""

    spent: Decimal
    committed: Decimal
    limit: Decimal | None

    @property
    def total(self) -> Decimal:
        return self.spent + self.committed

    @property
    def left(self) -> Decimal | None:
        """What may still be committed this month; None without a cap, never below zero."""
        if self.limit is None:
            return None
        return max(Decimal(0), self.limit - self.total)


@dataclass(frozen=True)
class BudgetStatus:
    """The month's figures for a workspace and for one person in it."""

    month: datetime
    """The first instant of the month (UTC)."""
    workspace: Spending
    user: Spending


@dataclass(frozen=True)
class OverBudget:
    """A start that does not fit: which cap, how much was left before it, and its estimate."""

    scope: Scope
    limit: Decimal
    left: Decimal
    estimate: Decimal
    month: datetime


def month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(start: datetime) -> datetime:
    return (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )


class BudgetBook:
    """Reads spending from the jobs table; holds no state of its own, so replicas agree."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        limits: BudgetLimits,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._factory = factory
        self.limits = limits
        self._clock = clock

    def status(self, workspace_id: str, user_id: str) -> BudgetStatus:
        """This month for the workspace and for `user_id` (two queries, no provider call)."""
        month = month_start(self._clock())
        with self._factory() as session:
            return BudgetStatus(
                month=month,
                workspace=self._spending(session, month, workspace_id, None),
                user=self._spending(session, month, workspace_id, user_id),
            )

    def lock(self, session: Session, workspace_id: str) -> None:
        """Serialise budget checks of one workspace until `session`'s transaction ends.

        PostgreSQL gets a transaction-scoped advisory lock; SQLite has one writer at a time, and
        the caller writes the new job before it sums, so its write lock does the same there.
        """
        if session.get_bind().dialect.name == "postgresql":
            key = zlib.crc32(f"tunebot-budget:{workspace_id}".encode())
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    def over(
        self, session: Session, workspace_id: str, user_id: str | None, estimate: Decimal
    ) -> OverBudget | None:
        """Whether a start of `estimate` breaks a cap, read inside the caller's transaction in
        which the new job is already written (so it is part of what is committed)."""
        if not self.limits.any:
            return None
        month = month_start(self._clock())
        scopes: list[tuple[Scope, Decimal | None, str | None]] = [
            (Scope.WORKSPACE, self.limits.workspace_usd, None),
            (Scope.USER, self.limits.user_usd, user_id),
        ]
        for scope, limit, user in scopes:
            if limit is None or (scope is Scope.USER and user is None):
                continue
            spending = self._spending(session, month, workspace_id, user, limit)
            if spending.total > limit:
                left = max(Decimal(0), limit - (spending.total - estimate))
                return OverBudget(scope, limit, left, estimate, month)
        return None

    def _spending(
        self,
        session: Session,
        month: datetime,
        workspace_id: str,
        user_id: str | None,
        limit: Decimal | None = None,
    ) -> Spending:
        if limit is None:
            limit = self.limits.workspace_usd if user_id is None else self.limits.user_usd
        scope = [Job.workspace_id == workspace_id]
        if user_id is not None:
            scope.append(Job.started_by == user_id)
        spent = session.scalar(
            select(func.sum(Job.actual_cost_usd)).where(
                *scope,
                Job.status.not_in(COMMITTED_STATUSES),
                Job.finished_at >= month,
                Job.finished_at < next_month(month),
            )
        )
        committed = session.scalar(
            select(func.sum(Job.estimated_cost_usd)).where(
                *scope, Job.status.in_(COMMITTED_STATUSES)
            )
        )
        return Spending(spent=to_usd(spent), committed=to_usd(committed), limit=limit)
