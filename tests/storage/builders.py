"""Valid rows with every required field filled, so each test states only what it is about."""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

from storage.models import ChannelBinding, Dataset, Job, JobEvent

_counter = itertools.count(1)


def new_dataset(**overrides: Any) -> Dataset:
    n = next(_counter)
    values: dict[str, Any] = {
        "workspace_id": "T0001",
        "file_name": f"train-{n}.jsonl",
        "sha256": hashlib.sha256(str(n).encode()).hexdigest(),
        "source_format": "jsonl",
        "format": "chat",
        "examples": 10,
        "total_tokens": 1_000,
        "valid": True,
        "error_count": 0,
        "warning_count": 0,
        "report": {"examples": 10},
    }
    values.update(overrides)
    return Dataset(**values)


def new_job(dataset: Dataset, **overrides: Any) -> Job:
    n = next(_counter)
    values: dict[str, Any] = {
        "workspace_id": dataset.workspace_id,
        "dataset": dataset,
        "idempotency_key": f"start-{n}",
        "base_model": "gpt-4o-mini-2024-07-18",
    }
    values.update(overrides)
    return Job(**values)


def new_event(job: Job, **overrides: Any) -> JobEvent:
    n = next(_counter)
    values: dict[str, Any] = {
        "job": job,
        "provider_event_id": f"ftevent-{n}",
        "level": "info",
        "type": "message",
        "message": f"Step {n}",
    }
    values.update(overrides)
    return JobEvent(**values)


def new_binding(**overrides: Any) -> ChannelBinding:
    values: dict[str, Any] = {
        "workspace_id": "T0001",
        "channel_id": "C0001",
        "model": "ft:gpt-4o-mini-2024-07-18:org::abc123",
    }
    values.update(overrides)
    return ChannelBinding(**values)
