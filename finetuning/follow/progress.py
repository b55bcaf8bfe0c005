"""How far a job has come, in numbers any front end can draw."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from finetuning.jobs.records import JobRecord

BAR_WIDTH = 20


@dataclass(frozen=True)
class Progress:
    """A job's progress at one moment."""

    status: str
    step: int | None
    total_steps: int | None
    train_loss: float | None
    valid_loss: float | None
    elapsed: timedelta
    remaining: timedelta | None

    @property
    def fraction(self) -> float | None:
        if self.step is None or not self.total_steps:
            return None
        return min(1.0, max(0.0, self.step / self.total_steps))

    def bar(self) -> str:
        """`▓▓▓▓▓░░░░░░░░░░░░░░░ 25%`, or empty before the first step."""
        fraction = self.fraction
        if fraction is None:
            return ""
        filled = round(fraction * BAR_WIDTH)
        return "▓" * filled + "░" * (BAR_WIDTH - filled) + f" {fraction:.0%}"


def progress_of(job: JobRecord, now: datetime) -> Progress:
    """Elapsed time counts from the start of training when known; the time left is the
    provider's estimate, else a straight-line extrapolation from the steps done so far."""
    started = job.running_since or job.created_at
    elapsed = max(timedelta(0), (job.finished_at or now) - started)
    remaining: timedelta | None = None
    if job.estimated_finish is not None:
        remaining = max(timedelta(0), job.estimated_finish - now)
    elif job.running_since is not None and job.step and job.total_steps:
        per_step = (now - job.running_since) / job.step
        remaining = per_step * max(0, job.total_steps - job.step)
    return Progress(
        status=job.status,
        step=job.step,
        total_steps=job.total_steps,
        train_loss=job.train_loss,
        valid_loss=job.valid_loss,
        elapsed=elapsed,
        remaining=remaining,
    )
