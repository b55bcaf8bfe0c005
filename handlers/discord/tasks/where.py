"""Where a job's messages go in Discord, for every task that posts about a job."""

from __future__ import annotations

from typing import Any

from finetuning.jobs import JobRecord


def where_of(job: JobRecord | None, payload: dict[str, Any]) -> str | None:
    """Where a job's messages go: its dataset's thread, else the channel it was asked in."""
    if job is not None and (job.thread_ts or job.channel_id):
        return job.thread_ts or job.channel_id
    found = payload.get("thread") or payload.get("channel")
    return str(found) if found else None
