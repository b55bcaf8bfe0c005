"""The audit log: what it keeps, what it refuses to choke on, what it exports, and that the core
records every change once, where the change happens."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import (
    CSV_HEADER,
    MAX_DETAIL_JSON,
    MAX_TEXT,
    SYSTEM,
    AuditEntryRecord,
    AuditLog,
)
from finetuning.conversations import BindingStore, ReplySettings
from finetuning.credentials import Accounts
from finetuning.datasets.library import Origin
from finetuning.datasets.models import default_catalog
from finetuning.follow.follower import Follower
from finetuning.jobs import StartRequest
from finetuning.provider import OpenAIProvider, ProviderError
from storage.models import AuditEntry
from tests.datasets.builders import chat, jsonl_bytes, write
from tests.emulators.openai_emulator import OpenAIEmulator
from tests.follow.harness import (
    MODEL,
    PRICE_PER_MILLION,
    USER,
    WORKSPACE,
    Starter,
    emulator,
    library_in,
    pid,
    provider_for,
    service_for,
)


@pytest.fixture
def audit(session_factory: sessionmaker[Session]) -> AuditLog:
    return AuditLog(session_factory)


def rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "a BOM, so spreadsheets read UTF-8"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def age(factory: sessionmaker[Session], entry_id: int, days: float) -> None:
    """Move an entry back in time."""
    with factory.begin() as session:
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.id == entry_id)
            .values(created_at=datetime.now(UTC) - timedelta(days=days))
        )


# --- recording and reading back -------------------------------------------------------------


def test_recent_is_newest_first_limited_and_only_this_workspace(audit: AuditLog) -> None:
    for number in range(1, 6):
        audit.record("T1", "U1", "dataset.uploaded", f"ds-{number}")
    audit.record("T2", "U9", "job.started", "job-1", cost_usd=Decimal("9.5"))

    newest = audit.recent("T1", limit=3)

    assert [entry.subject for entry in newest] == ["ds-5", "ds-4", "ds-3"]
    assert {entry.workspace_id for entry in audit.recent("T1")} == {"T1"}
    assert len(audit.recent("T1")) == 5
    assert [entry.subject for entry in audit.recent("T2")] == ["job-1"]
    assert audit.recent("T3") == []


def test_an_entry_keeps_who_what_subject_cost_and_detail(audit: AuditLog) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)

    audit.record(
        "T1",
        "U1",
        "job.started",
        "job-4",
        cost_usd=Decimal("2.7112"),
        detail={"model": MODEL, "epochs": 3, "valid": True, "loss": 0.25, "none": None},
    )
    audit.record("T1", "U2", "job.cancelled", "job-4", cost_usd=1.5)

    cancelled, started = audit.recent("T1")
    assert isinstance(started, AuditEntryRecord)
    assert (started.actor, started.action, started.subject) == ("U1", "job.started", "job-4")
    assert started.cost_usd == Decimal("2.7112")
    assert started.detail == {
        "model": MODEL,
        "epochs": 3,
        "valid": True,
        "loss": 0.25,
        "none": None,
    }
    assert before <= started.created_at <= datetime.now(UTC) + timedelta(seconds=1)
    assert started.created_at.tzinfo is not None
    assert cancelled.cost_usd == Decimal("1.5") and cancelled.detail == {}


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


def test_a_bad_detail_never_stops_an_entry_and_is_kept_small(audit: AuditLog) -> None:
    nested: dict[str, Any] = {"level": 0}
    for level in range(1, 10):
        nested = {"level": level, "inner": nested}
    bad: dict[Any, Any] = {
        "object": object(),
        "nan": float("nan"),
        "infinite": float("inf"),
        "nul": "a\x00b",
        "long": "x" * 10_000,
        "bytes": b"\x00\xff",
        "set": {1, 2},
        "when": datetime(2030, 1, 2, tzinfo=UTC),
        "money": Decimal("1.10"),
        "unprintable": Unprintable(),
        "deep": nested,
        7: "a number as key",
        ("a", "tuple"): "a tuple as key",
    }

    audit.record("T1", "U1\x00", "settings.changed", "s" * 1000, detail=bad)
    audit.record("T1", "U1", "settings.changed", "many", detail={f"k{i}": i for i in range(500)})
    audit.record("T1", "U1", "settings.changed", "huge", detail={"a": ["y" * 150] * 50})
    audit.record("T1", "U1", "settings.changed", "list", detail=["not", "a", "mapping"])  # type: ignore[arg-type]
    audit.record("T1", "U1", "job.ended", "nan-cost", cost_usd=float("nan"))

    nan_cost, listed, huge, many, first = audit.recent("T1")
    kept = first.detail
    assert first.actor == "U1" and len(first.subject) == MAX_TEXT
    assert kept["nan"] == "nan" and kept["infinite"] == "inf"
    assert kept["nul"] == "ab"
    assert len(kept["long"]) == MAX_TEXT and kept["long"].endswith("…")
    assert kept["when"] == "2030-01-02T00:00:00+00:00"
    assert kept["money"] == "1.10"
    assert kept["unprintable"] == "Unprintable"
    assert kept["7"] == "a number as key" and kept["('a', 'tuple')"] == "a tuple as key"
    assert sorted(kept["set"]) == [1, 2]
    assert "inner" in kept["deep"] and isinstance(kept["deep"]["inner"]["inner"]["inner"], str)
    for entry in (first, many, huge, listed):
        assert len(json.dumps(entry.detail)) <= MAX_DETAIL_JSON + 50
    assert many.detail["truncated"] is True and "k0" in many.detail
    assert huge.detail == {"truncated": True}
    assert listed.detail == {"unreadable": "list"}
    assert nan_cost.cost_usd is None


def test_an_entry_recorded_in_a_transaction_goes_with_it(
    audit: AuditLog, session_factory: sessionmaker[Session]
) -> None:
    with pytest.raises(RuntimeError), session_factory.begin() as session:
        audit.record_in(session, "T1", "U1", "binding.set", "C1")
        raise RuntimeError("the change failed")
    with session_factory.begin() as session:
        audit.record_in(session, "T1", "U1", "binding.set", "C2")

    assert [entry.subject for entry in audit.recent("T1")] == ["C2"]


# --- the CSV export -------------------------------------------------------------------------


def test_the_csv_has_a_header_utc_iso_times_plain_costs_and_oldest_first(
    audit: AuditLog,
) -> None:
    audit.record("T1", "U1", "dataset.uploaded", "ds-1", detail={"file": "train.jsonl"})
    audit.record("T1", "U1", "job.started", "job-1", cost_usd=Decimal("12345.6789"))
    audit.record("T1", SYSTEM, "job.ended", "job-1", cost_usd=0.0001)
    audit.record("T2", "U2", "job.started", "job-9", cost_usd=1)

    header, *body = rows(audit.export_csv("T1"))

    assert tuple(header) == CSV_HEADER
    assert [(r[2], r[3], r[4], r[5]) for r in body] == [
        ("U1", "dataset.uploaded", "ds-1", ""),
        ("U1", "job.started", "job-1", "12345.6789"),
        ("system", "job.ended", "job-1", "0.0001"),
    ]
    for row in body:
        moment = datetime.fromisoformat(row[1])
        assert moment.utcoffset() == timedelta(0)
        assert abs(moment - datetime.now(UTC)) < timedelta(minutes=1)
    assert json.loads(body[0][6]) == {"file": "train.jsonl"}
    assert body[1][6] == ""


def test_the_csv_leaves_out_what_is_older_than_since(
    audit: AuditLog, session_factory: sessionmaker[Session]
) -> None:
    audit.record("T1", "U1", "job.started", "job-old")
    audit.record("T1", "U1", "job.started", "job-new")
    old = next(e for e in audit.recent("T1") if e.subject == "job-old")
    age(session_factory, old.id, days=91)

    recent = rows(audit.export_csv("T1", since=datetime.now(UTC) - timedelta(days=90)))
    everything = rows(audit.export_csv("T1"))

    assert [r[4] for r in recent[1:]] == ["job-new"]
    assert [r[4] for r in everything[1:]] == ["job-old", "job-new"]


@pytest.mark.parametrize(
    "hostile",
    ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"],
)
def test_cells_a_spreadsheet_would_run_as_formulas_are_defused(
    audit: AuditLog, hostile: str
) -> None:
    audit.record("T1", hostile, hostile, hostile, detail={"note": hostile})

    [_, row] = rows(audit.export_csv("T1"))

    assert row[2:5] == ["'" + hostile] * 3
    assert json.loads(row[6]) == {"note": hostile}, "the JSON cell starts with '{', harmless"
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_the_csv_keeps_any_script_and_emoji(audit: AuditLog) -> None:
    audit.record("T1", "U1", "dataset.uploaded", "ds-1", detail={"file": "データ 🚀 Zoë.jsonl"})
    audit.record("T1", "U1", "binding.set", "C1", detail={"system_prompt": "Отвечай кратко"})

    [_, first, second] = rows(audit.export_csv("T1"))

    assert json.loads(first[6]) == {"file": "データ 🚀 Zoë.jsonl"}
    assert json.loads(second[6]) == {"system_prompt": "Отвечай кратко"}


# --- the core records each change once, where it happens --------------------------------------


@pytest.fixture
def emu() -> Iterator[OpenAIEmulator]:
    with emulator() as running:
        yield running


@pytest.fixture
def provider(emu: OpenAIEmulator) -> Iterator[OpenAIProvider]:
    with provider_for(emu) as real:
        yield real


@pytest.fixture
def starter(
    session_factory: sessionmaker[Session], provider: OpenAIProvider, tmp_path: Path
) -> Starter:
    library = library_in(session_factory, tmp_path)
    catalog = default_catalog().with_prices({MODEL: PRICE_PER_MILLION})
    return Starter(library, service_for(session_factory, library, provider, catalog), tmp_path)


def actions(audit: AuditLog) -> list[tuple[str, str, str]]:
    """(actor, action, subject), oldest first."""
    return [(e.actor, e.action, e.subject) for e in reversed(audit.recent(WORKSPACE, 100))]


def test_a_new_dataset_is_recorded_once_and_the_same_bytes_again_not_at_all(
    starter: Starter, audit: AuditLog, tmp_path: Path
) -> None:
    source = write(tmp_path, jsonl_bytes([chat(i) for i in range(12)]), "a.jsonl")
    origin = Origin(workspace_id=WORKSPACE, file_name="train.jsonl", channel_id="C1")

    first = starter.library.ingest(source, replace_uploader(origin, "U7"))
    again = starter.library.ingest(source, replace_uploader(origin, "U8"))

    assert first.created and not again.created
    assert actions(audit) == [("U7", "dataset.uploaded", first.short_id)]
    [entry] = audit.recent(WORKSPACE)
    assert entry.detail["file"] == "train.jsonl" and entry.detail["examples"] == 12


def replace_uploader(origin: Origin, user: str) -> Origin:
    return Origin(
        workspace_id=origin.workspace_id,
        file_name=origin.file_name,
        channel_id=origin.channel_id,
        uploader_id=user,
    )


def test_start_cancel_and_end_are_recorded_with_who_and_cost(
    starter: Starter,
    audit: AuditLog,
    emu: OpenAIEmulator,
    session_factory: sessionmaker[Session],
    provider: OpenAIProvider,
) -> None:
    catalog = default_catalog().with_prices({MODEL: PRICE_PER_MILLION})
    follower = Follower(session_factory, Accounts.fixed(provider), catalog, audit=audit)
    kept = starter.start()
    dropped = starter.start()

    starter.service.cancel(WORKSPACE, dropped.short_id, by="U2")
    emu.finish(pid(dropped), "cancelled")
    remote = emu.finish(pid(kept), "succeeded")
    follower.poll_once()
    follower.poll_once()  # nothing new: no second entry

    dataset = f"ds-{kept.dataset_id}"
    assert actions(audit) == [
        (SYSTEM, "dataset.uploaded", dataset),  # the harness uploads without a person
        (USER, "job.started", kept.short_id),
        (USER, "job.started", dropped.short_id),
        ("U2", "job.cancelled", dropped.short_id),
        (SYSTEM, "job.ended", kept.short_id),
        (SYSTEM, "job.ended", dropped.short_id),
    ]
    by_key = {(e.action, e.subject): e for e in audit.recent(WORKSPACE, 100)}
    started = by_key["job.started", kept.short_id]
    assert started.cost_usd is not None and started.cost_usd > 0
    assert started.cost_usd == Decimal(str(kept.estimated_cost_usd))
    assert started.detail["model"] == MODEL and started.detail["dataset"] == dataset
    succeeded = by_key["job.ended", kept.short_id]
    assert succeeded.cost_usd == Decimal(remote["trained_tokens"]) / 400
    assert succeeded.detail["status"] == "succeeded"
    assert succeeded.detail["model"] == remote["fine_tuned_model"]
    cancelled = by_key["job.ended", dropped.short_id]
    assert cancelled.cost_usd is None
    assert cancelled.detail["status"] == "cancelled" and cancelled.detail["cancelled_by"] == "U2"


def test_a_repeated_start_request_records_one_start(starter: Starter, audit: AuditLog) -> None:
    job = starter.start()
    repeat = StartRequest(
        key=f"start:{WORKSPACE}:1",  # the key Starter gave its first request
        workspace_id=WORKSPACE,
        channel_id="C1",
        requested_by=USER,
    )

    again = starter.service.start(repeat)

    assert not again.created and again.job.id == job.id
    started = [entry for entry in actions(audit) if entry[1] == "job.started"]
    assert started == [(USER, "job.started", job.short_id)]


def test_a_deleted_model_is_recorded_with_who_deleted_it(
    starter: Starter, audit: AuditLog, emu: OpenAIEmulator
) -> None:
    job = starter.start()
    model = str(emu.finish(pid(job), "succeeded")["fine_tuned_model"])

    assert starter.service.delete_model(WORKSPACE, model, by="U3") is True

    assert actions(audit)[-1] == ("U3", "model.deleted", model)


@pytest.mark.parametrize(
    ("act", "path", "action"),
    [
        ("cancel", r"/cancel$", "job.cancelled"),
        ("pause", r"/pause$", "job.paused"),
        ("resume", r"/resume$", "job.resumed"),
    ],
)
def test_a_request_is_recorded_before_openai_is_asked_and_a_refusal_after(
    starter: Starter, audit: AuditLog, emu: OpenAIEmulator, act: str, path: str, action: str
) -> None:
    """Written ahead of the call, an entry survives a crash the moment after OpenAI acted;
    a refusal is appended, so the log never claims what did not happen."""
    job = starter.start()
    emu.inject(path, 400, count=1, body={"error": {"message": "no", "code": "invalid_state"}})

    with pytest.raises(ProviderError):
        getattr(starter.service, act)(WORKSPACE, job.short_id, by="U4")

    assert actions(audit)[-2:] == [
        ("U4", action, job.short_id),
        ("U4", "request.failed", job.short_id),
    ]
    failed = audit.recent(WORKSPACE, 1)[0]
    assert failed.detail == {"request": action, "error": "invalid_state"}


def test_bindings_set_and_removed_are_recorded_and_a_repeat_is_not(
    session_factory: sessionmaker[Session], audit: AuditLog
) -> None:
    bindings = BindingStore(session_factory, audit=audit)
    settings = ReplySettings(system_prompt="Be brief.", temperature=0.2)

    bindings.bind(WORKSPACE, "C1", MODEL, settings, by="U1")
    bindings.bind(WORKSPACE, "C1", MODEL, settings, by="U1")  # a retried request
    bindings.bind(WORKSPACE, "C1", MODEL, settings, thread_ts="1700.1", by="U2")
    bindings.unbind(WORKSPACE, "C1", by="U3")
    bindings.unbind(WORKSPACE, "C1", by="U3")  # nothing left to remove

    assert actions(audit) == [
        ("U1", "binding.set", "C1"),
        ("U2", "binding.set", "C1/1700.1"),
        ("U3", "binding.removed", "C1"),
    ]
    first = audit.recent(WORKSPACE, 100)[-1]
    assert first.detail == {
        "model": MODEL,
        "system_prompt": "Be brief.",
        "temperature": 0.2,
        "max_tokens": None,
    }
