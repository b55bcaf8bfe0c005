"""A job's journey: validating_files -> queued -> running -> succeeded | failed | cancelled.

Every function here expects `state.lock` held. `step` makes exactly one move, which is what
both the clock (when a job's deadline passes) and `emu.advance` use, so a test that drives a
job by hand sees the same events and numbers as one that lets the clock run.
"""

from __future__ import annotations

import base64
import heapq
import threading
import time
from typing import Any

from .catalog import BY_ID, base_of_fine_tuned
from .state import EmulatorState, FileRecord, JobRecord, ModelRecord
from .training import (
    InvalidTrainingFileError,
    default_batch_size,
    default_epochs,
    inspect_file,
    metrics_at,
    results_csv,
)

KEPT_CHECKPOINTS = 3


def start(state: EmulatorState, job: JobRecord) -> None:
    state.add_event(job, f"Validating training file: {job.training_file}")
    state.add_event(job, f"Created fine-tuning job: {job.id}")
    _schedule(state, job, job.script.validating_s)


def step(state: EmulatorState, job: JobRecord) -> None:
    """Make one move: finish validation, leave the queue, or train one step."""
    if job.status == "validating_files":
        _validate(state, job)
    elif job.status == "queued":
        job.status = "running"
        job.estimated_finish = state.now() + round(
            state.seconds(job.script.step_s * job.total_steps) + 0.5
        )
        state.add_event(job, "Fine-tuning job started")
        _schedule(state, job, job.script.step_s)
    elif job.status == "running":
        _train_one_step(state, job)
    state.changed.notify_all()


def finish(
    state: EmulatorState, job: JobRecord, outcome: str, error: dict[str, Any] | None
) -> None:
    """End a job now; a success first plays out every remaining step so its numbers are whole."""
    if job.finished:
        return
    if outcome != "succeeded":
        _end(state, job, outcome, error)
        return
    job.forced_outcome = "succeeded"
    while not job.finished:
        if job.status == "paused":
            job.status = "running"
        step(state, job)


def cancel(state: EmulatorState, job: JobRecord) -> None:
    _end(state, job, "cancelled", None)


def pause(state: EmulatorState, job: JobRecord) -> None:
    job.status = "paused"
    job.deadline = None
    state.add_event(job, "Fine-tuning job paused")
    state.changed.notify_all()


def resume(state: EmulatorState, job: JobRecord) -> None:
    job.status = "running"
    state.add_event(job, "Fine-tuning job resumed")
    _schedule(state, job, job.script.step_s)


def reschedule(state: EmulatorState, job: JobRecord) -> None:
    """Put a job back on the clock after its script changed (e.g. from manual to timed)."""
    durations = {
        "validating_files": job.script.validating_s,
        "queued": job.script.queued_s,
        "running": job.script.step_s,
    }
    job.deadline = None
    if job.status in durations:
        _schedule(state, job, durations[job.status])


def tick(state: EmulatorState) -> float | None:
    """Move every job whose deadline has passed; return the next deadline (monotonic) if any.

    Only jobs on the clock are looked at (a heap of deadlines), so thousands of frozen or
    finished jobs cost nothing per tick. Entries whose job has since been re-timed, paused or
    ended are stale and simply dropped.
    """
    now = time.monotonic()
    timers = state.timers
    while timers and (timers[0][0] <= now or _stale(state, timers[0])):
        due, job_id = heapq.heappop(timers)
        job = state.jobs.get(job_id)
        if job is not None and job.deadline == due:
            step(state, job)
    return timers[0][0] if timers else None


def _stale(state: EmulatorState, timer: tuple[float, str]) -> bool:
    job = state.jobs.get(timer[1])
    return job is None or job.deadline != timer[0]


class Clock(threading.Thread):
    """Drives jobs in the background, so they progress whether or not anyone polls."""

    def __init__(self, state: EmulatorState) -> None:
        super().__init__(name="openai-emulator-clock", daemon=True)
        self._state = state

    def run(self) -> None:
        state = self._state
        with state.changed:
            while not state.stopping.is_set():
                upcoming = tick(state)
                wait = 0.5 if upcoming is None else max(0.0, upcoming - time.monotonic())
                state.changed.wait(timeout=min(wait, 0.5))


def _schedule(state: EmulatorState, job: JobRecord, duration: float) -> None:
    if job.script.manual or job.forced_outcome:
        job.deadline = None
    else:
        # Chain from the deadline just passed so a slow tick does not stretch the script, but
        # never from the future (a manual `advance` restarts the phase) nor far in the past.
        now = time.monotonic()
        base = now if job.deadline is None else min(job.deadline, now)
        job.deadline = max(base, now - 1.0) + state.seconds(duration)
        heapq.heappush(state.timers, (job.deadline, job.id))
    state.changed.notify_all()


def _validate(state: EmulatorState, job: JobRecord) -> None:
    shape = "dpo" if job.method_type == "dpo" else _shape_for(job.model)
    try:
        stats = inspect_file(state.files[job.training_file].content, shape=shape)
        if job.validation_file:
            inspect_file(state.files[job.validation_file].content, shape=shape, minimum=1)
    except (InvalidTrainingFileError, KeyError) as problem:
        detail = (
            str(problem) if isinstance(problem, InvalidTrainingFileError) else "File not found."
        )
        message = f"The job failed due to an invalid training file. {detail}"
        error = {"code": "invalid_training_file", "message": message, "param": "training_file"}
        _end(state, job, "failed", error)
        return
    job.examples, job.words = stats.examples, stats.words
    job.hyperparameters = _resolve(job.requested, stats.examples, job.method_type)
    job.total_steps = job.script.steps
    job.status = "queued"
    state.add_event(job, "Files validated, moving job to queued state")
    _schedule(state, job, job.script.queued_s)


def _shape_for(model: str) -> str:
    base = BY_ID.get(base_of_fine_tuned(model))
    return "prompt" if base is not None and not base.chat else "chat"


def _resolve(requested: dict[str, Any], examples: int, method_type: str) -> dict[str, Any]:
    def pick(name: str, fallback: Any) -> Any:
        value = requested.get(name, "auto")
        return fallback if value in (None, "auto") else value

    resolved = {
        "batch_size": pick("batch_size", default_batch_size(examples)),
        "learning_rate_multiplier": pick("learning_rate_multiplier", 1.8),
        "n_epochs": pick("n_epochs", default_epochs(examples)),
    }
    if method_type == "dpo":
        resolved["beta"] = pick("beta", 0.1)
    return resolved


def _train_one_step(state: EmulatorState, job: JobRecord) -> None:
    job.step += 1
    data = metrics_at(job.step, job.total_steps, job.seed, validation=bool(job.validation_file))
    job.metrics.append(data)
    message = f"Step {job.step}/{job.total_steps}: training loss={data['train_loss']:.2f}"
    if "valid_loss" in data:
        message += f", validation loss={data['valid_loss']:.2f}"
    state.add_event(job, message, kind="metrics", data=data)
    _maybe_checkpoint(state, job, data)
    script = job.script
    outcome = job.forced_outcome or script.outcome
    if outcome == "failed" and job.step >= (script.fail_after_steps or job.total_steps):
        _end(state, job, "failed", script.failure())
    elif job.step >= job.total_steps:
        _end(state, job, outcome, script.failure() if outcome == "failed" else None)
    else:
        _schedule(state, job, script.step_s)


def _maybe_checkpoint(state: EmulatorState, job: JobRecord, data: dict[str, Any]) -> None:
    epochs = int(job.hyperparameters.get("n_epochs", 1))
    boundaries = {max(1, round(job.total_steps * e / epochs)) for e in range(1, epochs + 1)}
    if job.step not in boundaries:
        return
    name = f"{job.planned_model}:ckpt-step-{job.step}"
    job.checkpoints.append(
        {
            "id": state.new_id("ftckpt_"),
            "object": "fine_tuning.job.checkpoint",
            "created_at": state.now(),
            "fine_tuned_model_checkpoint": name,
            "fine_tuning_job_id": job.id,
            "metrics": {key: value for key, value in data.items() if key != "total_steps"},
            "step_number": job.step,
        }
    )
    del job.checkpoints[:-KEPT_CHECKPOINTS]
    state.add_event(job, f"Checkpoint created at step {job.step} with Snapshot ID: {name}")


def _end(state: EmulatorState, job: JobRecord, outcome: str, error: dict[str, Any] | None) -> None:
    job.deadline = None
    job.estimated_finish = None
    if outcome == "succeeded":
        _succeed(state, job)
    elif outcome == "failed":
        job.status = "failed"
        job.error = error or job.script.failure()
        job.finished_at = state.now()
        state.add_event(job, job.error["message"], level="error")
    else:
        job.status = "cancelled"
        state.add_event(job, "Fine-tuning job cancelled")
    state.job_ended(job)
    state.changed.notify_all()


def _succeed(state: EmulatorState, job: JobRecord) -> None:
    now = state.now()
    csv = results_csv(job.metrics).encode()
    content = base64.b64encode(csv) if state.config.results_base64 else csv
    result_id = state.new_id("file-", 22)
    result = FileRecord(result_id, "step_metrics.csv", "fine-tune-results", content, now)
    state.files[result.id] = result
    job.result_files = [result.id]
    job.fine_tuned_model = job.planned_model
    job.trained_tokens = job.words * int(job.hyperparameters.get("n_epochs", 1))
    job.finished_at = now
    job.status = "succeeded"
    state.models[job.planned_model] = ModelRecord(job.planned_model, now, state.config.organization)
    state.add_event(job, f"New fine-tuned model created: {job.planned_model}")
    state.add_event(job, "Evaluating model against our usage policies before enabling")
    state.add_event(job, "Usage policy evaluations completed, model is now enabled for sampling")
    state.add_event(job, "The job has successfully completed")
