"""The dataset library: one dataset per bytes per workspace, found again only in its workspace."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import AuditLog
from finetuning.datasets.engine import ValidationSettings
from finetuning.datasets.library import DatasetLibrary, DatasetNotFoundError, Origin
from storage.models import Dataset
from tests.datasets.builders import chat, chats, jsonl_bytes, write


@pytest.fixture
def library(session_factory: sessionmaker[Session], tmp_path: Path) -> DatasetLibrary:
    return DatasetLibrary(
        session_factory,
        tmp_path / "data",
        ValidationSettings(workers=1),
        audit=AuditLog(session_factory),
    )


def chat_file(folder: Path, count: int = 12, *, first: int = 1, name: str = "dl.tmp") -> Path:
    """A valid chat file; `first` shifts the examples so different files have different bytes."""
    lines = [chat(i) for i in range(first, first + count)]
    return write(folder, jsonl_bytes(lines), name)


def origin(workspace: str = "T1", channel: str | None = "C1", name: str = "train.jsonl") -> Origin:
    return Origin(
        workspace_id=workspace,
        file_name=name,
        channel_id=channel,
        thread_ts="1700000000.000100",
        uploader_id="U1",
        source_file_id="F1",
    )


def dataset_rows(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(Dataset)) or 0)


def test_ingest_stores_the_row_and_the_normalized_file(
    library: DatasetLibrary, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    source = chat_file(tmp_path, 12, name="tmp-download-8f3a")

    stored = library.ingest(source, origin())

    assert stored.created
    assert stored.short_id == f"ds-{stored.id}"
    assert stored.valid and stored.report.examples == 12
    assert stored.file_name == "train.jsonl"
    assert stored.report.file_name == "train.jsonl", "the report names the file as the user did"
    assert (stored.workspace_id, stored.channel_id) == ("T1", "C1")
    assert stored.thread_ts == "1700000000.000100"
    assert stored.normalized_path is not None and stored.normalized_path.exists()
    assert stored.normalized_path.is_relative_to(tmp_path / "data")
    normalized = stored.normalized_path.read_bytes().splitlines()
    assert [orjson.loads(line) for line in normalized] == [chat(i) for i in range(1, 13)]
    with session_factory() as session:
        row = session.get_one(Dataset, stored.id)
        assert (row.sha256, row.examples, row.valid) == (stored.sha256, 12, True)
        assert (row.uploader_id, row.source_file_id) == ("U1", "F1")
        assert row.report["valid"] is True and row.report["examples"] == 12
        assert row.error_count == 0
        assert row.report_message_ts is None and row.provider_file_id is None


def test_the_same_bytes_again_are_the_same_dataset(
    library: DatasetLibrary, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    first = library.ingest(chat_file(tmp_path), origin())
    copy = tmp_path / "copy.jsonl"
    shutil.copyfile(tmp_path / "dl.tmp", copy)

    again = library.ingest(copy, origin(channel="C2", name="renamed.jsonl"))

    assert not again.created
    assert again.id == first.id
    assert again.file_name == "train.jsonl", "the first upload names the dataset"
    assert dataset_rows(session_factory) == 1


def test_another_workspace_gets_its_own_dataset_for_the_same_bytes(
    library: DatasetLibrary, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    source = chat_file(tmp_path)
    mine = library.ingest(source, origin("T1"))

    theirs = library.ingest(source, origin("T2"))

    assert theirs.created and theirs.id != mine.id
    assert theirs.workspace_id == "T2"
    assert theirs.sha256 == mine.sha256
    assert dataset_rows(session_factory) == 2


def test_get_by_short_id_or_number(library: DatasetLibrary, tmp_path: Path) -> None:
    stored = library.ingest(chat_file(tmp_path), origin())

    for form in ("ds-{n}", "{n}", "DS-{n}", "  ds-{n} "):
        found = library.get("T1", form.format(n=stored.id))
        assert found.id == stored.id and not found.created, form
        assert found.report.examples == 12


def test_unknown_refs_are_not_found(library: DatasetLibrary, tmp_path: Path) -> None:
    library.ingest(chat_file(tmp_path), origin())
    for ref in ("ds-999", "job-1", "ds-", "abc", ""):
        with pytest.raises(DatasetNotFoundError):
            library.get("T1", ref)


def test_another_workspaces_dataset_is_not_found(library: DatasetLibrary, tmp_path: Path) -> None:
    theirs = library.ingest(chat_file(tmp_path), origin("T2"))

    with pytest.raises(DatasetNotFoundError):
        library.get("T1", theirs.short_id)
    assert library.get("T2", theirs.short_id).id == theirs.id


def test_newest_valid_is_per_channel_and_skips_invalid_datasets(
    library: DatasetLibrary, tmp_path: Path
) -> None:
    older = library.ingest(chat_file(tmp_path, first=1), origin(channel="C1"))
    newer = library.ingest(chat_file(tmp_path, first=100), origin(channel="C1"))
    invalid = library.ingest(chat_file(tmp_path, 3, first=200), origin(channel="C1"))
    elsewhere = library.ingest(chat_file(tmp_path, first=300), origin(channel="C2"))
    library.ingest(chat_file(tmp_path, first=400), origin("T2", channel="C1"))

    assert not invalid.valid and invalid.id > newer.id > older.id
    newest = library.newest_valid("T1", "C1")
    assert newest is not None and newest.id == newer.id
    other = library.newest_valid("T1", "C2")
    assert other is not None and other.id == elsewhere.id
    assert library.newest_valid("T1", "C3") is None
    assert library.newest_valid("T3", "C1") is None


def test_a_channel_with_only_invalid_datasets_has_no_default(
    library: DatasetLibrary, tmp_path: Path
) -> None:
    library.ingest(write(tmp_path, jsonl_bytes(chats(12, line3=b"{not json"))), origin())
    assert library.newest_valid("T1", "C1") is None


def test_mark_reported_and_set_provider_file_are_remembered(
    library: DatasetLibrary, tmp_path: Path
) -> None:
    stored = library.ingest(chat_file(tmp_path), origin())

    library.mark_reported(stored.id, "1700000000.000200")
    library.set_provider_file(stored.id, "file-abc")

    found = library.get("T1", stored.short_id)
    assert found.report_message_ts == "1700000000.000200"
    assert found.provider_file_id == "file-abc"
    again = library.ingest(chat_file(tmp_path), origin())
    assert again.report_message_ts == "1700000000.000200" and not again.created


def test_recent_is_newest_first_and_scoped(library: DatasetLibrary, tmp_path: Path) -> None:
    a = library.ingest(chat_file(tmp_path, first=1), origin(channel="C1"))
    b = library.ingest(chat_file(tmp_path, first=50), origin(channel="C2"))
    c = library.ingest(chat_file(tmp_path, first=90), origin(channel="C1"))
    library.ingest(chat_file(tmp_path, first=130), origin("T2", channel="C1"))

    assert [d.id for d in library.recent("T1")] == [c.id, b.id, a.id]
    assert [d.id for d in library.recent("T1", "C1")] == [c.id, a.id]
    assert [d.id for d in library.recent("T1", limit=1)] == [c.id]


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_ingests_of_the_same_bytes_make_one_dataset(
    library: DatasetLibrary, session_factory: sessionmaker[Session], tmp_path: Path, round_: int
) -> None:
    """Two intakes of one file at once (the same upload shared twice): one dataset, no error.

    Run a few times: the two threads must overlap inside `ingest` for the race to show.
    """
    sources = [
        chat_file(tmp_path, 400, first=round_ * 1000, name=f"copy-{n}.jsonl") for n in range(2)
    ]
    barrier = threading.Barrier(2)
    results = []
    errors: list[BaseException] = []

    def ingest(source: Path) -> None:
        barrier.wait()
        try:
            results.append(library.ingest(source, origin()))
        except BaseException as exc:  # surfaced below with the test's assertion
            errors.append(exc)

    threads = [threading.Thread(target=ingest, args=(source,)) for source in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(results) == 2
    assert results[0].id == results[1].id
    assert sorted(r.created for r in results) == [False, True]
    assert dataset_rows(session_factory) == 1
