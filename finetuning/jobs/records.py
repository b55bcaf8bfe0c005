"""Jobs as plain values, so front ends render them without holding a database session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.models import Job, JobStatus

ACTIVE_STATUSES = frozenset(
    {
        JobStatus.PENDING.value,
        JobStatus.AWAITING_APPROVAL.value,
        JobStatus.VALIDATING_FILES.value,
        JobStatus.QUEUED.value,
        JobStatus.RUNNING.value,
        JobStatus.PAUSED.value,
    }
)


@dataclass(frozen=True)
class JobRecord:
    """What a person wants to know about a job."""

    id: int
    short_id: str
    workspace_id: str
    provider_job_id: str | None
    status: str
    base_model: str
    fine_tuned_model: str | None
    dataset_id: int
    dataset_short_id: str
    dataset_file_name: str
    started_by: str | None
    channel_id: str | None
    thread_ts: str | None
    status_message_ts: str | None
    epochs: int | None
    suffix: str | None
    estimated_cost_usd: float | None
    actual_cost_usd: float | None
    trained_tokens: int | None
    error_code: str | None
    error_message: str | None
    created_at: datetime
    finished_at: datetime | None
    step: int | None = None
    total_steps: int | None = None
    train_loss: float | None = None
    valid_loss: float | None = None
    running_since: datetime | None = None
    estimated_finish: datetime | None = None
    progress_shown: str | None = None
    progress_shown_at: datetime | None = None
    cancelled_by: str | None = None
    approved_by: str | None = None
    rejected_by: str | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @classmethod
    def of(cls, row: Job) -> JobRecord:
        return cls(
            id=row.id,
            short_id=row.short_id,
            workspace_id=row.workspace_id,
            provider_job_id=row.provider_job_id,
            status=row.status,
            base_model=row.base_model,
            fine_tuned_model=row.fine_tuned_model,
            dataset_id=row.dataset_id,
            dataset_short_id=row.dataset.short_id,
            dataset_file_name=row.dataset.file_name,
            started_by=row.started_by,
            channel_id=row.channel_id,
            thread_ts=row.thread_ts,
            status_message_ts=row.status_message_ts,
            epochs=row.epochs,
            suffix=row.suffix,
            estimated_cost_usd=(
                float(row.estimated_cost_usd) if row.estimated_cost_usd is not None else None
            ),
            actual_cost_usd=float(row.actual_cost_usd) if row.actual_cost_usd is not None else None,
            trained_tokens=row.trained_tokens,
            error_code=row.error_code,
            error_message=row.error_message,
            created_at=row.created_at,
            finished_at=row.finished_at,
            step=row.step,
            total_steps=row.total_steps,
            train_loss=row.train_loss,
            valid_loss=row.valid_loss,
            running_since=row.running_since,
            estimated_finish=row.estimated_finish,
            progress_shown=row.progress_shown,
            progress_shown_at=row.progress_shown_at,
            cancelled_by=row.cancelled_by,
            approved_by=row.approved_by,
            rejected_by=row.rejected_by,
        )
