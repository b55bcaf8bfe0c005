"""Jobs: refused before anything exists, started exactly once, adopted after a crash, scoped."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import AuditLog
from finetuning.credentials import Accounts
from finetuning.datasets.engine import ValidationSettings
from finetuning.datasets.library import DatasetLibrary, Origin, StoredDataset
from finetuning.datasets.models import default_catalog
from finetuning.jobs import (
    JobNotFoundError,
    JobService,
    StartOutcome,
    StartRefusedError,
    StartRequest,
)
from finetuning.jobs.service import TAG
from finetuning.jobs.start import plan_start
from finetuning.provider import OpenAIProvider, ProviderError
from storage.models import Job
from tests.datasets.builders import chat, jsonl_bytes, preference, prompt_completion, write
from tests.emulators.openai_emulator import JobScript, OpenAIEmulator

DEFAULT_MODEL = "gpt-4o-mini-2024-07-18"
JOBS = "/v1/fine_tuning/jobs"
FILES = "/v1/files"
NOT_AT_THE_PROVIDER = "gpt-3.5-turbo-1106"
"""In tunebot's catalog but not fine-tunable at the (emulated) API: a real 400 from OpenAI."""


@pytest.fixture
def openai_emulator_options() -> dict[str, Any]:
    # Manual jobs stay in validating_files until a test moves them.
    return {"script": JobScript(manual=True)}


@pytest.fixture
def provider_retries() -> int:
    return 1


@pytest.fixture
def library(session_factory: sessionmaker[Session], tmp_path: Path) -> DatasetLibrary:
    return DatasetLibrary(
        session_factory,
        tmp_path / "data",
        ValidationSettings(workers=1),
        audit=AuditLog(session_factory),
    )


@pytest.fixture
def service(
    session_factory: sessionmaker[Session], library: DatasetLibrary, provider: OpenAIProvider
) -> JobService:
    return JobService(
        session_factory,
        library,
        Accounts.fixed(provider),
        default_catalog(),
        DEFAULT_MODEL,
        audit=AuditLog(session_factory),
    )


class Datasets:
    """Stores small datasets with distinct bytes in the library."""

    def __init__(self, library: DatasetLibrary, folder: Path) -> None:
        self.library = library
        self.folder = folder
        self.made = 0

    def add(
        self,
        lines: list[object] | None = None,
        *,
        workspace: str = "T1",
        channel: str = "C1",
    ) -> StoredDataset:
        self.made += 1
        start = self.made * 100
        content = jsonl_bytes(lines or [chat(i) for i in range(start, start + 12)])
        source = write(self.folder, content, f"upload-{self.made}.jsonl")
        return self.library.ingest(
            source, Origin(workspace_id=workspace, file_name="train.jsonl", channel_id=channel)
        )


@pytest.fixture
def datasets(library: DatasetLibrary, tmp_path: Path) -> Datasets:
    return Datasets(library, tmp_path)


def request(key: str = "start:T1:trigger-1", **fields: object) -> StartRequest:
    base: dict[str, object] = {
        "key": key,
        "workspace_id": "T1",
        "channel_id": "C1",
        "requested_by": "U1",
    }
    return StartRequest(**(base | fields))  # type: ignore[arg-type]


def job_rows(factory: sessionmaker[Session]) -> list[Job]:
    with factory() as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def calls(emu: OpenAIEmulator, method: str, path: str) -> int:
    return sum(1 for r in emu.requests if r.method == method and r.path == path)


# --- refusals ----------------------------------------------------------------------------------


def refusal(service: JobService, start: StartRequest) -> StartRefusedError:
    with pytest.raises(StartRefusedError) as caught:
        service.start(start)
    return caught.value


def test_an_invalid_dataset_is_refused(
    service: JobService, datasets: Datasets, session_factory: sessionmaker[Session]
) -> None:
    invalid = datasets.add([chat(i) for i in range(3)])

    error = refusal(service, request(dataset_ref=invalid.short_id))

    assert f"{invalid.short_id} has errors" in error.message
    assert error.hint
    assert job_rows(session_factory) == []


def test_no_valid_dataset_in_the_channel_is_refused(
    service: JobService, datasets: Datasets, emu: OpenAIEmulator
) -> None:
    datasets.add([chat(i) for i in range(3)], channel="C1")
    datasets.add(channel="C2")

    error = refusal(service, request(channel_id="C1"))

    assert "no valid dataset in this channel" in error.message
    assert "ds-" in error.hint
    assert emu.requests == []


def test_another_workspaces_dataset_is_refused_as_unknown(
    service: JobService, datasets: Datasets
) -> None:
    theirs = datasets.add(workspace="T2")

    error = refusal(service, request(dataset_ref=theirs.short_id))

    assert f"no dataset {theirs.short_id!r}" in error.message


def test_an_unknown_model_is_refused_listing_the_known_ones(
    service: JobService, datasets: Datasets
) -> None:
    datasets.add()

    error = refusal(service, request(model="gpt-9-turbo"))

    assert "gpt-9-turbo" in error.message
    for model in default_catalog().models:
        assert model.id in error.message
    assert "/finetune models" in error.hint


FORMAT_MISMATCHES = [
    ([chat(i) for i in range(12)], "babbage-002", "chat"),
    ([prompt_completion(i) for i in range(12)], "gpt-4o-mini", "prompt_completion"),
    ([preference(i) for i in range(12)], "gpt-3.5-turbo", "preference"),
]


def test_a_model_that_cannot_train_on_the_format_is_refused(
    service: JobService, datasets: Datasets, session_factory: sessionmaker[Session]
) -> None:
    for lines, model, shape in FORMAT_MISMATCHES:
        dataset = datasets.add(lines)
        assert dataset.valid

        error = refusal(service, request(dataset_ref=dataset.short_id, model=model))

        assert f"cannot train on {shape} data" in error.message, (model, shape)
    assert job_rows(session_factory) == []


def test_a_bad_suffix_is_refused(service: JobService, datasets: Datasets) -> None:
    datasets.add()
    for suffix in ("has space", "x" * 19, "", "émoji", "a.b"):
        error = refusal(service, request(suffix=suffix))
        assert "suffix" in error.message, suffix
        assert "18" in error.hint


def test_epochs_out_of_range_are_refused(
    service: JobService, datasets: Datasets, emu: OpenAIEmulator
) -> None:
    datasets.add()
    for epochs in (0, -1, 51):
        error = refusal(service, request(epochs=epochs))
        assert "between 1 and 50" in error.message, epochs
    assert emu.requests == []


def test_an_invalid_validation_dataset_is_refused(service: JobService, datasets: Datasets) -> None:
    datasets.add()
    invalid = datasets.add([chat(i) for i in range(3)])

    error = refusal(service, request(validation_ref=invalid.short_id))

    assert f"validation dataset {invalid.short_id} has errors" in error.message


def test_a_plan_picks_defaults_by_format(library: DatasetLibrary, datasets: Datasets) -> None:
    catalog = default_catalog()
    legacy = datasets.add([prompt_completion(i) for i in range(12)])
    dpo = datasets.add([preference(i) for i in range(12)])
    chat_set = datasets.add()

    legacy_plan = plan_start(request(dataset_ref=legacy.short_id), library, catalog, DEFAULT_MODEL)
    dpo_plan = plan_start(request(dataset_ref=dpo.short_id), library, catalog, DEFAULT_MODEL)
    chat_plan = plan_start(
        request(model="gpt-4o-mini", epochs=50, suffix="a-b_C9"), library, catalog, DEFAULT_MODEL
    )

    assert (legacy_plan.model.id, legacy_plan.method) == ("babbage-002", "supervised")
    assert (dpo_plan.model.id, dpo_plan.method) == (DEFAULT_MODEL, "dpo")
    assert chat_plan.dataset.id == chat_set.id, "the channel's newest valid dataset"
    assert chat_plan.model.id == DEFAULT_MODEL
    assert chat_plan.estimate.cost_usd > 0


# --- starting exactly once ---------------------------------------------------------------------


def test_start_creates_one_provider_job_and_one_row(
    service: JobService,
    datasets: Datasets,
    emu: OpenAIEmulator,
    session_factory: sessionmaker[Session],
) -> None:
    dataset = datasets.add()

    outcome = service.start(request(epochs=3, suffix="support", seed=7))

    assert outcome.created
    job = outcome.job
    assert job.short_id == f"job-{job.id}"
    assert job.provider_job_id is not None and job.provider_job_id.startswith("ftjob-")
    assert job.status == "validating_files" and job.active
    assert (job.dataset_id, job.dataset_short_id) == (dataset.id, dataset.short_id)
    assert (job.base_model, job.epochs, job.suffix) == (DEFAULT_MODEL, 3, "support")
    assert (job.started_by, job.channel_id) == ("U1", "C1")
    assert job.estimated_cost_usd is not None and job.estimated_cost_usd > 0
    remote = emu.job(job.provider_job_id)
    assert remote["metadata"] == {TAG: job.short_id}
    assert remote["model"] == DEFAULT_MODEL
    assert remote["user_provided_suffix"] == "support" and remote["seed"] == 7
    assert remote["hyperparameters"]["n_epochs"] == 3
    assert calls(emu, "POST", JOBS) == 1
    rows = job_rows(session_factory)
    assert [(r.id, r.provider_job_id, r.idempotency_key) for r in rows] == [
        (job.id, job.provider_job_id, "start:T1:trigger-1")
    ]


def test_the_same_key_twice_is_one_job(
    service: JobService,
    datasets: Datasets,
    emu: OpenAIEmulator,
    session_factory: sessionmaker[Session],
) -> None:
    datasets.add()

    first = service.start(request())
    again = service.start(request(epochs=5))

    assert first.created and not again.created
    assert again.job.id == first.job.id
    assert again.job.provider_job_id == first.job.provider_job_id
    assert calls(emu, "POST", JOBS) == 1
    assert len(job_rows(session_factory)) == 1


def test_a_pending_job_whose_provider_job_exists_is_adopted(
    service: JobService,
    datasets: Datasets,
    emu: OpenAIEmulator,
    provider: OpenAIProvider,
    library: DatasetLibrary,
    session_factory: sessionmaker[Session],
) -> None:
    """As after a crash between OpenAI's answer and our write: the retry must not start another."""
    dataset = datasets.add()
    emu.inject(JOBS + "$", 503, count=2, retry_after=0.01, method="POST")
    with pytest.raises(ProviderError):
        service.start(request())
    [pending] = job_rows(session_factory)
    assert pending.status == "pending" and pending.provider_job_id is None
    training = library.get("T1", dataset.short_id).provider_file_id
    assert training is not None
    ours = provider.create_job(
        training_file=training, model=DEFAULT_MODEL, metadata={TAG: f"job-{pending.id}"}
    )
    provider.create_job(
        training_file=training, model=DEFAULT_MODEL, metadata={TAG: f"job-{pending.id + 1}"}
    )
    created_before = calls(emu, "POST", JOBS)

    outcome = service.start(request())

    assert outcome.job.id == pending.id
    assert outcome.job.provider_job_id == ours.id
    assert outcome.job.status == "validating_files"
    assert calls(emu, "POST", JOBS) == created_before, "no second provider job"
    assert len(job_rows(session_factory)) == 1


def test_a_provider_refusal_fails_the_job_with_the_apis_message(
    service: JobService,
    datasets: Datasets,
    emu: OpenAIEmulator,
    session_factory: sessionmaker[Session],
) -> None:
    datasets.add()

    with pytest.raises(ProviderError) as caught:
        service.start(request(model=NOT_AT_THE_PROVIDER))

    assert not caught.value.retryable
    assert caught.value.status == 400
    [row] = job_rows(session_factory)
    assert row.status == "failed"
    assert row.error_message == (
        f"Model {NOT_AT_THE_PROVIDER} is not available for fine-tuning or does not exist."
    )
    assert row.error_code == "model_not_available"
    assert row.finished_at is not None
    again = service.start(request(model=NOT_AT_THE_PROVIDER))
    assert not again.created and again.job.status == "failed"
    assert calls(emu, "POST", JOBS) == 1, "a failed request is not sent again"


def test_a_retryable_error_leaves_the_job_pending_until_the_same_call_succeeds(
    service: JobService,
    datasets: Datasets,
    emu: OpenAIEmulator,
    session_factory: sessionmaker[Session],
) -> None:
    datasets.add()
    emu.inject(JOBS + "$", 500, count=2, retry_after=0.01, method="POST")

    with pytest.raises(ProviderError) as caught:
        service.start(request())

    assert caught.value.retryable
    assert caught.value.status == 500
    [row] = job_rows(session_factory)
    assert (row.status, row.provider_job_id, row.error_message) == ("pending", None, None)
    with pytest.raises(JobNotFoundError, match="never submitted"):
        service.cancel("T1", f"job-{row.id}")

    outcome = service.start(request())

    assert outcome.job.id == row.id
    assert outcome.job.status == "validating_files"
    assert outcome.job.provider_job_id is not None
    assert calls(emu, "POST", JOBS) == 3, "two refused attempts, then one job"
    assert calls(emu, "POST", FILES) == 1, "the file uploaded before the failure is reused"


def test_the_dataset_file_is_uploaded_once_for_two_jobs(
    service: JobService, datasets: Datasets, emu: OpenAIEmulator, library: DatasetLibrary
) -> None:
    dataset = datasets.add()

    first = service.start(request("key-1"))
    second = service.start(request("key-2", dataset_ref=dataset.short_id))

    assert first.created and second.created
    assert first.job.provider_job_id != second.job.provider_job_id
    assert calls(emu, "POST", FILES) == 1
    file_id = library.get("T1", dataset.short_id).provider_file_id
    assert file_id is not None
    assert first.job.provider_job_id and second.job.provider_job_id
    assert emu.job(first.job.provider_job_id)["training_file"] == file_id
    assert emu.job(second.job.provider_job_id)["training_file"] == file_id


# --- finding, cancelling, listing --------------------------------------------------------------


def test_get_by_our_id_or_the_providers(service: JobService, datasets: Datasets) -> None:
    datasets.add()
    job = service.start(request()).job
    assert job.provider_job_id is not None

    for ref in (job.short_id, str(job.id), job.short_id.upper(), job.provider_job_id):
        assert service.get("T1", ref).id == job.id
    for ref in ("job-999", "ftjob-nothing", "ds-1", "nonsense"):
        with pytest.raises(JobNotFoundError):
            service.get("T1", ref)


def test_another_workspace_cannot_see_or_cancel_a_job(
    service: JobService, datasets: Datasets, emu: OpenAIEmulator
) -> None:
    datasets.add()
    job = service.start(request()).job
    assert job.provider_job_id is not None

    for ref in (job.short_id, job.provider_job_id):
        with pytest.raises(JobNotFoundError):
            service.get("T2", ref)
        with pytest.raises(JobNotFoundError):
            service.cancel("T2", ref)
    assert service.recent("T2") == []
    assert emu.job(job.provider_job_id)["status"] == "validating_files"


def test_cancel_asks_the_provider_and_remembers_who_asked(
    service: JobService,
    datasets: Datasets,
    emu: OpenAIEmulator,
    session_factory: sessionmaker[Session],
) -> None:
    datasets.add()
    job = service.start(request()).job
    assert job.provider_job_id is not None

    cancelled = service.cancel("T1", job.short_id, by="U9")

    assert cancelled.id == job.id
    assert cancelled.status == "cancelled" and not cancelled.active
    assert cancelled.cancelled_by == "U9"
    assert emu.job(job.provider_job_id)["status"] == "cancelled"
    [row] = job_rows(session_factory)
    assert row.cancelled_by == "U9"


def test_recent_is_newest_first_per_channel_and_can_hide_finished_jobs(
    service: JobService, datasets: Datasets
) -> None:
    in_c1 = datasets.add(channel="C1")
    in_c2 = datasets.add(channel="C2")
    with pytest.raises(ProviderError):
        service.start(request("k-a", dataset_ref=in_c1.short_id, model=NOT_AT_THE_PROVIDER))
    b = service.start(request("k-b", dataset_ref=in_c2.short_id, channel_id="C2")).job
    c = service.start(request("k-c", dataset_ref=in_c1.short_id)).job
    a = service.get("T1", "job-1")
    assert a.status == "failed"

    assert [j.id for j in service.recent("T1")] == [c.id, b.id, a.id]
    assert [j.id for j in service.recent("T1", "C1")] == [c.id, a.id]
    assert [j.id for j in service.recent("T1", "C1", active_only=True)] == [c.id]
    assert [j.id for j in service.recent("T1", limit=2)] == [c.id, b.id]
    assert service.recent("T1", "C3") == []


def test_concurrent_starts_with_one_key_make_one_provider_job(
    service: JobService,
    datasets: Datasets,
    emu: OpenAIEmulator,
    provider: OpenAIProvider,
    session_factory: sessionmaker[Session],
) -> None:
    """Two deliveries of one request racing each other: still exactly one job at OpenAI."""
    datasets.add()
    barrier = threading.Barrier(2)
    outcomes: list[StartOutcome] = []

    def start() -> None:
        barrier.wait()
        outcomes.append(service.start(request()))

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(outcomes) == 2
    assert len(job_rows(session_factory)) == 1
    assert outcomes[0].job.id == outcomes[1].job.id
    remote, _ = provider.list_jobs()
    assert len(remote) == 1, f"{len(remote)} provider jobs for one request key"


def test_count_of_rows_matches_starts(
    service: JobService, datasets: Datasets, session_factory: sessionmaker[Session]
) -> None:
    datasets.add()
    for key in ("one", "two", "one", "two", "three"):
        service.start(request(key))
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 3
