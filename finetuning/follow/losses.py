"""A finished job's loss curve: from its results file, else from the metric events we stored."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from finetuning.credentials import Accounts
from finetuning.follow.metrics import LossPoint, parse_results_csv, points_from_events
from finetuning.jobs.records import JobRecord
from finetuning.provider import ProviderError
from storage.models import JobEvent

log = logging.getLogger(__name__)


def loss_points(
    factory: sessionmaker[Session], accounts: Accounts, job: JobRecord
) -> list[LossPoint]:
    """The results file is complete (every step, full validation loss); the events we kept
    are the fallback when it cannot be fetched (or the workspace's key is gone)."""
    if job.provider_job_id is not None:
        try:
            provider = accounts.for_workspace(job.workspace_id).jobs
            snapshot = provider.retrieve_job(job.provider_job_id)
            if snapshot.result_files:
                points = parse_results_csv(provider.result_file_content(snapshot.result_files[0]))
                if points:
                    return points
        except ProviderError as exc:
            log.info("results file of %s unavailable (%s); using stored events", job.short_id, exc)
    with factory() as session:
        data = session.scalars(
            select(JobEvent.data).where(JobEvent.job_id == job.id, JobEvent.type == "metrics")
        )
        return points_from_events([item for item in data if item])
