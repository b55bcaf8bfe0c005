"""The database schema as typed SQLAlchemy models.

Idempotency lives here, in unique constraints, not in memory: chat platforms retry deliveries
and people double-click, so "one report per file" and "one job per start request" are enforced
by the database, which is the only party every replica agrees with.

Changing a model means writing a migration under `storage/migrations/versions/`; the tests
compare the migrated schema with these models and fail on any drift.
"""

from __future__ import annotations

# SQLAlchemy resolves the (string) annotations below against this module's namespace at mapping
# time, so every name used inside `Mapped[...]` must be imported at run time, not under
# TYPE_CHECKING.
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UTCDateTime, json_column_type, utcnow

# Explicit constraint names: Alembic can only alter or drop what it can name, and SQLite and
# PostgreSQL would otherwise invent different names (or none).
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_NOW = text("CURRENT_TIMESTAMP")


class Base(DeclarativeBase):
    """Declarative base whose metadata names every constraint the same way on every database."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class JobStatus(StrEnum):
    """Job states: OpenAI's fine-tuning statuses plus two of our own.

    `pending` is a job we recorded but have not yet submitted; `awaiting_approval` one that costs
    more than the team lets anyone spend without an admin's yes (recorded, not submitted);
    `rejected` one we refused (or an admin or the provider refused) before it ever ran. Stored as
    plain strings so a new provider status does not need a migration.
    """

    PENDING = "pending"
    AWAITING_APPROVAL = "awaiting_approval"
    REJECTED = "rejected"
    VALIDATING_FILES = "validating_files"
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Dataset(Base):
    """One checked training file; the same bytes in the same workspace are checked once."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("workspace_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The chat platform's team/guild id; "" for the command line.
    workspace_id: Mapped[str] = mapped_column(String, index=True)
    channel_id: Mapped[str | None] = mapped_column(String)
    thread_ts: Mapped[str | None] = mapped_column(String)
    uploader_id: Mapped[str | None] = mapped_column(String)
    source_file_id: Mapped[str | None] = mapped_column(String)
    file_name: Mapped[str] = mapped_column(String)
    sha256: Mapped[str] = mapped_column(String(64))
    source_format: Mapped[str] = mapped_column(String)
    format: Mapped[str | None] = mapped_column(String)
    examples: Mapped[int] = mapped_column(Integer)
    # BigInteger: a large file times many epochs passes 2**31 tokens.
    total_tokens: Mapped[int] = mapped_column(BigInteger)
    valid: Mapped[bool] = mapped_column(Boolean)
    error_count: Mapped[int] = mapped_column(Integer)
    warning_count: Mapped[int] = mapped_column(Integer)
    # The dataset engine's report. Assign a new dict to change it: in-place edits are not tracked.
    report: Mapped[dict[str, Any]] = mapped_column(json_column_type())
    normalized_path: Mapped[str | None] = mapped_column(String)
    provider_file_id: Mapped[str | None] = mapped_column(String)
    # Where the report was posted, so a retried intake never posts it twice.
    report_message_ts: Mapped[str | None] = mapped_column(String)
    # The dataset this one was produced from by "Fix and re-upload".
    fixed_from_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)

    @property
    def short_id(self) -> str:
        """The id people type in chat."""
        return f"ds-{self.id}"


class Job(Base):
    """A fine-tuning job, from the start request to its outcome."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String, index=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    validation_dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"))
    provider_job_id: Mapped[str | None] = mapped_column(String, unique=True)
    # One job per start request, however often the request is delivered or clicked.
    idempotency_key: Mapped[str] = mapped_column(String, unique=True)
    base_model: Mapped[str] = mapped_column(String)
    fine_tuned_model: Mapped[str | None] = mapped_column(String)
    status: Mapped[str] = mapped_column(String, index=True, default=JobStatus.PENDING.value)
    method: Mapped[str] = mapped_column(String, default="supervised")
    epochs: Mapped[int | None] = mapped_column(Integer)
    suffix: Mapped[str | None] = mapped_column(String)
    seed: Mapped[int | None] = mapped_column(BigInteger)
    estimated_cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    trained_tokens: Mapped[int | None] = mapped_column(BigInteger)
    actual_cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    started_by: Mapped[str | None] = mapped_column(String)
    channel_id: Mapped[str | None] = mapped_column(String)
    thread_ts: Mapped[str | None] = mapped_column(String)
    status_message_ts: Mapped[str | None] = mapped_column(String)
    error_code: Mapped[str | None] = mapped_column(String)
    error_message: Mapped[str | None] = mapped_column(Text)
    # What the follower last learnt, so each cycle asks only for what is new.
    step: Mapped[int | None] = mapped_column(Integer)
    total_steps: Mapped[int | None] = mapped_column(Integer)
    train_loss: Mapped[float | None] = mapped_column(Float)
    valid_loss: Mapped[float | None] = mapped_column(Float)
    last_event_id: Mapped[str | None] = mapped_column(String)
    running_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    estimated_finish: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The progress message is edited only when what it shows changed, and not too often.
    progress_shown: Mapped[str | None] = mapped_column(Text)
    progress_shown_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String)
    # An admin's decision on a job that needed approval; the first decision is the only one.
    approved_by: Mapped[str | None] = mapped_column(String)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejected_by: Mapped[str | None] = mapped_column(String)
    rejected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where the approval request was posted ([{"channel": …, "ts": …}]), to show the outcome there.
    approval_requests: Mapped[list[dict[str, str]] | None] = mapped_column(
        json_column_type(none_as_null=True)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, server_default=_NOW
    )
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    dataset: Mapped[Dataset] = relationship(foreign_keys=[dataset_id])
    validation_dataset: Mapped[Dataset | None] = relationship(foreign_keys=[validation_dataset_id])
    events: Mapped[list[JobEvent]] = relationship(
        back_populates="job",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(JobEvent.created_at, JobEvent.id)",
    )

    @property
    def short_id(self) -> str:
        """The id people type in chat."""
        return f"job-{self.id}"


class JobEvent(Base):
    """An event the provider reported for a job; stored once however often it is fetched."""

    __tablename__ = "job_events"
    __table_args__ = (UniqueConstraint("job_id", "provider_event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    provider_event_id: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)
    level: Mapped[str] = mapped_column(String)
    type: Mapped[str] = mapped_column(String)
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(json_column_type(none_as_null=True))

    job: Mapped[Job] = relationship(back_populates="events")


class ChannelBinding(Base):
    """Which tuned model answers in a channel, or in one thread of it."""

    __tablename__ = "channel_bindings"
    __table_args__ = (UniqueConstraint("workspace_id", "channel_id", "thread_ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String)
    channel_id: Mapped[str] = mapped_column(String)
    # "" binds the whole channel. Not NULL: NULLs never collide in a unique constraint, so two
    # whole-channel bindings could coexist.
    thread_ts: Mapped[str] = mapped_column(String, default="", server_default=text("''"))
    model: Mapped[str] = mapped_column(String)
    system_prompt: Mapped[str | None] = mapped_column(Text)
    temperature: Mapped[float | None] = mapped_column(Float)
    max_tokens: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)


class Conversation(Base):
    """A thread in which people talk with a model: which model, and how it answers there.

    The settings are copied from the binding when the thread starts, so rebinding the channel
    later does not change a conversation already under way.
    """

    __tablename__ = "conversations"
    # The unique constraint is also the index behind "is this thread a conversation?", asked for
    # every thread message before the chat platform is acknowledged.
    __table_args__ = (UniqueConstraint("workspace_id", "channel_id", "thread_ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String)
    channel_id: Mapped[str] = mapped_column(String)
    thread_ts: Mapped[str] = mapped_column(String)
    model: Mapped[str] = mapped_column(String)
    system_prompt: Mapped[str | None] = mapped_column(Text)
    temperature: Mapped[float | None] = mapped_column(Float)
    max_tokens: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)


class ConversationTurn(Base):
    """One message of a conversation: what a person wrote, or what the model answered.

    Unique per message: a chat platform redelivers events, and a redelivered message must not
    appear twice in the history the model is shown.
    """

    __tablename__ = "conversation_turns"
    __table_args__ = (
        UniqueConstraint("conversation_id", "role", "message_ts"),
        CheckConstraint("role IN ('user', 'assistant')", name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String)
    content: Mapped[str] = mapped_column(Text)
    # The chat message this turn is.
    message_ts: Mapped[str] = mapped_column(String)
    # For a reply: the person's message it answers.
    reply_to_ts: Mapped[str | None] = mapped_column(String)
    author: Mapped[str | None] = mapped_column(String)
    model: Mapped[str | None] = mapped_column(String)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)


class TaskStatus(StrEnum):
    """Where a durable task stands."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class Task(Base):
    """Work a chat request asked for, written down before it is acknowledged.

    Slack wants an answer within 3 seconds and retries otherwise; a process may die at any
    moment. So a request becomes a row first (its unique `key` absorbs retries and double clicks)
    and the work runs from the row: whatever restarts in between, nothing the user sent is lost.
    """

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String)
    key: Mapped[str] = mapped_column(String, unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(json_column_type())
    status: Mapped[str] = mapped_column(String, index=True, default=TaskStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # A pending task is due once run_after has passed and no live worker holds its lease.
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Which process holds the lease ("host:pid:token"), so a restart on the same host can free
    # the leases its dead predecessor held instead of waiting for them to expire.
    locked_by: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, server_default=_NOW
    )


class NoticeStatus(StrEnum):
    """An outbox entry's progress; `posting` and `posted` let a restart tell what already went."""

    PENDING = "pending"
    POSTING = "posting"
    POSTED = "posted"
    SENT = "sent"


class Notice(Base):
    """A completion notice owed to people (outbox): written with the job's final status, in the
    same transaction, and delivered after; one per job and outcome, whatever restarts."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("job_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String, index=True, default=NoticeStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    message_ts: Mapped[str | None] = mapped_column(String)
    posting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    job: Mapped[Job] = relationship()


class Lease(Base):
    """A named lease held by one process until it expires: who follows the jobs right now."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String, primary_key=True)
    holder: Mapped[str] = mapped_column(String)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HomeViewer(Base):
    """Someone who opened the bot's Home tab, whose tab is refreshed when a job changes."""

    __tablename__ = "home_viewers"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String)
    user_id: Mapped[str] = mapped_column(String)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)


class AuditEntry(Base):
    """One state change someone (or the system) made, kept for the team's admins to review.

    Written where the change happens in the core, so every front end records the same thing;
    append-only, and read newest first per workspace, hence the index.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_workspace_id_created_at", "workspace_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String)
    # A user id of the chat platform, or "system" for what the follower saw happen.
    actor: Mapped[str] = mapped_column(String)
    # A short dotted code: "job.started", "binding.removed".
    action: Mapped[str] = mapped_column(String)
    # What it happened to: "ds-3", "job-4", a model id, a channel.
    subject: Mapped[str] = mapped_column(String)
    detail: Mapped[dict[str, Any] | None] = mapped_column(json_column_type(none_as_null=True))
    cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)


class WorkspaceCredential(Base):
    """A workspace's own OpenAI API key, sealed with the operator's secret key (Fernet).

    Only the sealed form is stored: a database dump or backup does not hand out the key, and
    a change of `TUNEBOT_SECRET_KEY` without the old one makes every key unreadable rather
    than readable by the wrong party.
    """

    __tablename__ = "workspace_credentials"

    workspace_id: Mapped[str] = mapped_column(String, primary_key=True)
    sealed_openai_key: Mapped[str] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, server_default=_NOW)


# The OAuth installation tables are declared on this metadata in a module of their own.
from storage import installations as _installations  # noqa: E402,F401
