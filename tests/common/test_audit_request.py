"""What `/finetune audit` asks for, and the CSV file both front ends send."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import AuditLog
from handlers.common.audit_request import (
    CSV_DAYS,
    DEFAULT_ENTRIES,
    MAX_ENTRIES,
    AuditRequest,
    AuditUsageError,
    audit_export,
    audit_request,
    parse_audit_request,
)
from storage.models import AuditEntry


@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("", AuditRequest(DEFAULT_ENTRIES, csv=False)),
        ("  ", AuditRequest(DEFAULT_ENTRIES, csv=False)),
        ("csv", AuditRequest(DEFAULT_ENTRIES, csv=True)),
        (" CSV ", AuditRequest(DEFAULT_ENTRIES, csv=True)),
        ("7", AuditRequest(7, csv=False)),
        ("1", AuditRequest(1, csv=False)),
        (str(MAX_ENTRIES + 1), AuditRequest(MAX_ENTRIES, csv=False)),
    ],
)
def test_the_text_of_a_command_is_a_count_or_csv(argument: str, expected: AuditRequest) -> None:
    assert parse_audit_request(argument) == expected


@pytest.mark.parametrize("argument", ["0", "-3", "ten", "٣", "5 csv", "1.5"])
def test_anything_else_says_what_is_accepted(argument: str) -> None:
    with pytest.raises(AuditUsageError, match=f"1 to {MAX_ENTRIES} entries"):
        parse_audit_request(argument)


@pytest.mark.parametrize(
    ("entries", "expected"),
    [(None, DEFAULT_ENTRIES), (0, 1), (-5, 1), (42, 42), (MAX_ENTRIES * 10, MAX_ENTRIES)],
)
def test_a_typed_count_is_brought_inside_the_bounds(entries: int | None, expected: int) -> None:
    assert audit_request(entries) == AuditRequest(expected, csv=False)
    assert audit_request(entries, csv=True).csv is True


def test_the_export_holds_this_workspaces_last_days_oldest_first(
    session_factory: sessionmaker[Session],
) -> None:
    audit = AuditLog(session_factory)
    audit.record("W1", "U1", "dataset.uploaded", "ds-1", detail={"file": "old.jsonl"})
    audit.record("W1", "U1", "dataset.uploaded", "ds-2", detail={"file": "new.jsonl"})
    audit.record("W1", "U2", "job.started", "job-1", cost_usd=1.5)
    audit.record("W2", "U9", "dataset.uploaded", "ds-3")
    now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    with session_factory.begin() as session:
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.subject == "ds-1")
            .values(created_at=now - timedelta(days=CSV_DAYS + 1))
        )
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.subject != "ds-1")
            .values(created_at=now - timedelta(days=1))
        )

    export = audit_export(audit, "W1", now=now)

    assert export.filename == "tunebot-audit-2026-03-04.csv"
    assert f"last {CSV_DAYS} days" in export.about
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [(r["actor"], r["action"], r["subject"]) for r in rows] == [
        ("U1", "dataset.uploaded", "ds-2"),
        ("U2", "job.started", "job-1"),
    ]
    assert rows[1]["cost_usd"] == "1.5000"
