"""The durable task queue: one task per key, one holder at a time, retries after a delay."""

import subprocess
import sys
import threading
from datetime import timedelta

from sqlalchemy import select

from storage.models import Task
from storage.process import ProcessIdentity
from storage.tasks import TaskQueue


def test_the_same_key_enqueued_twice_is_one_task(session_factory):
    queue = TaskQueue(session_factory)
    first, created = queue.enqueue("intake", "file:T1:F1", {"file": "F1"})
    again, created_again = queue.enqueue("intake", "file:T1:F1", {"file": "F1"})
    assert created and not created_again
    assert first == again
    assert queue.due() == [(first, "intake")]


def test_only_one_of_many_concurrent_claims_wins(session_factory):
    queue = TaskQueue(session_factory)
    task_id, _ = queue.enqueue("start", "start:1", {"n": 1})
    winners = []
    barrier = threading.Barrier(6)

    def contend():
        barrier.wait()
        claimed = queue.claim(task_id)
        if claimed is not None:
            winners.append(claimed)

    threads = [threading.Thread(target=contend) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    assert winners[0].payload == {"n": 1}
    assert winners[0].attempts == 1
    assert queue.due() == []


def test_an_expired_lease_makes_the_task_due_again(session_factory):
    queue = TaskQueue(session_factory, lease=timedelta(seconds=-1))
    task_id, _ = queue.enqueue("start", "start:2", {})
    assert queue.claim(task_id) is not None
    assert queue.due() == [(task_id, "start")]
    reclaimed = queue.claim(task_id)
    assert reclaimed is not None and reclaimed.attempts == 2


def test_retry_waits_for_its_delay_and_complete_ends_the_task(session_factory):
    queue = TaskQueue(session_factory)
    task_id, _ = queue.enqueue("start", "start:3", {})
    assert queue.claim(task_id) is not None
    queue.retry(task_id, "rate limited", timedelta(hours=1))
    assert queue.due() == []
    assert queue.claim(task_id) is None
    queue.retry(task_id, "rate limited", timedelta(seconds=-1))
    assert queue.claim(task_id) is not None
    queue.complete(task_id)
    assert queue.status(task_id) == "done"
    assert queue.claim(task_id) is None


def test_failed_tasks_keep_their_error_and_never_run_again(session_factory):
    queue = TaskQueue(session_factory)
    task_id, _ = queue.enqueue("start", "start:4", {})
    queue.claim(task_id)
    queue.fail(task_id, "boom")
    assert queue.status(task_id) == "failed"
    assert queue.due() == []


def test_sealed_fields_are_kept_while_a_task_may_run_and_dropped_when_it_ends(session_factory):
    queue = TaskQueue(session_factory)
    done, _ = queue.enqueue("key", "key:1", {"team": "T1", "sealed_key": "gAAAA-one"})
    failed, _ = queue.enqueue("key", "key:2", {"team": "T1", "sealed_key": "gAAAA-two"})
    first = queue.claim(done)
    second = queue.claim(failed)
    assert first is not None and second is not None
    assert first.payload["sealed_key"] == "gAAAA-one"
    queue.retry(failed, "later", timedelta(seconds=-1))
    retried = queue.claim(failed)
    assert retried is not None and retried.payload["sealed_key"] == "gAAAA-two"

    queue.complete(done, first.payload)
    queue.fail(failed, "gave up", retried.payload)

    with session_factory() as session:
        payloads = dict(session.execute(select(Task.key, Task.payload)).all())
    assert payloads == {"key:1": {"team": "T1"}, "key:2": {"team": "T1"}}


def _dead_pid() -> int:
    """A pid that is not running: a child that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_restart_frees_the_leases_of_its_dead_predecessor(session_factory):
    dead = ProcessIdentity(ProcessIdentity.current().host, _dead_pid(), "old")
    TaskQueue(session_factory, holder=dead).claim(
        TaskQueue(session_factory).enqueue("start", "start:5", {})[0]
    )
    queue = TaskQueue(session_factory)
    assert queue.due() == []
    assert queue.release_orphaned_leases() == 1
    assert len(queue.due()) == 1


def test_a_predecessor_with_our_pid_but_another_token_is_dead(session_factory):
    me = ProcessIdentity.current()
    queue = TaskQueue(session_factory)
    task_id, _ = queue.enqueue("start", "start:6", {})
    TaskQueue(session_factory, holder=ProcessIdentity(me.host, me.pid, "previous")).claim(task_id)
    assert queue.release_orphaned_leases() == 1


def test_live_and_other_hosts_leases_are_left_alone(session_factory):
    queue = TaskQueue(session_factory)
    mine, _ = queue.enqueue("start", "start:7", {})
    theirs, _ = queue.enqueue("start", "start:8", {})
    queue.claim(mine)
    TaskQueue(session_factory, holder=ProcessIdentity("elsewhere", 1, "x")).claim(theirs)
    assert queue.release_orphaned_leases() == 0
    assert queue.due() == []
