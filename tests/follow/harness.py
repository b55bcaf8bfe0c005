"""Real parts for the follower tests: the OpenAI emulator, the real provider, jobs started the
way the app starts them (a stored dataset, then `JobService.start`), and small readers of what
ended up in the database.

Jobs run on a manual script: they stay exactly where they are until a test moves them with
`emu.advance`, `emu.set_status` or `emu.finish`, so every cycle sees a known provider state.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import AuditLog
from finetuning.credentials import Accounts
from finetuning.datasets.engine import ValidationSettings
from finetuning.datasets.library import DatasetLibrary, Origin, StoredDataset
from finetuning.datasets.models import ModelCatalog, default_catalog
from finetuning.follow.follower import Follower
from finetuning.jobs import JobService, StartRequest
from finetuning.jobs.records import JobRecord
from finetuning.provider import OpenAIProvider, ProviderSettings, make_client
from storage.models import Job, JobEvent, Notice
from tests.datasets.builders import chat, jsonl_bytes, write
from tests.emulators.openai_emulator import JobScript, OpenAIEmulator

KEY = "sk-test-follow-0123456789"
MODEL = "gpt-4o-mini-2024-07-18"
WORKSPACE = "T1"
CHANNEL = "C1"
USER = "U1"
JOBS = r"/v1/fine_tuning/jobs"
ONE_JOB = r"/v1/fine_tuning/jobs/ftjob-[^/]+"
EVENTS = r"/v1/fine_tuning/jobs/ftjob-[^/]+/events"
PRICE_PER_MILLION = 2500.0
"""A training price that makes every cost exact to four decimals: tokens x 2500/1e6 = tokens/400."""
T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

FollowerFactory = Callable[..., Follower]
"""`make_follower(page_size=100)`: a follower on the test's database, provider and clock."""


class Clock:
    """The follower's clock, moved by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def emulator() -> Iterator[OpenAIEmulator]:
    """An emulator whose jobs move only when a test moves them."""
    with OpenAIEmulator(api_key=KEY, script=JobScript(manual=True)) as emu:
        yield emu


@contextmanager
def provider_for(emu: OpenAIEmulator, *, max_retries: int = 0) -> Iterator[OpenAIProvider]:
    """The real provider on the emulator; no SDK retries by default, so failures are quick."""
    settings = ProviderSettings(
        api_key=KEY, base_url=emu.base_url, timeout_s=5.0, max_retries=max_retries
    )
    with make_client(settings) as client:
        yield OpenAIProvider(client, settings)


def library_in(factory: sessionmaker[Session], folder: Path) -> DatasetLibrary:
    return DatasetLibrary(
        factory, folder / "data", ValidationSettings(workers=1), audit=AuditLog(factory)
    )


def service_for(
    factory: sessionmaker[Session],
    library: DatasetLibrary,
    provider: OpenAIProvider,
    catalog: ModelCatalog | None = None,
) -> JobService:
    return JobService(
        factory,
        library,
        Accounts.fixed(provider),
        catalog or default_catalog(),
        MODEL,
        audit=AuditLog(factory),
    )


class Starter:
    """Starts jobs the way a chat command does: store a dataset, then `JobService.start`."""

    def __init__(self, library: DatasetLibrary, service: JobService, folder: Path) -> None:
        self.library = library
        self.service = service
        self.folder = folder
        self._files = itertools.count(1)
        self._keys = itertools.count(1)
        self._dataset: StoredDataset | None = None

    def dataset(self, examples: int = 12) -> StoredDataset:
        """A new valid chat dataset with bytes no other dataset of this test has."""
        number = next(self._files)
        start = number * 1000
        content = jsonl_bytes([chat(i) for i in range(start, start + examples)])
        source = write(self.folder, content, f"upload-{number}.jsonl")
        return self.library.ingest(
            source, Origin(workspace_id=WORKSPACE, file_name="train.jsonl", channel_id=CHANNEL)
        )

    def start(self, *, validation: StoredDataset | None = None) -> JobRecord:
        """One more job on this test's training dataset (uploaded to the provider once)."""
        if self._dataset is None:
            self._dataset = self.dataset()
        request = StartRequest(
            key=f"start:{WORKSPACE}:{next(self._keys)}",
            workspace_id=WORKSPACE,
            channel_id=CHANNEL,
            requested_by=USER,
            dataset_ref=self._dataset.short_id,
            validation_ref=validation.short_id if validation is not None else None,
        )
        outcome = self.service.start(request)
        assert outcome.created and outcome.job.provider_job_id is not None
        return outcome.job


def pid(job: JobRecord) -> str:
    """The provider's id of a job that was submitted."""
    assert job.provider_job_id is not None
    return job.provider_job_id


def row(factory: sessionmaker[Session], job_id: int) -> Job:
    with factory() as session:
        return session.get_one(Job, job_id)


def notices(factory: sessionmaker[Session], job_id: int | None = None) -> list[Notice]:
    query = select(Notice).order_by(Notice.id)
    if job_id is not None:
        query = query.where(Notice.job_id == job_id)
    with factory() as session:
        return list(session.scalars(query))


def stored_events(factory: sessionmaker[Session], job_id: int) -> list[JobEvent]:
    with factory() as session:
        return list(
            session.scalars(select(JobEvent).where(JobEvent.job_id == job_id).order_by(JobEvent.id))
        )


def count_rows(factory: sessionmaker[Session], model: type[Job] | type[Notice]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def calls(emu: OpenAIEmulator, method: str, path_regex: str) -> int:
    """Requests for one endpoint, the query string ignored (`JOBS` counts list pages only)."""
    return emu.count(method, path_regex + r"(\?.*)?")


def race(*actions: Callable[[], object]) -> list[object]:
    """Run the actions at the same moment, one thread each; their results, or what they raised."""
    barrier = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = actions[index]()
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    return results
