"""**Fix and re-upload**, the part every chat front end shares: find the dataset, check its
stored file is still there, apply the mechanical fixes and check the result as a new dataset.

The fixed file is ingested before anything is posted: ingesting is idempotent (a dataset is its
bytes), so a retried or repeated fix finds the same fixed dataset again and the front end can
tell from its `report_message_ts` whether the report is already out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from finetuning.datasets.fixes import fix_file
from finetuning.datasets.library import DatasetLibrary, Origin, StoredDataset


class StoredFileGoneError(LookupError):
    """The dataset exists but its normalized file was removed from disk: nothing to fix."""


@dataclass(frozen=True)
class FixedDataset:
    """What a fix produced, for the front end to post."""

    source: StoredDataset
    fixed: StoredDataset
    path: Path
    """The fixed JSONL (what is attached for the person to download)."""
    file_name: str
    """`<name>-fixed.jsonl`: what the attachment and the new report are called."""
    changes: list[str]
    channel_id: str | None
    thread: str | None
    """Where the fix was asked for (the thread of the report clicked), else where the source
    dataset was first reported."""

    @property
    def already_reported_here(self) -> bool:
        """The fixed dataset's report is already in this thread: an earlier run posted it."""
        return self.fixed.report_message_ts is not None and self.fixed.thread_ts == self.thread

    @property
    def should_mark(self) -> bool:
        """Whether the report about to be posted becomes the dataset's remembered report (the
        first one wins: a dataset reported elsewhere before keeps that report)."""
        return self.fixed.created or self.fixed.report_message_ts is None


def fix_dataset(
    library: DatasetLibrary,
    data_dir: Path,
    workspace_id: str,
    ref: str,
    *,
    channel_id: str | None,
    thread: str | None,
    user_id: str,
) -> FixedDataset:
    """Fix dataset `ref` and ingest the result (`fixed_from` the source).

    Raises `DatasetNotFoundError` (no such dataset here) or `StoredFileGoneError`.
    """
    source = library.get(workspace_id, ref)
    if source.normalized_path is None or not source.normalized_path.exists():
        raise StoredFileGoneError(f"the stored file of {source.short_id} is gone")
    fixed_dir = data_dir / "fixed"
    fixed_dir.mkdir(parents=True, exist_ok=True)
    file_name = f"{Path(source.file_name).stem}-fixed.jsonl"
    result = fix_file(source.normalized_path, source.report, fixed_dir / f"{source.sha256}.jsonl")
    channel = channel_id or source.channel_id
    where = thread or source.thread_ts
    fixed = library.ingest(
        result.path,
        Origin(
            workspace_id=workspace_id,
            file_name=file_name,
            channel_id=channel,
            thread_ts=where,
            uploader_id=user_id,
        ),
        fixed_from=source.id,
    )
    return FixedDataset(source, fixed, result.path, file_name, result.changes, channel, where)
