"""The team's datasets: each checked file stored once per workspace, found again by short id.

A dataset is its bytes: the same file dropped twice (or in two channels) is one dataset with one
report, and the normalized JSONL kept on disk is what a job uploads, so what was checked is
exactly what trains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from finetuning.audit import SYSTEM, AuditLog
from finetuning.datasets.engine import ValidationSettings, validate_file
from finetuning.datasets.report import ValidationReport
from finetuning.datasets.sources import file_sha256
from storage.models import Dataset

_SHORT_ID = re.compile(r"^(?:ds-)?(\d{1,12})$", re.IGNORECASE)


class DatasetNotFoundError(LookupError):
    """No dataset by that reference in this workspace (other workspaces are never searched)."""


@dataclass(frozen=True)
class Origin:
    """Where a file came from, in chat-platform-neutral terms."""

    workspace_id: str
    file_name: str
    channel_id: str | None = None
    thread_ts: str | None = None
    uploader_id: str | None = None
    source_file_id: str | None = None


@dataclass(frozen=True)
class StoredDataset:
    """A dataset as the rest of the app sees it: plain values, no database session attached."""

    id: int
    short_id: str
    workspace_id: str
    channel_id: str | None
    thread_ts: str | None
    file_name: str
    sha256: str
    valid: bool
    report: ValidationReport
    normalized_path: Path | None
    provider_file_id: str | None
    report_message_ts: str | None
    created: bool

    @classmethod
    def of(cls, row: Dataset, *, created: bool) -> StoredDataset:
        return cls(
            id=row.id,
            short_id=row.short_id,
            workspace_id=row.workspace_id,
            channel_id=row.channel_id,
            thread_ts=row.thread_ts,
            file_name=row.file_name,
            sha256=row.sha256,
            valid=row.valid,
            report=ValidationReport.from_dict(row.report),
            normalized_path=Path(row.normalized_path) if row.normalized_path else None,
            provider_file_id=row.provider_file_id,
            report_message_ts=row.report_message_ts,
            created=created,
        )


def parse_dataset_ref(ref: str) -> int | None:
    """`ds-7` or `7` to 7; None for anything else."""
    match = _SHORT_ID.match(ref.strip())
    return int(match.group(1)) if match else None


class DatasetLibrary:
    """Stores checked datasets and finds them, always within one workspace."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        data_dir: Path,
        validation: ValidationSettings | None = None,
        *,
        audit: AuditLog,
    ) -> None:
        self._factory = factory
        self._audit = audit
        self._dir = data_dir / "datasets"
        self._validation = validation or ValidationSettings()

    def ingest(
        self, source: Path, origin: Origin, *, fixed_from: int | None = None
    ) -> StoredDataset:
        """Check a file and store it, or return the dataset these bytes already are."""
        sha256 = file_sha256(source)
        existing = self._by_sha(origin.workspace_id, sha256)
        if existing is not None:
            return existing
        self._dir.mkdir(parents=True, exist_ok=True)
        normalized = self._dir / f"{sha256}.jsonl"
        report = validate_file(source, replace(self._validation, normalized_output=normalized))
        # Reports name the file as the user called it, not as our temporary download was called.
        report = replace(report, file_name=origin.file_name)
        row = Dataset(
            workspace_id=origin.workspace_id,
            channel_id=origin.channel_id,
            thread_ts=origin.thread_ts,
            uploader_id=origin.uploader_id,
            source_file_id=origin.source_file_id,
            file_name=origin.file_name,
            sha256=sha256,
            source_format=report.source_format,
            format=report.format.value if report.format else None,
            examples=report.examples,
            total_tokens=report.tokens.total,
            valid=report.valid,
            error_count=len(report.errors),
            warning_count=len(report.warnings),
            report=report.to_dict(),
            normalized_path=str(normalized),
            fixed_from_id=fixed_from,
        )
        try:
            with self._factory.begin() as session:
                session.add(row)
                session.flush()
                self._audit.record_in(
                    session,
                    origin.workspace_id,
                    origin.uploader_id or SYSTEM,
                    "dataset.uploaded",
                    row.short_id,
                    detail={
                        "file": origin.file_name,
                        "channel": origin.channel_id,
                        "examples": report.examples,
                        "valid": report.valid,
                        "fixed_from": f"ds-{fixed_from}" if fixed_from is not None else None,
                    },
                )
                return StoredDataset.of(row, created=True)
        except IntegrityError:
            raced = self._by_sha(origin.workspace_id, sha256)
            if raced is None:
                raise
            return raced

    def mark_reported(self, dataset_id: int, message_ts: str) -> None:
        """Remember where the report went, so a retried intake does not post it again."""
        with self._factory.begin() as session:
            session.get_one(Dataset, dataset_id).report_message_ts = message_ts

    def set_provider_file(self, dataset_id: int, file_id: str) -> None:
        """Remember the provider's copy so the next job on this dataset skips the upload."""
        with self._factory.begin() as session:
            session.get_one(Dataset, dataset_id).provider_file_id = file_id

    def get(self, workspace_id: str, ref: str) -> StoredDataset:
        """A dataset of this workspace by `ds-N`; another workspace's id is simply not found."""
        number = parse_dataset_ref(ref)
        with self._factory() as session:
            row = session.get(Dataset, number) if number is not None else None
            if row is None or row.workspace_id != workspace_id:
                raise DatasetNotFoundError(f"no dataset {ref!r} here")
            return StoredDataset.of(row, created=False)

    def newest_valid(self, workspace_id: str, channel_id: str | None) -> StoredDataset | None:
        """The default for `start`: the newest dataset in the channel that will train."""
        with self._factory() as session:
            row = session.scalar(
                select(Dataset)
                .where(
                    Dataset.workspace_id == workspace_id,
                    Dataset.channel_id == channel_id,
                    Dataset.valid.is_(True),
                )
                .order_by(Dataset.id.desc())
                .limit(1)
            )
            return StoredDataset.of(row, created=False) if row is not None else None

    def recent(
        self, workspace_id: str, channel_id: str | None = None, limit: int = 20
    ) -> list[StoredDataset]:
        """Newest first; one channel's, or the whole workspace's."""
        query = select(Dataset).where(Dataset.workspace_id == workspace_id)
        if channel_id is not None:
            query = query.where(Dataset.channel_id == channel_id)
        with self._factory() as session:
            rows = session.scalars(query.order_by(Dataset.id.desc()).limit(limit))
            return [StoredDataset.of(row, created=False) for row in rows]

    def _by_sha(self, workspace_id: str, sha256: str) -> StoredDataset | None:
        with self._factory() as session:
            row = session.scalar(
                select(Dataset).where(
                    Dataset.workspace_id == workspace_id, Dataset.sha256 == sha256
                )
            )
            return StoredDataset.of(row, created=False) if row is not None else None
