"""Bindings: which model answers where, with which settings, and what a model reference means."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import AuditLog
from finetuning.conversations import (
    BindingStore,
    InvalidSettingsError,
    ModelNotFoundError,
    ModelNotReadyError,
    ModelResolver,
    ReplySettings,
)
from finetuning.conversations.settings import MAX_SYSTEM_PROMPT_CHARS
from finetuning.credentials import Accounts
from finetuning.datasets.engine import ValidationSettings
from finetuning.datasets.library import DatasetLibrary, Origin, StoredDataset
from finetuning.datasets.models import default_catalog
from finetuning.jobs import JobService
from finetuning.provider import ChatProvider, OpenAIProvider
from storage.models import ChannelBinding, Job
from tests.datasets.builders import chat, jsonl_bytes, write
from tests.emulators.openai_emulator import OpenAIEmulator

BASE = "gpt-4o-mini-2024-07-18"
TUNED = "ft:gpt-4o-mini-2024-07-18:acme::abc123"
THREAD = "1700000000.000100"
OTHER_THREAD = "1700000050.000200"


# --- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": 2.01}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"temperature": True}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 2.5}, "max_tokens"),
        ({"system_prompt": "x" * (MAX_SYSTEM_PROMPT_CHARS + 1)}, "system prompt"),
    ],
)
def test_settings_out_of_range_are_refused_naming_the_setting(
    fields: dict[str, object], named: str
) -> None:
    with pytest.raises(InvalidSettingsError) as caught:
        ReplySettings(**fields)  # type: ignore[arg-type]

    assert named in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_settings_at_the_limits_are_accepted_and_a_blank_prompt_is_no_prompt() -> None:
    assert ReplySettings(" \n ", 0, 1) == ReplySettings(None, 0.0, 1)
    assert ReplySettings("  Be brief.  ", 2.0, None).system_prompt == "Be brief."
    assert ReplySettings("x" * MAX_SYSTEM_PROMPT_CHARS).system_prompt is not None


# --- binding store ---------------------------------------------------------------------------


@pytest.fixture
def bindings(session_factory: sessionmaker[Session]) -> BindingStore:
    return BindingStore(session_factory, audit=AuditLog(session_factory))


def test_a_channel_binding_answers_everywhere_in_the_channel(bindings: BindingStore) -> None:
    settings = ReplySettings("Be brief.", 0.3, 200)

    bound = bindings.bind("T1", "C1", TUNED, settings, by="U1")

    assert (bound.model, bound.settings, bound.created_by) == (TUNED, settings, "U1")
    assert bound.whole_channel
    assert bindings.lookup("T1", "C1", None) == bound
    assert bindings.lookup("T1", "C1", THREAD) == bound
    assert bindings.lookup("T1", "C2", None) is None
    assert bindings.lookup("T2", "C1", THREAD) is None


def test_a_thread_binding_wins_in_its_thread_only(bindings: BindingStore) -> None:
    channel = bindings.bind("T1", "C1", BASE, ReplySettings())
    thread = bindings.bind("T1", "C1", TUNED, ReplySettings(temperature=1.5), thread_ts=THREAD)

    assert bindings.lookup("T1", "C1", THREAD) == thread
    assert bindings.lookup("T1", "C1", OTHER_THREAD) == channel
    assert bindings.lookup("T1", "C1", None) == channel


def test_a_thread_binding_works_without_a_channel_binding(bindings: BindingStore) -> None:
    thread = bindings.bind("T1", "C1", TUNED, ReplySettings(), thread_ts=THREAD)

    assert bindings.lookup("T1", "C1", THREAD) == thread
    assert bindings.lookup("T1", "C1", OTHER_THREAD) is None
    assert bindings.lookup("T1", "C1", "") is None


def test_binding_again_replaces_model_and_settings_in_one_row(
    bindings: BindingStore, session_factory: sessionmaker[Session]
) -> None:
    bindings.bind("T1", "C1", BASE, ReplySettings("Old prompt", 0.1, 50), by="U1")

    again = bindings.bind("T1", "C1", TUNED, ReplySettings(max_tokens=10), by="U2")

    assert (again.model, again.settings, again.created_by) == (
        TUNED,
        ReplySettings(None, None, 10),
        "U2",
    )
    assert bindings.lookup("T1", "C1", None) == again
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(ChannelBinding)) == 1


def test_unbinding_removes_exactly_that_place(bindings: BindingStore) -> None:
    channel = bindings.bind("T1", "C1", BASE, ReplySettings())
    thread = bindings.bind("T1", "C1", TUNED, ReplySettings(), thread_ts=THREAD)

    assert bindings.unbind("T1", "C1", thread_ts=THREAD) == thread
    assert bindings.lookup("T1", "C1", THREAD) == channel

    assert bindings.unbind("T1", "C1") == channel
    assert bindings.lookup("T1", "C1", THREAD) is None
    assert bindings.unbind("T1", "C1") is None


def test_a_channel_lists_its_own_binding_first_then_its_threads(bindings: BindingStore) -> None:
    later = bindings.bind("T1", "C1", TUNED, ReplySettings(), thread_ts=OTHER_THREAD)
    earlier = bindings.bind("T1", "C1", TUNED, ReplySettings(), thread_ts=THREAD)
    channel = bindings.bind("T1", "C1", BASE, ReplySettings())
    bindings.bind("T1", "C2", BASE, ReplySettings())
    bindings.bind("T2", "C1", BASE, ReplySettings())

    assert bindings.for_channel("T1", "C1") == [channel, earlier, later]
    assert bindings.for_channel("T3", "C1") == []


# --- model references ------------------------------------------------------------------------


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
def resolver(
    session_factory: sessionmaker[Session],
    library: DatasetLibrary,
    provider: OpenAIProvider,
    client: openai.OpenAI,
) -> ModelResolver:
    catalog = default_catalog()
    jobs = JobService(
        session_factory,
        library,
        Accounts.fixed(provider),
        catalog,
        BASE,
        audit=AuditLog(session_factory),
    )
    return ModelResolver(jobs, catalog, Accounts.fixed(provider, ChatProvider(client)))


def a_dataset(library: DatasetLibrary, folder: Path, workspace: str = "T1") -> StoredDataset:
    source = write(folder, jsonl_bytes([chat(i) for i in range(12)]), f"{workspace}.jsonl")
    return library.ingest(source, Origin(workspace_id=workspace, file_name="train.jsonl"))


def a_job(
    factory: sessionmaker[Session],
    dataset: StoredDataset,
    status: str,
    fine_tuned_model: str | None = None,
    provider_job_id: str | None = None,
) -> int:
    with factory.begin() as session:
        row = Job(
            workspace_id=dataset.workspace_id,
            dataset_id=dataset.id,
            idempotency_key=f"start:{status}:{fine_tuned_model}:{provider_job_id}",
            base_model=BASE,
            status=status,
            fine_tuned_model=fine_tuned_model,
            provider_job_id=provider_job_id,
        )
        session.add(row)
        session.flush()
        return row.id


def a_tuned_model(emu: OpenAIEmulator) -> str:
    [job] = emu.create_jobs(1, model=BASE, status="succeeded")
    model: str = emu.job(job)["fine_tuned_model"]
    return model


def test_a_fine_tuned_id_is_taken_while_openai_knows_it(
    emu: OpenAIEmulator, provider: OpenAIProvider, resolver: ModelResolver
) -> None:
    model = a_tuned_model(emu)

    assert resolver.resolve_model("T1", f"  {model} ") == model

    provider.delete_model(model)
    with pytest.raises(ModelNotFoundError) as caught:
        resolver.resolve_model("T1", model)
    assert model in caught.value.message
    assert "does not exist" in caught.value.message


def test_a_base_model_name_needs_no_call_to_openai(
    emu: OpenAIEmulator, resolver: ModelResolver
) -> None:
    emu.reset_log()

    assert resolver.resolve_model("T1", "gpt-4o-mini") == BASE
    assert resolver.resolve_model("T1", "babbage-002") == "babbage-002"
    assert emu.requests == []


def test_a_finished_job_stands_for_its_model_by_any_of_its_ids(
    emu: OpenAIEmulator,
    resolver: ModelResolver,
    library: DatasetLibrary,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    model = a_tuned_model(emu)
    job_id = a_job(session_factory, a_dataset(library, tmp_path), "succeeded", model, "ftjob-abc")

    assert resolver.resolve_model("T1", f"job-{job_id}") == model
    assert resolver.resolve_model("T1", str(job_id)) == model
    assert resolver.resolve_model("T1", "ftjob-abc") == model


@pytest.mark.parametrize("status", ["running", "queued", "failed", "cancelled"])
def test_a_job_without_a_model_is_not_ready_naming_its_status(
    status: str,
    resolver: ModelResolver,
    library: DatasetLibrary,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    job_id = a_job(session_factory, a_dataset(library, tmp_path), status)

    with pytest.raises(ModelNotReadyError) as caught:
        resolver.resolve_model("T1", f"job-{job_id}")

    assert caught.value.status == status
    assert caught.value.job_short_id == f"job-{job_id}"
    assert status in str(caught.value)


def test_a_job_whose_model_was_deleted_is_not_found(
    emu: OpenAIEmulator,
    provider: OpenAIProvider,
    resolver: ModelResolver,
    library: DatasetLibrary,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    model = a_tuned_model(emu)
    job_id = a_job(session_factory, a_dataset(library, tmp_path), "succeeded", model)
    provider.delete_model(model)

    with pytest.raises(ModelNotFoundError):
        resolver.resolve_model("T1", f"job-{job_id}")


def test_another_workspaces_job_and_nonsense_are_not_models(
    emu: OpenAIEmulator,
    resolver: ModelResolver,
    library: DatasetLibrary,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    job_id = a_job(
        session_factory, a_dataset(library, tmp_path, "T2"), "succeeded", a_tuned_model(emu)
    )

    for ref, says in [
        (f"job-{job_id}", "neither a model nor a job here"),
        ("gpt-7-ultra", "neither a model nor a job here"),
        ("", "name a model"),
    ]:
        with pytest.raises(ModelNotFoundError) as caught:
            resolver.resolve_model("T1", ref)
        assert says in caught.value.message
