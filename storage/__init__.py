"""tunebot's persistence: typed models, engine and session helpers, and migrations.

Only the domain package talks to storage; handlers go through the domain.
"""

from storage.db import make_engine, make_session_factory, normalize_url, session_scope
from storage.migrate import current_revision, downgrade, head_revision, upgrade
from storage.models import (
    Base,
    ChannelBinding,
    Dataset,
    HomeViewer,
    Job,
    JobEvent,
    JobStatus,
    Lease,
    Notice,
    NoticeStatus,
    Task,
    TaskStatus,
)
from storage.types import UTCDateTime, utcnow

__all__ = [
    "Base",
    "ChannelBinding",
    "Dataset",
    "HomeViewer",
    "Job",
    "JobEvent",
    "JobStatus",
    "Lease",
    "Notice",
    "NoticeStatus",
    "Task",
    "TaskStatus",
    "UTCDateTime",
    "current_revision",
    "downgrade",
    "head_revision",
    "make_engine",
    "make_session_factory",
    "normalize_url",
    "session_scope",
    "upgrade",
    "utcnow",
]
