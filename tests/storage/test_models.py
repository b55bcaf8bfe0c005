"""The models against a real, migrated database: what the constraints accept and refuse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from storage.db import session_scope
from storage.models import ChannelBinding, Dataset, Job, JobEvent, JobStatus
from tests.storage.builders import new_binding, new_dataset, new_event, new_job


def _assert_rejected(session_factory, *rows):
    """Adding `rows` (after whatever is already stored) must violate a constraint."""
    with pytest.raises(IntegrityError), session_scope(session_factory) as session:
        session.add_all(rows)


def test_a_dataset_round_trips_with_its_report(session_factory):
    report = {
        "format": "chat",
        "examples": 12,
        "tokens": {"total": 3_000_000_000, "mean": 41.5},
        "errors": [],
        "warnings": [{"line": 3, "code": "long_example", "text": "Exemple très long — 🤖"}],
        "valid": True,
        "cost": None,
    }
    with session_scope(session_factory) as session:
        dataset = new_dataset(report=report, total_tokens=3_000_000_000)
        session.add(dataset)
    assert dataset.short_id == f"ds-{dataset.id}"

    with session_factory() as session:
        stored = session.get_one(Dataset, dataset.id)
        assert stored.report == report
        assert stored.total_tokens == 3_000_000_000
        assert stored.valid is True
        assert stored.created_at.tzinfo is UTC
        assert abs(stored.created_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_the_same_file_is_stored_once_per_workspace(session_factory):
    with session_scope(session_factory) as session:
        session.add(new_dataset(workspace_id="T1", sha256="a" * 64))

    _assert_rejected(session_factory, new_dataset(workspace_id="T1", sha256="a" * 64))

    with session_scope(session_factory) as session:
        session.add(new_dataset(workspace_id="T2", sha256="a" * 64))
        session.add(new_dataset(workspace_id="T1", sha256="b" * 64))
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Dataset)) == 3


def test_a_start_request_creates_one_job_however_often_it_arrives(session_factory):
    with session_scope(session_factory) as session:
        dataset = new_dataset()
        session.add(new_job(dataset, idempotency_key="T1:C1:1700000000.000100"))

    with session_factory() as session:
        stored_dataset = session.get_one(Dataset, dataset.id)
        duplicate = new_job(stored_dataset, idempotency_key="T1:C1:1700000000.000100")
        with pytest.raises(IntegrityError):
            session.add(duplicate)
            session.flush()
        session.rollback()
        assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_a_provider_job_is_tracked_by_one_row(session_factory):
    with session_scope(session_factory) as session:
        dataset = new_dataset()
        # Jobs not yet submitted have no provider id; any number of them may exist.
        session.add_all([new_job(dataset), new_job(dataset)])
        session.add(new_job(dataset, provider_job_id="ftjob-abc"))

    with session_factory() as session:
        stored_dataset = session.get_one(Dataset, dataset.id)
        session.add(new_job(stored_dataset, provider_job_id="ftjob-abc"))
        with pytest.raises(IntegrityError):
            session.flush()


def test_a_channel_or_thread_has_one_binding(session_factory):
    with session_scope(session_factory) as session:
        whole_channel = new_binding(channel_id="C1")
        session.add(whole_channel)
        session.add(new_binding(channel_id="C1", thread_ts="1700000000.000100"))
        session.add(new_binding(channel_id="C2"))
        session.add(new_binding(workspace_id="T2", channel_id="C1"))
    assert whole_channel.thread_ts == ""

    _assert_rejected(session_factory, new_binding(channel_id="C1"))
    _assert_rejected(session_factory, new_binding(channel_id="C1", thread_ts=""))
    _assert_rejected(session_factory, new_binding(channel_id="C1", thread_ts="1700000000.000100"))
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(ChannelBinding)) == 4


def test_a_binding_inserted_without_a_thread_counts_as_the_whole_channel(db_engine):
    insert = text(
        "INSERT INTO channel_bindings (workspace_id, channel_id, model) VALUES ('T1', 'C1', 'm')"
    )
    with db_engine.begin() as connection:
        connection.execute(insert)
        assert connection.scalar(text("SELECT thread_ts FROM channel_bindings")) == ""
    with pytest.raises(IntegrityError), db_engine.begin() as connection:
        connection.execute(insert)


def test_an_event_is_stored_once_per_job(session_factory):
    with session_scope(session_factory) as session:
        dataset = new_dataset()
        first, second = new_job(dataset), new_job(dataset)
        session.add_all([new_event(first, provider_event_id="ftevent-1")])
        # The same provider event id under another job is a different event.
        session.add_all([new_event(second, provider_event_id="ftevent-1")])

    with session_factory() as session:
        job = session.get_one(Job, first.id)
        session.add(new_event(job, provider_event_id="ftevent-1"))
        with pytest.raises(IntegrityError):
            session.flush()


def test_deleting_a_job_through_the_orm_deletes_its_events(session_factory):
    with session_scope(session_factory) as session:
        dataset = new_dataset()
        doomed, kept = new_job(dataset), new_job(dataset)
        session.add_all([new_event(doomed), new_event(doomed), new_event(kept)])

    with session_scope(session_factory) as session:
        session.delete(session.get_one(Job, doomed.id))

    with session_factory() as session:
        assert session.scalars(select(JobEvent.job_id)).all() == [kept.id]


def test_deleting_a_job_in_sql_cascades_in_the_database(session_factory):
    """Proves the foreign key itself cascades (and that SQLite enforces foreign keys)."""
    with session_scope(session_factory) as session:
        dataset = new_dataset()
        doomed, kept = new_job(dataset), new_job(dataset)
        session.add_all([new_event(doomed), new_event(doomed), new_event(kept)])

    with session_scope(session_factory) as session:
        session.execute(delete(Job).where(Job.id == doomed.id))

    with session_factory() as session:
        assert session.scalars(select(JobEvent.job_id)).all() == [kept.id]


def test_a_job_must_point_at_a_stored_dataset(session_factory):
    with session_scope(session_factory) as session:
        dataset = new_dataset()
        session.add(dataset)
    orphan = Job(
        workspace_id="T1", dataset_id=dataset.id + 1000, idempotency_key="k", base_model="m"
    )
    _assert_rejected(session_factory, orphan)


def test_a_new_job_has_sensible_defaults_and_tracks_updates(session_factory):
    with session_scope(session_factory) as session:
        job = new_job(new_dataset())
        session.add(job)
    assert job.short_id == f"job-{job.id}"
    assert job.status == JobStatus.PENDING == "pending"
    assert job.method == "supervised"
    assert timedelta(0) <= job.updated_at - job.created_at < timedelta(seconds=1)
    assert job.finished_at is None

    with session_scope(session_factory) as session:
        stored = session.get_one(Job, job.id)
        stored.status = JobStatus.RUNNING
    with session_factory() as session:
        stored = session.get_one(Job, job.id)
        assert stored.status == "running"
        assert stored.updated_at > job.updated_at
        assert stored.created_at == job.created_at


def test_money_is_stored_exactly(session_factory):
    with session_scope(session_factory) as session:
        job = new_job(
            new_dataset(),
            estimated_cost_usd=Decimal("12345678.1234"),
            actual_cost_usd=Decimal("0.0001"),
        )
        session.add(job)
    with session_factory() as session:
        stored = session.get_one(Job, job.id)
        assert stored.estimated_cost_usd == Decimal("12345678.1234")
        assert stored.actual_cost_usd == Decimal("0.0001")


def test_times_are_stored_in_utc_and_come_back_aware(session_factory):
    finished = datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
    with session_scope(session_factory) as session:
        job = new_job(new_dataset(), finished_at=finished)
        session.add(job)
    with session_factory() as session:
        stored = session.get_one(Job, job.id)
        assert stored.finished_at == finished
        assert stored.finished_at is not None
        assert stored.finished_at.tzinfo is UTC
        assert stored.finished_at.hour == 7


def test_naive_times_are_refused(session_factory):
    with session_factory() as session:
        session.add(new_job(new_dataset(), finished_at=datetime(2025, 3, 1, 9, 30)))
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()


def test_event_data_none_is_sql_null_and_json_round_trips(session_factory):
    metrics = {"step": 10, "train_loss": 0.25, "full_valid_mean_token_accuracy": None}
    with session_scope(session_factory) as session:
        job = new_job(new_dataset())
        without, with_metrics = new_event(job, data=None), new_event(job, data=metrics)
        session.add_all([without, with_metrics])
    with session_factory() as session:
        assert session.scalars(select(JobEvent.id).where(JobEvent.data.is_(None))).all() == [
            without.id
        ]
        assert session.get_one(JobEvent, with_metrics.id).data == metrics
        assert [e.id for e in session.get_one(Job, job.id).events] == [without.id, with_metrics.id]
