"""The follower against a live OpenAI emulator and a real database: what a cycle asks OpenAI for,
what it stores, and that every ending is recorded with exactly one notice."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import AuditLog
from finetuning.credentials import Accounts
from finetuning.datasets.models import ModelCatalog, default_catalog
from finetuning.follow.follower import Follower
from finetuning.jobs import JobService
from finetuning.provider import OpenAIProvider, ProviderError
from storage.models import Job
from tests.emulators.openai_emulator import OpenAIEmulator
from tests.follow.harness import (
    EVENTS,
    JOBS,
    MODEL,
    ONE_JOB,
    T0,
    USER,
    WORKSPACE,
    Clock,
    FollowerFactory,
    Starter,
    calls,
    count_rows,
    notices,
    pid,
    provider_for,
    race,
    row,
    stored_events,
)


def newest_first_events(provider: OpenAIProvider, provider_job_id: str) -> list[str]:
    return [event.id for event in provider.list_events(provider_job_id, limit=100)]


# --- what a cycle costs ------------------------------------------------------------------------


def test_no_active_jobs_means_no_api_calls(
    follower: Follower,
    starter: Starter,
    emu: OpenAIEmulator,
    session_factory: sessionmaker[Session],
) -> None:
    stats = follower.poll_once()

    assert (stats.active, stats.api_calls) == (0, 0)
    assert emu.requests == []

    ended = starter.start()
    emu.finish(pid(ended), "cancelled")
    follower.poll_once()
    assert row(session_factory, ended.id).status == "cancelled"
    emu.reset_log()

    stats = follower.poll_once()

    assert (stats.active, stats.api_calls) == (0, 0)
    assert emu.requests == [], "an ended job is never asked about again"


def test_quiet_jobs_cost_one_list_call_per_page_and_nothing_per_job(
    make_follower: FollowerFactory,
    starter: Starter,
    emu: OpenAIEmulator,
    session_factory: sessionmaker[Session],
) -> None:
    follower = make_follower(page_size=5)
    jobs = [starter.start() for _ in range(12)]
    for job in jobs:
        assert emu.advance(pid(job)) == "queued"
    settling = follower.poll_once()
    assert (settling.active, settling.changed) == (12, 12)
    assert {row(session_factory, job.id).status for job in jobs} == {"queued"}
    emu.reset_log()

    stats = follower.poll_once()

    assert (stats.active, stats.changed, stats.finished) == (12, 0, 0)
    assert stats.api_calls == 3
    requests = emu.requests
    assert [(r.method, r.path) for r in requests] == [("GET", "/v1/fine_tuning/jobs")] * 3
    assert "after=" not in requests[0].query
    assert all("after=" in r.query and "limit=5" in r.query for r in requests[1:])


def test_a_running_job_costs_one_events_call_per_cycle(
    follower: Follower,
    starter: Starter,
    emu: OpenAIEmulator,
    session_factory: sessionmaker[Session],
) -> None:
    job = starter.start()
    emu.set_status(pid(job), "running")
    follower.poll_once()
    written = row(session_factory, job.id).updated_at
    emu.reset_log()

    for _ in range(3):
        stats = follower.poll_once()
        assert (stats.api_calls, stats.changed) == (2, 0)

    assert row(session_factory, job.id).updated_at == written, "nothing new, nothing written"

    assert calls(emu, "GET", JOBS) == 3
    assert calls(emu, "GET", f"/v1/fine_tuning/jobs/{pid(job)}/events") == 3
    assert calls(emu, "GET", ONE_JOB) == 0
    assert len(emu.requests) == 6


def test_a_status_change_is_recorded(
    follower: Follower,
    starter: Starter,
    emu: OpenAIEmulator,
    clock: Clock,
    session_factory: sessionmaker[Session],
) -> None:
    job = starter.start()
    emu.advance(pid(job))

    stats = follower.poll_once()

    assert (stats.active, stats.changed, stats.finished) == (1, 1, 0)
    queued = row(session_factory, job.id)
    assert queued.status == "queued"
    assert queued.running_since is None
    assert queued.epochs == emu.job(pid(job))["hyperparameters"]["n_epochs"]

    assert emu.advance(pid(job)) == "running"
    clock.now = T0 + timedelta(minutes=3)
    follower.poll_once()

    running = row(session_factory, job.id)
    assert running.status == "running"
    assert running.running_since == T0 + timedelta(minutes=3)
    remote_finish = emu.job(pid(job))["estimated_finish"]
    assert running.estimated_finish == datetime.fromtimestamp(remote_finish, UTC)

    emu.advance(pid(job))  # a step: the row is written again
    clock.now = T0 + timedelta(minutes=9)
    assert follower.poll_once().changed == 1
    assert row(session_factory, job.id).step == 1
    assert row(session_factory, job.id).running_since == T0 + timedelta(minutes=3), "kept"


def test_metrics_events_update_step_losses_and_the_last_event_seen(
    follower: Follower,
    starter: Starter,
    emu: OpenAIEmulator,
    provider: OpenAIProvider,
    session_factory: sessionmaker[Session],
) -> None:
    job = starter.start(validation=starter.dataset())
    emu.set_status(pid(job), "running")
    for _ in range(3):
        emu.advance(pid(job))

    follower.poll_once()

    remote = provider.list_events(pid(job), limit=100)
    [step3] = [e for e in remote if e.type == "metrics" and e.data["step"] == 3]
    stored = row(session_factory, job.id)
    assert (stored.step, stored.total_steps) == (3, step3.data["total_steps"])
    assert stored.train_loss == step3.data["train_loss"]
    assert stored.valid_loss == step3.data["valid_loss"]
    assert stored.last_event_id == remote[0].id
    assert [e.provider_event_id for e in stored_events(session_factory, job.id)] == [
        e.id for e in reversed(remote)
    ]

    for _ in range(2):
        emu.advance(pid(job))
    follower.poll_once()

    remote = provider.list_events(pid(job), limit=100)
    [step5] = [e for e in remote if e.type == "metrics" and e.data["step"] == 5]
    stored = row(session_factory, job.id)
    assert stored.step == 5
    assert (stored.train_loss, stored.valid_loss) == (
        step5.data["train_loss"],
        step5.data["valid_loss"],
    )
    assert stored.last_event_id == remote[0].id != step3.id
    metrics = [e for e in stored_events(session_factory, job.id) if e.type == "metrics"]
    assert [e.data["step"] for e in metrics if e.data] == [1, 2, 3, 4, 5]


def test_events_are_stored_once_even_when_fetched_twice(
    follower: Follower,
    starter: Starter,
    emu: OpenAIEmulator,
    provider: OpenAIProvider,
    session_factory: sessionmaker[Session],
) -> None:
    job = starter.start()
    emu.set_status(pid(job), "running")
    emu.advance(pid(job))
    follower.poll_once()
    first = stored_events(session_factory, job.id)
    assert first
    # As if another process read the row before the events were recorded: the bookmark is lost,
    # so the next cycle fetches every event again.
    with session_factory.begin() as session:
        session.execute(update(Job).where(Job.id == job.id).values(last_event_id=None))
    emu.advance(pid(job))

    follower.poll_once()

    remote = newest_first_events(provider, pid(job))
    stored = [e.provider_event_id for e in stored_events(session_factory, job.id)]
    assert stored == list(reversed(remote))
    assert len(set(stored)) == len(stored)
    assert stored[: len(first)] == [e.provider_event_id for e in first]
    assert row(session_factory, job.id).last_event_id == remote[0]
    assert row(session_factory, job.id).step == 2


# --- the end of a job --------------------------------------------------------------------------


def test_a_success_stores_model_tokens_cost_and_one_notice(
    follower: Follower,
    starter: Starter,
    emu: OpenAIEmulator,
    session_factory: sessionmaker[Session],
) -> None:
    job = starter.start()
    emu.set_status(pid(job), "running")
    follower.poll_once()
    remote = emu.finish(pid(job), "succeeded")

    stats = follower.poll_once()

    assert (stats.changed, stats.finished) == (1, 1)
    done = row(session_factory, job.id)
    assert done.status == "succeeded"
    assert done.fine_tuned_model == remote["fine_tuned_model"] and done.fine_tuned_model
    assert done.trained_tokens == remote["trained_tokens"] and remote["trained_tokens"] > 0
    assert done.finished_at == datetime.fromtimestamp(remote["finished_at"], UTC)
    assert done.actual_cost_usd == Decimal(remote["trained_tokens"]) / 400
    assert done.step == done.total_steps, "every remaining step was read"
    assert (done.error_code, done.error_message) == (None, None)
    [notice] = notices(session_factory, job.id)
    assert (notice.kind, notice.status, notice.attempts) == ("succeeded", "pending", 0)

    emu.reset_log()
    again = follower.poll_once()

    assert (again.active, again.api_calls, again.changed) == (0, 0, 0)
    assert emu.requests == []
    assert len(notices(session_factory)) == 1
    assert row(session_factory, job.id).fine_tuned_model == remote["fine_tuned_model"]


def test_the_cost_uses_the_catalog_price(
    session_factory: sessionmaker[Session],
    provider: OpenAIProvider,
    starter: Starter,
    emu: OpenAIEmulator,
) -> None:
    catalog = default_catalog()
    follower = Follower(
        session_factory, Accounts.fixed(provider), catalog, audit=AuditLog(session_factory)
    )
    job = starter.start()
    remote = emu.finish(pid(job), "succeeded")

    follower.poll_once()

    price = catalog.resolve(MODEL).training_usd_per_million
    cost = row(session_factory, job.id).actual_cost_usd
    assert cost is not None
    assert abs(float(cost) - remote["trained_tokens"] * price / 1e6) <= 0.00005
    assert cost > 0


def test_a_failure_stores_the_error_and_owes_a_failed_notice(
    follower: Follower,
    starter: Starter,
    emu: OpenAIEmulator,
    session_factory: sessionmaker[Session],
) -> None:
    job = starter.start()
    emu.set_status(pid(job), "running")
    error = {"code": "training_diverged", "message": "The loss diverged at step 2.", "param": None}
    emu.advance(pid(job))
    remote = emu.finish(pid(job), "failed", error)

    stats = follower.poll_once()

    assert stats.finished == 1
    failed = row(session_factory, job.id)
    assert failed.status == "failed"
    assert (failed.error_code, failed.error_message) == (error["code"], error["message"])
    assert failed.finished_at == datetime.fromtimestamp(remote["finished_at"], UTC)
    assert (failed.fine_tuned_model, failed.actual_cost_usd) == (None, None)
    assert [(n.kind, n.status) for n in notices(session_factory, job.id)] == [("failed", "pending")]
    assert follower.poll_once().api_calls == 0
    assert len(notices(session_factory)) == 1


def test_a_cancel_keeps_who_cancelled_and_owes_a_cancelled_notice(
    follower: Follower,
    service: JobService,
    starter: Starter,
    emu: OpenAIEmulator,
    clock: Clock,
    session_factory: sessionmaker[Session],
) -> None:
    job = starter.start()
    emu.set_status(pid(job), "running")
    follower.poll_once()

    service.cancel(WORKSPACE, job.short_id, by=USER)
    clock.now = T0 + timedelta(hours=1)
    stats = follower.poll_once()

    assert stats.finished == 1
    cancelled = row(session_factory, job.id)
    assert (cancelled.status, cancelled.cancelled_by) == ("cancelled", USER)
    assert cancelled.finished_at == T0 + timedelta(hours=1), "OpenAI gives no time: ours"
    assert [n.kind for n in notices(session_factory, job.id)] == ["cancelled"]
    follower.poll_once()
    assert len(notices(session_factory)) == 1


def test_a_late_snapshot_never_reopens_an_ended_job(
    follower: Follower,
    starter: Starter,
    emu: OpenAIEmulator,
    session_factory: sessionmaker[Session],
) -> None:
    ended = starter.start()
    emu.finish(pid(ended), "succeeded")
    follower.poll_once()
    before = row(session_factory, ended.id)

    assert follower.refresh(pid(ended))  # a webhook arriving after the cycle saw the end

    after = row(session_factory, ended.id)
    assert (after.status, after.finished_at, after.last_event_id, after.updated_at) == (
        before.status,
        before.finished_at,
        before.last_event_id,
        before.updated_at,
    )
    assert len(notices(session_factory, ended.id)) == 1

    # The provider still shows a job running that another process already recorded as ended
    # (its snapshot is older than our record): it must stay ended, with nothing added.
    lagging = starter.start()
    emu.set_status(pid(lagging), "running")
    emu.advance(pid(lagging))
    finished_at = T0 - timedelta(minutes=1)
    with session_factory.begin() as session:
        session.execute(
            update(Job)
            .where(Job.id == lagging.id)
            .values(status="failed", error_code="elsewhere", finished_at=finished_at)
        )

    assert follower.refresh(pid(lagging))

    kept = row(session_factory, lagging.id)
    assert (kept.status, kept.error_code, kept.finished_at) == ("failed", "elsewhere", finished_at)
    assert (kept.step, kept.running_since, kept.last_event_id) == (None, None, None)
    assert stored_events(session_factory, lagging.id) == []
    assert notices(session_factory, lagging.id) == []


# --- the webhook path --------------------------------------------------------------------------


def test_refresh_records_the_end_at_once(
    follower: Follower,
    starter: Starter,
    emu: OpenAIEmulator,
    session_factory: sessionmaker[Session],
) -> None:
    job = starter.start()
    emu.set_status(pid(job), "running")
    remote = emu.finish(pid(job), "succeeded")
    emu.reset_log()

    assert follower.refresh(pid(job)) is True

    done = row(session_factory, job.id)
    assert (done.status, done.fine_tuned_model) == ("succeeded", remote["fine_tuned_model"])
    assert [n.kind for n in notices(session_factory, job.id)] == ["succeeded"]
    assert calls(emu, "GET", f"/v1/fine_tuning/jobs/{pid(job)}") == 1
    assert calls(emu, "GET", EVENTS) == 1
    assert calls(emu, "GET", JOBS) == 0, "no listing for one job"


def test_refresh_of_a_job_that_is_not_ours_returns_false(
    follower: Follower, starter: Starter, emu: OpenAIEmulator
) -> None:
    starter.start()
    [theirs] = emu.create_jobs(1)
    emu.reset_log()

    assert follower.refresh(theirs) is False
    assert follower.refresh("ftjob-unknown") is False
    assert emu.requests == []


def test_refresh_and_poll_racing_still_owe_one_notice(
    make_follower: FollowerFactory,
    starter: Starter,
    emu: OpenAIEmulator,
    session_factory: sessionmaker[Session],
) -> None:
    """A webhook and the timer reading the same ending at the same moment, several times over."""
    for _ in range(4):
        job = starter.start()
        emu.set_status(pid(job), "running")
        emu.finish(pid(job), "succeeded")
        webhook, timer = make_follower(), make_follower()

        outcomes = race(functools.partial(webhook.refresh, pid(job)), timer.poll_once)

        assert not [o for o in outcomes if isinstance(o, Exception)]
        assert row(session_factory, job.id).status == "succeeded"
        assert [n.kind for n in notices(session_factory, job.id)] == ["succeeded"]
        ids = [e.provider_event_id for e in stored_events(session_factory, job.id)]
        assert len(ids) == len(set(ids))


# --- a job the listing does not show -----------------------------------------------------------


def test_a_job_missing_from_the_listing_is_fetched_on_its_own(
    make_follower: FollowerFactory,
    starter: Starter,
    emu: OpenAIEmulator,
    session_factory: sessionmaker[Session],
) -> None:
    follower = make_follower(page_size=5)
    job = starter.start()
    emu.create_jobs(10)  # newer jobs of other people fill the first pages
    # Our clock runs an hour ahead of OpenAI's: the first page already looks older than our
    # job, so the listing stops there without having shown it.
    with session_factory.begin() as session:
        session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(created_at=datetime.now(UTC) + timedelta(hours=1))
        )
    emu.advance(pid(job))
    emu.reset_log()

    stats = follower.poll_once()

    assert calls(emu, "GET", JOBS) == 1
    assert calls(emu, "GET", f"/v1/fine_tuning/jobs/{pid(job)}") == 1
    assert stats.api_calls == 3  # the page, the job itself, its new events
    assert row(session_factory, job.id).status == "queued"


# --- OpenAI unavailable ------------------------------------------------------------------------


def snapshot_of(factory: sessionmaker[Session], job_id: int) -> tuple[object, ...]:
    stored = row(factory, job_id)
    return (
        stored.status,
        stored.step,
        stored.last_event_id,
        stored.finished_at,
        stored.fine_tuned_model,
        stored.updated_at,
        len(stored_events(factory, job_id)),
        len(notices(factory, job_id)),
    )


@pytest.mark.parametrize(
    ("path", "status", "max_retries"),
    [
        (JOBS + "$", 500, 0),
        (JOBS + "$", 429, 0),
        (JOBS + "$", 503, 1),
        (EVENTS + "$", 502, 0),
    ],
    ids=["list-500", "list-429", "list-503-after-an-sdk-retry", "events-502"],
)
def test_a_retryable_provider_error_propagates_and_changes_nothing(
    session_factory: sessionmaker[Session],
    catalog: ModelCatalog,
    starter: Starter,
    emu: OpenAIEmulator,
    path: str,
    status: int,
    max_retries: int,
) -> None:
    job = starter.start()
    emu.set_status(pid(job), "running")
    emu.advance(pid(job))
    with provider_for(emu, max_retries=max_retries) as provider:
        follower = Follower(
            session_factory, Accounts.fixed(provider), catalog, audit=AuditLog(session_factory)
        )
        follower.poll_once()
        emu.finish(pid(job), "succeeded")
        before = snapshot_of(session_factory, job.id)
        emu.inject(path, status, count=max_retries + 1, retry_after=0.01, method="GET")
        emu.reset_log()

        with pytest.raises(ProviderError) as caught:
            follower.poll_once()

        assert caught.value.retryable
        assert caught.value.status == status
        assert calls(emu, "GET", path.rstrip("$")) == max_retries + 1
        assert snapshot_of(session_factory, job.id) == before
        assert count_rows(session_factory, Job) == 1

        follower.poll_once()

    assert row(session_factory, job.id).status == "succeeded"
    assert [n.kind for n in notices(session_factory, job.id)] == ["succeeded"]
