"""Which OpenAI account serves each workspace, end to end through jobs and the follower.

Two accounts live behind one emulator address, as at OpenAI: the operator's (`KEY`) and a
workspace's own (`OWN_KEY`), each seeing only its own jobs, files and models.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import AuditLog
from finetuning.credentials import (
    Accounts,
    NoOpenAIKeyError,
    SecretBox,
    WorkspaceKeys,
    new_secret_key,
)
from finetuning.datasets.library import DatasetLibrary, Origin
from finetuning.datasets.models import default_catalog
from finetuning.follow.follower import Follower
from finetuning.jobs import JobService, StartRefusedError, StartRequest
from finetuning.jobs.records import JobRecord
from finetuning.provider import ProviderError, ProviderSettings
from storage.models import Job
from tests.datasets.builders import chat, jsonl_bytes, write
from tests.emulators.openai.errors import ApiError
from tests.emulators.openai_emulator import JobScript, OpenAIEmulator
from tests.fixtures.openai import KEY
from tests.follow.harness import MODEL, library_in

OWN_KEY = "sk-proj-OwnWorkspaceKey" + "7" * 30
OPERATED = "T1"
"""A workspace without a key of its own: the operator's account serves it."""
OWN = "T2"
"""A workspace that set its own key."""


@pytest.fixture
def openai_emulator_options() -> dict[str, object]:
    return {"script": JobScript(manual=True)}


@pytest.fixture
def own_account(emu: OpenAIEmulator) -> OpenAIEmulator:
    return emu.add_account(OWN_KEY, organization="workspace-two")


@pytest.fixture
def keys(session_factory: sessionmaker[Session]) -> WorkspaceKeys:
    box = SecretBox([new_secret_key()])
    return WorkspaceKeys(session_factory, box, audit=AuditLog(session_factory))


def operator_settings(emu: OpenAIEmulator) -> ProviderSettings:
    return ProviderSettings(api_key=KEY, base_url=emu.base_url, timeout_s=5.0, max_retries=0)


@pytest.fixture
def accounts(emu: OpenAIEmulator, keys: WorkspaceKeys) -> Accounts:
    return Accounts(keys, operator=operator_settings(emu))


@pytest.fixture
def library(session_factory: sessionmaker[Session], tmp_path: Path) -> DatasetLibrary:
    return library_in(session_factory, tmp_path)


@pytest.fixture
def jobs(
    session_factory: sessionmaker[Session], library: DatasetLibrary, accounts: Accounts
) -> JobService:
    return JobService(
        session_factory,
        library,
        accounts,
        default_catalog(),
        MODEL,
        audit=AuditLog(session_factory),
    )


class Starts:
    """Jobs started the way a command starts them, in a workspace of the test's choice."""

    def __init__(self, library: DatasetLibrary, jobs: JobService, folder: Path) -> None:
        self.library, self.jobs, self.folder = library, jobs, folder
        self.count = 0

    def start(self, workspace: str) -> JobRecord:
        self.count += 1
        rows = range(self.count * 100, self.count * 100 + 12)
        source = write(self.folder, jsonl_bytes([chat(i) for i in rows]), f"{self.count}.jsonl")
        dataset = self.library.ingest(
            source, Origin(workspace_id=workspace, file_name="train.jsonl", channel_id="C1")
        )
        request = StartRequest(
            key=f"start:{workspace}:{self.count}",
            workspace_id=workspace,
            channel_id="C1",
            requested_by="U1",
            dataset_ref=dataset.short_id,
        )
        job = self.jobs.start(request).job
        assert job.provider_job_id is not None
        return job


@pytest.fixture
def starts(library: DatasetLibrary, jobs: JobService, tmp_path: Path) -> Starts:
    return Starts(library, jobs, tmp_path)


@pytest.fixture
def follower(session_factory: sessionmaker[Session], accounts: Accounts) -> Iterator[Follower]:
    yield Follower(session_factory, accounts, default_catalog(), audit=AuditLog(session_factory))


def status_of(factory: sessionmaker[Session], job: JobRecord) -> str:
    with factory() as session:
        return session.get_one(Job, job.id).status


def pid(job: JobRecord) -> str:
    assert job.provider_job_id is not None
    return job.provider_job_id


def test_each_workspace_starts_its_job_in_its_own_account(
    starts: Starts, keys: WorkspaceKeys, emu: OpenAIEmulator, own_account: OpenAIEmulator
) -> None:
    keys.set(OWN, OWN_KEY, by="U9", models_visible=1)

    operated = starts.start(OPERATED)
    own = starts.start(OWN)

    assert emu.job(pid(operated))["organization_id"] != own_account.job(pid(own))["organization_id"]
    with pytest.raises(ApiError, match="Could not find"):
        emu.job(pid(own))
    with pytest.raises(ApiError, match="Could not find"):
        own_account.job(pid(operated))


def test_the_follower_reads_each_job_with_its_workspaces_key(
    starts: Starts,
    keys: WorkspaceKeys,
    emu: OpenAIEmulator,
    own_account: OpenAIEmulator,
    follower: Follower,
    session_factory: sessionmaker[Session],
) -> None:
    keys.set(OWN, OWN_KEY, by="U9", models_visible=1)
    operated, own = starts.start(OPERATED), starts.start(OWN)
    emu.finish(pid(operated), "succeeded")
    own_account.finish(pid(own), "succeeded")

    stats = follower.poll_once()

    assert stats.finished == 2
    assert status_of(session_factory, operated) == status_of(session_factory, own) == "succeeded"
    assert emu.count(None, rf".*{pid(own)}.*") == 0
    assert own_account.count(None, rf".*{pid(operated)}.*") == 0


def test_one_account_down_does_not_stop_the_others_jobs(
    starts: Starts,
    keys: WorkspaceKeys,
    emu: OpenAIEmulator,
    own_account: OpenAIEmulator,
    follower: Follower,
    session_factory: sessionmaker[Session],
) -> None:
    keys.set(OWN, OWN_KEY, by="U9", models_visible=1)
    operated, own = starts.start(OPERATED), starts.start(OWN)
    emu.finish(pid(operated), "succeeded")
    own_account.finish(pid(own), "succeeded")
    own_account.inject(r"/v1/fine_tuning/jobs", 503, count=50)

    with pytest.raises(ProviderError) as outage:
        follower.poll_once()

    assert outage.value.retryable
    assert status_of(session_factory, operated) == "succeeded"
    assert status_of(session_factory, own) != "succeeded"
    own_account.clear_faults()
    follower.poll_once()
    assert status_of(session_factory, own) == "succeeded"


def test_a_workspace_whose_key_was_removed_keeps_its_jobs_until_a_key_returns(
    session_factory: sessionmaker[Session],
    library: DatasetLibrary,
    keys: WorkspaceKeys,
    emu: OpenAIEmulator,
    own_account: OpenAIEmulator,
    tmp_path: Path,
) -> None:
    """Without an operator key, a workspace without its own has no account at all: its jobs
    are left as they are (not failed, not read with someone else's key)."""
    own_only = Accounts(keys, operator=None, base_url=emu.base_url)
    service = JobService(
        session_factory,
        library,
        own_only,
        default_catalog(),
        MODEL,
        audit=AuditLog(session_factory),
    )
    keys.set(OWN, OWN_KEY, by="U9", models_visible=1)
    job = Starts(library, service, tmp_path).start(OWN)
    own_account.finish(pid(job), "succeeded")
    keys.remove(OWN, by="U9")
    follower = Follower(
        session_factory, own_only, default_catalog(), audit=AuditLog(session_factory)
    )

    follower.poll_once()
    assert status_of(session_factory, job) != "succeeded"

    keys.set(OWN, OWN_KEY, by="U9", models_visible=1)
    follower.poll_once()
    assert status_of(session_factory, job) == "succeeded"


def test_without_any_key_a_start_is_refused_before_anything_is_written(
    session_factory: sessionmaker[Session],
    library: DatasetLibrary,
    keys: WorkspaceKeys,
    emu: OpenAIEmulator,
    tmp_path: Path,
) -> None:
    own_only = Accounts(keys, operator=None, base_url=emu.base_url)
    service = JobService(
        session_factory,
        library,
        own_only,
        default_catalog(),
        MODEL,
        audit=AuditLog(session_factory),
    )

    with pytest.raises(StartRefusedError) as refused:
        Starts(library, service, tmp_path).start(OPERATED)

    assert "no OpenAI API key" in refused.value.message
    assert "/finetune key" in refused.value.hint
    with session_factory() as session:
        assert session.query(Job).count() == 0
    assert emu.count("POST", r"/v1/fine_tuning/jobs") == 0


def test_an_unreadable_own_key_is_not_replaced_by_the_operators(
    session_factory: sessionmaker[Session], keys: WorkspaceKeys, emu: OpenAIEmulator
) -> None:
    keys.set(OWN, OWN_KEY, by="U9", models_visible=1)
    changed_secret = WorkspaceKeys(
        session_factory, SecretBox([new_secret_key()]), audit=AuditLog(session_factory)
    )
    accounts = Accounts(changed_secret, operator=operator_settings(emu))

    found, missing = accounts.usable([OPERATED, OWN])

    assert found[OPERATED].id == "operator"
    assert OWN not in found
    assert "TUNEBOT_SECRET_KEY" in missing[OWN].message
    with pytest.raises(NoOpenAIKeyError):
        accounts.for_workspace(OWN)


def test_a_key_is_checked_against_openai_before_it_is_kept(
    accounts: Accounts, own_account: OpenAIEmulator
) -> None:
    assert accounts.check_key(OWN_KEY) > 0

    with pytest.raises(ProviderError) as refused:
        accounts.check_key("sk-proj-NotAKeyOpenAIKnows" + "0" * 30)

    assert refused.value.status == 401
    assert "NotAKeyOpenAIKnows" not in refused.value.message


def test_one_client_per_key_however_many_workspaces_share_it(
    accounts: Accounts, keys: WorkspaceKeys, own_account: OpenAIEmulator
) -> None:
    keys.set("T7", OWN_KEY, by="U9", models_visible=1)
    keys.set("T8", OWN_KEY, by="U9", models_visible=1)

    found = accounts.for_workspaces(["T7", "T8", OPERATED])

    assert found["T7"] is found["T8"]
    assert found["T7"].id.startswith("key-") and OWN_KEY not in found["T7"].id
    assert found[OPERATED].id == "operator"
