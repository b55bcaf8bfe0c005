"""The audit log: who changed what, when, and what it cost.

Entries are written by the core where each change happens (a dataset stored, a job started or
ended, a binding set), not by a front end, so every front end leaves the same trail. Where the
change is a database write, the entry goes into the same transaction (`record_in`): it exists
exactly when the change does, and a retried or raced request that changes nothing leaves none.

An entry must never be the reason a change fails: `detail` is whatever the caller had at hand,
so it is cut down to small, JSON-safe values here instead of being trusted.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.models import AuditEntry

__all__ = ["SYSTEM", "AuditEntryRecord", "AuditLog", "Cost"]

SYSTEM = "system"
"""The actor of what nobody in particular did (a job ending at the provider)."""

Cost = Decimal | float | int
MAX_TEXT = 200
"""Longest string kept in a field or a detail value; the rest is cut and marked with '…'."""
MAX_DETAIL_JSON = 2000
"""Largest detail kept, as compact JSON; keys past it are dropped and `truncated` is set."""
MAX_ITEMS = 20
MAX_DEPTH = 3
MAX_RECENT = 1000
CSV_HEADER = ("id", "time_utc", "actor", "action", "subject", "cost_usd", "detail")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet may read as the start of a formula (OWASP's list for CSV injection)."""
_FOUR_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class AuditEntryRecord:
    """One entry, as plain values."""

    id: int
    workspace_id: str
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    cost_usd: Decimal | None
    created_at: datetime

    @classmethod
    def of(cls, row: AuditEntry) -> AuditEntryRecord:
        return cls(
            id=row.id,
            workspace_id=row.workspace_id,
            actor=row.actor,
            action=row.action,
            subject=row.subject,
            detail=dict(row.detail or {}),
            cost_usd=row.cost_usd,
            created_at=row.created_at,
        )


class AuditLog:
    """Appends entries and reads them back, always within one workspace."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def record(
        self,
        workspace_id: str,
        actor: str,
        action: str,
        subject: str,
        *,
        cost_usd: Cost | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Append an entry in its own transaction (for changes made outside the database)."""
        with self._factory.begin() as session:
            self.record_in(
                session, workspace_id, actor, action, subject, cost_usd=cost_usd, detail=detail
            )

    def record_in(
        self,
        session: Session,
        workspace_id: str,
        actor: str,
        action: str,
        subject: str,
        *,
        cost_usd: Cost | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Append an entry to the caller's transaction: it commits or rolls back with the change
        it describes."""
        session.add(
            AuditEntry(
                workspace_id=_text(workspace_id),
                actor=_text(actor) or SYSTEM,
                action=_text(action),
                subject=_text(subject),
                detail=small_detail(detail),
                cost_usd=_cost(cost_usd),
            )
        )

    def recent(self, workspace_id: str, limit: int = 20) -> list[AuditEntryRecord]:
        """Newest first."""
        query = (
            select(AuditEntry)
            .where(AuditEntry.workspace_id == workspace_id)
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
            .limit(max(1, min(limit, MAX_RECENT)))
        )
        with self._factory() as session:
            return [AuditEntryRecord.of(row) for row in session.scalars(query)]

    def export_csv(self, workspace_id: str, since: datetime | None = None) -> bytes:
        """The workspace's entries since `since` (all when None), oldest first, as CSV.

        UTF-8 with a byte order mark, so spreadsheets show names in any script; every cell a
        spreadsheet could take for a formula is defused with a leading apostrophe, since actors,
        subjects and details come from people.
        """
        query = select(AuditEntry).where(AuditEntry.workspace_id == workspace_id)
        if since is not None:
            query = query.where(AuditEntry.created_at >= since)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_HEADER)
        with self._factory() as session:
            rows = session.scalars(query.order_by(AuditEntry.created_at, AuditEntry.id))
            for row in rows:
                writer.writerow([_defused(cell) for cell in _csv_cells(AuditEntryRecord.of(row))])
        return out.getvalue().encode("utf-8-sig")


def small_detail(detail: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """`detail` as small, JSON-safe values, whatever it held; never raises."""
    if detail is None:
        return None
    try:
        items = list(detail.items())
    except Exception:  # not a mapping after all: keep what it was, not what it holds
        return {"unreadable": type(detail).__name__}
    kept: dict[str, Any] = {}
    size = 2
    for key, value in items[:MAX_ITEMS]:
        name = _text(_str(key))
        safe = _safe(value, MAX_DEPTH)
        size += len(json.dumps({name: safe}, ensure_ascii=False, separators=(",", ":")))
        if size > MAX_DETAIL_JSON:
            kept["truncated"] = True
            break
        kept[name] = safe
    if len(items) > MAX_ITEMS:
        kept["truncated"] = True
    return kept


def _safe(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, Decimal):
        return _text(format(value, "f"))
    if isinstance(value, datetime):
        return _text(value.isoformat())
    if depth > 0 and isinstance(value, Mapping):
        try:
            pairs = list(value.items())[:MAX_ITEMS]
        except Exception:
            return type(value).__name__
        return {_text(_str(k)): _safe(v, depth - 1) for k, v in pairs}
    if depth > 0 and isinstance(value, list | tuple | set | frozenset):
        return [_safe(item, depth - 1) for item in list(value)[:MAX_ITEMS]]
    return _text(_str(value))


def _str(value: object) -> str:
    try:
        return str(value)
    except Exception:  # a __str__ that raises must not lose the entry
        return type(value).__name__


def _text(value: str) -> str:
    """Short, and without NUL (PostgreSQL refuses it in text and in JSONB)."""
    value = value.replace("\x00", "")
    return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 1] + "…"


def _cost(value: Cost | None) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
        return amount.quantize(_FOUR_PLACES) if amount.is_finite() else None
    except (InvalidOperation, ValueError):
        return None


def _csv_cells(entry: AuditEntryRecord) -> list[str]:
    return [
        str(entry.id),
        entry.created_at.astimezone(UTC).isoformat(timespec="seconds"),
        entry.actor,
        entry.action,
        entry.subject,
        format(entry.cost_usd, "f") if entry.cost_usd is not None else "",
        json.dumps(entry.detail, ensure_ascii=False, sort_keys=True) if entry.detail else "",
    ]


def _defused(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell
