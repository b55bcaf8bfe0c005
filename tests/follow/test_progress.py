"""How far a job has come: the fraction and its bar, the time spent, the time left."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from finetuning.follow.follower import Follower
from finetuning.follow.progress import BAR_WIDTH, Progress, progress_of
from finetuning.jobs import JobService
from finetuning.jobs.records import JobRecord
from tests.emulators.openai_emulator import OpenAIEmulator
from tests.follow.harness import T0, WORKSPACE, Clock, Starter, pid

CREATED = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def record(**fields: object) -> JobRecord:
    """A job as a front end receives it; only what progress reads matters here."""
    base = JobRecord(
        id=1,
        short_id="job-1",
        workspace_id=WORKSPACE,
        provider_job_id="ftjob-abc",
        status="running",
        base_model="gpt-4o-mini-2024-07-18",
        fine_tuned_model=None,
        dataset_id=1,
        dataset_short_id="ds-1",
        dataset_file_name="train.jsonl",
        started_by="U1",
        channel_id="C1",
        thread_ts=None,
        status_message_ts=None,
        epochs=3,
        suffix=None,
        estimated_cost_usd=0.5,
        actual_cost_usd=None,
        trained_tokens=None,
        error_code=None,
        error_message=None,
        created_at=CREATED,
        finished_at=None,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def test_the_fraction_and_the_bar() -> None:
    quarter = progress_of(record(step=25, total_steps=100), CREATED)

    assert quarter.fraction == 0.25
    assert quarter.bar() == "▓" * 5 + "░" * 15 + " 25%"
    assert len(quarter.bar().split()[0]) == BAR_WIDTH
    assert progress_of(record(step=0, total_steps=40), CREATED).bar() == "░" * 20 + " 0%"
    assert progress_of(record(step=40, total_steps=40), CREATED).bar() == "▓" * 20 + " 100%"
    assert progress_of(record(step=2, total_steps=3), CREATED).bar() == "▓" * 13 + "░" * 7 + " 67%"


@pytest.mark.parametrize(
    ("step", "total", "fraction"),
    [(None, 100, None), (None, None, None), (10, None, None), (10, 0, None), (150, 100, 1.0)],
)
def test_no_bar_without_both_numbers_and_never_past_full(
    step: int | None, total: int | None, fraction: float | None
) -> None:
    progress = progress_of(record(step=step, total_steps=total), CREATED)

    assert progress.fraction == fraction
    assert (progress.bar() == "") is (fraction is None)


def test_elapsed_counts_from_the_start_of_training_when_known() -> None:
    now = CREATED + timedelta(hours=2)
    running_since = CREATED + timedelta(minutes=30)

    assert progress_of(record(status="queued"), now).elapsed == timedelta(hours=2)
    assert progress_of(record(running_since=running_since), now).elapsed == timedelta(minutes=90)
    finished = record(running_since=running_since, finished_at=CREATED + timedelta(hours=1))
    assert progress_of(finished, now).elapsed == timedelta(minutes=30), "stops at the end"
    ahead = record(running_since=now + timedelta(minutes=1))
    assert progress_of(ahead, now).elapsed == timedelta(0), "a clock ahead is not negative time"


def test_remaining_is_the_providers_estimate_when_there_is_one() -> None:
    now = CREATED + timedelta(hours=1)
    job = record(
        running_since=CREATED,
        step=10,
        total_steps=100,
        estimated_finish=now + timedelta(minutes=7),
    )

    assert progress_of(job, now).remaining == timedelta(minutes=7)
    overdue = replace(job, estimated_finish=now - timedelta(minutes=5))
    assert progress_of(overdue, now).remaining == timedelta(0)


def test_remaining_is_extrapolated_from_the_steps_done() -> None:
    running_since = CREATED + timedelta(minutes=5)
    now = running_since + timedelta(minutes=10)

    progress = progress_of(record(running_since=running_since, step=25, total_steps=100), now)

    assert progress.remaining == timedelta(minutes=30)
    done = record(running_since=running_since, step=100, total_steps=100)
    assert progress_of(done, now).remaining == timedelta(0)
    past = record(running_since=running_since, step=120, total_steps=100)
    assert progress_of(past, now).remaining == timedelta(0)


@pytest.mark.parametrize(
    "fields",
    [
        {"running_since": CREATED, "step": None, "total_steps": 100},
        {"running_since": CREATED, "step": 0, "total_steps": 100},
        {"running_since": CREATED, "step": 5, "total_steps": None},
        {"running_since": None, "step": 5, "total_steps": 100},
    ],
    ids=["no-step", "step-zero", "no-total", "not-running"],
)
def test_no_time_left_is_guessed_before_the_first_step(fields: dict[str, object]) -> None:
    progress = progress_of(record(**fields), CREATED + timedelta(hours=1))

    assert progress.remaining is None


def test_progress_carries_the_status_and_losses() -> None:
    job = record(status="running", step=3, total_steps=9, train_loss=1.25, valid_loss=1.5)

    progress = progress_of(job, CREATED)

    assert progress == Progress(
        status="running",
        step=3,
        total_steps=9,
        train_loss=1.25,
        valid_loss=1.5,
        elapsed=timedelta(0),
        remaining=None,
    )


def test_progress_of_a_followed_job(
    starter: Starter,
    emu: OpenAIEmulator,
    follower: Follower,
    service: JobService,
    clock: Clock,
) -> None:
    """From the emulator through the follower to the numbers a front end draws."""
    job = starter.start()
    emu.set_status(pid(job), "running")
    follower.poll_once()  # training starts at T0 by the follower's clock
    for _ in range(4):
        emu.advance(pid(job))
    clock.now = T0 + timedelta(minutes=8)
    follower.poll_once()
    stored = service.get(WORKSPACE, job.short_id)
    assert stored.running_since == T0
    assert stored.total_steps == 10

    # Without the provider's estimate, four steps in eight minutes leave twelve for six more.
    progress = progress_of(replace(stored, estimated_finish=None), T0 + timedelta(minutes=8))

    assert (progress.status, progress.step, progress.fraction) == ("running", 4, 0.4)
    assert progress.bar() == "▓" * 8 + "░" * 12 + " 40%"
    assert progress.elapsed == timedelta(minutes=8)
    assert progress.remaining == timedelta(minutes=12)
    assert progress.train_loss == stored.train_loss is not None
