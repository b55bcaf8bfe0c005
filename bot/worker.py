"""Runs durable tasks: at once when enqueued, and from a periodic sweep after a restart.

Handlers are plain functions of the task's payload. A handler that raises `RetryLaterError` (or any
exception) is tried again with backoff, up to a limit; the task row keeps the last error. One that
raises `AbandonTaskError` ends the task there, failed with the reason.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from finetuning.tasks import ATTEMPT, AbandonTaskError, RetryLaterError
from storage.tasks import ClaimedTask, TaskQueue

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
MAX_ATTEMPTS = 6


def backoff(attempt: int) -> timedelta:
    """2, 4, 8 … seconds, at most five minutes."""
    return timedelta(seconds=min(300, 2**attempt))


class TaskRunner:
    """Bounded pools of threads working off the task queue.

    Tasks run in the default pool unless their kind was registered with a pool of its own:
    a streamed chat reply holds its thread for as long as the model writes, and fifty of them
    must neither wait behind one another nor starve dataset checks and job starts.
    """

    def __init__(
        self,
        queue: TaskQueue,
        handlers: dict[str, Handler],
        *,
        workers: int = 4,
        sweep_seconds: float = 2.0,
    ) -> None:
        self._queue = queue
        self._handlers = handlers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="task")
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._pool_of_kind: dict[str, ThreadPoolExecutor] = {}
        self._sweep_seconds = sweep_seconds
        self._in_flight: set[int] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sweeper: threading.Thread | None = None

    def register(
        self, handlers: dict[str, Handler], *, pool: str | None = None, workers: int = 0
    ) -> None:
        """Add handlers; the front ends that own them need `enqueue` first, hence afterwards.

        With `pool`, the kinds run in that named pool of `workers` threads (created once).
        """
        self._handlers.update(handlers)
        if pool is None:
            return
        executor = self._pools.get(pool)
        if executor is None:
            if workers < 1:
                raise ValueError(f"pool {pool!r} needs at least one worker")
            executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=pool)
            self._pools[pool] = executor
        for kind in handlers:
            self._pool_of_kind[kind] = executor

    def enqueue(self, kind: str, key: str, payload: dict[str, Any]) -> bool:
        """Write the task and start it now; False when the key was already taken (a repeat)."""
        if kind not in self._handlers:
            raise KeyError(f"no handler for task kind {kind!r}")
        task_id, created = self._queue.enqueue(kind, key, payload)
        if created:
            self.submit(task_id, kind)
        return created

    def enqueue_in(
        self, session: Session, kind: str, key: str, payload: dict[str, Any]
    ) -> Callable[[], None]:
        """Write the task in the caller's transaction; call what this returns once it has
        committed to start the task now (the sweep would start it a little later anyway)."""
        if kind not in self._handlers:
            raise KeyError(f"no handler for task kind {kind!r}")
        task_id = self._queue.add_in(session, kind, key, payload)
        return lambda: self.submit(task_id, kind)

    def submit(self, task_id: int, kind: str) -> None:
        with self._lock:
            if task_id in self._in_flight or self._stopping.is_set():
                return
            self._in_flight.add(task_id)
        self._pool_of_kind.get(kind, self._pool).submit(self._run, task_id)

    def start(self) -> None:
        """Start the sweep that picks up tasks left by a restart or due for a retry."""
        self._sweeper = threading.Thread(target=self._sweep, name="task-sweep", daemon=True)
        self._sweeper.start()

    def stop(self, wait: bool = True) -> None:
        self._stopping.set()
        for executor in (self._pool, *self._pools.values()):
            executor.shutdown(wait=wait, cancel_futures=True)

    def _sweep(self) -> None:
        """Renew the leases of running tasks, and start tasks that are due."""
        renew_every = self._queue.lease.total_seconds() / 3
        last_renewal = time.monotonic()
        while not self._stopping.wait(self._sweep_seconds):
            try:
                if time.monotonic() - last_renewal >= renew_every:
                    with self._lock:
                        running = list(self._in_flight)
                    self._queue.renew(running)
                    last_renewal = time.monotonic()
                for task_id, kind in self._queue.due():
                    self.submit(task_id, kind)
            except Exception:
                log.exception("task sweep failed; trying again")

    def _run(self, task_id: int) -> None:
        try:
            task = self._queue.claim(task_id)
            if task is None:
                return
            try:
                # The attempt number lets a handler check whether an earlier attempt's side
                # effect (a posted message) already happened before doing it again.
                self._handlers[task.kind]({**task.payload, ATTEMPT: task.attempts})
            except RetryLaterError as exc:
                self._retry_or_fail(task, str(exc), exc.delay)
            except AbandonTaskError as exc:
                log.warning("task %s (%s) abandoned: %s", task.key, task.kind, exc)
                self._queue.fail(task_id, str(exc), task.payload)
            except Exception as exc:
                log.exception("task %s (%s) failed", task.key, task.kind)
                self._retry_or_fail(task, repr(exc), None)
            else:
                self._queue.complete(task_id, task.payload)
        except Exception:
            log.exception("task %s could not be run", task_id)
        finally:
            with self._lock:
                self._in_flight.discard(task_id)

    def _retry_or_fail(self, task: ClaimedTask, error: str, delay: timedelta | None) -> None:
        if task.attempts >= MAX_ATTEMPTS:
            self._queue.fail(task.id, error, task.payload)
        else:
            self._queue.retry(task.id, error, delay or backoff(task.attempts))
