"""A durable queue of work in the database: enqueue once, claim with a lease, finish or retry.

Why the database and not Redis or a broker: the work is a handful of requests a minute, the
database is already the one thing every replica shares, and a task must be written in the same
place as the rows it creates so a crash leaves both or neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Task, TaskStatus
from storage.process import ProcessIdentity
from storage.types import utcnow

SEALED_PREFIX = "sealed_"
"""Payload fields named so hold a secret (sealed, e.g. a workspace's API key on its way to
being checked): kept while the task may still run, dropped when it ends, so a finished task
does not keep a copy of a key that is later replaced or removed."""


@dataclass(frozen=True)
class ClaimedTask:
    """A task this worker now holds until its lease ends."""

    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    attempts: int


class TaskQueue:
    """Tasks keyed by an idempotency key: the same key enqueued twice is one task."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        lease: timedelta = timedelta(seconds=30),
        holder: ProcessIdentity | None = None,
    ) -> None:
        self._factory = factory
        self._lease = lease
        self._holder = holder or ProcessIdentity.current()

    def enqueue(self, kind: str, key: str, payload: dict[str, Any]) -> tuple[int, bool]:
        """Write a task; return its id and whether this call created it (False: a repeat)."""
        try:
            with self._factory.begin() as session:
                task = Task(kind=kind, key=key, payload=payload)
                session.add(task)
                session.flush()
                return task.id, True
        except IntegrityError:
            with self._factory() as session:
                existing = session.scalar(select(Task.id).where(Task.key == key))
                if existing is None:
                    raise
                return existing, False

    def add_in(self, session: Session, kind: str, key: str, payload: dict[str, Any]) -> int:
        """Write a task in the caller's transaction, so it exists exactly when the change that
        owes it does; returns its id (run it after the commit). A taken key fails the caller's
        transaction: use it where the change itself happens once."""
        task = Task(kind=kind, key=key, payload=payload)
        session.add(task)
        session.flush()
        return task.id

    def claim(self, task_id: int) -> ClaimedTask | None:
        """Take a due, unleased task; None when another worker has it or it is finished.

        One conditional UPDATE decides, so two replicas can never both run a task.
        """
        now = utcnow()
        with self._factory.begin() as session:
            claimed = session.execute(
                update(Task)
                .where(
                    Task.id == task_id,
                    Task.status == TaskStatus.PENDING.value,
                    Task.run_after <= now,
                    or_(Task.locked_until.is_(None), Task.locked_until < now),
                )
                .values(
                    locked_until=now + self._lease,
                    locked_by=str(self._holder),
                    attempts=Task.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            task = session.get_one(Task, task_id)
            return ClaimedTask(task.id, task.kind, task.key, dict(task.payload), task.attempts)

    @property
    def lease(self) -> timedelta:
        return self._lease

    def renew(self, task_ids: list[int]) -> None:
        """Extend the leases of tasks still running here: a short lease, renewed while the work
        goes on, lets another process take a task over soon after its holder dies."""
        if not task_ids:
            return
        with self._factory.begin() as session:
            session.execute(
                update(Task)
                .where(Task.id.in_(task_ids), Task.status == TaskStatus.PENDING.value)
                .values(locked_until=utcnow() + self._lease)
                .execution_options(synchronize_session=False)
            )

    def due(self, limit: int = 50) -> list[tuple[int, str]]:
        """Pending tasks (id, kind) whose time has come and that nobody holds: the sweep's work
        list. The kind comes along so the runner can hand each task to its own thread pool."""
        now = utcnow()
        with self._factory() as session:
            return [
                (task_id, kind)
                for task_id, kind in session.execute(
                    select(Task.id, Task.kind)
                    .where(
                        Task.status == TaskStatus.PENDING.value,
                        Task.run_after <= now,
                        or_(Task.locked_until.is_(None), Task.locked_until < now),
                    )
                    .order_by(Task.id)
                    .limit(limit)
                )
            ]

    def complete(self, task_id: int, payload: dict[str, Any] | None = None) -> None:
        """Mark a task done; pass its `payload` to have sealed fields dropped with it."""
        self._finish(task_id, TaskStatus.DONE, None, payload)

    def fail(self, task_id: int, error: str, payload: dict[str, Any] | None = None) -> None:
        """Give up on a task for good, keeping why (and dropping sealed fields of `payload`)."""
        self._finish(task_id, TaskStatus.FAILED, error, payload)

    def retry(self, task_id: int, error: str, delay: timedelta) -> None:
        """Release the task to run again after `delay`."""
        with self._factory.begin() as session:
            session.execute(
                update(Task)
                .where(Task.id == task_id)
                .values(last_error=error, locked_until=None, run_after=utcnow() + delay)
            )

    def release_orphaned_leases(self) -> int:
        """Free the leases held by dead processes of this host, at start-up.

        A restarted process would otherwise wait out its predecessor's leases. Other hosts'
        leases are left to expire: their processes' lives cannot be checked from here.
        """
        now = utcnow()
        with self._factory.begin() as session:
            held = session.execute(
                select(Task.id, Task.locked_by).where(
                    Task.status == TaskStatus.PENDING.value,
                    Task.locked_until > now,
                    Task.locked_by.like(f"{self._holder.host}:%"),
                )
            ).all()
            orphaned = [
                task_id
                for task_id, locked_by in held
                if not self._holder.is_alive_peer(str(locked_by))
            ]
            if orphaned:
                session.execute(
                    update(Task)
                    .where(Task.id.in_(orphaned))
                    .values(locked_until=None, locked_by=None)
                    .execution_options(synchronize_session=False)
                )
            return len(orphaned)

    def status(self, task_id: int) -> str | None:
        with self._factory() as session:
            return session.scalar(select(Task.status).where(Task.id == task_id))

    def _finish(
        self,
        task_id: int,
        status: TaskStatus,
        error: str | None,
        payload: dict[str, Any] | None,
    ) -> None:
        values: dict[str, Any] = {"status": status.value, "last_error": error, "locked_until": None}
        if payload is not None and any(_sealed(field) for field in payload):
            values["payload"] = {key: value for key, value in payload.items() if not _sealed(key)}
        with self._factory.begin() as session:
            session.execute(update(Task).where(Task.id == task_id).values(**values))


def _sealed(field: str) -> bool:
    return field.startswith(SEALED_PREFIX)
