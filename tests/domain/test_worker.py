"""The task runner: each task runs once, waits when asked, retries with backoff, then gives up."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import bot.worker
from bot.worker import TaskRunner, backoff
from finetuning.tasks import ATTEMPT, AbandonTaskError, RetryLaterError
from storage.models import Task
from storage.tasks import TaskQueue

SWEEP_SECONDS = 0.05


class Recorder:
    """A handler that records each call (payload and time) and behaves as `script` says."""

    def __init__(self, script: Callable[[int], None] | None = None) -> None:
        self.calls: list[tuple[dict[str, Any], float]] = []
        self.script = script
        self.changed = threading.Condition()

    def __call__(self, payload: dict[str, Any]) -> None:
        with self.changed:
            self.calls.append((payload, time.monotonic()))
            attempt = len(self.calls)
            self.changed.notify_all()
        if self.script is not None:
            self.script(attempt)

    def wait_for_calls(self, count: int, timeout: float = 5.0) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.calls) >= count, timeout):
                raise TimeoutError(f"{len(self.calls)} call(s), expected {count}")


@pytest.fixture
def queue(session_factory: sessionmaker[Session]) -> TaskQueue:
    return TaskQueue(session_factory)


@pytest.fixture
def make_runner(queue: TaskQueue) -> Iterator[Callable[..., TaskRunner]]:
    runners: list[TaskRunner] = []

    def build(handlers: dict[str, Any], *, sweep: bool = True) -> TaskRunner:
        runner = TaskRunner(queue, handlers, workers=2, sweep_seconds=SWEEP_SECONDS)
        runners.append(runner)
        if sweep:
            runner.start()
        return runner

    yield build
    for runner in runners:
        runner.stop(wait=True)


def task_row(factory: sessionmaker[Session], task_id: int) -> Task:
    with factory() as session:
        return session.get_one(Task, task_id)


def wait_for_status(queue: TaskQueue, task_id: int, status: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while queue.status(task_id) != status:
        if time.monotonic() > deadline:
            raise TimeoutError(f"task {task_id} is {queue.status(task_id)!r}, not {status!r}")
        time.sleep(0.01)


def task_id_of(factory: sessionmaker[Session], key: str) -> int:
    with factory() as session:
        task_id = session.scalar(select(Task.id).where(Task.key == key))
    assert task_id is not None, f"no task {key!r}"
    return task_id


def test_a_task_runs_once_with_its_payload(
    make_runner: Callable[..., TaskRunner],
    queue: TaskQueue,
    session_factory: sessionmaker[Session],
) -> None:
    handler = Recorder()
    runner = make_runner({"intake": handler})

    assert runner.enqueue("intake", "intake:T1:F1", {"file": "F1"})

    handler.wait_for_calls(1)
    task_id = task_id_of(session_factory, "intake:T1:F1")
    wait_for_status(queue, task_id, "done")
    time.sleep(SWEEP_SECONDS * 6)  # several sweeps: none may run it again
    assert [payload for payload, _ in handler.calls] == [{"file": "F1", ATTEMPT: 1}]


def test_the_same_key_enqueued_twice_runs_once(
    make_runner: Callable[..., TaskRunner],
    queue: TaskQueue,
    session_factory: sessionmaker[Session],
) -> None:
    release = threading.Event()
    handler = Recorder(lambda attempt: release.wait(5))
    runner = make_runner({"start": handler})

    first = runner.enqueue("start", "start:T1:trigger", {"n": 1})
    second = runner.enqueue("start", "start:T1:trigger", {"n": 2})
    handler.wait_for_calls(1)
    third = runner.enqueue("start", "start:T1:trigger", {"n": 3})
    release.set()

    assert (first, second, third) == (True, False, False)
    task_id = task_id_of(session_factory, "start:T1:trigger")
    wait_for_status(queue, task_id, "done")
    time.sleep(SWEEP_SECONDS * 6)
    assert [payload for payload, _ in handler.calls] == [{"n": 1, ATTEMPT: 1}]


def test_concurrent_enqueues_of_one_key_run_it_once(
    make_runner: Callable[..., TaskRunner], queue: TaskQueue
) -> None:
    handler = Recorder()
    runner = make_runner({"intake": handler})
    barrier = threading.Barrier(4)
    created: list[bool] = []

    def enqueue() -> None:
        barrier.wait()
        created.append(runner.enqueue("intake", "intake:T1:F9", {"file": "F9"}))

    threads = [threading.Thread(target=enqueue) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(created) == [False, False, False, True]
    handler.wait_for_calls(1)
    time.sleep(SWEEP_SECONDS * 6)
    assert len(handler.calls) == 1


def test_retry_later_runs_the_task_again_after_its_delay(
    make_runner: Callable[..., TaskRunner],
    queue: TaskQueue,
    session_factory: sessionmaker[Session],
) -> None:
    def first_rate_limited(attempt: int) -> None:
        if attempt == 1:
            raise RetryLaterError("rate limited", delay=timedelta(seconds=0.3))

    handler = Recorder(first_rate_limited)
    runner = make_runner({"command": handler})

    runner.enqueue("command", "command:1", {"x": 1})
    handler.wait_for_calls(1)
    task_id = task_id_of(session_factory, "command:1")
    time.sleep(0.1)
    assert queue.status(task_id) == "pending"
    assert task_row(session_factory, task_id).last_error == "rate limited"
    handler.wait_for_calls(2)

    gap = handler.calls[1][1] - handler.calls[0][1]
    assert gap >= 0.29, f"retried after {gap:.3f} s, before its 0.3 s delay"
    wait_for_status(queue, task_id, "done")
    row = task_row(session_factory, task_id)
    assert row.attempts == 2
    assert row.last_error is None


def test_failures_back_off_then_the_task_fails_for_good(
    make_runner: Callable[..., TaskRunner],
    queue: TaskQueue,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits: list[int] = []

    def quick_backoff(attempt: int) -> timedelta:
        waits.append(attempt)
        return timedelta(seconds=0.1 * attempt)

    monkeypatch.setattr(bot.worker, "MAX_ATTEMPTS", 3)
    monkeypatch.setattr(bot.worker, "backoff", quick_backoff)

    def always_broken(attempt: int) -> None:
        raise ValueError(f"boom {attempt}")

    handler = Recorder(always_broken)
    runner = make_runner({"fix": handler})

    runner.enqueue("fix", "fix:ds-1", {})
    task_id = task_id_of(session_factory, "fix:ds-1")
    wait_for_status(queue, task_id, "failed")

    times = [moment for _, moment in handler.calls]
    assert len(times) == 3
    assert times[1] - times[0] >= 0.09 and times[2] - times[1] >= 0.19, "backoff grows"
    assert waits == [1, 2]
    row = task_row(session_factory, task_id)
    assert row.attempts == 3
    assert row.last_error == "ValueError('boom 3')"
    time.sleep(SWEEP_SECONDS * 6)
    assert len(handler.calls) == 3, "a failed task never runs again"


def test_the_sweep_runs_a_task_left_in_the_queue_by_an_earlier_process(
    make_runner: Callable[..., TaskRunner], queue: TaskQueue
) -> None:
    task_id, created = queue.enqueue("intake", "intake:T1:F2", {"file": "F2"})
    assert created
    handler = Recorder()

    make_runner({"intake": handler})

    handler.wait_for_calls(1)
    wait_for_status(queue, task_id, "done")
    assert handler.calls[0][0] == {"file": "F2", ATTEMPT: 1}


def test_without_the_sweep_a_leftover_task_waits(
    make_runner: Callable[..., TaskRunner], queue: TaskQueue
) -> None:
    """The sweep is what resumes work after a restart: proves the test above needs it."""
    task_id, _ = queue.enqueue("intake", "intake:T1:F3", {"file": "F3"})
    handler = Recorder()

    make_runner({"intake": handler}, sweep=False)

    time.sleep(SWEEP_SECONDS * 6)
    assert handler.calls == []
    assert queue.status(task_id) == "pending"


def test_an_unknown_kind_is_refused_before_anything_is_written(
    make_runner: Callable[..., TaskRunner], queue: TaskQueue
) -> None:
    runner = make_runner({"intake": Recorder()})
    with pytest.raises(KeyError, match="nonsense"):
        runner.enqueue("nonsense", "nonsense:1", {})
    assert queue.due() == []


def test_backoff_doubles_up_to_five_minutes() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert backoff(8) == timedelta(seconds=256)
    assert backoff(9) == timedelta(minutes=5)
    assert backoff(20) == timedelta(minutes=5)


def test_a_kind_with_its_own_pool_runs_while_the_default_pool_is_busy(make_runner):
    """Long chat replies must not wait behind (or block) checks and starts, and vice versa."""
    release = threading.Event()
    blocked = Recorder(lambda _attempt: release.wait(5))
    quick = Recorder()
    runner = make_runner({"slow": blocked})
    runner.register({"chat": quick}, pool="chat", workers=3)
    try:
        for n in range(2):  # both default workers are now stuck
            runner.enqueue("slow", f"slow:{n}", {"n": n})
        blocked.wait_for_calls(2)
        for n in range(3):
            runner.enqueue("chat", f"chat:{n}", {"n": n})
        quick.wait_for_calls(3, timeout=2)
    finally:
        release.set()


def test_a_named_pool_needs_workers(make_runner):
    runner = make_runner({})
    with pytest.raises(ValueError, match="at least one worker"):
        runner.register({"chat": Recorder()}, pool="chat")


def test_an_abandoned_task_ends_failed_at_once_with_its_reason(
    make_runner: Callable[..., TaskRunner],
    queue: TaskQueue,
    session_factory: sessionmaker[Session],
) -> None:
    def gone(attempt: int) -> None:
        raise AbandonTaskError("tunebot is not installed in workspace T9")

    handler = Recorder(gone)
    runner = make_runner({"intake": handler})

    runner.enqueue("intake", "intake:T9:F1", {"file": "F1"})

    task_id = task_id_of(session_factory, "intake:T9:F1")
    wait_for_status(queue, task_id, "failed")
    time.sleep(SWEEP_SECONDS * 6)  # several sweeps: none may try it again
    assert len(handler.calls) == 1
    assert task_row(session_factory, task_id).last_error == (
        "tunebot is not installed in workspace T9"
    )
