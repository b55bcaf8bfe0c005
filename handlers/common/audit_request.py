"""What `/finetune audit` asks for, and the CSV file it sends: the same on every front end.

The log itself is the core's (`finetuning.audit`). What lives here is the request around it: how
many entries (bounded, so one answer stays readable and one query stays small) or the CSV, and
the export's window and file name, so an admin gets the same rows and the same file whichever
chat they ask from. Only the words and the delivery (a DM on Slack, an ephemeral attachment on
Discord) belong to a front end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from finetuning.audit import AuditLog
from storage.types import utcnow

DEFAULT_ENTRIES = 20
MAX_ENTRIES = 100
CSV_DAYS = 90
CSV = "csv"


class AuditUsageError(ValueError):
    """The argument is neither a count nor `csv`; the message says what is accepted."""


@dataclass(frozen=True)
class AuditRequest:
    """The newest `entries` entries, or (`csv`) the CSV export of the last `CSV_DAYS` days."""

    entries: int = DEFAULT_ENTRIES
    csv: bool = False


def audit_request(entries: int | None = None, *, csv: bool = False) -> AuditRequest:
    """A request from typed options: a count past the bounds is brought inside them, since
    the person asked for "many" or "few" rather than for an error."""
    count = DEFAULT_ENTRIES if entries is None else max(1, min(entries, MAX_ENTRIES))
    return AuditRequest(count, csv)


def parse_audit_request(argument: str) -> AuditRequest:
    """A request from a command's text: empty, a count, or `csv`."""
    word = argument.strip().lower()
    if not word:
        return AuditRequest()
    if word == CSV:
        return AuditRequest(csv=True)
    if word.isascii() and word.isdigit() and int(word) >= 1:
        return audit_request(int(word))
    raise AuditUsageError(
        f"usage: `audit [N]` (1 to {MAX_ENTRIES} entries, {DEFAULT_ENTRIES} by default) "
        "or `audit csv`"
    )


@dataclass(frozen=True)
class AuditExport:
    """The CSV file, named by the day it was made, and a line saying what it holds."""

    filename: str
    content: bytes
    about: str


def audit_export(audit: AuditLog, workspace_id: str, now: datetime | None = None) -> AuditExport:
    """The workspace's entries of the last `CSV_DAYS` days, oldest first, as a CSV file."""
    now = now or utcnow()
    return AuditExport(
        filename=f"tunebot-audit-{now:%Y-%m-%d}.csv",
        content=audit.export_csv(workspace_id, since=now - timedelta(days=CSV_DAYS)),
        about=f"The audit log of the last {CSV_DAYS} days, oldest first (times in UTC).",
    )
