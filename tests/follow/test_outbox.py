"""The outbox of completion notices: written by the follower when a job ends, claimed once,
advanced step by step, and given up on after too many attempts."""

from __future__ import annotations

import functools

import pytest
from sqlalchemy.orm import Session, sessionmaker

from finetuning.follow.follower import Follower
from finetuning.follow.outbox import MAX_ATTEMPTS, Outbox
from finetuning.jobs.records import JobRecord
from storage.models import Notice
from tests.emulators.openai_emulator import OpenAIEmulator
from tests.follow.harness import CHANNEL, USER, Starter, notices, pid, race, row

MESSAGE_TS = "1700000000.000100"


@pytest.fixture
def outbox(session_factory: sessionmaker[Session]) -> Outbox:
    return Outbox(session_factory)


@pytest.fixture
def ended(starter: Starter, emu: OpenAIEmulator, follower: Follower) -> list[JobRecord]:
    """Two jobs the follower saw end: the first succeeded, the second failed."""
    succeeded, failed = starter.start(), starter.start()
    emu.finish(pid(succeeded), "succeeded")
    emu.finish(pid(failed), "failed")
    assert follower.poll_once().finished == 2
    return [succeeded, failed]


def notice(factory: sessionmaker[Session], notice_id: int) -> Notice:
    with factory() as session:
        return session.get_one(Notice, notice_id)


def test_owed_lists_pending_notices_with_their_job(
    outbox: Outbox, ended: list[JobRecord], session_factory: sessionmaker[Session]
) -> None:
    owed = outbox.owed()

    assert [(n.kind, n.status, n.attempts, n.message_ts) for n in owed] == [
        ("succeeded", "pending", 0, None),
        ("failed", "pending", 0, None),
    ]
    assert [n.id for n in owed] == [n.id for n in notices(session_factory)]
    first, second = owed[0].job, owed[1].job
    assert (first.id, second.id) == (ended[0].id, ended[1].id)
    assert first.fine_tuned_model == row(session_factory, ended[0].id).fine_tuned_model
    assert first.fine_tuned_model is not None
    assert second.error_message == row(session_factory, ended[1].id).error_message
    assert (first.status, second.status) == ("succeeded", "failed")
    assert (first.channel_id, first.started_by) == (CHANNEL, USER)
    assert first.dataset_file_name == "train.jsonl"
    assert [n.job.id for n in outbox.owed(limit=1)] == [ended[0].id]


def test_nothing_is_owed_before_a_job_ends(
    outbox: Outbox, starter: Starter, emu: OpenAIEmulator, follower: Follower
) -> None:
    job = starter.start()
    emu.set_status(pid(job), "running")
    follower.poll_once()

    assert outbox.owed() == []


def test_begin_posting_claims_a_notice_once(
    outbox: Outbox, ended: list[JobRecord], session_factory: sessionmaker[Session]
) -> None:
    first = outbox.owed()[0]

    assert outbox.begin_posting(first.id, "pending") is True
    assert outbox.begin_posting(first.id, "pending") is False

    claimed = notice(session_factory, first.id)
    assert (claimed.status, claimed.attempts) == ("posting", 1)
    assert claimed.posting_since is not None
    owed = {n.id: n for n in outbox.owed()}
    assert owed[first.id].status == "posting"
    assert owed[first.id].posting_since == claimed.posting_since


def test_of_many_simultaneous_claims_exactly_one_wins(
    outbox: Outbox, ended: list[JobRecord], session_factory: sessionmaker[Session]
) -> None:
    first = outbox.owed()[0]

    outcomes = race(*[functools.partial(outbox.begin_posting, first.id, "pending")] * 6)

    assert sorted(map(str, outcomes)) == ["False"] * 5 + ["True"]
    assert notice(session_factory, first.id).attempts == 1


def test_posted_then_sent_and_a_sent_notice_is_no_longer_owed(
    outbox: Outbox, ended: list[JobRecord], session_factory: sessionmaker[Session]
) -> None:
    first, second = outbox.owed()
    assert outbox.begin_posting(first.id, "pending")

    outbox.posted(first.id, MESSAGE_TS)

    [posted] = [n for n in outbox.owed() if n.id == first.id]
    assert (posted.status, posted.message_ts) == ("posted", MESSAGE_TS)
    assert outbox.begin_posting(first.id, "pending") is False, "posted is not claimable as new"

    outbox.sent(first.id)

    assert [n.id for n in outbox.owed()] == [second.id]
    done = notice(session_factory, first.id)
    assert (done.status, done.message_ts, done.attempts) == ("sent", MESSAGE_TS, 1)
    assert done.sent_at is not None


def test_attempts_are_counted_and_max_attempts_stops_retrying(
    outbox: Outbox, ended: list[JobRecord], session_factory: sessionmaker[Session]
) -> None:
    first, second = outbox.owed()
    status = "pending"
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert [n.id for n in outbox.owed()] == [first.id, second.id]
        assert outbox.begin_posting(first.id, status), f"attempt {attempt} could not claim"
        status = "posting"  # a restart retries a notice left in `posting`
        outbox.attempt_failed(first.id, f"attempt {attempt}: " + "x" * 3000)
        assert notice(session_factory, first.id).attempts == attempt

    assert [n.id for n in outbox.owed()] == [second.id], "given up after MAX_ATTEMPTS"
    gave_up = notice(session_factory, first.id)
    assert gave_up.status == "posting"
    assert gave_up.last_error is not None
    assert gave_up.last_error.startswith(f"attempt {MAX_ATTEMPTS}: ")
    assert len(gave_up.last_error) == 2000
