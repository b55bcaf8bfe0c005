"""Job rows for the follow benchmark, written straight into a migrated database.

Starting a thousand jobs through the app (upload, validation, `JobService.start`) would measure
intake, not following, and take minutes. So the rows are inserted as `JobService.start` leaves
them once OpenAI accepted the job: a stored dataset, then one `jobs` row per provider job, in the
status the provider shows, with the Slack thread and status message the start task would have
posted. Everything after that -- reading OpenAI, recording changes, owing and posting notices --
is the app's own code.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from storage.models import Dataset, Job
from storage.types import utcnow

WORKSPACE = "T001"
STARTER = "U0ALICE"
MODEL = "gpt-4o-mini-2024-07-18"


@dataclass(frozen=True)
class Placement:
    """Where a job's messages live in Slack: the dataset's thread and the job's own message."""

    channel_id: str
    thread_ts: str
    status_message_ts: str


def add_dataset(factory: sessionmaker[Session], *, channel_id: str | None = None) -> int:
    """One valid checked dataset, as intake stores it; every bench job trains on it."""
    with factory.begin() as session:
        dataset = Dataset(
            workspace_id=WORKSPACE,
            channel_id=channel_id,
            uploader_id=STARTER,
            file_name="bench-train.jsonl",
            sha256="0" * 64,
            source_format="chat",
            format="chat",
            examples=10,
            total_tokens=1_000,
            valid=True,
            error_count=0,
            warning_count=0,
            report={},
            provider_file_id="file-bench",
        )
        session.add(dataset)
        session.flush()
        return dataset.id


def add_jobs(
    factory: sessionmaker[Session],
    dataset_id: int,
    provider_job_ids: Sequence[str],
    *,
    status: str = "queued",
    placements: Sequence[Placement] | None = None,
    age: tuple[timedelta, timedelta] | None = None,
    rng: random.Random | None = None,
) -> list[int]:
    """One row per provider job; returns the rows' ids in the same order.

    `age` spreads `created_at` over that range into the past (jobs that have been waiting a
    while), so their messages' "elapsed" text does not roll over for all of them at once.
    """
    now = utcnow()
    rng = rng or random.Random(0)
    rows: list[Job] = []
    for index, provider_job_id in enumerate(provider_job_ids):
        placement = placements[index] if placements is not None else None
        created_at: datetime = now
        if age is not None:
            low, high = age
            created_at = now - low - (high - low) * rng.random()
        rows.append(
            Job(
                workspace_id=WORKSPACE,
                dataset_id=dataset_id,
                provider_job_id=provider_job_id,
                idempotency_key=f"bench:{provider_job_id}",
                base_model=MODEL,
                status=status,
                estimated_cost_usd=Decimal("0.0300"),
                started_by=STARTER,
                channel_id=placement.channel_id if placement else None,
                thread_ts=placement.thread_ts if placement else None,
                status_message_ts=placement.status_message_ts if placement else None,
                created_at=created_at,
                updated_at=created_at,
            )
        )
    with factory.begin() as session:
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]
