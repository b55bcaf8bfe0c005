"""A workspace at a glance (recent datasets and jobs), and who wants to see it kept current."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from finetuning.datasets.library import DatasetLibrary, StoredDataset
from finetuning.jobs import JobRecord, JobService
from storage.models import HomeViewer
from storage.types import utcnow

VIEWER_MEMORY = timedelta(days=14)
"""Home tabs opened longer ago than this are not refreshed any more."""


@dataclass(frozen=True)
class Overview:
    datasets: list[StoredDataset]
    jobs: list[JobRecord]


def overview(library: DatasetLibrary, jobs: JobService, workspace_id: str) -> Overview:
    return Overview(
        datasets=library.recent(workspace_id, limit=10), jobs=jobs.recent(workspace_id, limit=10)
    )


class HomeViewers:
    """Remembers who opened the overview, per workspace."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def opened(self, workspace_id: str, user_id: str) -> None:
        now = utcnow()
        with self._factory.begin() as session:
            viewer = session.scalar(
                select(HomeViewer).where(
                    HomeViewer.workspace_id == workspace_id, HomeViewer.user_id == user_id
                )
            )
            if viewer is not None:
                viewer.opened_at = now
                return
        try:
            with self._factory.begin() as session:
                session.add(HomeViewer(workspace_id=workspace_id, user_id=user_id, opened_at=now))
        except IntegrityError:
            pass  # opened twice at once: one row is all we need

    def recent(self, since: datetime | None = None) -> dict[str, list[str]]:
        """Workspace id to the users whose overview is worth refreshing."""
        cutoff = since or utcnow() - VIEWER_MEMORY
        with self._factory() as session:
            rows = session.execute(
                select(HomeViewer.workspace_id, HomeViewer.user_id).where(
                    HomeViewer.opened_at >= cutoff
                )
            )
            found: dict[str, list[str]] = {}
            for workspace_id, user_id in rows:
                found.setdefault(workspace_id, []).append(user_id)
            return found
