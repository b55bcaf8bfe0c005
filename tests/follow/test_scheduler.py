"""The follower's timer across replicas: one lease holder polls and notifies, another takes over
when it stops or hangs, and an OpenAI outage slows polling down without losing a job.

Each replica gets its own engine on the same database and its own follower, told apart at the
emulator by the page size it lists with (`limit=7` or `limit=9`).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from apscheduler.schedulers import SchedulerNotRunningError
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.scheduler import LEASE, FollowScheduler
from finetuning.audit import AuditLog
from finetuning.credentials import Accounts
from finetuning.datasets.models import ModelCatalog
from finetuning.follow.follower import Follower
from finetuning.jobs.records import JobRecord
from finetuning.provider import OpenAIProvider
from storage.db import make_engine, make_session_factory
from storage.leases import LeaseStore
from storage.models import Lease
from tests.emulators.openai_emulator import OpenAIEmulator
from tests.follow.harness import Starter, notices, pid, row

POLL = 0.4
"""Seconds between polls; the replicas tick every POLL / 2 and a lease lasts 1.25 x POLL."""
TAKEOVER = 2 * POLL
SLACK = 0.6
"""Room for thread scheduling on a busy machine, on top of what the design promises: the
taking replica's next tick (POLL / 2 apart, plus jitter) and its own first cycle. 0.3 s was
measured short (1.22 s against 1.1 s) on two cores with the whole suite's bot processes
running; the lower bound below still proves the lease was not taken before it expired."""
LIST = "/v1/fine_tuning/jobs"


class Notifier:
    """The `notify` callback: when this replica acted as the holder (wall clock, as the emulator
    logs its requests)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.times: list[float] = []

    def __call__(self) -> None:
        with self._lock:
            self.times.append(time.time())

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.times)

    def first_after(self, moment: float) -> float | None:
        with self._lock:
            return next((t for t in self.times if t >= moment), None)


Replica = tuple[FollowScheduler, Notifier]
ReplicaFactory = Callable[..., Replica]


@pytest.fixture
def replica(
    migrated_url: str, provider: OpenAIProvider, catalog: ModelCatalog
) -> Iterator[ReplicaFactory]:
    """Builds replicas (not started); every one is stopped and its engine closed afterwards."""
    built: list[FollowScheduler] = []
    engines: list[Engine] = []

    def build(page_size: int, poll: float = POLL) -> Replica:
        engine = make_engine(migrated_url)
        engines.append(engine)
        factory = make_session_factory(engine)
        notifier = Notifier()
        follower = Follower(
            factory, Accounts.fixed(provider), catalog, audit=AuditLog(factory), page_size=page_size
        )
        scheduler = FollowScheduler(follower, notifier, LeaseStore(factory), poll)
        built.append(scheduler)
        return scheduler, notifier

    yield build
    for scheduler in built:
        with contextlib.suppress(SchedulerNotRunningError):  # stopped by the test, or never run
            scheduler.stop()
    time.sleep(0.1)  # let a tick that was already running finish before the engines go
    for engine in engines:
        engine.dispose()


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s: {condition}")
        time.sleep(0.01)


def list_calls(emu: OpenAIEmulator, page_size: int) -> list[float]:
    """When the replica listing with `page_size` polled (wall-clock seconds)."""
    return [
        r.time
        for r in emu.requests
        if r.method == "GET" and r.path == LIST and f"limit={page_size}" in r.query
    ]


def holder(factory: sessionmaker[Session]) -> str | None:
    """Who took the lease last, whether or not it has lapsed since: on a busy machine a holder
    may renew a little late, which the timing assertions already allow for."""
    with factory() as session:
        lease = session.get(Lease, LEASE)
        return lease.holder if lease is not None else None


@pytest.fixture
def running_job(starter: Starter, emu: OpenAIEmulator) -> JobRecord:
    """One job training at the emulator, so every poll makes calls that can be counted."""
    job = starter.start()
    emu.set_status(pid(job), "running")
    return job


def test_only_the_lease_holder_polls_and_another_takes_over_when_it_stops(
    replica: ReplicaFactory,
    running_job: JobRecord,
    emu: OpenAIEmulator,
    session_factory: sessionmaker[Session],
) -> None:
    first, first_notes = replica(page_size=7)
    second, second_notes = replica(page_size=9)
    first.start()
    wait_until(lambda: holder(session_factory) == first.holder)
    second.start()

    time.sleep(3 * POLL)

    assert second_notes.count == 0, "the replica without the lease notified"
    assert list_calls(emu, 9) == [], "the replica without the lease polled"
    assert first_notes.count >= 3
    assert len(list_calls(emu, 7)) >= 2
    assert holder(session_factory) == first.holder

    stopped = time.time()
    first.stop()
    wait_until(lambda: second_notes.first_after(stopped) is not None, timeout=TAKEOVER + 2)

    took_over = second_notes.first_after(stopped)
    assert took_over is not None and took_over - stopped <= TAKEOVER + SLACK
    assert holder(session_factory) == second.holder
    wait_until(lambda: len(list_calls(emu, 9)) >= 2, timeout=2 * POLL + SLACK)
    polls_of_first, notes_of_first = len(list_calls(emu, 7)), first_notes.count
    time.sleep(2 * POLL)
    assert len(list_calls(emu, 7)) == polls_of_first, "the stopped replica still polls"
    assert first_notes.count == notes_of_first


def test_stop_gives_the_lease_up_at_once(
    replica: ReplicaFactory, running_job: JobRecord, session_factory: sessionmaker[Session]
) -> None:
    # A slow timer: after the first tick nothing runs for seconds, so `stop` races no tick.
    slow, slow_notes = replica(page_size=7, poll=10.0)
    slow.start()
    wait_until(lambda: slow_notes.count == 1)
    leases = LeaseStore(session_factory)
    assert not leases.acquire(LEASE, "another-replica", timedelta(seconds=1))

    slow.stop()

    assert leases.holder(LEASE) is None
    assert leases.acquire(LEASE, "another-replica", timedelta(seconds=1))


def test_a_replica_that_stops_renewing_loses_the_lease_within_two_intervals(
    replica: ReplicaFactory, running_job: JobRecord, session_factory: sessionmaker[Session]
) -> None:
    hung, hung_notes = replica(page_size=7)
    other, other_notes = replica(page_size=9)
    before = time.time()
    hung.tick()  # takes the lease, polls and notifies once, then never ticks again
    assert hung_notes.count == 1
    assert holder(session_factory) == hung.holder

    other.start()
    wait_until(lambda: other_notes.count > 0, timeout=TAKEOVER + 2)

    first_note = other_notes.first_after(before)
    assert first_note is not None
    assert first_note - before >= 1.25 * POLL, "the lease was taken before it expired"
    assert first_note - before <= TAKEOVER + SLACK
    assert holder(session_factory) == other.holder


def test_an_outage_delays_the_next_poll_without_dropping_the_job(
    replica: ReplicaFactory,
    running_job: JobRecord,
    emu: OpenAIEmulator,
    session_factory: sessionmaker[Session],
) -> None:
    follower, notes = replica(page_size=7)
    follower.start()
    wait_until(lambda: len(list_calls(emu, 7)) >= 2)
    healthy = len(list_calls(emu, 7))
    emu.inject(LIST + "$", 503, count=1, method="GET")  # the SDK does not retry (max_retries=0)
    wait_until(lambda: len(list_calls(emu, 7)) >= healthy + 3, timeout=6 * POLL + 2)

    # Polls are POLL apart, but the failed one is followed by a pause of twice that (the first
    # backoff step); then the POLL rhythm resumes.
    times = list_calls(emu, 7)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    long_gaps = [n for n, gap in enumerate(gaps) if gap >= 2 * POLL - 0.05]
    assert len(long_gaps) == 1, f"expected one backoff pause between polls: {gaps}"
    assert long_gaps[0] >= healthy - 1, f"a pause before the outage: {gaps}"
    assert all(gap < 2 * POLL - 0.1 for n, gap in enumerate(gaps) if n != long_gaps[0]), gaps

    paused_from, paused_to = times[long_gaps[0]], times[long_gaps[0] + 1]
    ticks = [t for t in notes.times if paused_from < t < paused_to]
    assert len(ticks) >= 3, "notices stop going out while polling backs off"

    # The job is still followed after the outage: its end is recorded and owed as usual.
    emu.finish(pid(running_job), "succeeded")
    wait_until(lambda: row(session_factory, running_job.id).status == "succeeded")
    assert [n.kind for n in notices(session_factory)] == ["succeeded"]
