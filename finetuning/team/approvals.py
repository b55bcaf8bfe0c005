"""Approvals: a job estimated above the team's limit waits until an admin says yes or no.

The decision is one conditional UPDATE (`awaiting_approval` → `pending` or `rejected`), so when
two admins click at once, or one clicks twice, exactly one decision is taken and the others
learn who took it. An approved job is then submitted through the jobs service's ordinary start
path, under the job's own key: a crash between deciding and submitting ends in one provider job,
never two. Who may decide is the team policy's business (`Action.DECIDE`), asked by the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import AuditLog
from finetuning.jobs import JobRecord, JobService, StartOutcome
from storage.models import Job, JobStatus
from storage.types import utcnow


class Decision(StrEnum):
    """What became of a job that needed approval."""

    APPROVED = "approved"
    REJECTED = "rejected"
    # The person who asked cancelled it before anyone decided.
    WITHDRAWN = "withdrawn"


FollowUp = Callable[[Session, JobRecord], None]
"""Work a decision owes (submitting, telling the requester), written by the caller in the
decision's own transaction: a crash leaves both the decision and its follow-up, or neither."""


@dataclass(frozen=True)
class DecisionOutcome:
    """The job after a click; `decided` is True only for the call that took the decision."""

    job: JobRecord
    decided: bool
    decision: Decision | None
    """None: the job never waited for approval (or still does)."""
    by: str | None


@dataclass(frozen=True)
class RequestMessage:
    """Where an approval request was posted (a channel, or an admin's direct messages)."""

    channel: str
    ts: str


class Approvals:
    """Deciding on waiting jobs, and remembering where their requests were posted."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        jobs: JobService,
        audit: AuditLog,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._factory = factory
        self._jobs = jobs
        self._audit = audit
        self._clock = clock

    @property
    def threshold_usd(self) -> Decimal | None:
        """Estimates above this need approval; None: none do."""
        return self._jobs.approval_usd

    def approve(
        self, workspace_id: str, ref: str, by: str, *, then: FollowUp | None = None
    ) -> DecisionOutcome:
        """Approve a waiting job (it becomes `pending`; `submit` sends it)."""
        return self._decide(workspace_id, ref, by, Decision.APPROVED, then)

    def reject(
        self, workspace_id: str, ref: str, by: str, *, then: FollowUp | None = None
    ) -> DecisionOutcome:
        """Reject a waiting job: it ends as `rejected`, having cost nothing."""
        return self._decide(workspace_id, ref, by, Decision.REJECTED, then)

    def submit(self, job_id: int) -> StartOutcome:
        """Send an approved job to the provider (see `JobService.submit_approved`)."""
        return self._jobs.submit_approved(job_id)

    def record_request(self, job_id: int, channel: str, ts: str) -> None:
        """Remember an approval request message, to show the decision on it later."""
        with self._factory.begin() as session:
            row = session.get_one(Job, job_id, with_for_update=True)
            known = list(row.approval_requests or [])
            if not any(r.get("channel") == channel and r.get("ts") == ts for r in known):
                row.approval_requests = [*known, {"channel": channel, "ts": ts}]

    def requests(self, job_id: int) -> list[RequestMessage]:
        with self._factory() as session:
            row = session.get_one(Job, job_id)
            return [
                RequestMessage(str(r["channel"]), str(r["ts"])) for r in row.approval_requests or []
            ]

    def outcome(self, job: JobRecord) -> tuple[Decision | None, str | None]:
        """What became of a job that needed approval, and who made it so."""
        if job.approved_by is not None:
            return Decision.APPROVED, job.approved_by
        if job.rejected_by is not None:
            return Decision.REJECTED, job.rejected_by
        if job.status == JobStatus.CANCELLED.value and job.provider_job_id is None:
            return Decision.WITHDRAWN, job.cancelled_by
        return None, None

    def _decide(
        self,
        workspace_id: str,
        ref: str,
        by: str,
        decision: Decision,
        then: FollowUp | None,
    ) -> DecisionOutcome:
        job = self._jobs.get(workspace_id, ref)
        now = self._clock()
        values: dict[str, Any]
        if decision is Decision.APPROVED:
            values = {"status": JobStatus.PENDING.value, "approved_by": by, "approved_at": now}
        else:
            values = {
                "status": JobStatus.REJECTED.value,
                "rejected_by": by,
                "rejected_at": now,
                "finished_at": now,
            }
        with self._factory.begin() as session:
            result = session.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == JobStatus.AWAITING_APPROVAL.value)
                .values(**values)
            )
            decided = result.rowcount == 1  # type: ignore[attr-defined]
            if decided:
                self._audit.record_in(
                    session,
                    workspace_id,
                    by,
                    f"job.{decision.value}",
                    job.short_id,
                    cost_usd=job.estimated_cost_usd,
                    detail={
                        "requested_by": job.started_by,
                        "model": job.base_model,
                        "dataset": job.dataset_short_id,
                    },
                )
                if then is not None:
                    then(session, job)
        job = self._jobs.get(workspace_id, job.short_id)
        fate, who = self.outcome(job)
        return DecisionOutcome(job=job, decided=decided, decision=fate, by=who)
