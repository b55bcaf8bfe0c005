"""Part 1 of the follow benchmark: what one follower cycle costs, in process.

The real `Follower` with the real `OpenAIProvider` reads the OpenAI emulator; its database is a
migrated SQLite file. N jobs are active and quiet (queued, frozen in the emulator). Before each
measured cycle, k of them change in the emulator:

  quiet    nothing changed (k = 0)
  end      k jobs went from queued to succeeded
  start    k jobs went from queued to running
  running  the k jobs of `start` are still running, nothing new (running jobs are not quiet:
           their events are read every cycle)

The jobs that change are always the oldest active ones and are replaced afterwards by k new
quiet jobs, so every measured cycle sees exactly N active jobs and the same listing depth.
API calls are counted by the emulator (what reached it), checked against the follower's own
`CycleStats.api_calls`; SQL statements by a `before_cursor_execute` listener on the engine.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from follow_seed import add_dataset, add_jobs
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import AuditLog
from finetuning.credentials import Accounts, SecretBox, WorkspaceKeys, new_secret_key
from finetuning.datasets.models import default_catalog
from finetuning.follow.follower import Follower
from finetuning.provider import OpenAIProvider, ProviderSettings, make_client
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from tests.emulators.openai_emulator import JobScript, OpenAIEmulator

API_KEY = "sk-bench-follow-0123456789"
PAGE_SIZE = 100
WARM_UP_CYCLES = 2


@dataclass(frozen=True)
class CycleSample:
    """One measured cycle."""

    api_calls: int  # requests that reached the emulator
    reported_calls: int  # what the follower counted itself
    db_statements: int
    seconds: float
    changed: int
    finished: int


@dataclass
class Scenario:
    size: int
    name: str
    k: int
    samples: list[CycleSample] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        calls = [s.api_calls for s in self.samples]
        statements = [s.db_statements for s in self.samples]
        return {
            "size": self.size,
            "scenario": self.name,
            "k": self.k,
            "cycles": len(self.samples),
            "list_pages_expected": -(-self.size // PAGE_SIZE),
            "api_calls": statistics.median(calls),
            "api_calls_min": min(calls),
            "api_calls_max": max(calls),
            "follower_counted_same": all(s.api_calls == s.reported_calls for s in self.samples),
            "db_statements": statistics.median(statements),
            "db_statements_min": min(statements),
            "db_statements_max": max(statements),
            "ms_per_cycle": statistics.median(s.seconds for s in self.samples) * 1000,
            "changed": statistics.median(s.changed for s in self.samples),
            "finished": statistics.median(s.finished for s in self.samples),
        }


class StatementCounter:
    """Counts every SQL statement the engine sends, on any connection."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        self.count += 1


class CycleRig:
    """N active jobs in the emulator and the database, and a follower between them."""

    def __init__(
        self,
        emulator: OpenAIEmulator,
        factory: sessionmaker[Session],
        counter: StatementCounter,
        follower: Follower,
        dataset_id: int,
    ) -> None:
        self.emulator = emulator
        self.factory = factory
        self.counter = counter
        self.follower = follower
        self.dataset_id = dataset_id
        self.active: list[str] = []  # provider job ids, oldest first

    def add_quiet(self, count: int) -> None:
        ids = self.emulator.create_jobs(count, status="queued")
        add_jobs(self.factory, self.dataset_id, ids)
        self.active.extend(ids)

    def measure(self) -> CycleSample:
        self.emulator.reset_log()
        self.counter.count = 0
        started = time.perf_counter()
        stats = self.follower.poll_once()
        seconds = time.perf_counter() - started
        return CycleSample(
            api_calls=self.emulator.count(None, r".*"),
            reported_calls=stats.api_calls,
            db_statements=self.counter.count,
            seconds=seconds,
            changed=stats.changed,
            finished=stats.finished,
        )

    def change_oldest(self, k: int, status: str) -> list[str]:
        chosen = self.active[:k]
        for provider_job_id in chosen:
            self.emulator.set_status(provider_job_id, status)
        return chosen

    def replace(self, ended: Sequence[str]) -> None:
        """The ended jobs leave the active set; as many new quiet ones join it."""
        gone = set(ended)
        self.active = [job for job in self.active if job not in gone]
        self.add_quiet(len(ended))


@contextmanager
def cycle_rig(size: int, folder: Path) -> Iterator[CycleRig]:
    with OpenAIEmulator(api_key=API_KEY, script=JobScript(manual=True)) as emulator:
        url = f"sqlite:///{folder / f'cycles-{size}.db'}"
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        settings = ProviderSettings(api_key=API_KEY, base_url=emulator.base_url)
        try:
            with make_client(settings) as client:
                provider = OpenAIProvider(client, settings)
                # As deployed with workspace keys on: each cycle also reads the keys of the
                # workspaces with active jobs (one SELECT), whether or not any has one.
                keys = WorkspaceKeys(
                    factory, SecretBox([new_secret_key()]), audit=AuditLog(factory)
                )
                follower = Follower(
                    factory,
                    Accounts.fixed(provider, keys=keys),
                    default_catalog(),
                    audit=AuditLog(factory),
                    page_size=PAGE_SIZE,
                )
                rig = CycleRig(
                    emulator, factory, StatementCounter(engine), follower, add_dataset(factory)
                )
                rig.add_quiet(size)
                yield rig
        finally:
            engine.dispose()


def run_size(
    size: int,
    changes: Sequence[int],
    repeats: int,
    folder: Path,
    progress: Callable[[str], None] = print,
) -> list[Scenario]:
    """Every scenario at one N; each measured `repeats` times."""
    with cycle_rig(size, folder) as rig:
        for _ in range(WARM_UP_CYCLES):
            rig.measure()
        quiet = Scenario(size, "quiet", 0)
        quiet.samples = [rig.measure() for _ in range(repeats)]
        scenarios = [quiet]
        for k in changes:
            if k <= 0 or k > size:
                continue
            end = Scenario(size, "end", k)
            start = Scenario(size, "start", k)
            running = Scenario(size, "running", k)
            for _ in range(repeats):
                ended = rig.change_oldest(k, "succeeded")
                end.samples.append(rig.measure())
                rig.replace(ended)

                started = rig.change_oldest(k, "running")
                start.samples.append(rig.measure())
                running.samples.append(rig.measure())
                rig.change_oldest(k, "succeeded")
                rig.measure()  # records the endings; not one of the measured cycles
                rig.replace(started)
            scenarios += [end, start, running]
        progress(f"  N={size}: {sum(len(s.samples) for s in scenarios)} cycles measured")
        return scenarios
