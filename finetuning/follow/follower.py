"""Following jobs: one cycle reads what changed at the provider and records it durably.

Everything the follower knows lives in the database (status, last event seen, the notices owed),
so a cycle can be cut short by a crash at any point and the next one, in this process or
another, carries on. A cycle's cost grows with the jobs that changed or are running, not with the
quiet ones: one paginated listing covers every job, details are fetched only where needed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import SYSTEM, AuditLog
from finetuning.credentials import Account, Accounts
from finetuning.datasets.models import ModelCatalog, UnknownModelError
from finetuning.provider import JobEventSnapshot, JobSnapshot, OpenAIProvider, ProviderError
from storage.models import Job, JobEvent, JobStatus, Notice
from storage.types import utcnow

log = logging.getLogger(__name__)

TERMINAL = frozenset({JobStatus.SUCCEEDED.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value})
FOLLOWED = frozenset(
    {
        JobStatus.PENDING.value,
        JobStatus.VALIDATING_FILES.value,
        JobStatus.QUEUED.value,
        JobStatus.RUNNING.value,
        JobStatus.PAUSED.value,
    }
)
EVENTS_PER_FETCH = 100
MAX_EVENT_PAGES = 20
CLOCK_SKEW = timedelta(minutes=10)
"""How far the provider's clock may run behind ours when deciding the listing is old enough."""


@dataclass
class CycleStats:
    """What one cycle did, for logs and the benchmark."""

    active: int = 0
    api_calls: int = 0
    changed: int = 0
    finished: int = 0


@dataclass(frozen=True)
class _Followed:
    id: int
    workspace_id: str
    provider_job_id: str
    status: str
    last_event_id: str | None
    created_at: datetime


class Follower:
    """Reads the provider's view of every active job and stores what changed."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        accounts: Accounts,
        catalog: ModelCatalog,
        *,
        audit: AuditLog,
        clock: Callable[[], datetime] = utcnow,
        page_size: int = 100,
    ) -> None:
        self._factory = factory
        self._audit = audit
        self._accounts = accounts
        self._catalog = catalog
        self._clock = clock
        self._page_size = page_size

    def poll_once(self) -> CycleStats:
        """One cycle over every OpenAI account that has active jobs, one listing each.

        Raises the first retryable ProviderError once every account had its turn (so the
        scheduler backs off); an account that is down does not hold up the others, and nothing
        is lost either way.
        """
        stats = CycleStats()
        active = self._active()
        stats.active = len(active)
        outage: ProviderError | None = None
        for account, jobs in self._by_account(active):
            try:
                self._poll_account(account.jobs, jobs, stats)
            except ProviderError as exc:
                if not exc.retryable:
                    raise
                log.warning("cannot follow the jobs of account %s now: %s", account.id, exc)
                outage = outage or exc
        if outage is not None:
            raise outage
        return stats

    def _by_account(self, active: list[_Followed]) -> list[tuple[Account, list[_Followed]]]:
        """Active jobs grouped by the account of their workspace (whose key alone sees them).

        A workspace without a usable key keeps its jobs as they are: they are followed again
        as soon as an admin sets a key.
        """
        found, missing = self._accounts.usable({job.workspace_id for job in active})
        for workspace, why in missing.items():
            log.warning("not following the jobs of workspace %s: %s", workspace, why)
        groups: dict[str, tuple[Account, list[_Followed]]] = {}
        for job in active:
            account = found.get(job.workspace_id)
            if account is not None:
                groups.setdefault(account.id, (account, []))[1].append(job)
        return list(groups.values())

    def _poll_account(
        self, provider: OpenAIProvider, active: list[_Followed], stats: CycleStats
    ) -> None:
        snapshots = self._listed(provider, active, stats)
        for job in active:
            snapshot = snapshots.get(job.provider_job_id)
            if snapshot is None:
                stats.api_calls += 1
                try:
                    snapshot = provider.retrieve_job(job.provider_job_id)
                except ProviderError as exc:
                    if exc.retryable:
                        raise
                    # One job the provider will not show (moved project, revoked key) must not
                    # stop every other job from being followed.
                    log.warning("cannot read %s: %s", job.provider_job_id, exc)
                    continue
            changed = snapshot.status != job.status
            events: list[JobEventSnapshot] = []
            if changed or snapshot.status == JobStatus.RUNNING.value:
                events = self._new_events(provider, job, stats)
            if changed or events:
                finished = self._apply(job.id, snapshot, events)
                stats.changed += 1
                stats.finished += finished

    def refresh(self, provider_job_id: str) -> bool:
        """Bring one job up to date now (a webhook said it changed); False if it is not ours."""
        with self._factory() as session:
            row = session.scalar(select(Job).where(Job.provider_job_id == provider_job_id))
            if row is None:
                return False
            job = _Followed(
                row.id,
                row.workspace_id,
                provider_job_id,
                row.status,
                row.last_event_id,
                row.created_at,
            )
        provider = self._accounts.for_workspace(job.workspace_id).jobs
        snapshot = provider.retrieve_job(provider_job_id)
        events = self._new_events(provider, job, CycleStats())
        self._apply(job.id, snapshot, events)
        return True

    def _active(self) -> list[_Followed]:
        with self._factory() as session:
            rows = session.execute(
                select(
                    Job.id,
                    Job.workspace_id,
                    Job.provider_job_id,
                    Job.status,
                    Job.last_event_id,
                    Job.created_at,
                )
                .where(Job.status.in_(FOLLOWED), Job.provider_job_id.is_not(None))
                .order_by(Job.id)
            )
            return [_Followed(r[0], r[1], str(r[2]), r[3], r[4], r[5]) for r in rows]

    def _listed(
        self, provider: OpenAIProvider, active: list[_Followed], stats: CycleStats
    ) -> dict[str, JobSnapshot]:
        """Page through the provider's jobs (newest first) until every active one was seen or
        the listing is older than the oldest of them."""
        wanted = {job.provider_job_id for job in active}
        oldest = min(job.created_at for job in active) - CLOCK_SKEW
        found: dict[str, JobSnapshot] = {}
        after: str | None = None
        while wanted - found.keys():
            page, has_more = provider.list_jobs(after=after, limit=self._page_size)
            stats.api_calls += 1
            for snapshot in page:
                if snapshot.id in wanted:
                    found[snapshot.id] = snapshot
            if not has_more or not page or page[-1].created_at < oldest:
                break
            after = page[-1].id
        return found

    def _new_events(
        self, provider: OpenAIProvider, job: _Followed, stats: CycleStats
    ) -> list[JobEventSnapshot]:
        """Events since the last one stored, oldest first: pages back until it is reached, so a
        burst of steps between two cycles leaves no gap in the stored loss curve."""
        fresh: list[JobEventSnapshot] = []
        after: str | None = None
        for _ in range(MAX_EVENT_PAGES):
            events = provider.list_events(job.provider_job_id, limit=EVENTS_PER_FETCH, after=after)
            stats.api_calls += 1
            for event in events:  # newest first
                if event.id == job.last_event_id:
                    fresh.reverse()
                    return fresh
                fresh.append(event)
            if len(events) < EVENTS_PER_FETCH or job.last_event_id is None:
                break
            after = events[-1].id
        fresh.reverse()
        return fresh

    def _apply(self, job_id: int, snapshot: JobSnapshot, events: list[JobEventSnapshot]) -> int:
        """Store a snapshot and new events; owe a notice when the job just ended. Returns 1 when
        this call recorded the end."""
        now = self._clock()
        try:
            with self._factory.begin() as session:
                row = session.get_one(Job, job_id, with_for_update=True)
                if row.status in TERMINAL:
                    return 0  # already ended: a late snapshot must not reopen it
                self._store_events(session, row, events)
                row.status = snapshot.status
                row.estimated_finish = snapshot.estimated_finish
                if snapshot.status == JobStatus.RUNNING.value and row.running_since is None:
                    row.running_since = now
                if snapshot.n_epochs:
                    row.epochs = snapshot.n_epochs
                if snapshot.status not in TERMINAL:
                    return 0
                self._record_end(row, snapshot, now)
                session.add(Notice(job_id=row.id, kind=snapshot.status))
                self._audit_end(session, row)
                return 1
        except IntegrityError:
            log.info("job %s ended in another process first", job_id)
            return 0

    def _store_events(self, session: Session, row: Job, events: list[JobEventSnapshot]) -> None:
        if not events:
            return
        known = set(
            session.scalars(
                select(JobEvent.provider_event_id).where(
                    JobEvent.job_id == row.id,
                    JobEvent.provider_event_id.in_([event.id for event in events]),
                )
            )
        )
        for event in events:
            if event.id not in known:
                session.add(
                    JobEvent(
                        job_id=row.id,
                        provider_event_id=event.id,
                        created_at=event.created_at,
                        level=event.level,
                        type=event.type,
                        message=event.message,
                        data=event.data or None,
                    )
                )
            if event.type == "metrics" and event.data:
                _take_metrics(row, event.data)
        row.last_event_id = events[-1].id

    def _audit_end(self, session: Session, row: Job) -> None:
        """In the transaction that records the end: one entry per job, whichever process or
        webhook saw it first (the notice's unique key rolls a second one back)."""
        succeeded = row.status == JobStatus.SUCCEEDED.value
        self._audit.record_in(
            session,
            row.workspace_id,
            SYSTEM,
            "job.ended",
            row.short_id,
            cost_usd=row.actual_cost_usd if succeeded else None,
            detail=_audit_end_detail(row),
        )

    def _record_end(self, row: Job, snapshot: JobSnapshot, now: datetime) -> None:
        row.finished_at = snapshot.finished_at or now
        row.fine_tuned_model = snapshot.fine_tuned_model
        row.trained_tokens = snapshot.trained_tokens
        row.error_code = snapshot.error_code
        row.error_message = snapshot.error_message
        if snapshot.trained_tokens is not None:
            try:
                price = self._catalog.resolve(row.base_model).training_usd_per_million
            except UnknownModelError:
                return
            row.actual_cost_usd = Decimal(str(round(snapshot.trained_tokens * price / 1e6, 4)))


def _audit_end_detail(row: Job) -> dict[str, object]:
    detail: dict[str, object] = {"status": row.status}
    if row.fine_tuned_model:
        detail["model"] = row.fine_tuned_model
    if row.trained_tokens is not None:
        detail["trained_tokens"] = row.trained_tokens
    if row.error_code:
        detail["error"] = row.error_code
    if row.cancelled_by:
        detail["cancelled_by"] = row.cancelled_by
    return detail


def _take_metrics(row: Job, data: dict[str, object]) -> None:
    """Keep the newest step's numbers; a metrics event may lack validation loss."""
    step = data.get("step")
    if isinstance(step, int | float) and (row.step is None or step >= row.step):
        row.step = int(step)
        total = data.get("total_steps")
        if isinstance(total, int | float):
            row.total_steps = int(total)
        train = data.get("train_loss")
        if isinstance(train, int | float):
            row.train_loss = float(train)
        valid = data.get("full_valid_loss", data.get("valid_loss"))
        if isinstance(valid, int | float):
            row.valid_loss = float(valid)
