"""Starting, finding and cancelling jobs, with the database as the judge of "exactly once".

A start writes the job row (unique idempotency key) before calling the provider, tags the
provider's job with our id, and records the provider's id after. If the process dies between the
call and the record, the retry finds the provider's job by its tag instead of creating another.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, sessionmaker

from finetuning.audit import SYSTEM, AuditLog
from finetuning.credentials import Accounts, NoOpenAIKeyError
from finetuning.datasets.library import DatasetLibrary, StoredDataset
from finetuning.datasets.models import ModelCatalog
from finetuning.jobs.records import ACTIVE_STATUSES, JobRecord
from finetuning.jobs.start import StartPlan, StartRefusedError, StartRequest, plan_start
from finetuning.platforms import Platform, on_platform
from finetuning.provider import JobEventSnapshot, JobSnapshot, OpenAIProvider, ProviderError
from finetuning.team.budget import BudgetBook, OverBudget, Scope, to_usd
from storage.models import Job, JobStatus
from storage.types import utcnow

__all__ = ["JobNotFoundError", "JobService", "StartOutcome", "StartRefusedError"]

_JOB_REF = re.compile(r"^(?:job-)?(\d{1,12})$", re.IGNORECASE)
CLOCK_SKEW = timedelta(minutes=10)
"""How far the provider's clock may differ from ours when looking back for a tagged job."""
TAG = "tunebot_job"
"""Metadata key carrying our job id on the provider's job."""


_Answer = TypeVar("_Answer")


class JobNotFoundError(LookupError):
    """No job by that reference in this workspace."""


@dataclass(frozen=True)
class StartOutcome:
    """The job a request led to; `created` is False when the request was a repeat."""

    job: JobRecord
    created: bool


class JobService:
    """The jobs of every workspace, each call scoped to one."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        library: DatasetLibrary,
        accounts: Accounts,
        catalog: ModelCatalog,
        default_model: str,
        *,
        audit: AuditLog,
        budgets: BudgetBook | None = None,
        approval_usd: Decimal | None = None,
    ) -> None:
        self._factory = factory
        self._audit = audit
        self._budgets = budgets
        self.approval_usd = approval_usd
        """Estimates above this wait for an admin's approval (`awaiting_approval`); None: never."""
        self._library = library
        self._accounts = accounts
        self._catalog = catalog
        self._default_model = default_model

    def start(self, request: StartRequest) -> StartOutcome:
        """Start the job a request asks for, at most once per request key.

        Raises StartRefusedError (nothing created) for a request that cannot start or does not
        fit the month's budget, and a retryable ProviderError when OpenAI could not be reached:
        the job row then stays pending and the same call may be repeated. A provider refusal
        marks the job failed with the provider's own message. A job estimated above the approval
        limit is only recorded (`awaiting_approval`); `submit_approved` sends it once approved.
        """
        existing = self._by_key(request.key)
        if existing is not None and existing.status != JobStatus.PENDING.value:
            return StartOutcome(existing, created=False)
        try:
            provider = self._accounts.for_workspace(request.workspace_id).jobs
        except NoOpenAIKeyError as missing:
            raise StartRefusedError(missing.message, missing.hint) from missing
        plan = plan_start(request, self._library, self._catalog, self._default_model)
        if existing is None:
            job, created = self._insert(plan)
            if not created or job.status == JobStatus.AWAITING_APPROVAL.value:
                # Another delivery of the same request inserted first and is submitting it, or
                # the job waits for an admin.
                return StartOutcome(job, created=created)
        else:
            job = existing
        if job.provider_job_id is None:
            adopted = self._find_tagged(provider, job) if existing is not None else None
            job = self._record(job.id, adopted or self._submit(provider, job, plan))
        return StartOutcome(job, created=existing is None)

    def _insert(self, plan: StartPlan) -> tuple[JobRecord, bool]:
        """The job row for a request, and whether this call created it (the key decides).

        The budget is checked in the same transaction, after the row is written and under the
        workspace's budget lock, so concurrent starts are counted one after the other.
        """
        request = plan.request
        estimate = to_usd(plan.estimate.cost_usd)
        waits = self.approval_usd is not None and estimate > self.approval_usd
        row = Job(
            workspace_id=request.workspace_id,
            dataset_id=plan.dataset.id,
            validation_dataset_id=plan.validation.id if plan.validation else None,
            idempotency_key=request.key,
            base_model=plan.model.id,
            status=(JobStatus.AWAITING_APPROVAL if waits else JobStatus.PENDING).value,
            method=plan.method,
            epochs=request.epochs,
            suffix=request.suffix,
            seed=request.seed,
            estimated_cost_usd=estimate,
            started_by=request.requested_by,
            channel_id=plan.dataset.channel_id or request.channel_id,
            thread_ts=plan.dataset.thread_ts,
        )
        try:
            with self._factory.begin() as session:
                if self._budgets is not None:
                    self._budgets.lock(session, request.workspace_id)
                session.add(row)
                session.flush()
                if self._budgets is not None:
                    over = self._budgets.over(
                        session, request.workspace_id, request.requested_by, estimate
                    )
                    if over is not None:
                        raise _over_budget(over)
                return self._load(session, row.id), True
        except IntegrityError:
            raced = self._by_key(request.key)
            if raced is None:
                raise
            return raced, False

    def submit_approved(self, job_id: int) -> StartOutcome:
        """Send a job an admin approved to the provider, through the very path of any start.

        The request is rebuilt from the job row under the job's own key, so a repeat (a retried
        task, a second click) adopts the provider's job instead of creating another. A job that
        is not both approved and pending (rejected, still waiting, already submitted) is
        returned as it is.
        """
        with self._factory() as session:
            row = session.get_one(Job, job_id)
            request = StartRequest(
                key=row.idempotency_key,
                workspace_id=row.workspace_id,
                channel_id=row.channel_id,
                requested_by=row.started_by,
                dataset_ref=f"ds-{row.dataset_id}",
                model=row.base_model,
                epochs=row.epochs,
                suffix=row.suffix,
                validation_ref=(
                    f"ds-{row.validation_dataset_id}" if row.validation_dataset_id else None
                ),
                seed=row.seed,
            )
            ready = row.approved_by is not None and row.status == JobStatus.PENDING.value
            if not ready:
                return StartOutcome(self._load(session, job_id), created=False)
        return self.start(request)

    def _submit(self, provider: OpenAIProvider, job: JobRecord, plan: StartPlan) -> JobSnapshot:
        try:
            training = self._provider_file(provider, plan.dataset)
            validation = self._provider_file(provider, plan.validation) if plan.validation else None
            return provider.create_job(
                training_file=training,
                validation_file=validation,
                model=plan.model.id,
                epochs=plan.request.epochs,
                suffix=plan.request.suffix,
                seed=plan.request.seed,
                method="dpo" if plan.method == "dpo" else "supervised",
                metadata={TAG: job.short_id},
            )
        except ProviderError as exc:
            if not exc.retryable:
                self._fail(job.id, exc)
            raise

    def _provider_file(self, provider: OpenAIProvider, dataset: StoredDataset) -> str:
        """Upload a dataset's normalized file once; later jobs reuse the provider's copy."""
        if dataset.provider_file_id is not None:
            return dataset.provider_file_id
        if dataset.normalized_path is None:
            raise StartRefusedError(
                f"{dataset.short_id} has no stored file", "Upload the file again."
            )
        file_id = provider.upload_training_file(
            dataset.normalized_path, filename=f"{dataset.short_id}-{dataset.file_name}.jsonl"
        )
        self._library.set_provider_file(dataset.id, file_id)
        return file_id

    def _find_tagged(self, provider: OpenAIProvider, job: JobRecord) -> JobSnapshot | None:
        """The provider's job for ours, if an earlier attempt created it before dying."""
        for page_number, snapshot in enumerate(provider.iter_jobs(page_size=100)):
            if snapshot.metadata.get(TAG) == job.short_id:
                return snapshot
            if page_number >= 200 or snapshot.created_at < job.created_at - CLOCK_SKEW:
                return None
        return None

    def _record(self, job_id: int, snapshot: JobSnapshot) -> JobRecord:
        with self._factory.begin() as session:
            row = session.get_one(Job, job_id, with_for_update=True)
            if row.provider_job_id is None:  # a concurrent retry may have recorded it already
                self._audit.record_in(
                    session,
                    row.workspace_id,
                    row.started_by or SYSTEM,
                    "job.started",
                    row.short_id,
                    cost_usd=row.estimated_cost_usd,
                    detail={
                        "model": row.base_model,
                        "dataset": f"ds-{row.dataset_id}",
                        "epochs": snapshot.n_epochs or row.epochs,
                        "provider_job_id": snapshot.id,
                    },
                )
            row.provider_job_id = snapshot.id
            row.status = snapshot.status
            row.epochs = snapshot.n_epochs or row.epochs
            return self._load(session, job_id)

    def _fail(self, job_id: int, error: ProviderError) -> None:
        with self._factory.begin() as session:
            row = session.get_one(Job, job_id)
            row.status = JobStatus.FAILED.value
            row.error_code = error.code or (str(error.status) if error.status else None)
            row.error_message = error.message
            row.finished_at = utcnow()
            # The provider refused the job outright: it ends here, never reaching the follower.
            self._audit.record_in(
                session,
                row.workspace_id,
                SYSTEM,
                "job.ended",
                row.short_id,
                detail={
                    "status": row.status,
                    "error": row.error_code,
                    "requested_by": row.started_by,
                },
            )

    def with_messages(
        self, since: datetime, *, platform: Platform | None = None
    ) -> list[JobRecord]:
        """Jobs that have a message to keep current: active ones, and those that ended since
        `since` (their message shows the outcome once more); `platform`: only its workspaces'."""
        query = (
            select(Job)
            .options(joinedload(Job.dataset))
            .where(
                Job.status_message_ts.is_not(None),
                Job.provider_job_id.is_not(None),
                or_(Job.status.in_(ACTIVE_STATUSES), Job.finished_at >= since),
            )
            .order_by(Job.id)
        )
        if platform is not None:
            query = query.where(on_platform(Job.workspace_id, platform))
        with self._factory() as session:
            return [JobRecord.of(row) for row in session.scalars(query)]

    def mark_progress_shown(self, job_id: int, text: str, at: datetime) -> None:
        """Remember what the job's message shows, so it is edited only when that changes."""
        with self._factory.begin() as session:
            row = session.get_one(Job, job_id)
            row.progress_shown = text
            row.progress_shown_at = at

    def mark_announced(self, job_id: int, message_ts: str) -> None:
        """Remember the message that shows this job, to update it in place later."""
        with self._factory.begin() as session:
            session.get_one(Job, job_id).status_message_ts = message_ts

    def by_key(self, key: str) -> JobRecord | None:
        return self._by_key(key)

    def get(self, workspace_id: str, ref: str) -> JobRecord:
        """A job of this workspace by `job-N` or the provider's `ftjob-…` id."""
        ref = ref.strip()
        query = select(Job).options(joinedload(Job.dataset))
        match = _JOB_REF.match(ref)
        if match:
            query = query.where(Job.id == int(match.group(1)))
        elif ref.startswith("ftjob-"):
            query = query.where(Job.provider_job_id == ref)
        else:
            raise JobNotFoundError(f"{ref!r} is not a job id (use job-N or ftjob-…)")
        with self._factory() as session:
            row = session.scalar(query.where(Job.workspace_id == workspace_id))
            if row is None:
                raise JobNotFoundError(f"no job {ref!r} here")
            return JobRecord.of(row)

    def recent(
        self,
        workspace_id: str,
        channel_id: str | None = None,
        *,
        active_only: bool = False,
        limit: int = 20,
    ) -> list[JobRecord]:
        """Newest first, from what is stored: no provider calls."""
        query = select(Job).options(joinedload(Job.dataset)).where(Job.workspace_id == workspace_id)
        if channel_id is not None:
            query = query.where(Job.channel_id == channel_id)
        if active_only:
            query = query.where(Job.status.in_(ACTIVE_STATUSES))
        with self._factory() as session:
            rows = session.scalars(query.order_by(Job.id.desc()).limit(limit))
            return [JobRecord.of(row) for row in rows]

    def cancel(self, workspace_id: str, ref: str, by: str | None = None) -> JobRecord:
        """Ask the provider to cancel and remember who asked; the follower records the end."""
        job = self.get(workspace_id, ref)
        if job.status == JobStatus.AWAITING_APPROVAL.value and self._withdraw(job, by):
            return self.get(workspace_id, ref)
        if job.status == JobStatus.CANCELLED.value and job.provider_job_id is None:
            return job  # withdrawn already: a retried task (or a second person) hears so again
        if job.provider_job_id is None:
            raise JobNotFoundError(f"{job.short_id} was never submitted, so cannot be cancelled")
        provider = self._jobs_api(workspace_id)
        with self._factory.begin() as session:
            session.get_one(Job, job.id).cancelled_by = by
            self._audit.record_in(
                session,
                workspace_id,
                by or SYSTEM,
                "job.cancelled",
                job.short_id,
                detail={"status_before": job.status},
            )
        snapshot = self._asked(
            workspace_id,
            by,
            "job.cancelled",
            job.short_id,
            provider.cancel_job,
            job.provider_job_id,
        )
        return replace(job, status=snapshot.status, cancelled_by=by)

    def _withdraw(self, job: JobRecord, by: str | None) -> bool:
        """Cancel a job still waiting for approval: it never ran, so there is nothing to ask
        OpenAI. False when an admin decided first."""
        with self._factory.begin() as session:
            result = session.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == JobStatus.AWAITING_APPROVAL.value)
                .values(status=JobStatus.CANCELLED.value, cancelled_by=by, finished_at=utcnow())
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return False
            self._audit.record_in(
                session,
                job.workspace_id,
                by or SYSTEM,
                "job.cancelled",
                job.short_id,
                detail={"status_before": job.status, "status": JobStatus.CANCELLED.value},
            )
            return True

    def pause(self, workspace_id: str, ref: str, by: str | None = None) -> JobRecord:
        """Pause a running job at the provider (it keeps its progress)."""
        job = self._submitted(workspace_id, ref)
        provider = self._jobs_api(workspace_id)
        self._audit.record(workspace_id, by or SYSTEM, "job.paused", job.short_id)
        snapshot = self._asked(
            workspace_id, by, "job.paused", job.short_id, provider.pause_job, job.provider_job_id
        )
        return replace(job, status=snapshot.status)

    def resume(self, workspace_id: str, ref: str, by: str | None = None) -> JobRecord:
        job = self._submitted(workspace_id, ref)
        provider = self._jobs_api(workspace_id)
        self._audit.record(workspace_id, by or SYSTEM, "job.resumed", job.short_id)
        snapshot = self._asked(
            workspace_id, by, "job.resumed", job.short_id, provider.resume_job, job.provider_job_id
        )
        return replace(job, status=snapshot.status)

    def delete_model(self, workspace_id: str, model_id: str, by: str | None = None) -> bool:
        """Delete a fine-tuned model at the provider; False when the provider kept it."""
        provider = self._jobs_api(workspace_id)
        self._audit.record(workspace_id, by or SYSTEM, "model.deleted", model_id)
        deleted = self._asked(
            workspace_id, by, "model.deleted", model_id, provider.delete_model, model_id
        )
        if not deleted:
            self._refused(workspace_id, by, "model.deleted", model_id, "kept by OpenAI")
        return deleted

    def _asked(
        self,
        workspace_id: str,
        by: str | None,
        action: str,
        subject: str,
        call: Callable[[str], _Answer],
        argument: str | None,
    ) -> _Answer:
        """Make a request whose entry is already written (before the call, so that a crash
        right after OpenAI acted cannot lose it); a refusal appends a `request.failed`."""
        try:
            return call(str(argument))
        except ProviderError as exc:
            self._refused(workspace_id, by, action, subject, exc.code or str(exc.status or ""))
            raise

    def _refused(
        self, workspace_id: str, by: str | None, action: str, subject: str, error: str
    ) -> None:
        self._audit.record(
            workspace_id,
            by or SYSTEM,
            "request.failed",
            subject,
            detail={"request": action, "error": error or "unknown"},
        )

    def _submitted(self, workspace_id: str, ref: str) -> JobRecord:
        job = self.get(workspace_id, ref)
        if job.provider_job_id is None:
            raise JobNotFoundError(f"{job.short_id} was never submitted")
        return job

    def events(self, workspace_id: str, ref: str, limit: int = 15) -> list[JobEventSnapshot]:
        """The provider's latest events for a job, newest first."""
        job = self.get(workspace_id, ref)
        if job.provider_job_id is None:
            return []
        return self._jobs_api(workspace_id).list_events(job.provider_job_id, limit=limit)

    def _jobs_api(self, workspace_id: str) -> OpenAIProvider:
        """The workspace's own account; NoOpenAIKeyError (a ProviderError) when it has none."""
        return self._accounts.for_workspace(workspace_id).jobs

    def _by_key(self, key: str) -> JobRecord | None:
        with self._factory() as session:
            row = session.scalar(
                select(Job).options(joinedload(Job.dataset)).where(Job.idempotency_key == key)
            )
            return JobRecord.of(row) if row is not None else None

    @staticmethod
    def _load(session: Session, job_id: int) -> JobRecord:
        row = session.scalar(select(Job).options(joinedload(Job.dataset)).where(Job.id == job_id))
        assert row is not None
        return JobRecord.of(row)


def _over_budget(over: OverBudget) -> StartRefusedError:
    whose = "the workspace's" if over.scope is Scope.WORKSPACE else "your"
    return StartRefusedError(
        f"it is estimated at {_dollars(over.estimate)}, and only {_dollars(over.left)} is left "
        f"of {whose} {_dollars(over.limit)} budget for {over.month:%B %Y}",
        "Use a smaller dataset or fewer epochs, wait for running jobs to end, or ask an admin "
        "to raise the budget. `/finetune budget` shows what is spent and committed.",
    )


def _dollars(amount: Decimal) -> str:
    return f"${amount:,.2f}"
