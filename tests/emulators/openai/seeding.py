"""Many jobs at once, straight into the state, and moving any job to a chosen status.

Benchmarks need thousands of jobs that mostly sit still and a few that move when the bench
says so. Going through the HTTP API for each would measure the emulator, not the bot, so jobs
are made here directly, but by the same `new_job` and the same lifecycle steps the API uses:
a job seeded as `running` has had its files validated and its "started" event, a job seeded
as `succeeded` has every metrics event, a results file and a model.

Every function here expects `state.lock` held.
"""

from __future__ import annotations

import json

from . import lifecycle
from .jobs_api import checked_metadata, fine_tunable_model, new_job, usable_file
from .script import JobScript
from .state import TERMINAL, EmulatorState, FileRecord, JobRecord

QUIET = JobScript(manual=True)
FORWARD = ("validating_files", "queued", "running")
STATUSES = (*FORWARD, "paused", *sorted(TERMINAL))
SEED_EXAMPLES = 10
SEED_FILENAME = "emulator-seed.jsonl"


def create_jobs(
    state: EmulatorState,
    count: int,
    *,
    model: str,
    training_file: str | None = None,
    status: str = "queued",
    script: JobScript | None = None,
    metadata: dict[str, str] | None = None,
) -> list[str]:
    """Make `count` jobs already at `status`; the default script keeps them frozen.

    Jobs seeded straight into a terminal status send no webhooks: they are history, not news.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    _check_status(status)
    base = fine_tunable_model(state, model)
    file_id = usable_file(state, training_file or _seed_file(state), "training_file")
    checked = checked_metadata(metadata)
    script = script or QUIET
    ids: list[str] = []
    state.announce_endings = False
    try:
        for _ in range(count):
            job = new_job(
                state,
                model=base,
                training_file=file_id,
                script=script,
                metadata=dict(checked) if checked is not None else None,
            )
            move_to(state, job, status)
            ids.append(job.id)
    finally:
        state.announce_endings = True
    state.changed.notify_all()
    return ids


def move_to(
    state: EmulatorState, job: JobRecord, status: str, script: JobScript | None = None
) -> None:
    """Take `job` forward to `status` by the lifecycle's own steps (never backwards).

    With `script`, the job is re-scripted first (a job that has not trained yet also takes the
    new step count), e.g. a timed script to let a frozen job train on its own from here on.
    """
    _check_status(status)
    if script is not None:
        job.script = script
        if job.step == 0 and job.total_steps:
            job.total_steps = script.steps
        lifecycle.reschedule(state, job)
    if job.status == status:
        return
    if job.finished:
        raise ValueError(f"job {job.id} has already ended {job.status}")
    if status in TERMINAL:
        lifecycle.finish(state, job, status, None)
    elif status == "paused":
        move_to(state, job, "running")
        if job.status == "running":
            lifecycle.pause(state, job)
    elif job.status == "paused":
        if status != "running":
            raise ValueError(f"job {job.id} is paused; it can only resume running")
        lifecycle.resume(state, job)
    else:
        if FORWARD.index(job.status) > FORWARD.index(status):
            raise ValueError(f"job {job.id} is {job.status}; it cannot go back to {status}")
        while job.status != status and not job.finished:
            lifecycle.step(state, job)


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise ValueError(f"unknown job status {status!r}; one of {', '.join(STATUSES)}")


def _seed_file(state: EmulatorState) -> str:
    """One valid training file, uploaded the first time it is needed and shared after that."""
    for record in state.files.values():
        if record.filename == SEED_FILENAME and record.purpose == "fine-tune":
            return record.id
    record = FileRecord(
        state.new_id("file-", 22), SEED_FILENAME, "fine-tune", _seed_content(), state.now()
    )
    state.files[record.id] = record
    return record.id


def _seed_content() -> bytes:
    lines = [
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": f"Seed question {n}?"},
                    {"role": "assistant", "content": f"Seed answer {n}."},
                ]
            }
        )
        for n in range(SEED_EXAMPLES)
    ]
    return ("\n".join(lines) + "\n").encode()
